"""Matrix values of matrix-form claims (symgrad.verification.reader.matrices)."""

import pytest
import sympy

from symgrad.verification.reader.matrices import Matrix, Ones, ShapeMismatch

a, b, c, d = sympy.symbols("a b c d")
COL = Matrix(sympy.Matrix([a, b]))
SQUARE = Matrix(sympy.Matrix([[a, b], [c, d]]))


def test_products_sums_and_transposes():
    assert (SQUARE * COL).entries == sympy.ImmutableMatrix([a * a + b * b, c * a + d * b])
    assert (COL.T * COL).number == a**2 + b**2  # a 1×1 matrix, which acts as a number where one fits
    assert ((COL.T * COL) * SQUARE).entries == (a**2 + b**2) * SQUARE.entries
    assert (COL @ COL).entries == sympy.ImmutableMatrix([a**2, b**2])  # ⊙
    assert (COL % COL).entries == sympy.ImmutableMatrix([1, 1])  # ⊘
    assert (2 * COL - COL).entries == COL.entries
    assert (-COL).entries == -COL.entries and SQUARE.T.entries == SQUARE.entries.T
    assert COL.norm() == sympy.sqrt(a**2 + b**2)
    assert COL.elementwise_power(2).entries == sympy.ImmutableMatrix([a**2, b**2])


@pytest.mark.parametrize(
    "operation",
    [lambda: COL * COL, lambda: COL + COL.T, lambda: COL + 1, lambda: COL ** 2, lambda: 1 / COL, lambda: SQUARE @ COL],
)
def test_shapes_that_do_not_fit_are_a_shape_mismatch(operation):
    with pytest.raises(ShapeMismatch):
        operation()


def test_ones_take_their_length_from_what_they_meet():
    assert (Ones("column") - COL).entries == sympy.ImmutableMatrix([1 - a, 1 - b])
    assert (Ones("row") * COL).number == a + b  # 1ᵀv: the sum
    assert (COL.T * Ones("column")).number == a + b
    assert (COL - Ones("column") * c).entries == sympy.ImmutableMatrix([a - c, b - c])
    assert Ones("column").T.orientation == "row"
    one = Matrix(sympy.Matrix([a]))  # a one-entry vector meets a number
    assert (1 - one).number == 1 - a and ((1 - one) % one).number == (1 - a) / a  # ⊘ stays ⊘
    with pytest.raises(ShapeMismatch):
        Ones("column") * COL.T  # an outer product whose length nothing fixes
