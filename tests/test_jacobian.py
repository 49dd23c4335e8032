"""Jacobians in seed 000's transposed convention: Jᵀ(f) is len(wrt) × len(outputs).

Seed 000's XOR network (section 3.2) is reproduced layer by layer: f1 (θ⁽¹⁾ times the
input with a dummy 1), f2 (a dummy 1 on top of the sigmoid), f3 (the sigmoid output)
and f4 (the squared error). The expected Jacobians are built here from their
definitions, and checked against the seed's NumPy code (whose Jacobians are right),
not against its printed equations (3.25 repeats x₁⁽³⁾ where x₀ … x₄ belong).
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import sympy

from conftest import assert_close_hp, evaluate, seed_network
from symgrad.derive.jacobian import jacobian
from symgrad.errors import ParseError, SymgradError, UnknownSymbolError
from symgrad.model.functions import sigmoid
from symgrad.model.names import real_symbol


def sym(name: str) -> sympy.Symbol:
    return real_symbol(name)


# --------------------------------------------------------------------------- basics


def test_shape_and_orientation_follow_eq_2_1():
    JT = jacobian(["x1**2 + x2**2", "x1**2 - x2**2", "x1*x2"], "x1 x2")  # seed 000, example 2.2
    x1, x2 = sym("x1"), sym("x2")
    assert JT.shape == (2, 3)  # one row per input, one column per output
    assert JT == sympy.Matrix([[2 * x1, 2 * x1, x2], [2 * x2, -2 * x2, x1]])


def test_quadratic_gradient_eq_3_2_to_3_4():
    JT = jacobian("(x1*x2 - 3)**2 + 1", "x1:3")
    x1, x2 = sym("x1"), sym("x2")
    assert JT == sympy.Matrix([2 * x2 * (x1 * x2 - 3), 2 * x1 * (x1 * x2 - 3)])
    assert JT.subs({x1: 1, x2: 1}) == sympy.Matrix([-4, -4])  # eq. 3.4
    # At (1.04, 1.04) the gradient is 2·1.04·(1.04² − 3) = −3.990272 in both entries;
    # eq. 3.7 prints −1.995136, half of it (the factor 2 of eq. 3.2 dropped): a slip.
    at = {x1: sympy.Rational(104, 100), x2: sympy.Rational(104, 100)}
    assert JT.subs(at) == sympy.Matrix([sympy.Rational(-3990272, 1000000)] * 2)
    assert JT.subs(at) != sympy.Matrix([sympy.Rational(-1995136, 1000000)] * 2)


def test_sympy_outputs_keep_the_users_symbols():
    a, b = sympy.symbols("a b")  # no assumptions: matched exactly, not renamed
    JT = jacobian(sympy.Matrix([[a * b, a + b]]), [a, b])
    assert JT == sympy.Matrix([[b, 1], [a, 1]])
    # a name in wrt finds the symbol of that name whatever its assumptions
    assert jacobian([a * b], "a b") == sympy.Matrix([b, a])


def test_matrices_in_wrt_are_flattened_row_by_row():
    X = sympy.Matrix(2, 3, lambda i, j: sym(f"x{i + 1}{j + 1}"))  # eq. 3.15's 2×3 input
    g = [X[0, 0] * X[1, 2], X[0, 1] + 2 * X[1, 0]]
    JT = jacobian(g, X)
    order = [sym(n) for n in ("x11", "x12", "x13", "x21", "x22", "x23")]  # eq. 3.13–3.14
    assert JT == jacobian(g, order)
    assert JT[:, 0].T == sympy.Matrix([[X[1, 2], 0, 0, 0, 0, X[0, 0]]])


def test_matrix_symbol_entries():
    A = sympy.MatrixSymbol("A", 2, 2)
    JT = jacobian([A[0, 1] * A[1, 0]], A)
    assert JT == sympy.Matrix([0, A[1, 0], A[0, 1], 0])


def test_known_functions_and_aliases_parse():
    JT = jacobian(["g(x)", "tanh(x)", "exp(2*x)"], "x", functions={"g": "sigmoid"})
    x = sym("x")
    assert sympy.simplify(JT[0, 1] - (1 - sympy.tanh(x) ** 2)) == 0
    assert JT[0, 2] == 2 * sympy.exp(2 * x)
    g_of_x = JT[0, 0].atoms(sympy.Function).pop()
    assert JT[0, 0] == g_of_x * (1 - g_of_x)  # the textbook σ' = σ(1 − σ), under the user's name


# --------------------------------------------------------------------------- the chain rule


def test_chain_rule_eq_2_4():
    x1, x2, y1, y2, y3 = sympy.symbols("x1 x2 y1 y2 y3")
    f = [x1 * x2, sigmoid(x1 - x2), x2**2]  # R² → R³
    g = [y1 * y3 + y2, sympy.log(1 + y2**2)]  # R³ → R²
    at_f = dict(zip((y1, y2, y3), f))
    composite = [e.subs(at_f) for e in g]
    lhs = jacobian(composite, [x1, x2])  # Jᵀ_x(g∘f): 2×2
    rhs = jacobian(f, [x1, x2]) * jacobian(g, [y1, y2, y3]).subs(at_f)  # (2×3)(3×2)
    assert lhs.shape == rhs.shape == (2, 2)
    assert (lhs - rhs).expand() == sympy.zeros(2, 2)
    # Untransposed, the same rule reads right to left: J(g∘f) = J(g)·J(f).
    J_f, J_g = jacobian(f, [x1, x2]).T, jacobian(g, [y1, y2, y3]).T.subs(at_f)
    assert (lhs.T - J_g * J_f).expand() == sympy.zeros(2, 2)


# --------------------------------------------------------------------------- seed 000's XOR network


@pytest.fixture
def xor():
    theta1 = sympy.Matrix(4, 3, lambda i, j: sym(f"theta1_{i + 1}_{j}"))  # M[4, 3], column 0 on the dummy 1
    theta2 = sympy.Matrix(1, 5, lambda i, j: sym(f"theta2_1_{j}"))  # M[1, 5]
    x1 = sympy.Matrix([sym("x1_1"), sym("x1_2")])
    x2 = sympy.Matrix([sym(f"x2_{i}") for i in range(1, 5)])
    x3 = sympy.Matrix([sym(f"x3_{j}") for j in range(0, 5)])  # x3_0 is the dummy node
    x4, t = sym("x4_1"), sym("t")
    f1 = theta1 * sympy.Matrix([1, *x1])  # eq. 3.9
    f2 = sympy.Matrix([1, *[sigmoid(v) for v in x2]])  # eq. 3.10
    f3 = sigmoid((theta2 * x3)[0, 0])  # eq. 3.11
    f4 = (x4 - t) ** 2 / 2  # eq. 3.12
    return locals()


def _seed_code_jacobians(theta1, theta2, x, y):
    """Seed 000's ``feed_forward`` (section 3.4), its Jacobians in the seed's own (untransposed) orientation."""
    x2 = theta1 @ np.concatenate(([[1.0]], x))
    x3 = np.concatenate(([[1.0]], 1 / (1 + np.exp(-x2))))
    x4 = 1 / (1 + np.exp(-(theta2 @ x3)))
    temp = np.concatenate(([[1.0]], x)).T
    return {
        "x2": x2, "x3": x3, "x4": x4,
        "f1_x1": theta1[:, [1, 2]].copy(),
        "f1_theta1": np.kron(np.eye(4), temp),  # scipy's block_diag(temp, temp, temp, temp)
        "f2_x2": np.diag((x3 * (1 - x3)).flatten())[:, 1:],
        "f3_x3": theta2 * x4 * (1 - x4),
        "f3_theta2": x3.T * x4 * (1 - x4),
        "f4_x4": x4 - y,
    }


def test_f1_block_diagonal_in_theta1(xor):
    JT = jacobian(xor["f1"], xor["theta1"])
    assert JT.shape == (12, 4)  # θ⁽¹⁾ flattened row by row: 12 rows, one column per output
    column = sympy.Matrix([1, *xor["x1"]])
    assert JT == sympy.diag(column, column, column, column)  # block diagonal, one [1; x] block per row of θ
    assert jacobian(xor["f1"], xor["x1"]) == xor["theta1"][:, 1:].T


def test_f2_f3_f4(xor):
    s = [sigmoid(v) for v in xor["x2"]]
    JT2 = jacobian(xor["f2"], xor["x2"])
    assert JT2.shape == (4, 5)
    assert JT2[:, 0] == sympy.zeros(4, 1)  # the dummy output 1 depends on nothing
    assert JT2[:, 1:] == sympy.diag(*[si * (1 - si) for si in s])

    out = xor["f3"]
    slope = out * (1 - out)  # s(1 − s), s = σ(Σ θ_{1,j} x_j)
    JT3_x3 = jacobian([out], xor["x3"])
    assert JT3_x3 == sympy.Matrix([xor["theta2"][0, j] * slope for j in range(5)])  # eq. 3.24, transposed
    JT3_theta2 = jacobian([out], xor["theta2"])
    x3 = xor["x3"]
    assert JT3_theta2 == sympy.Matrix([x3[j] * slope for j in range(5)])
    # Eq. 3.25 as printed repeats x₁⁽³⁾ in every entry after the first: a slip.
    printed = sympy.Matrix([slope] + [x3[1] * slope] * 4)
    assert JT3_theta2.subs(x3[0], 1) != printed

    assert jacobian([xor["f4"]], [xor["x4"]]) == sympy.Matrix([[xor["x4"] - xor["t"]]])  # eq. 3.27


def test_xor_jacobians_match_the_seed_code(xor):
    rng = np.random.default_rng(0)
    theta1, theta2 = rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, (1, 5))
    x, y = np.array([[0.0], [1.0]]), np.array([[1.0]])
    code = _seed_code_jacobians(theta1, theta2, x, y)
    at = {s: v for s, v in zip(xor["theta1"], theta1.flatten())}
    at |= {s: v for s, v in zip(xor["theta2"], theta2.flatten())}
    at |= {s: v for s, v in zip(xor["x1"], x.flatten())}
    at |= {s: v for s, v in zip(xor["x2"], code["x2"].flatten())}
    at |= {s: v for s, v in zip(xor["x3"], code["x3"].flatten())}
    at |= {xor["x4"]: code["x4"][0, 0], xor["t"]: y[0, 0]}

    def value(JT):  # ours is Jᵀ; the seed's code stores J
        return np.array(JT.T.subs(at).evalf(), dtype=float)

    np.testing.assert_allclose(value(jacobian(xor["f1"], xor["x1"])), code["f1_x1"], rtol=1e-13)
    np.testing.assert_allclose(value(jacobian(xor["f1"], xor["theta1"])), code["f1_theta1"], rtol=1e-13)
    np.testing.assert_allclose(value(jacobian(xor["f2"], xor["x2"])), code["f2_x2"], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(value(jacobian([xor["f3"]], xor["x3"])), code["f3_x3"], rtol=1e-13)
    np.testing.assert_allclose(value(jacobian([xor["f3"]], xor["theta2"])), code["f3_theta2"], rtol=1e-13)
    np.testing.assert_allclose(value(jacobian([xor["f4"]], [xor["x4"]])), code["f4_x4"], rtol=1e-13)


def test_backprop_is_the_product_of_the_jacobians(xor):
    """∇_θ⁽¹⁾ f4 = Jᵀ_θ⁽¹⁾(f1) Jᵀ(f2) Jᵀ(f3) Jᵀ(f4), evaluated along the forward pass,
    equals symgrad's own derivative of the same network (examples/xor.toml)."""
    net = seed_network("xor")
    x3_0 = xor["x3"][0]
    along = {x3_0: 1}
    along |= dict(zip(xor["x2"], xor["f1"]))
    x3_values = [xor["f2"][j].subs(along) for j in range(5)]
    along |= dict(zip(xor["x3"], x3_values))
    along[xor["x4"]] = xor["f3"].subs(along)

    product = (
        jacobian(xor["f1"], xor["theta1"])
        * jacobian(xor["f2"], xor["x2"])
        * jacobian([xor["f3"]], xor["x3"])
        * jacobian([xor["f4"]], [xor["x4"]])
    )
    grad_theta2 = jacobian([xor["f3"]], xor["theta2"]) * jacobian([xor["f4"]], [xor["x4"]])
    assert product.shape == (12, 1) and grad_theta2.shape == (5, 1)

    rng = random.Random(3)
    point = {s: rng.uniform(-1, 1) for s in net.params + net.inputs}
    point |= {s: rng.uniform(0.05, 0.95) for s in net.targets}
    ours = list(product) + list(grad_theta2)
    theirs = [xor["theta1"][i, j] for i in range(4) for j in range(3)] + list(xor["theta2"])
    for entry, param in zip(ours, theirs):
        assert_close_hp(evaluate(entry.subs(along), point), evaluate(net.grad(param.name).expanded, point))


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "outputs, wrt, error, token",
    [
        (["x1*x2"], "x1 x3", UnknownSymbolError, "x3"),  # a name that occurs in no output
        (["foo(x1)"], "x1", ParseError, "foo"),  # not a known function
        (["__import__('os')"], "x1", ParseError, "__import__"),  # no eval of user text
        (["x1.real"], "x1", ParseError, "."),
        (["x1 < 2"], "x1", ParseError, "<"),
        (["x1 +"], "x1", ParseError, "x1 +"),
        (["   "], "x1", ParseError, "'   '"),
        ([sympy.Matrix([1, 2])], "x1", SymgradError, "Matrix([\n[1],\n[2]])"),  # not a scalar entry
        ([["x1"]], "x1", SymgradError, "['x1']"),
        ([True], "x1", SymgradError, "True"),
        ([], "x1", SymgradError, "[]"),
        (["x1"], "", SymgradError, "''"),
        (["x1"], [], SymgradError, "[]"),
        (["x1*x2"], "x1 x1", SymgradError, "x1"),
        (["x1*x2"], "x1:", ParseError, "x1:"),
        (["x1*x2"], ["x1 + 1"], ParseError, "x1 + 1"),
        (["x1*x2"], [sympy.Symbol("x1") + 1], SymgradError, "x1 + 1"),
    ],
)
def test_bad_input_names_the_token(outputs, wrt, error, token):
    with pytest.raises(error) as info:
        jacobian(outputs, wrt)
    assert info.value.token == token
    assert token.strip("'") in str(info.value) or token in ("[]", "''")


def test_an_unused_symbol_has_a_zero_row_but_an_unknown_name_is_an_error():
    x1, x2 = sym("x1"), sym("x2")
    assert jacobian(["x1**2"], [x1, x2]) == sympy.Matrix([2 * x1, 0])
    with pytest.raises(UnknownSymbolError, match="'x2' does not occur in any output"):
        jacobian(["x1**2"], "x1 x2")


def test_symbols_of_the_same_name_are_ambiguous():
    plain, real = sympy.Symbol("x"), sympy.Symbol("x", real=True)
    with pytest.raises(SymgradError, match="several symbols named 'x'"):
        jacobian([plain * real], "x")
    assert jacobian([plain * real], [real]) == sympy.Matrix([plain])
