"""Element-wise (Hadamard) vector algebra, done one component at a time.

The output term of a layered network's δ recursion is built from element-wise
operations (⊙, element-wise functions, sums and broadcasts) on vectors of one
length. Such a vector expression *is* a scalar expression in a generic component
k, so sympy's ordinary algebra can simplify it: the derivative of the binary
cross-entropy cancels against σ'(u) = σ(u)(1 − σ(u)), and e^{u_k}/Σe^{u} becomes a
softmax. :class:`ComponentAlgebra` translates a vector expression to its generic
component (:meth:`~ComponentAlgebra.to_scalar`) and back
(:meth:`~ComponentAlgebra.to_matrix`).

A sum over the components (1ᵀv, or yᵀp) is the same number for every k: it becomes
the opaque scalar ``total(v_k)``, its argument simplified first.

>>> import sympy
>>> from sympy import MatrixSymbol, HadamardProduct, MatAdd, MatMul, OneMatrix
>>> x, y = MatrixSymbol("x", 3, 1), MatrixSymbol("y", 3, 1)
>>> xi, eta = sympy.symbols("xi eta")
>>> algebra = ComponentAlgebra(3, "column", {x: xi, y: eta})
>>> algebra.to_scalar(HadamardProduct(MatAdd(x, MatMul(-1, y)), x))
xi*(-eta + xi)
>>> algebra.to_matrix(xi**2 - eta)
HadamardPower(x, 2) - y
>>> algebra.to_scalar(MatMul(x, MatMul(OneMatrix(1, 3), y)))   # x·(1ᵀy): y summed, x not
xi*total(eta)
>>> algebra.to_scalar(MatMul(OneMatrix(1, 3), OneMatrix(3, 1)))   # 1ᵀ1 is the length
3
"""

from __future__ import annotations

from typing import Callable, Mapping

import sympy
from sympy import (
    HadamardPower,
    HadamardProduct,
    Identity,
    Lambda,
    MatAdd,
    MatMul,
    MatPow,
    MatrixExpr,
    MatrixSymbol,
    OneMatrix,
    Transpose,
    ZeroMatrix,
)
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction

__all__ = ["D", "ComponentAlgebra", "ElementwiseMap", "apply", "elementwise", "matmul", "total"]

#: The variable of every element-wise ``Lambda`` symgrad builds: one shared Dummy makes
#: equal functions structurally equal (two Lambdas over different Dummies are not).
D = sympy.Dummy("d", real=True)


class ElementwiseMap(ElementwiseApplyFunction):
    """sympy's ``ElementwiseApplyFunction`` without its 1×1 shortcut.

    sympy applies the function to a 1×1 *matrix* directly (so 1/d becomes a matrix
    inverse and step(d) fails on a matrix); for symgrad a 1×1 matrix is a vector of
    length 1, and the function stays element-wise.
    """

    def __new__(cls, function, expr):
        function, expr = sympy.sympify(function), sympy.sympify(expr)
        if not isinstance(function, Lambda) or not expr.is_Matrix:  # pragma: no cover - internal use only
            raise TypeError(f"ElementwiseMap takes a Lambda and a matrix, got {function!r}, {expr!r}")
        return MatrixExpr.__new__(cls, function, expr)


def elementwise(body: sympy.Expr) -> Lambda:
    """The element-wise function ``d ↦ body`` (``body`` written in :data:`D`).

    >>> elementwise(sympy.exp(D)) == elementwise(sympy.exp(D))
    True
    """
    return Lambda(D, body)


def apply(body: sympy.Expr, arg: MatrixExpr) -> ElementwiseMap:
    """``body`` (a function of :data:`D`) applied to every entry of ``arg``.

    >>> apply(sympy.exp(D), MatrixSymbol("u", 2, 1)).shape
    (2, 1)
    """
    return ElementwiseMap(elementwise(body), arg)


def matmul(*factors) -> MatrixExpr:
    """The product of ``factors`` as one flat ``MatMul``, numbers first, their product only.

    Built the same way wherever it is built, so that equal products are structurally
    equal (``MatMul(-1, MatMul(A, B))`` and ``MatMul(-1, A, B)`` are not).

    >>> a, b = MatrixSymbol("a", 2, 1), MatrixSymbol("b", 1, 1)
    >>> matmul(-1, matmul(a, 3, b)).args
    (-3, a, b)
    """
    coeff, mats = sympy.S.One, []
    for f in factors:
        if isinstance(f, MatMul):
            c, ms = f.as_coeff_matrices()
            coeff *= c
            # A 1×1 product inside a longer one (1ᵀy in v·(1ᵀy)) stays one factor: a scalar.
            mats += [MatMul(*ms)] if f.shape == (1, 1) and len(ms) > 1 else ms
        elif isinstance(f, MatrixExpr):
            mats.append(f)
        else:
            coeff *= sympy.sympify(f)
    if coeff == 1 and len(mats) == 1:
        return mats[0]
    return MatMul(*([coeff] if coeff != 1 else []), *mats)


class total(sympy.Function):
    """Σ_k of a generic component: an opaque scalar, the same for every component."""

    nargs = 1


class ComponentAlgebra:
    """Translate between vector expressions of one length and their generic component.

    ``named`` maps each vector (shape ``length×1`` in the column convention,
    ``1×length`` in the row one) or 1×1 matrix that may appear in a result to a
    scalar symbol; ``definitions`` are matrices replaced by their definition
    before translation (intermediates); ``opaque`` maps element-wise functions to
    undefined sympy functions that stay unevaluated (so f'(u) is kept as one
    factor rather than spelled out); ``simplify`` is applied to the argument of
    every sum over components.
    """

    def __init__(
        self,
        length: int,
        convention: str,
        named: Mapping[MatrixSymbol, sympy.Symbol],
        definitions: Mapping[MatrixSymbol, MatrixExpr] | None = None,
        opaque: Mapping[Lambda, type] | None = None,
        simplify: Callable[[sympy.Expr], sympy.Expr] = lambda e: e,
    ):
        self.length = length
        self.column = convention == "column"
        self.named = dict(named)
        self.definitions = dict(definitions or {})
        self.opaque = dict(opaque or {})
        self.simplify = simplify
        self._matrix_of = {s: m for m, s in self.named.items()}
        self._lambda_of = {f: lam for lam, f in self.opaque.items()}

    # ------------------------------------------------------------------ to scalars

    def to_scalar(self, expr: MatrixExpr) -> sympy.Expr:
        """The generic component of ``expr`` (a vector or a 1×1 matrix)."""
        if isinstance(expr, MatrixSymbol):
            if expr in self.named:
                return self.named[expr]
            if expr in self.definitions:
                return self.to_scalar(self.definitions[expr])
            raise TypeError(f"no component for the matrix {expr}")
        if isinstance(expr, OneMatrix) or (isinstance(expr, Identity) and expr.shape == (1, 1)):
            return sympy.S.One
        if isinstance(expr, ZeroMatrix):
            return sympy.S.Zero
        if isinstance(expr, Transpose):
            return self.to_scalar(expr.arg)  # a component does not know the orientation
        if isinstance(expr, MatAdd):
            return sympy.Add(*[self.to_scalar(a) for a in expr.args])
        if isinstance(expr, HadamardProduct):
            return sympy.Mul(*[self.to_scalar(a) for a in expr.args])
        if isinstance(expr, HadamardPower) or (isinstance(expr, MatPow) and expr.shape == (1, 1)):
            return self.to_scalar(expr.base) ** expr.exp  # a power of a 1×1 matrix is element-wise too
        if isinstance(expr, ElementwiseApplyFunction):
            arg = self.to_scalar(expr.expr)
            if expr.function in self.opaque:
                return self.opaque[expr.function](arg)
            return expr.function(arg)
        if isinstance(expr, MatMul):
            return self._product(expr)
        raise TypeError(f"{type(expr).__name__} is not element-wise: {expr}")

    def _product(self, expr: MatMul) -> sympy.Expr:
        coeff, factors = expr.as_coeff_matrices()
        # A row times a column (1×n by n×1) is a sum over the components; after those are
        # taken, what remains must be 1×1 factors (scalars broadcast over the components)
        # and at most one vector. Grouping the pairs first is associativity: v·1ᵀ·y = v·(1ᵀy).
        items: list = list(factors)
        for i in range(len(items) - 2, -1, -1):  # right to left: the list shrinks behind us
            a, b = items[i], items[i + 1]
            if isinstance(a, MatrixExpr) and isinstance(b, MatrixExpr) and a.shape[0] == 1 and b.shape[1] == 1 and a.shape[1] > 1:
                items[i : i + 2] = [self._total(self.to_scalar(a) * self.to_scalar(b))]
        vectors = [f for f in items if isinstance(f, MatrixExpr) and f.shape != (1, 1)]
        if len(vectors) > 1:
            raise TypeError(f"{expr} is a matrix product, not an element-wise operation")
        values = [self.to_scalar(f) if isinstance(f, MatrixExpr) else f for f in items]
        return sympy.Mul(coeff, *values)

    def _total(self, inner: sympy.Expr) -> sympy.Expr:
        inner = self.simplify(inner)
        coeff, rest = inner.as_coeff_Mul()  # Σ(−y_k) = −Σ y_k: keep the sign outside
        return coeff * (self.length if rest == 1 else total(rest))

    # ------------------------------------------------------------------ back to matrices

    def to_matrix(self, expr: sympy.Expr) -> MatrixExpr:
        """The vector whose every component is ``expr``."""
        return self._as_vector(self._back(sympy.sympify(expr)))

    def _vector_shape(self) -> tuple[int, int]:
        return (self.length, 1) if self.column else (1, self.length)

    def _as_vector(self, part) -> MatrixExpr:
        kind, value = part
        if kind == "vector" or (kind == "scalar" and self.length == 1):  # of length 1, a 1×1 is the vector
            return value
        ones = OneMatrix(*self._vector_shape())
        if kind == "number":
            return matmul(value, ones)
        return matmul(ones, value) if self.column else matmul(value, ones)  # broadcast a 1×1

    def _back(self, e: sympy.Expr):
        """(kind, value): kind "number" (a sympy number), "scalar" (1×1) or "vector"."""
        if e.is_Number:
            return "number", e
        if e.is_Symbol:
            m = self._matrix_of.get(e)
            if m is None:
                raise TypeError(f"no matrix for the component {e}")
            # Of length 1 every 1×1 is a vector too: keep writing ⊙ as for longer ones.
            return ("scalar" if m.shape == (1, 1) and self.length > 1 else "vector"), m
        if isinstance(e, total):
            inner = self.to_matrix(e.args[0])
            ones = OneMatrix(*reversed(self._vector_shape()))
            return "scalar", (matmul(ones, inner) if self.column else matmul(inner, ones))
        if e.is_Add:
            parts = [self._back(a) for a in e.args]
            kinds = {k for k, _ in parts}
            if "vector" in kinds:
                return "vector", MatAdd(*[self._as_vector(p) for p in parts])
            if "scalar" in kinds:
                return "scalar", MatAdd(*[v if k == "scalar" else matmul(v, OneMatrix(1, 1)) for k, v in parts])
            return "number", e
        if e.is_Mul:
            return self._back_mul(e)
        if e.is_Pow:
            kind, base = self._back(e.base)
            if kind == "number":
                return "number", e
            return kind, HadamardPower(base, e.exp)
        if isinstance(e, AppliedUndef) and type(e) in self._lambda_of:
            kind, arg = self._back(e.args[0])
            return kind, ElementwiseMap(self._lambda_of[type(e)], arg)
        if isinstance(e, sympy.Function) and all(a.is_Number for a in e.args[1:]):
            kind, arg = self._back(e.args[0])
            if kind == "number":
                return "number", e
            return kind, ElementwiseMap(elementwise(e.func(D, *e.args[1:])), arg)
        raise TypeError(f"cannot write {e} as an element-wise vector expression")

    def _back_mul(self, e: sympy.Expr):
        coeff, factors = e.as_coeff_mul()
        sums = [f for f in factors if f.is_Add]
        if coeff.is_negative and len(sums) == 1:
            # −(y − 1)/(1 − x) reads better as +(1 − y)/(1 − x): the sign goes into the sum.
            coeff, factors = -coeff, tuple(-f if f is sums[0] else f for f in factors)
        parts = [self._back(f) for f in factors]
        vectors = [v for k, v in parts if k == "vector"]
        scalars = [v for k, v in parts if k == "scalar"]
        coeff = sympy.Mul(coeff, *[v for k, v in parts if k == "number"])
        if vectors:
            body = vectors[0] if len(vectors) == 1 else HadamardProduct(*vectors)
            if scalars:
                body = matmul(body, *scalars) if self.column else matmul(*scalars, body)
            return "vector", matmul(coeff, body)
        if scalars:
            return "scalar", matmul(coeff, *scalars)
        return "number", coeff
