r"""Matrices and vectors read from a claim, with explicit entries.

A matrix-form claim (``\delta^{(1)} = (W^{(2)})^T \delta^{(2)} \odot f'(u^{(1)})``) is
read with every matrix written out at the network's sizes: :class:`Matrix` holds a
sympy matrix of scalar expressions in the network's own symbols, so the claim can be
compared entry by entry with the network's gradient. Python's operators carry the
algebra, so the parser's arithmetic needs nothing new: ``*`` is the matrix product
(with shapes checked), ``@`` the element-wise product ⊙, ``%`` the element-wise
quotient ⊘, ``.T`` the transpose. A 1×1 matrix (``x^T y``) stays a matrix, so that ⊙
and ⊘ keep their meaning, and acts as a number where only a number fits (a product
with a matrix of another shape, a denominator, a power). :class:`Ones` is the vector of
ones, whose length is taken from what it meets.

>>> import sympy
>>> a, b = sympy.symbols("a b")
>>> v = Matrix(sympy.Matrix([a, b]))
>>> (v.T * v).entries, (v @ v).entries
(Matrix([[a**2 + b**2]]), Matrix([
[a**2],
[b**2]]))
>>> (Ones("column") - v).entries.T
Matrix([[1 - a, 1 - b]])
"""

from __future__ import annotations

import sympy

from ...errors import ParseError

__all__ = ["Matrix", "Ones", "ShapeMismatch", "is_matrix", "shape_text"]


class ShapeMismatch(ParseError):
    """Two matrices whose shapes do not fit the operation (a slip, or the other convention)."""


def shape_text(shape) -> str:
    return f"{shape[0]}×{shape[1]}"


def is_matrix(value) -> bool:
    return isinstance(value, (Matrix, Ones))


def _scalar(value) -> bool:
    return isinstance(value, (sympy.Expr, int)) and not is_matrix(value)


def _collapse(m: sympy.MatrixBase) -> "Matrix":
    return Matrix(m)


class Matrix:
    """A matrix (or vector) value; ``entries`` is an immutable sympy matrix."""

    __array_priority__ = 100

    def __init__(self, entries):
        self.entries = sympy.ImmutableMatrix(entries)

    @property
    def shape(self) -> tuple[int, int]:
        return self.entries.shape

    def __repr__(self) -> str:
        return f"Matrix({self.entries.tolist()})"

    # -- sums

    def _aligned(self, other, what: str):
        if isinstance(other, Ones):
            other = other.sized(self.shape)
        if isinstance(other, Matrix):
            if other.shape != self.shape:
                raise ShapeMismatch(f"{what} of a {shape_text(self.shape)} and a {shape_text(other.shape)} matrix", token=what)
            return other.entries
        if _scalar(other) and other == 0:
            return sympy.zeros(*self.shape)
        if _scalar(other) and self.shape == (1, 1):  # a one-entry vector meets a number: 1 − σ(u) with u of length 1
            return sympy.Matrix([[other]])
        raise ShapeMismatch(f"{what} of a {shape_text(self.shape)} matrix and the scalar {other}", token=what)

    def __add__(self, other):
        return _collapse(self.entries + self._aligned(other, "a sum"))

    __radd__ = __add__

    def __sub__(self, other):
        return _collapse(self.entries - self._aligned(other, "a difference"))

    def __rsub__(self, other):
        return _collapse(self._aligned(other, "a difference") - self.entries)

    def __neg__(self):
        return Matrix(-self.entries)

    # -- products

    @property
    def number(self):
        """The one entry of a 1×1 matrix (None for any other shape)."""
        return self.entries[0, 0] if self.shape == (1, 1) else None

    def __mul__(self, other):
        if isinstance(other, Ones):
            other = other.sized((self.shape[1], None))
        if isinstance(other, Matrix):
            if self.shape[1] != other.shape[0] and (self.number is not None or other.number is not None):
                return Matrix(other.entries * self.number) if self.number is not None else Matrix(self.entries * other.number)
            if self.shape[1] != other.shape[0]:
                raise ShapeMismatch(f"a product of a {shape_text(self.shape)} and a {shape_text(other.shape)} matrix", token="product")
            return _collapse(self.entries * other.entries)
        return Matrix(self.entries * other)

    def __rmul__(self, other):
        if isinstance(other, Ones):
            return other.sized((None, self.shape[0])) * self
        return Matrix(other * self.entries)

    def __matmul__(self, other):  # ⊙
        return _collapse(self.entries.multiply_elementwise(self._aligned(other, "an element-wise product")))

    def __rmatmul__(self, other):
        if _scalar(other):
            return Matrix(other * self.entries)
        return self.__matmul__(other)

    def __mod__(self, other):  # ⊘
        divisor = self._aligned(other, "an element-wise quotient")
        return _collapse(self.entries.multiply_elementwise(divisor.applyfunc(lambda e: 1 / e)))

    def __rmod__(self, other):
        return _collapse(self._aligned(other, "an element-wise quotient").multiply_elementwise(self.entries.applyfunc(lambda e: 1 / e)))

    def __truediv__(self, other):
        if isinstance(other, Matrix) and other.number is not None:
            other = other.number
        if is_matrix(other):
            raise ShapeMismatch("a division by a matrix; write ⊘ (\\oslash) for an element-wise quotient", token="/")
        return Matrix(self.entries / other)

    def __rtruediv__(self, other):
        if self.number is not None:
            return Matrix(sympy.Matrix([[other / self.number]]))
        raise ShapeMismatch("a division by a matrix; write ⊘ (\\oslash) for an element-wise quotient", token="/")

    def __pow__(self, other):
        if isinstance(other, Matrix) and other.number is not None:
            other = other.number
        if self.number is not None and not is_matrix(other):
            return Matrix(sympy.Matrix([[self.number**other]]))
        raise ShapeMismatch(
            f"a power of a {shape_text(self.shape)} matrix; write ‖v‖^2 or v^T v for a squared length, "
            "or v^{\\circ 2} for element-wise squares",
            token="^",
        )

    def __rpow__(self, other):
        if self.number is not None:
            return Matrix(sympy.Matrix([[other**self.number]]))
        raise ShapeMismatch(f"a power with a {shape_text(self.shape)} matrix for its exponent", token="^")

    # -- the rest

    @property
    def T(self) -> "Matrix":
        return Matrix(self.entries.T)

    def applyfunc(self, f) -> "Matrix":
        return Matrix(self.entries.applyfunc(f))

    def elementwise_power(self, exponent) -> "Matrix":
        return Matrix(self.entries.applyfunc(lambda e: e**exponent))

    def norm(self) -> sympy.Expr:
        """The Euclidean length (Frobenius norm of a matrix)."""
        return sympy.sqrt(sympy.Add(*[e**2 for e in self.entries]))


class Ones:
    """The vector of ones, ``\\mathbf{1}``: ``orientation`` is "column" or "row" (its
    transpose is the other), its length is taken from the matrix it meets; ``scale``
    multiplies it (``\\mathbf{1}\\,lse``)."""

    def __init__(self, orientation: str, scale=sympy.S.One):
        self.orientation = orientation
        self.scale = scale

    def __repr__(self) -> str:
        return f"Ones({self.orientation!r}, {self.scale})"

    @property
    def T(self) -> "Ones":
        return Ones("row" if self.orientation == "column" else "column", self.scale)

    def sized(self, shape) -> Matrix:
        """These ones as an explicit matrix with ``shape`` (a ``None`` entry: this vector's own 1)."""
        rows, cols = shape
        if self.orientation == "column":
            if cols not in (None, 1):
                raise ShapeMismatch(f"a column of ones where a {shape_text(shape)} matrix is needed", token="\\mathbf{1}")
            n = rows
        else:
            if rows not in (None, 1):
                raise ShapeMismatch(f"a row of ones where a {shape_text(shape)} matrix is needed", token="\\mathbf{1}")
            n = cols
        if n is None:
            raise ShapeMismatch("a vector of ones whose length nothing fixes", token="\\mathbf{1}")
        entries = sympy.ones(n, 1) if self.orientation == "column" else sympy.ones(1, n)
        return Matrix(entries * self.scale)

    def _with(self, other, method: str, reflected: bool = False):
        if isinstance(other, Matrix):
            mine = self.sized(other.shape)
            return getattr(other, method)(mine) if reflected else getattr(mine, method)(other)
        raise ShapeMismatch("a vector of ones whose length nothing fixes", token="\\mathbf{1}")

    def __add__(self, other):
        return self._with(other, "__add__")

    __radd__ = __add__

    def __sub__(self, other):
        return self._with(other, "__sub__")

    def __rsub__(self, other):
        return self._with(other, "__sub__", reflected=True)

    def __neg__(self):
        return Ones(self.orientation, -self.scale)

    def __mul__(self, other):
        if isinstance(other, Matrix):
            if self.orientation == "column":  # 1 (n×1) times a 1×k row: an outer product
                if other.shape[0] != 1:
                    raise ShapeMismatch(f"a product of a column of ones and a {shape_text(other.shape)} matrix", token="\\mathbf{1}")
                raise ShapeMismatch("an outer product with a vector of ones whose length nothing fixes", token="\\mathbf{1}")
            return self.sized((1, other.shape[0])) * other  # 1ᵀ A: the column sums
        if is_matrix(other):
            raise ShapeMismatch("a product of two vectors of ones", token="\\mathbf{1}")
        return Ones(self.orientation, self.scale * other)

    def __rmul__(self, other):
        if isinstance(other, Matrix):
            return other * self
        return Ones(self.orientation, other * self.scale)

    def __matmul__(self, other):
        if isinstance(other, Matrix):
            return self.sized(other.shape) @ other
        return self * other

    __rmatmul__ = __matmul__

    def __mod__(self, other):
        return self._with(other, "__mod__")

    def __rmod__(self, other):
        return self._with(other, "__mod__", reflected=True)

    def __truediv__(self, other):
        if is_matrix(other):
            raise ShapeMismatch("a division by a matrix; write ⊘ (\\oslash) for an element-wise quotient", token="/")
        return Ones(self.orientation, self.scale / other)
