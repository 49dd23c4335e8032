"""A sympy printer whose output numba compiles in nopython mode, and runs as plain Python.

The printer is a whitelist: it prints symbols (through a name table), numbers,
``+ − × ÷ **``, comparisons and conditionals, and a fixed table of functions;
anything else raises :class:`~symgrad.errors.SymgradError` at generation time, so
that no expression reaches numba half-supported. What it emits:

* every number as a float literal of the module's dtype (``0.5``, or
  ``np.float32(0.5)``: numba types a bare literal as float64, and one float64 in a
  float32 expression turns the whole expression into float64);
* ``np.exp``/``np.log``/… rather than ``math.*``: numba compiles both alike, but in
  plain Python ``math.exp(1000.0)`` raises where ``np.exp`` gives ``inf`` like the
  compiled code, and ``np.*`` keeps float32 as float32;
* every function as its row of the functions table writes it
  (:attr:`symgrad.model.functions.FunctionRow.code`), in its stable form, often a call
  of a helper (``_sigmoid``, ``_softplus``, ``_relu``, ``_heaviside``) the module then
  defines; :attr:`NumbaPrinter.helpers` records which are needed; ``logsumexp`` of n
  arguments is ``_logsumexp<n>``.

>>> import sympy
>>> from symgrad.model.functions import sigmoid
>>> u, y = sympy.symbols("u y", real=True)
>>> printer = NumbaPrinter({u: "u", y: "y"})
>>> printer.doprint((sigmoid(u) - y)**2 / 2)
'(_sigmoid(u) - y)**2/2.0'
>>> sorted(printer.helpers)
['_sigmoid']
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Iterable, Mapping

import numpy as np
import sympy
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.pycode import PythonCodePrinter

from ..errors import SymgradError
from ..model.functions import HELPERS, logsumexp, parameters_of, row_of
from ..template_loader import snippet as _snippet

__all__ = ["NumbaPrinter", "Identifiers", "SUPPORTED_DTYPES", "dtype_name", "helper_sources"]

#: The dtypes code can be generated for, by name.
SUPPORTED_DTYPES = ("float64", "float32")

def dtype_name(dtype) -> str:
    """The name of a supported dtype (``"float64"`` or ``"float32"``); anything else is an error.

    >>> dtype_name(np.float32)
    'float32'
    """
    try:
        name = np.dtype(dtype).name
    except TypeError:
        name = None
    if name not in SUPPORTED_DTYPES:
        raise SymgradError(f"dtype must be np.float64 or np.float32, got {dtype!r}", token=str(dtype))
    return name


_PLAIN = (
    sympy.Symbol,
    sympy.Number,
    sympy.NumberSymbol,
    sympy.Add,
    sympy.Mul,
    sympy.Pow,
    sympy.Piecewise,
    sympy.core.relational.Relational,
    sympy.logic.boolalg.BooleanAtom,
    sympy.And,
    sympy.Or,
    sympy.Not,
)

# Integer powers up to this are written as products (see NumbaPrinter._unrolled).
_MAX_UNROLLED_POWER = 4


class NumbaPrinter(PythonCodePrinter):
    """Prints one expression as nopython-safe Python; symbols through ``names``.

    ``dtype`` (``"float64"`` or ``"float32"``) decides how numbers are written.

    >>> import sympy
    >>> x = sympy.Symbol("x", real=True)
    >>> NumbaPrinter({x: "x"}, dtype="float32").doprint(x**2 / 3 + 1)
    'x*x/np.float32(3.0) + np.float32(1.0)'
    >>> NumbaPrinter({x: "x"}).doprint(sympy.Heaviside(x, 0) * sympy.sqrt(x))
    'np.sqrt(x)*_heaviside(x, 0.0)'
    """

    printmethod = "_symgrad_numba"

    def __init__(self, names: Mapping[sympy.Symbol, str], dtype: str = "float64"):
        super().__init__({"fully_qualified_modules": False, "standard": "python3"})
        if dtype not in SUPPORTED_DTYPES:
            raise SymgradError(f"dtype must be one of {', '.join(SUPPORTED_DTYPES)}, got {dtype!r}", token=str(dtype))
        self.names = names
        self.dtype = dtype
        #: helper functions the printed code calls (names as in the module template)
        self.helpers: set[str] = set()
        #: arities of the logsumexp helpers the printed code calls
        self.logsumexp_arities: set[int] = set()

    def code(self, expr: sympy.Expr) -> str:
        """The code of one expression (``doprint`` without the code printer's extras).

        >>> import sympy
        >>> x = sympy.Symbol("x", real=True)
        >>> NumbaPrinter({x: "x"}).code(1 / (1 + sympy.exp(-x)))
        '1.0/(1.0 + np.exp(-x))'
        """
        return self._print(sympy.sympify(expr))

    # -- dispatch: a whitelist ---------------------------------------------------

    def _print(self, expr, **kwargs) -> str:
        if isinstance(expr, sympy.Basic):
            if isinstance(expr, sympy.NumberSymbol):  # pi, E, Catalan...: the base printer has math.* for some
                return self._print_NumberSymbol(expr)
            if isinstance(expr, (sympy.Max, sympy.Min)):
                return self._print_extremum(expr)
            if isinstance(expr, sympy.Function) and not isinstance(expr, sympy.Piecewise):
                return self._print_call(expr)
            if not isinstance(expr, _PLAIN + (sympy.core.containers.Tuple, sympy.functions.elementary.piecewise.ExprCondPair)):
                raise SymgradError(f"cannot generate code for {type(expr).__name__}: {expr}", token=str(expr))
        return super()._print(expr, **kwargs)

    # -- numbers --------------------------------------------------------------------

    def literal(self, value) -> str:
        """A number as a literal of the module's dtype; a finite number beyond the dtype's
        range is an error naming it (its literal would be inf, which is not its value).

        >>> NumbaPrinter({}).literal(2), NumbaPrinter({}, "float32").literal(-0.5)
        ('2.0', '-np.float32(0.5)')
        >>> NumbaPrinter({}).literal(sympy.Integer(2)**1100)
        Traceback (most recent call last):
        ...
        symgrad.errors.SymgradError: the number 1.358e+331 in the formula is beyond float64's range (largest about 1.8e+308); rescale it or compute in logarithms
        """
        try:
            number = float(value)
        except OverflowError:  # an integer or rational too large for any float
            number = None
        if number is None or (np.isinf(number) and not _is_infinite(value)) or (
            np.isfinite(number) and self.dtype != "float64" and abs(number) > float(np.finfo(self.dtype).max)
        ):
            shown = str(sympy.Float(value, 4)) if number is None or np.isinf(number) else f"{number:.4g}"
            raise SymgradError(
                f"the number {shown} in the formula is beyond {self.dtype}'s range (largest about {float(np.finfo(self.dtype).max):.2g}); "
                "rescale it or compute in logarithms",
                token=shown,
            )
        if np.isnan(number):
            text = "np.nan"
        elif np.isinf(number):
            text = "np.inf"
        else:
            text = repr(abs(number))
        if self.dtype != "float64":
            text = f"np.{self.dtype}({text})"
        return ("-" if number < 0 else "") + text

    def scalar(self, value) -> str:
        """A number as a NumPy scalar of the module's dtype, for a value that is a number
        alone (a constant step, a branch of a conditional): run as plain Python, ``1.0/h``
        with ``h = 0.0`` would raise ZeroDivisionError where numba and NumPy give inf.

        >>> NumbaPrinter({}).scalar(0), NumbaPrinter({}, "float32").scalar(-0.5)
        ('np.float64(0.0)', '-np.float32(0.5)')
        """
        text = self.literal(value)
        return f"np.float64({text})" if self.dtype == "float64" else text

    def _print_Integer(self, expr):
        return self.literal(int(expr))

    def _print_Rational(self, expr):
        return self.literal(expr)  # float(p/q) is correctly rounded

    def _print_Float(self, expr):
        return self.literal(expr)

    def _print_NumberSymbol(self, expr):  # pi, E, ...
        return self.literal(float(expr))

    _print_Zero = _print_One = _print_NegativeOne = _print_Integer
    _print_Half = _print_Rational

    def _print_Infinity(self, expr):
        return self.literal(np.inf)

    def _print_NegativeInfinity(self, expr):
        return self.literal(-np.inf)

    def _print_NaN(self, expr):
        return self.literal(np.nan)

    def _print_ComplexInfinity(self, expr):
        raise SymgradError("the expression contains complex infinity (zoo), a division by zero in the formula", token="zoo")

    def _print_ImaginaryUnit(self, expr):
        raise SymgradError("the expression is complex (contains I); symgrad generates real code only", token="I")

    # -- symbols --------------------------------------------------------------------

    def _print_Symbol(self, expr):
        try:
            return self.names[expr]
        except KeyError:
            raise SymgradError(f"no variable name was assigned to the symbol {expr}", token=str(expr)) from None

    _print_Dummy = _print_Symbol

    # -- arithmetic ---------------------------------------------------------------

    def _print_Add(self, expr, order=None):
        out = []
        terms = self._as_ordered_terms(expr, order=order)
        negative_terms = {t for t in terms if t.as_coeff_Mul()[0].is_extended_negative is True}
        # Positive terms first reads as a hand derivation does: fhat1 - f1, not -f1 + fhat1.
        for term in sorted(terms, key=lambda t: t in negative_terms):
            negative = term in negative_terms
            shown = self.parenthesize(-term if negative else term, PRECEDENCE["Add"], strict=True)
            if not out:
                out.append(("-" if negative else "") + shown)
            else:
                out.append((" - " if negative else " + ") + shown)
        return "".join(out)

    def _print_Mul(self, expr):
        level = PRECEDENCE["Mul"]
        coeff, rest = expr.as_coeff_Mul()
        sign = ""
        if coeff.is_extended_negative:
            sign, coeff = "-", -coeff
        numerator: list[sympy.Expr] = []
        denominator: list[sympy.Expr] = []
        if coeff.is_Rational:
            if coeff.p != 1:
                numerator.append(sympy.Integer(coeff.p))
            if coeff.q != 1:
                denominator.append(sympy.Integer(coeff.q))
        elif coeff != 1:
            numerator.append(coeff)
        for factor in sympy.Mul.make_args(rest) if rest != 1 else ():
            if factor.is_Pow and factor.exp.is_Number and factor.exp.is_extended_negative:
                denominator.append(factor.base ** -factor.exp)
            else:
                numerator.append(factor)
        top = "*".join(self.parenthesize(f, level, strict=True) for f in _ordered(numerator)) or self.literal(1)
        if not denominator:
            return sign + top
        if len(denominator) == 1:
            bottom = self.parenthesize(denominator[0], level, strict=False)
        else:
            bottom = "(" + "*".join(self.parenthesize(f, level, strict=False) for f in _ordered(denominator)) + ")"
        return f"{sign}{top}/{bottom}"

    def _print_Pow(self, expr, rational=False):
        base, exponent = expr.base, expr.exp
        if exponent == sympy.S.Half:
            return f"np.sqrt({self._print(base)})"
        if exponent.is_Number and exponent.is_extended_negative:
            positive = base ** -exponent
            return f"{self.literal(1)}/{self.parenthesize(positive, PRECEDENCE['Mul'], strict=False)}"
        if self._unrolled(expr):
            return "*".join([self.parenthesize(base, PRECEDENCE["Mul"], strict=False)] * int(exponent))
        level = PRECEDENCE["Pow"]
        if exponent.is_Integer and self.dtype == "float64":
            shown_exponent = str(int(exponent))  # numba unrolls a literal integer power
        else:
            shown_exponent = self.parenthesize(exponent, level, strict=False)
        return f"{self.parenthesize(base, level, strict=False)}**{shown_exponent}"

    def _unrolled(self, expr) -> bool:
        """Whether a power is printed as a product: x*x compiles faster than x**2 in numba
        and is the same number; in float32, x**2 would even be float64 (the integer
        exponent promotes), so there every small power is a product."""
        if not (expr.is_Pow and expr.exp.is_Integer and 2 <= expr.exp <= _MAX_UNROLLED_POWER):
            return False
        return expr.base.is_Symbol or self.dtype != "float64"

    def parenthesize(self, item, level, strict=False):
        text = self._print(item)
        value = PRECEDENCE["Mul"] if self._unrolled(item) else precedence(item)
        # A negative literal binds like a subtraction whatever sympy's precedence says.
        if value < level or (not strict and value <= level) or (text.startswith("-") and level > PRECEDENCE["Add"]):
            return f"({text})"
        return text

    # -- conditionals -----------------------------------------------------------------

    def _print_Piecewise(self, expr):
        # ``a if c else b``, innermost last; no default branch means NaN, never None (numba cannot type it).
        text = self.literal(np.nan)
        for piece in reversed(expr.args):
            value = self.scalar(piece.expr) if piece.expr.is_Number else self._print(piece.expr)
            condition = piece.cond
            if condition == sympy.true:
                text = value
            else:
                text = f"({value} if {self._print(condition)} else {text})"
        return text

    # -- functions ------------------------------------------------------------------

    def _print_call(self, expr) -> str:
        if isinstance(expr, logsumexp):
            n = len(expr.args)
            self.logsumexp_arities.add(n)
            return f"_logsumexp{n}({', '.join(self._print(a) for a in expr.args)})"
        row = row_of(type(expr))
        if row is None:
            raise SymgradError(
                f"cannot generate code for the function {type(expr).__name__} (in {expr})",
                token=type(expr).__name__,
            )
        if row.code is None:  # a function defined by an expression: print its definition
            return self._print(row.expand(expr.args[0]))
        self.helpers.update(row.code.helpers)
        args = [self._print(a) for a in expr.args]
        constants = {name: self.literal(value) for name, value in parameters_of(type(expr)).items()}
        return _snippet(row.code.scalar).render(x=args[0], args=args, lit=self.literal, **constants)

    def _print_extremum(self, expr) -> str:
        name = "max" if isinstance(expr, sympy.Max) else "min"
        return f"{name}({', '.join(self._print(a) for a in _ordered(expr.args))})"


def _is_infinite(value) -> bool:
    """Whether a number is itself infinite (not a finite number too large for a float)."""
    if isinstance(value, sympy.Basic):
        return value.is_infinite is True
    return isinstance(value, float) and np.isinf(value)


def helper_sources(names: Iterable[str], literal) -> list[str]:
    """The source of each named helper of the functions table, its numbers written by
    ``literal``, in the table's order (so generated modules do not depend on set order).

    >>> print(helper_sources({"_relu"}, NumbaPrinter({}).literal)[0])
    @_inlined
    def _relu(z):
        \"\"\"max(0, z), keeping a NaN a NaN.\"\"\"
        return z if z > 0.0 else 0.0 * z
    """
    wanted = set(names)
    return [_snippet(HELPERS[name]).render(lit=literal).rstrip("\n") for name in HELPERS if name in wanted]


def _ordered(exprs: Iterable[sympy.Expr]) -> list[sympy.Expr]:
    # sympy's canonical order, so that the printed text does not depend on hash seeds.
    return sorted(exprs, key=sympy.default_sort_key)


# --------------------------------------------------------------------------- names

# Names the generated module uses inside the functions that hold the program.
_TEMPLATE_LOCALS = {"p", "x", "y", "g", "w", "np", "numba", "_s", "_i"}  # _s, _i: the argument checks
_RESERVED = set(keyword.kwlist) | set(dir(builtins)) | _TEMPLATE_LOCALS


class Identifiers:
    """Gives every symbol of a program a distinct Python identifier.

    User names are kept where possible: a name that clashes with Python or with the
    generated module's own names gets a trailing ``_``; one starting with ``_`` (the
    module's private names) gets a ``v`` in front; a repeated one gets ``_2``, ``_3``….

    >>> ids = Identifiers()
    >>> [ids.take(n) for n in ["w1", "lambda", "p", "_t0", "w1", "bar u"]]
    ['w1', 'lambda_', 'p_', 'v_t0', 'w1_2', 'bar_u']
    >>> ids.fresh("_t")
    '_t0'
    """

    def __init__(self):
        self.used: set[str] = set()
        self._counters: dict[str, int] = {}

    def copy(self) -> "Identifiers":
        """A scope that starts with every name taken so far (for one generated function)."""
        other = Identifiers()
        other.used = set(self.used)
        other._counters = dict(self._counters)
        return other

    def take(self, wanted: str) -> str:
        base = re.sub(r"\W", "_", wanted) or "v"
        if base[0].isdigit() or base.startswith("_"):
            base = "v" + base
        if base in _RESERVED:
            base += "_"
        name, n = base, 2
        while name in self.used:
            name, n = f"{base}_{n}", n + 1
        self.used.add(name)
        return name

    def fresh(self, prefix: str) -> str:
        """The next unused ``prefix<n>`` (for symgrad's own temporaries, prefix starting with ``_``)."""
        while True:
            n = self._counters.get(prefix, 0)
            self._counters[prefix] = n + 1
            name = f"{prefix}{n}"
            if name not in self.used:
                self.used.add(name)
                return name
