"""The convenience methods of early stages that reach a later one.

``net.grad("w1")``, ``net.compile()``, ``net.matrix_form()`` and ``d.latex()`` are
methods of the model and derive stages, but the work is done by later stages, which
import those very classes. So that imports still flow one way, a later stage
*provides* the function a method needs, here, when it is imported, and the method
calls through this module. Importing any part of symgrad runs ``symgrad/__init__.py``,
which imports every stage, so every hook is in place before user code holds a network.

Each hook below is a plain function with the signature of the function behind it;
``provides`` (a decorator, used at the definition in the later stage) fills it in.

>>> import symgrad as sg
>>> net = sg.Network.from_expr("(w - 1)**2", params="w")
>>> reverse_sweep(net).factored
{w: 2*(w - 1)}
>>> provider("reverse_sweep")
'symgrad.derive.sweep'
"""

from __future__ import annotations

from typing import Callable, TypeVar

from .errors import SymgradError

__all__ = [
    "provides",
    "provider",
    "reverse_sweep",
    "derivative",
    "gradients",
    "compile_network",
    "matrix_form",
    "derivative_latex",
    "formulas_latex",
    "display_latex",
    "derivative_text",
    "hessian",
    "second_derivative_latex",
    "derivative_delta",
    "draw_network",
]

F = TypeVar("F", bound=Callable)

_PROVIDED: dict[str, Callable] = {}


def provides(function: F) -> F:
    """Make ``function`` the hook of the same name (a decorator; the function is returned unchanged)."""
    if function.__name__ not in __all__ or function.__name__ in ("provides", "provider"):
        raise SymgradError(f"there is no hook called {function.__name__!r}", token=function.__name__)
    _PROVIDED[function.__name__] = function
    return function


def provider(name: str) -> str:
    """The module that provides the hook ``name``."""
    return _hook(name).__module__


def _hook(name: str) -> Callable:
    try:
        return _PROVIDED[name]
    except KeyError:
        raise SymgradError(
            f"{name} is not available: its stage was never imported (import symgrad, the package, "
            "rather than running one of its modules on its own)",
            token=name,
        ) from None


# --------------------------------------------------------------------------- the hooks


def reverse_sweep(network):
    """The network's symbolic reverse sweep (provided by ``symgrad.derive``)."""
    return _hook("reverse_sweep")(network)


def derivative(network, param, sweep):
    """∂Loss/∂param, a ``Derivative`` read from the network's sweep (provided by ``symgrad.derive``)."""
    return _hook("derivative")(network, param, sweep)


def gradients(network, sweep):
    """Every parameter's ``Derivative``, as ``Gradients`` (provided by ``symgrad.derive``)."""
    return _hook("gradients")(network, sweep)


def matrix_form(network):
    """A layered network's matrix form (provided by ``symgrad.derive``)."""
    return _hook("matrix_form")(network)


def compile_network(network, **options):
    """The compiled gradient of ``network`` (provided by ``symgrad.compile``)."""
    return _hook("compile_network")(network, **options)


def derivative_latex(derivative, form: str = "factored") -> str:
    """LaTeX of a derivative (provided by ``symgrad.present``)."""
    return _hook("derivative_latex")(derivative, form)


def formulas_latex(formulas) -> str:
    """LaTeX of a layered network's matrix-form formulas (provided by ``symgrad.present``)."""
    return _hook("formulas_latex")(formulas)


def display_latex(obj) -> str:
    """The LaTeX a notebook shows for a network, derivative or matrix form (provided by ``symgrad.present``)."""
    return _hook("display_latex")(obj)


def derivative_text(derivative, form: str = "factored") -> str:
    """A derivative as one line of Unicode text, ``∂Loss/∂w7 = …`` (provided by ``symgrad.present``)."""
    return _hook("derivative_text")(derivative, form)


def hessian(network, sweep):
    """The exact Hessian of the loss, a sympy Matrix (provided by ``symgrad.derive``)."""
    return _hook("hessian")(network, sweep)


def second_derivative_latex(second) -> str:
    """LaTeX of a second derivative, ``∂²L/∂p∂q = …`` (provided by ``symgrad.present``)."""
    return _hook("second_derivative_latex")(second)


def derivative_delta(derivative, notation: str = "latex") -> str:
    """A derivative as a product of named adjoints δ and their definitions, in ``"latex"`` or ``"text"`` (provided by ``symgrad.present``)."""
    return _hook("derivative_delta")(derivative, notation)


def draw_network(network, path=None, highlight=None):
    """A picture of the network's computation, chain-rule routes of ``highlight`` marked (provided by ``symgrad.present``)."""
    return _hook("draw_network")(network, path, highlight)
