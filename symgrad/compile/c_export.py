"""C99 source of a network's loss and gradient: a header and one file of functions.

The same straight-line programs the numba modules print (:mod:`symgrad.compile.program`:
forward steps, adjoint steps, one gradient entry per parameter, common subexpressions
shared), printed by sympy's C99 printer with symgrad's names, each function as its row
of the functions table writes it in C (:attr:`~symgrad.model.function_code.Code.c`: the
same stable forms, as ``static`` helpers), and rendered from ``templates/c_module.c.j2``
and ``templates/c_header.h.j2``. Double precision; needs only ``<math.h>``.

>>> import symgrad as sg
>>> header, source = c_source(sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2", name="quad"), "quad.h")
>>> print(source[source.rindex("double symgrad_quad_grad"):].strip())
double symgrad_quad_grad(const double *p, const double *x, const double *y, double *g) {
    (void)p; (void)x; (void)y;  /* a network without inputs or targets reads none */
    const double x1 = p[0];
    const double x2 = p[1];
    const double t0 = x1*x2 - 3;
    const double quad = pow(t0, 2) + 1;
    const double t1 = 2*t0;
    g[0] = t1*x2;
    g[1] = t1*x1;
    return quad;
}
"""

from __future__ import annotations

import re
from pathlib import Path

import sympy
from sympy.printing.c import C99CodePrinter

from .._version import __version__
from ..errors import SymgradError
from ..model.function_code import C_HELPERS
from ..model.functions import logsumexp, parameters_of, row_of
from ..model.network import Network
from ..template_loader import code_environment, snippet
from .program import GradientEntry, Program, gradient_program, value_program

__all__ = ["c_prefix", "c_source", "write_c"]

# Names the generated functions use themselves, C's keywords and <math.h>'s functions:
# a network's own name that clashes gets a trailing underscore.
_C_RESERVED = set(
    """auto break case char const continue default do double else enum extern float for goto if inline int long register
    restrict return short signed sizeof static struct switch typedef union unsigned void volatile while _Bool _Complex
    p x y g exp log log1p expm1 sqrt pow fabs tanh sinh cosh tan sin cos asin acos atan asinh acosh atanh erf erfc fmax fmin
    isinf isnan NAN INFINITY""".split()
)


class _Names:
    """A distinct C identifier for every symbol of the programs."""

    def __init__(self):
        self.used: set[str] = set()
        self.counter = 0

    def take(self, wanted: str) -> str:
        base = re.sub(r"\W", "_", wanted).lstrip("_") or "v"
        if base[0].isdigit():
            base = "v" + base
        if base in _C_RESERVED or base.startswith("sg_"):
            base += "_"
        name, n = base, 2
        while name in self.used:
            name, n = f"{base}_{n}", n + 1
        self.used.add(name)
        return name

    def fresh(self) -> str:
        while f"t{self.counter}" in self.used:
            self.counter += 1
        return self.take(f"t{self.counter}")


class _CPrinter(C99CodePrinter):
    """sympy's C99 printer with symgrad's names and each function as its row writes it in C."""

    def __init__(self, names: dict[sympy.Symbol, str]):
        super().__init__({"math_macros": {}})  # M_PI, M_SQRT2 are POSIX, not C99: numbers instead
        self.names = names
        self.helpers: set[str] = set()
        self.logsumexp_arities: set[int] = set()

    def _print(self, expr, **kwargs):
        if isinstance(expr, sympy.Function) and not isinstance(expr, (sympy.Piecewise, sympy.Max, sympy.Min)):
            return self._call(expr)
        return super()._print(expr, **kwargs)

    def _print_Symbol(self, expr):
        try:
            return self.names[expr]
        except KeyError:
            raise SymgradError(f"no C name was assigned to the symbol {expr}", token=str(expr)) from None

    _print_Dummy = _print_Symbol

    def _print_NumberSymbol(self, expr):
        return self._literal(expr)

    _print_Pi = _print_Exp1 = _print_EulerGamma = _print_Catalan = _print_GoldenRatio = _print_NumberSymbol

    def _call(self, expr) -> str:
        args = [self._print(a) for a in expr.args]
        if isinstance(expr, logsumexp):
            self.logsumexp_arities.add(len(args))
            return f"sg_logsumexp{len(args)}({', '.join(args)})"
        row = row_of(type(expr))
        if row is None:
            raise SymgradError(f"cannot write C for the function {type(expr).__name__} (in {expr})", token=type(expr).__name__)
        if row.code is None:  # a function defined by an expression: its definition
            return self._print(row.expand(expr.args[0]))
        self.helpers.update(row.code.c_helpers)
        constants = {name: self._literal(value) for name, value in parameters_of(type(expr)).items()}
        return snippet(row.code.c).render(x=args[0], args=args, lit=self._literal, **constants)

    def _literal(self, value) -> str:
        return repr(float(value))


def _routine(name: str, program: Program, names: dict, printer: _CPrinter, ids: _Names, with_gradient: bool) -> dict:
    local = dict(names)
    for st in program.statements:
        if not isinstance(st, GradientEntry):
            local[st.target] = ids.fresh() if st.temporary else ids.take(st.target.name)
    printer.names = local
    arrays = {s: ("p", i) for i, s in enumerate(program.params)}
    arrays.update({s: ("x", i) for i, s in enumerate(program.inputs)})
    arrays.update({s: ("y", i) for i, s in enumerate(program.targets)})
    used = set().union(*(st.expr.free_symbols for st in program.statements)) | {program.loss}
    statements = [
        {
            "entry": isinstance(st, GradientEntry),
            "target": f"g[{st.index}]" if isinstance(st, GradientEntry) else local[st.target],
            "code": printer.doprint(st.expr),
        }
        for st in program.statements
    ]
    arguments = "const double *p, const double *x, const double *y" + (", double *g" if with_gradient else "")
    return {
        "signature": f"double {name}({arguments})",
        "leaves": [{"name": names[s], "array": arrays[s][0], "index": arrays[s][1]} for s in arrays if s in used],
        "statements": statements,
        "loss": local[program.loss],
    }


def c_source(net: Network, header: str = "grad.h") -> tuple[str, str]:
    """``(header_text, source_text)`` of ``net``'s loss and gradient in C99; the source
    includes the header by the name ``header``."""
    if not isinstance(net, Network):
        raise SymgradError(f"c_source needs a symgrad Network, got {type(net).__name__}")
    prefix = c_prefix(net)
    ids = _Names()
    names = {s: ids.take(s.name) for s in net.params + net.inputs + net.targets}
    printer = _CPrinter(names)
    routines = [
        _routine(f"{prefix}_value", value_program(net), names, printer, _copy(ids), with_gradient=False),
        _routine(f"{prefix}_grad", gradient_program(net), names, printer, _copy(ids), with_gradient=True),
    ]
    context = {
        "network_name": net.name,
        "version": __version__,
        "prefix": prefix,
        "header": header,
        "guard": re.sub(r"\W", "_", Path(header).name).upper() + "_INCLUDED",
        "params": [s.name for s in net.params],
        "inputs": [s.name for s in net.inputs],
        "targets": [s.name for s in net.targets],
        "routines": routines,
        "helper_sources": [C_HELPERS[name] for name in C_HELPERS if name in printer.helpers],
        "logsumexp_arities": sorted(printer.logsumexp_arities),
    }
    env = _environment()
    return env.get_template("c_header.h.j2").render(context), env.get_template("c_module.c.j2").render(context)


def c_prefix(net: Network) -> str:
    """The prefix of the C functions of ``net``: ``symgrad_<its name>_value`` and ``…_grad``.

    >>> import symgrad as sg
    >>> c_prefix(sg.mlp([3, 4, 2]))
    'symgrad_mlp_3_4_2_sigmoid_sigmoid_mse'
    """
    return "symgrad_" + (re.sub(r"\W+", "_", net.name).strip("_")[:40] or "network")


def _copy(ids: _Names) -> _Names:
    other = _Names()
    other.used, other.counter = set(ids.used), 0
    return other


def _environment():
    env = code_environment().overlay()
    env.filters["c_comment"] = lambda text: str(text).replace("*/", "* /")
    return env


def write_c(net: Network, path: str | Path) -> tuple[Path, Path]:
    """Write ``net``'s C99 source to ``path`` (``grad.c``) and its header beside it
    (``grad.h``); returns both paths."""
    source_path = Path(path)
    header_path = source_path.with_suffix(".h")
    header, source = c_source(net, header_path.name)
    try:
        header_path.write_text(header, encoding="utf-8")
        source_path.write_text(source, encoding="utf-8")
    except OSError as exc:
        raise SymgradError(f"cannot write {source_path}: {exc.strerror or exc}", token=str(source_path)) from None
    return source_path, header_path
