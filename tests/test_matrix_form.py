"""The matrix form of layered networks: the δ recursion, derived at layer level.

The formulas are checked three ways: their structure (δ⁽ˡ⁾ = ((W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾) ⊙ f'(u⁽ˡ⁾),
∇_W L = δ(x⁽ˡ⁻¹⁾)ᵀ, and the row convention's transposes), their value (written out at
the network's sizes they equal the foundation's element-wise derivatives, on seed 003's
3-4-2 network and seed 004's four-layer one, for every loss), and their LaTeX (golden files).

Regenerate the golden files with ``SYMGRAD_UPDATE_GOLDEN=1 python -m pytest tests/test_matrix_form.py``.
"""

from __future__ import annotations

import random

import pytest
import sympy
from sympy import HadamardProduct, ImmutableMatrix, MatMul, Transpose

import symgrad as sg
from conftest import assert_close_hp, check_golden, evaluate, random_point, seed_network
from symgrad.derive.hadamard import D, apply
from symgrad.derive.matrix_form import matrix_form
from symgrad.errors import ShapeError, SymgradError
from symgrad.model.functions import sigmoid
from symgrad.model.names import real_symbol

LOSSES = ["mse", "cross_entropy", "softmax_cross_entropy", "mae"]


def _net(name: str, loss: str) -> sg.Network:
    """Seed 003's 3-4-2 sigmoid network or seed 004's 3-4-3-2 (tanh, tanh, sigmoid) one, with ``loss``."""
    spec = seed_network(name).layers
    acts = list(spec.activations)
    if loss == "softmax_cross_entropy":
        acts[-1] = "identity"  # mlp puts the softmax there and fuses it into the loss
    return sg.mlp(list(spec.sizes), activation=acts, loss=loss)


@pytest.fixture(scope="module")
def forms():
    """Each test network's matrix form, derived once."""
    cache = {}

    def get(name, loss):
        if (name, loss) not in cache:
            net = _net(name, loss)
            cache[name, loss] = net, matrix_form(net)
        return cache[name, loss]

    return get


# --------------------------------------------------------------------------- values


def _forward(net: sg.Network, point: dict) -> dict:
    """``point`` plus every step's value (u, x, lse, L), each computed at 50 digits from
    the ones before it, so that formulas in the network's intermediates can be evaluated."""
    values = dict(point)
    for step in net.steps:
        values[step.target] = sympy.Float(_value(step.expr, values, dps=50), 50)
    return values


def _value(expr, values: dict, dps: int = 40):
    """``evaluate`` given only the values ``expr`` needs (it converts every one it gets)."""
    return evaluate(expr, {s: values[s] for s in expr.free_symbols}, dps=dps)


@pytest.mark.parametrize("name", ["mlp_3_4_2", "deep_4_layer"])
@pytest.mark.parametrize("loss", LOSSES)
def test_matrix_form_equals_the_element_wise_derivatives(forms, name, loss):
    net, mf = forms(name, loss)
    column, row = mf.instantiate("column"), mf.instantiate("row")
    assert list(column.gradients) == list(net.params)
    # The row convention is the column one transposed: the same entries, exactly.
    assert row.gradients == column.gradients
    for l in column.grad_W:
        assert row.grad_W[l] == column.grad_W[l].T
        assert row.delta[l] == column.delta[l].T
    values = _forward(net, random_point(net, random.Random(f"{name}-{loss}")))
    for p in net.params:
        assert_close_hp(_value(column.gradients[p], values), _value(net.grad(p).factored, values))


def test_matrix_form_equals_the_expanded_derivatives(forms):
    """The same in parameters, inputs and targets only (no shared forward values)."""
    net, mf = forms("mlp_3_4_2", "softmax_cross_entropy")
    gradients = mf.instantiate().gradients
    point = random_point(net, random.Random(5))
    for p in net.params:
        ours = evaluate(gradients[p].xreplace(net.substituted), point)
        assert_close_hp(ours, evaluate(net.grad(p).expanded, point))


def test_seed_003_exactly_equal_to_the_factored_derivatives(forms):
    net, mf = forms("mlp_3_4_2", "mse")
    gradients = mf.instantiate().gradients
    for p in net.params:
        # Same intermediates (u, x) on both sides: equal as expressions, not only in value.
        assert sympy.expand(gradients[p] - net.grad(p).factored) == 0, p


def test_a_wrong_formula_would_be_caught(forms):
    """The comparison above can fail: drop f'(u⁽¹⁾) from δ⁽¹⁾ (seed 003's printed slip)."""
    net, mf = forms("mlp_3_4_2", "mse")
    inst = mf.instantiate()
    F = mf.formulas()
    # Seed 003 prints ∇_{W⁽¹⁾}L = (W⁽²⁾)ᵀ((f(u⁽²⁾) − z) ⊙ f'(u⁽²⁾)) xᵀ: no ⊙ f'(u⁽¹⁾).
    W2 = ImmutableMatrix(4, 2, lambda i, j: real_symbol(f"W2_{j + 1}_{i + 1}"))  # (W⁽²⁾)ᵀ
    x = ImmutableMatrix([real_symbol(f"x{j}") for j in range(1, 4)])
    printed = (W2 * inst.delta[2]) * x.T
    point = random_point(net, random.Random(7))
    W1_1_1 = net.parameter("W1_1_1")
    ours = evaluate(inst.grad_W[1][0, 0].xreplace(net.substituted), point)
    assert_close_hp(ours, evaluate(net.grad(W1_1_1).expanded, point))
    assert abs(evaluate(printed[0, 0].xreplace(net.substituted), point) - ours) > 1e-6
    # With the factor, as seed 004 (and the README's summary of 003) write it, it is right.
    assert F.delta_formulas[1].args[-1] == F.derivatives[1]


@pytest.mark.parametrize(
    "sizes, activation, loss",
    [
        ([2, 1, 1], "relu", "mse"),  # widths of one: every vector is 1×1
        ([2, 3, 1], "sigmoid", "mae"),
        ([2, 2, 1], ["softplus", "sigmoid"], "cross_entropy"),
        ([2, 3, 3, 2], ["identity", "relu", "softmax"], "cross_entropy"),  # softmax layer, not fused
        ([2, 2, 2], "tanh", "mse"),
    ],
)
def test_other_architectures(sizes, activation, loss):
    net = sg.mlp(sizes, activation=activation, loss=loss, bias=loss != "mae")
    inst = matrix_form(net).instantiate("row")
    values = _forward(net, random_point(net, random.Random(11)))
    for p in net.params:
        assert_close_hp(_value(inst.gradients[p], values), _value(net.grad(p).factored, values))


# --------------------------------------------------------------------------- structure


def test_delta_recursion_column_and_row(forms):
    _, mf = forms("deep_4_layer", "mse")
    for convention in ("column", "row"):
        F = mf.formulas(convention)
        for l in (1, 2):
            W, delta = F.W[l + 1], F.delta[l + 1]
            back = MatMul(Transpose(W), delta) if convention == "column" else MatMul(delta, Transpose(W))
            assert F.delta_formulas[l] == HadamardProduct(back, F.derivatives[l])
        for l in (1, 2, 3):
            x = F.x[l - 1]
            expected = MatMul(F.delta[l], Transpose(x)) if convention == "column" else MatMul(Transpose(x), F.delta[l])
            assert F.grad_W[l] == expected
            assert F.grad_b[l] == F.delta[l]
        # shapes follow the convention: W⁽ˡ⁾ is s_l × s_{l−1} in columns, its transpose in rows
        assert F.W[1].shape == ((4, 3) if convention == "column" else (3, 4))
        assert F.grad_W[1].shape == F.W[1].shape


def test_activation_derivatives_are_the_textbook_ones(forms):
    _, mf = forms("deep_4_layer", "mse")
    F = mf.formulas()
    assert F.derivatives[1] == apply(1 - sympy.tanh(D) ** 2, F.u[1])
    assert F.derivatives[3] == apply(sigmoid(D) * (1 - sigmoid(D)), F.u[3])


def _components(expr, F, n=2):
    """``expr`` written out on a two-output layer, in plain symbols."""
    values = {
        F.u[max(F.u)]: ImmutableMatrix(sympy.symbols(f"u1:{n + 1}")),
        F.x[max(F.x)]: ImmutableMatrix(sympy.symbols(f"o1:{n + 1}")),
        F.y: ImmutableMatrix(sympy.symbols(f"y1:{n + 1}")),
    }
    if F.lse is not None:
        values[F.lse] = ImmutableMatrix([[sympy.Symbol("lse")]])
    return sympy.Matrix(expr.xreplace(values).as_explicit())


@pytest.mark.parametrize(
    "loss, expected",
    [
        ("mse", lambda o, y, u, lse: (o - y) * sigmoid(u) * (1 - sigmoid(u))),  # (x − y) ⊙ f'(u)
        ("mae", lambda o, y, u, lse: sympy.sign(o - y) * sigmoid(u) * (1 - sigmoid(u))),
        ("cross_entropy", lambda o, y, u, lse: o - y),  # σ' cancels the binary cross-entropy
        # softmax(u)·Σy − y, which is x − y only when the targets sum to 1
        ("softmax_cross_entropy", lambda o, y, u, lse: sympy.exp(u - lse) * (sympy.Symbol("y1") + sympy.Symbol("y2")) - y),
    ],
)
def test_output_error_terms(forms, loss, expected):
    _, mf = forms("mlp_3_4_2", loss)
    F = mf.formulas()
    got = _components(F.delta_formulas[2], F)
    for k in range(2):
        o, y, u = sympy.Symbol(f"o{k + 1}"), sympy.Symbol(f"y{k + 1}"), sympy.Symbol(f"u{k + 1}")
        assert sympy.expand(got[k] - expected(o, y, u, sympy.Symbol("lse"))) == 0


def test_softmax_layer_with_cross_entropy_gives_the_fused_error_term():
    """softmax output + cross_entropy and softmax_cross_entropy derive the same δ⁽ᴸ⁾."""
    separate = matrix_form(sg.mlp([3, 2], activation="softmax", loss="cross_entropy")).formulas()
    fused = matrix_form(sg.mlp([3, 2], loss="softmax_cross_entropy")).formulas()
    assert _components(separate.delta_formulas[1], separate) == _components(fused.delta_formulas[1], fused)
    # before simplification it is the softmax Jacobian applied to −y ⊘ x, not yet this
    assert _components(separate.output_gradient, separate)[0] == -sympy.Symbol("y1") / sympy.Symbol("o1")


def test_output_gradient_of_the_binary_cross_entropy(forms):
    _, mf = forms("mlp_3_4_2", "cross_entropy")
    F = mf.formulas()
    got = _components(F.output_gradient, F)
    o, y = sympy.Symbol("o1"), sympy.Symbol("y1")
    assert sympy.simplify(got[0] - (-y / o + (1 - y) / (1 - o))) == 0
    assert F.output_delta_raw != F.delta_formulas[2]


def test_formulas_do_not_depend_on_the_widths():
    small = matrix_form(sg.mlp([3, 4, 2])).latex()
    wide = matrix_form(sg.mlp([30, 40, 20])).latex()
    assert small == wide


# --------------------------------------------------------------------------- LaTeX


@pytest.mark.parametrize(
    "name, loss, convention",
    [
        ("mlp_3_4_2", "mse", "column"),
        ("mlp_3_4_2", "mse", "row"),
        ("deep_4_layer", "mse", "column"),
        ("deep_4_layer", "mse", "row"),
        ("mlp_3_4_2", "cross_entropy", "column"),
        ("mlp_3_4_2", "softmax_cross_entropy", "column"),
        ("mlp_3_4_2", "softmax_cross_entropy", "row"),
        ("mlp_3_4_2", "mae", "column"),
    ],
)
def test_latex_golden(forms, name, loss, convention):
    _, mf = forms(name, loss)
    check_golden(f"latex/matrix_form_{name}_{loss}_{convention}.tex", mf.latex(convention) + "\n")


def test_latex_reads_as_the_seeds(forms):
    _, mf = forms("mlp_3_4_2", "mse")
    column, row = mf.latex("column"), mf.latex("row")
    # seed 004: δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾ ⊙ f'(u⁽ˡ⁾), ∇_W L = δ⁽ˡ⁾(x⁽ˡ⁻¹⁾)ᵀ; its code: u = xW + b …
    assert r"\delta^{(1)} &= \left(\left(W^{(2)}\right)^{T} \delta^{(2)}\right) \odot f'(\mathbf{u}^{(1)})" in column
    assert r"\nabla_{W^{(1)}} L &= \delta^{(1)} \left(\mathbf{x}^{(0)}\right)^{T}" in column
    assert r"\delta^{(2)} &= \nabla_{\mathbf{x}^{(2)}} L \odot f'(\mathbf{u}^{(2)}) = \left(\mathbf{x}^{(2)} - \mathbf{y}\right) \odot f'(\mathbf{u}^{(2)})" in column
    assert r"L &= \frac{1}{2} \left\| \mathbf{x}^{(2)} - \mathbf{y} \right\|^{2}" in column
    assert r"\mathbf{u}^{(1)} &= \mathbf{x}^{(0)} W^{(1)} + \mathbf{b}^{(1)}" in row
    assert r"\delta^{(1)} &= \left(\delta^{(2)} \left(W^{(2)}\right)^{T}\right) \odot f'(\mathbf{u}^{(1)})" in row
    assert r"\nabla_{W^{(1)}} L &= \left(\mathbf{x}^{(0)}\right)^{T} \delta^{(1)}" in row
    assert r"f'(\mathbf{u}^{(1)}) &= \sigma(\mathbf{u}^{(1)}) \odot \left(\mathbf{1} - \sigma(\mathbf{u}^{(1)})\right)" in column
    _, ce = forms("mlp_3_4_2", "cross_entropy")
    assert ce.latex().splitlines()[6].endswith(r"= \mathbf{x}^{(2)} - \mathbf{y} \\")


# --------------------------------------------------------------------------- bad input


def test_needs_a_layered_network():
    net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    with pytest.raises(SymgradError, match="matrix form needs a layered network") as info:
        matrix_form(net)
    assert info.value.token == "f"


@pytest.mark.parametrize("call", ["latex", "instantiate", "formulas"])
def test_unknown_convention(call):
    mf = matrix_form(sg.mlp([2, 1]))
    with pytest.raises(SymgradError, match="'diagonal'") as info:
        getattr(mf, call)(convention="diagonal")
    assert info.value.token == "diagonal"


def test_instantiate_refuses_a_wide_network():
    mf = matrix_form(sg.mlp([100, 60, 10]))
    with pytest.raises(ShapeError, match="100-60-10 has 6670 parameters") as info:
        mf.instantiate()
    assert info.value.token == "100-60-10"
    assert r"\delta^{(1)}" in mf.latex()  # the formulas themselves need no sizes
