"""symgrad: exact, readable, verified and fast gradients of symbolically declared networks.

>>> import symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> net.grad("x1").latex()
'2 x_{2} \\\\left(x_{1} x_{2} - 3\\\\right)'
"""

# Importing every stage here also puts every hook of symgrad.hooks in place (each stage
# provides its own when imported), before user code can call net.grad or d.latex().
from ._version import __version__
from .compile.gradfn import GradFn
from .compile.pipeline import compile_network
from .crosscheck.backprop import numeric_backprop, numeric_backprop_batch, numeric_loss
from .crosscheck.check import CheckReport, CheckRow, check, check_spec
from .crosscheck.finite_diff import (
    central_difference,
    directional_derivative,
    fd_gradient,
)
from .derive.derivative import Derivative, Gradients
from .derive.jacobian import jacobian
from .derive.matrix_form import MatrixForm
from .derive.second import SecondDerivative
from .derive.sweep import ChainPath, LocalFactor
from .errors import (
    CycleError,
    LossError,
    ParseError,
    ShapeError,
    SpecError,
    SymgradError,
    UnknownSymbolError,
    UnusedParameterWarning,
)
from .model.equations import function
from .model.from_torch import from_torch
from .model.layers import LayerSpec, mlp
from .model.network import Network
from .model.spec import Spec, load_spec
from .model.step import Step
from .present import display as _display  # noqa: F401  (provides the notebook displays)
from .present.adjoints import derivative_delta as _derivative_delta  # noqa: F401  (provides d.latex("delta"), d.text("delta"))
from .present.draw import draw_network as _draw_network  # noqa: F401  (provides net.draw())
from .present.latex import derivative_latex as _derivative_latex  # noqa: F401  (provides d.latex())
from .present.matrix_latex import formulas_latex as _formulas_latex  # noqa: F401  (provides mf.latex())
from .present.report import Report, report
from .present.text import derivative_text as _derivative_text  # noqa: F401  (provides d.text())
from .train import History, gradient_descent, newton
from .verification.document import DocumentReport, verify_document
from .verification.verify import Counterexample, Verdict, verify, verify_value

__all__ = [
    "ChainPath",
    "CheckReport",
    "CheckRow",
    "Counterexample",
    "CycleError",
    "Derivative",
    "DocumentReport",
    "GradFn",
    "Gradients",
    "History",
    "LayerSpec",
    "LocalFactor",
    "LossError",
    "MatrixForm",
    "Network",
    "ParseError",
    "Report",
    "SecondDerivative",
    "ShapeError",
    "Spec",
    "SpecError",
    "Step",
    "SymgradError",
    "UnknownSymbolError",
    "UnusedParameterWarning",
    "Verdict",
    "__version__",
    "central_difference",
    "check",
    "check_spec",
    "compile_network",
    "directional_derivative",
    "fd_gradient",
    "from_torch",
    "function",
    "gradient_descent",
    "jacobian",
    "load_spec",
    "mlp",
    "newton",
    "numeric_backprop",
    "numeric_backprop_batch",
    "numeric_loss",
    "report",
    "verify",
    "verify_document",
    "verify_value",
]
