"""symgrad: exact, readable, verified and fast gradients of symbolically declared networks.

>>> import symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> net.grad("x1").latex()
'2 x_{2} \\\\left(x_{1} x_{2} - 3\\\\right)'
"""

from .backprop import numeric_backprop, numeric_backprop_batch, numeric_loss
from .check import CheckReport, CheckRow, check, check_spec
from .codegen import compile_network
from .derive import ChainPath, Derivative, Gradients, LocalFactor
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
from .finite_diff import central_difference, directional_derivative, fd_gradient
from .gradfn import GradFn
from .jacobian import jacobian
from .matrix_form import MatrixForm
from .network import LayerSpec, Network, Step, mlp
from .report import Report, report
from .train import History, gradient_descent
from .verify import Counterexample, Verdict, verify, verify_value

__version__ = "0.1.0"

__all__ = [
    "ChainPath",
    "CheckReport",
    "CheckRow",
    "Counterexample",
    "CycleError",
    "Derivative",
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
    "ShapeError",
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
    "gradient_descent",
    "jacobian",
    "mlp",
    "numeric_backprop",
    "numeric_backprop_batch",
    "numeric_loss",
    "report",
    "verify",
    "verify_value",
]
