"""LaTeX of a layered network's matrix form, in textbook notation.

Matrices print as W^{(l)}, vectors bold (\\mathbf{x}^{(l)}, \\mathbf{u}^{(l)}, \\mathbf{y}),
error terms as \\delta^{(l)}; ⊙ is the element-wise product, ⊘ the element-wise
quotient, \\mathbf{1} the vector of ones (a column in the column convention, a row in
the row one), and f'(\\mathbf{u}^{(l)}) the element-wise derivative of layer l's
activation, spelled out at the end of the block.

>>> import symgrad as sg
>>> from symgrad.derive.matrix_form import matrix_form
>>> text = formulas_latex(matrix_form(sg.mlp([3, 4, 2])).formulas("row"))
>>> print(text.splitlines()[7])
\\delta^{(1)} &= \\left(\\delta^{(2)} \\left(W^{(2)}\\right)^{T}\\right) \\odot f'(\\mathbf{u}^{(1)}) \\\\
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

import sympy
from sympy import (
    HadamardPower,
    HadamardProduct,
    MatAdd,
    MatMul,
    MatPow,
    MatrixExpr,
    MatrixSymbol,
    OneMatrix,
    Transpose,
)
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

from .. import hooks
from ..derive.hadamard import ComponentAlgebra, D
from .latex import SymgradLatexPrinter, name_latex

if TYPE_CHECKING:  # pragma: no cover
    from ..derive.matrix_form import LayerFormulas

__all__ = ["MatrixLatexPrinter", "formulas_latex", "formulas_rows"]


def _canonical(expr):
    """``expr`` with the arguments of sums and ⊙-products sorted: a key under which equal
    element-wise expressions built in different orders compare equal."""
    if not isinstance(expr, MatrixExpr) or isinstance(expr, MatrixSymbol):
        return expr
    if isinstance(expr, (MatAdd, HadamardProduct)):
        return type(expr)(*sorted((_canonical(a) for a in expr.args), key=sympy.default_sort_key))
    if isinstance(expr, ElementwiseApplyFunction):
        return type(expr)(expr.function, _canonical(expr.expr))
    if isinstance(expr, (MatMul, Transpose, HadamardPower, MatPow)):
        return type(expr)(*[_canonical(a) for a in expr.args])
    return expr


class MatrixLatexPrinter(SymgradLatexPrinter):
    """symgrad's LaTeX printer taught matrix expressions.

    ``names`` gives the LaTeX of each matrix symbol; ``labels`` prints whole
    sub-expressions by name (f'(\\mathbf{u}^{(l)}), softmax(\\mathbf{u}^{(L)})), and the
    ones in ``last`` go last in a ⊙-product, as textbooks write δ = (…) ⊙ f'(u).
    """

    def __init__(self, convention: str, names: Mapping[MatrixSymbol, str], labels: Mapping[MatrixExpr, str] | None = None, last=()):
        super().__init__()
        self.column = convention == "column"
        self._names = dict(names)
        self._labels = {_canonical(k): v for k, v in (labels or {}).items()}
        self._last = {_canonical(k) for k in last}
        self._placeholders: dict[sympy.Symbol, str] = {}

    def _print(self, expr, **kwargs):
        if isinstance(expr, MatrixExpr) and not isinstance(expr, MatrixSymbol):
            label = self._labels.get(_canonical(expr))
            if label is not None:
                return label
        return super()._print(expr, **kwargs)

    def unlabelled(self, expr: MatrixExpr) -> str:
        """``expr`` printed as itself even if it has a label (for the label's definition)."""
        for cls in type(expr).__mro__:  # as sympy's printer dispatches
            method = getattr(self, f"_print_{cls.__name__}", None)
            if method is not None:
                return method(expr)
        return self._print(expr)  # pragma: no cover - every matrix class has a method

    def _print_Symbol(self, expr, style="plain"):
        if expr in self._placeholders:
            return self._placeholders[expr]
        return super()._print_Symbol(expr, style)

    # -- atoms

    def _print_MatrixSymbol(self, expr):
        return self._names.get(expr, name_latex(expr.name))

    def _print_OneMatrix(self, expr):
        rows, cols = expr.shape
        if (rows, cols) == (1, 1):
            return "1"
        along = cols == 1 if self.column else rows == 1  # shaped like the convention's vectors
        return r"\mathbf{1}" if along else r"\mathbf{1}^{T}"

    def _print_ZeroMatrix(self, expr):
        return r"\mathbf{0}"

    def _print_Transpose(self, expr):
        arg = expr.arg
        if isinstance(arg, OneMatrix):
            return self._print(OneMatrix(arg.shape[1], arg.shape[0]))
        inner = self._print(arg)
        if isinstance(arg, MatrixSymbol) and "^" not in inner:
            return f"{inner}^{{T}}"
        return rf"\left({inner}\right)^{{T}}"

    # -- sums and products

    @staticmethod
    def _negative(term) -> bool:
        return isinstance(term, MatMul) and term.as_coeff_matrices()[0].is_negative

    def _print_MatAdd(self, expr):
        terms = [t for t in expr.args if not self._negative(t)] + [t for t in expr.args if self._negative(t)]
        text = self._print(terms[0])
        for t in terms[1:]:
            text += f" - {self._print(_negated(t))}" if self._negative(t) else f" + {self._print(t)}"
        return text

    def _grouped(self, expr) -> str:
        """``expr`` as one factor of a product: bracketed unless it is a single symbol or function."""
        text = self._print(expr)
        if isinstance(expr, (MatAdd, HadamardProduct)) or (isinstance(expr, MatMul) and _canonical(expr) not in self._labels):
            return rf"\left({text}\right)"
        return text

    def _print_MatMul(self, expr):
        coeff, mats = expr.as_coeff_matrices()
        prefix = ("- " if coeff.is_negative else "") + ("" if abs(coeff) == 1 else self._print(abs(coeff)) + " ")
        if len(mats) == 2:  # ½(x − y)ᵀ(x − y) is ½‖x − y‖²
            a, b = mats
            inner = b if self.column else a
            other = a if self.column else b
            if isinstance(other, Transpose) and other.arg == inner and not isinstance(inner, MatrixSymbol):
                return prefix + rf"\left\| {self._print(inner)} \right\|^{{2}}"
        if len(mats) == 1 and isinstance(mats[0], MatMul):  # −(yᵀ log x): the sign needs no brackets
            return prefix + self._print(mats[0])
        parts = []
        for m in mats:
            # A 1×1 product among others (v·(1ᵀy)) and a sum or ⊙-product under a factor are bracketed.
            nested = isinstance(m, MatMul) or (isinstance(m, (MatAdd, HadamardProduct)) and (len(mats) > 1 or coeff != 1))
            parts.append(rf"\left({self._print(m)}\right)" if nested else self._print(m))
        return prefix + " ".join(parts)

    def _print_HadamardProduct(self, expr):
        numerators, denominators = [], []
        for f in expr.args:
            if isinstance(f, HadamardPower) and f.exp.is_negative:
                denominators.append(f.base if f.exp == -1 else HadamardPower(f.base, -f.exp))
            else:
                numerators.append(f)
        # As textbooks write them: single factors, then bracketed sums, then f'(u).
        numerators.sort(key=lambda f: (_canonical(f) in self._last, isinstance(f, MatAdd)))
        text = r" \odot ".join(self._grouped(f) for f in numerators) if numerators else r"\mathbf{1}"
        for d in denominators:
            text += r" \oslash " + self._grouped(d)
        return text

    def _print_HadamardPower(self, expr):
        base, exp = expr.base, expr.exp
        if exp == -1:
            return r"\mathbf{1} \oslash " + self._grouped(base)
        if isinstance(base, ElementwiseApplyFunction) and _simple(base) and exp.is_Integer and exp > 0:
            name = self._elementwise_name(base.function.expr.func)
            return f"{name}^{{{exp}}}" + self._argument(base.expr)  # tanh²(u), as for scalars
        return rf"{self._grouped(base)}^{{\circ {self._print(exp)}}}"

    def _print_MatPow(self, expr):  # a power of a 1×1 matrix
        return f"{self._grouped(expr.base)}^{{{self._print(expr.exp)}}}"

    # -- element-wise functions

    def _elementwise_name(self, func) -> str:
        if func is sympy.Heaviside:
            return r"\operatorname{step}"
        return self._function_name(func)

    def _argument(self, arg) -> str:
        text = self._print(arg)
        return f"({text})" if isinstance(arg, MatrixSymbol) else rf"\left({text}\right)"

    def _print_ElementwiseApplyFunction(self, expr):
        body = expr.function.expr.xreplace({expr.function.variables[0]: D})
        if body == sympy.Abs(D):
            return rf"\left|{self._print(expr.expr)}\right|"
        if _simple(expr):
            return self._elementwise_name(body.func) + self._argument(expr.expr)
        # Anything else: the body with the argument written in place of the variable.
        placeholder = sympy.Dummy("arg")
        self._placeholders[placeholder] = self._argument(expr.expr)
        try:
            return self._print(body.xreplace({D: placeholder}))
        finally:
            del self._placeholders[placeholder]


def _simple(expr: ElementwiseApplyFunction) -> bool:
    """Is it one named function of the entry, such as σ, exp or step (extra arguments constant)?"""
    body = expr.function.expr
    var = expr.function.variables[0]
    return isinstance(body, sympy.Function) and body.args[0] == var and all(a.is_Number for a in body.args[1:])


def _negated(term: MatMul) -> MatrixExpr:
    coeff, mats = term.as_coeff_matrices()
    return mats[0] if -coeff == 1 and len(mats) == 1 else MatMul(*([-coeff] if -coeff != 1 else []), *mats)


# --------------------------------------------------------------------------- the block


def _names(F: "LayerFormulas") -> dict[MatrixSymbol, str]:
    names = {F.y: r"\mathbf{y}"}
    for l, x in F.x.items():
        names[x] = rf"\mathbf{{x}}^{{({l})}}"
    for l in F.W:
        names[F.W[l]] = rf"W^{{({l})}}"
        names[F.u[l]] = rf"\mathbf{{u}}^{{({l})}}"
        names[F.delta[l]] = rf"\delta^{{({l})}}"
    for l, b in F.b.items():
        names[b] = rf"\mathbf{{b}}^{{({l})}}"
    if F.lse is not None:
        names[F.lse] = name_latex(F.lse.name)
    return names


@hooks.provides
def formulas_latex(F: "LayerFormulas") -> str:
    """One ``aligned`` block: the layer equations and the loss, the δ recursion, the
    gradients, then each f'(\\mathbf{u}^{(l)}) spelled out element-wise."""
    lines = [f"{lhs} &= " + " = ".join(rhs) for lhs, rhs in formulas_rows(F)]
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def formulas_rows(F: "LayerFormulas") -> list[tuple[str, list[str]]]:
    """The rows of :func:`formulas_latex`: each a left-hand side and the expressions it
    equals, in order (the output error term is derived in two or three steps).

    >>> import symgrad as sg
    >>> from symgrad.derive.matrix_form import matrix_form
    >>> formulas_rows(matrix_form(sg.mlp([2, 1], activation="identity")).formulas("column"))[3]
    ('\\\\delta^{(1)}', ['\\\\nabla_{\\\\mathbf{x}^{(1)}} L', '\\\\mathbf{x}^{(1)} - \\\\mathbf{y}'])
    """
    L = F.n_layers
    derivative_labels = {d: rf"f'(\mathbf{{u}}^{{({l})}})" for l, d in F.derivatives.items()}
    labels = dict(derivative_labels)
    softmax = rf"\operatorname{{softmax}}(\mathbf{{u}}^{{({L})}})"
    if F.softmax is not None:
        labels[F.softmax] = softmax
    p = MatrixLatexPrinter(F.convention, _names(F), labels, last=derivative_labels)
    rows: list[tuple[str, list[str]]] = []
    for target, expr in F.forward:
        rows.append((p.doprint(target), [p.doprint(expr)]))
        if target == F.lse:
            rows.append((softmax, [p.unlabelled(F.softmax)]))
    # The output error term, as derived and, where the derivative cancels, simplified.
    xL, uL = p.doprint(F.x[L]), p.doprint(F.u[L])
    act = F.activations[L]
    if act == "softmax":
        steps = [rf"\nabla_{{{uL}}} L", p.doprint(F.delta_formulas[L])]
    elif act == "identity":
        steps = [rf"\nabla_{{{xL}}} L", p.doprint(F.delta_formulas[L])]
    else:
        steps = [rf"\nabla_{{{xL}}} L \odot f'({uL})", p.doprint(F.output_delta_raw)]
        simplified = p.doprint(F.delta_formulas[L])
        if simplified != steps[-1]:
            steps.append(simplified)
    rows.append((rf"\delta^{{({L})}}", steps))
    for l in range(L - 1, 0, -1):
        rows.append((rf"\delta^{{({l})}}", [p.doprint(F.delta_formulas[l])]))
    for l in range(L, 0, -1):
        rows.append((rf"\nabla_{{W^{{({l})}}}} L", [p.doprint(F.grad_W[l])]))
        if l in F.grad_b:
            rows.append((rf"\nabla_{{\mathbf{{b}}^{{({l})}}}} L", [p.doprint(F.grad_b[l])]))
    for l, d in F.derivatives.items():
        n = F.u[l].shape[0] if F.convention == "column" else F.u[l].shape[1]
        algebra = ComponentAlgebra(n, F.convention, {F.u[l]: D})
        spelled = algebra.to_matrix(d.function.expr.xreplace({d.function.variables[0]: D}))
        rows.append((rf"f'(\mathbf{{u}}^{{({l})}})", [p.unlabelled(spelled)]))
    return rows
