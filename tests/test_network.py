"""Declaring networks: the three builders and their validation."""

from __future__ import annotations

import warnings

import pytest
import sympy

import symgrad as sg
from conftest import SEED_002_DECLARATIONS
from conftest import SEED_002_EQUATIONS as SEED_002
from symgrad.errors import (
    CycleError,
    LossError,
    ParseError,
    ShapeError,
    UnknownSymbolError,
    UnusedParameterWarning,
)
from symgrad.model.names import real_symbol

KW = SEED_002_DECLARATIONS


def build(text, **overrides):
    return sg.Network.from_equations(text, **{**KW, **overrides})


# --------------------------------------------------------------------------- from_equations


def test_seed_002_declares_in_order_and_sorts_steps():
    net = build(SEED_002)
    assert [p.name for p in net.params] == ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9", "w10", "b1", "b2"]
    assert [s.name for s in net.inputs] == ["i1", "i2", "i3"]
    assert [s.name for s in net.targets] == ["f1", "f2"]
    assert net.loss.name == "Loss"
    order = [st.target.name for st in net.steps]
    assert order[-1] == "Loss"
    for i, st in enumerate(net.steps):  # every step uses only earlier steps
        earlier = {s.target for s in net.steps[:i]}
        assert st.expr.free_symbols - set(net.params + net.inputs + net.targets) <= earlier
    u1_line = next(i for i, line in enumerate(SEED_002.splitlines(), start=1) if line.startswith("u1 ="))
    assert net.steps[order.index("u1")].line == u1_line


def test_written_in_forward_order_with_semicolons_and_comments():
    text = "u2 = w1*i1 + w2*i2 + w3*i3; h1 = g(u2)  # hidden\nh2 = w4*i1 + w5*i2 + w6*i3\n" \
           "u1 = w7*h1 + w8*h2 + b1; fhat1 = g(u1)\nu3 = w9*h1 + w10*h2 + b2; fhat2 = g(u3)\n" \
           "Loss = ((fhat1 - f1)^2 + (fhat2 - f2)^2) / 2\n"
    net = build(text)
    assert net.loss.name == "Loss"
    assert net.fingerprint == build(SEED_002).fingerprint  # same program, whatever the order written


def test_symbols_are_real_and_looked_up_by_name():
    net = build(SEED_002)
    assert net.symbol("w7") == real_symbol("w7") and net.symbol("w7").is_real
    assert net.symbol("h1") in net.step_map
    with pytest.raises(UnknownSymbolError, match="'zz'"):
        net.symbol("zz")


def test_aliased_function_prints_with_users_name_and_known_functions_need_no_declaration():
    net = build(SEED_002)
    assert str(net.step_map[net.symbol("h1")]) == "g(u2)"
    net2 = sg.Network.from_equations("h = tanh(w*x) + relu(w) + softplus(w) + exp(w) + log(w**2 + 1) + abs(w) + sqrt(w**2 + 1)\nL = h**2",
                                     params="w", inputs="x")
    assert net2.grad("w").factored != 0


def test_decimal_literals_are_exact_rationals():
    net = sg.Network.from_equations("L = 0.5*(w - y)**2", params="w", targets="y")
    assert net.step_map[net.loss] == sympy.Rational(1, 2) * (real_symbol("w") - real_symbol("y")) ** 2


def test_loss_can_be_named_and_unused_steps_are_dropped():
    net = sg.Network.from_equations("a = w*x\nb = a**2\nc = a + 1", params="w", inputs="x", loss="b")
    assert [st.target.name for st in net.steps] == ["a", "b"]


def test_fingerprint_changes_with_one_equation():
    a = build(SEED_002)
    b = build(SEED_002.replace("u1 = w7*h1 + w8*h2 + b1", "u1 = w7*h1 - w8*h2 + b1"))
    assert a.fingerprint != b.fingerprint


# --------------------------------------------------------------------------- from_expr and mlp


def test_from_expr_text_and_sympy():
    net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    assert net.inputs == () and net.targets == ()
    x1, x2 = sympy.symbols("x1 x2")
    net2 = sg.Network.from_expr((x1 * x2 - 3) ** 2 + 1)
    assert [p.name for p in net2.params] == ["x1", "x2"]
    assert net2.grad("x1").factored == net.grad("x1").factored


def test_mlp_parameter_order_and_lazy_expansion():
    net = sg.mlp([3, 4, 2])
    names = [p.name for p in net.params]
    assert names[:4] == ["W1_1_1", "W1_1_2", "W1_1_3", "W1_2_1"]
    assert names[12:16] == ["b1_1", "b1_2", "b1_3", "b1_4"]
    assert names[16:18] == ["W2_1_1", "W2_1_2"] and names[-2:] == ["b2_1", "b2_2"]
    assert len(names) == 3 * 4 + 4 + 4 * 2 + 2
    assert net._steps is None  # the layer description is kept; steps only when asked
    assert net.layers.sizes == (3, 4, 2)
    assert len(net.steps) == 4 + 4 + 2 + 2 + 1


def test_mlp_without_bias_and_per_layer_activations():
    net = sg.mlp([2, 3, 1], activation=["relu", "identity"], bias=False)
    assert all(not p.name.startswith("b") for p in net.params)
    assert net.layers.activations == ("relu", "identity")


@pytest.mark.parametrize("loss", ["mse", "mae", "cross_entropy", "softmax_cross_entropy"])
def test_mlp_losses_build(loss):
    net = sg.mlp([2, 3, 2], activation="sigmoid", loss=loss)
    assert net.loss.name == "L"
    assert len(net.gradients()) == len(net.params)


def test_mlp_softmax_output_with_cross_entropy():
    net = sg.mlp([2, 2], activation=["softmax"], loss="cross_entropy")
    assert any(st.target.name == "lse1" for st in net.steps)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "text, error, token, line",
    [
        ("h = w1*q\nL = h**2", UnknownSymbolError, "q", 1),
        ("h = w1*x\nL = k**2", UnknownSymbolError, "k", 2),
        ("a = b + w1\nb = a*x\nL = a", CycleError, "a", None),
        ("h = w1*x\nh = w1\nL = h", CycleError, "h", 2),
        ("h = w1*x\nL = h +* 2", ParseError, None, 2),
        ("h = w1*x\nL = (h", ParseError, None, 2),
        ("L = (w1, x)", LossError, "L", 1),
        ("L = w1 == x", ParseError, "==", 1),
        ("L = x.real", ParseError, ".", 1),
        ("L = w1[0]", ParseError, "[", 1),
        ("L = 2w1", ParseError, "2w1", 1),
        ("L = sigmoid + w1", ParseError, "sigmoid", 1),
        ("L = w1(x)", ParseError, "w1", 1),
        ("L = sigmoid(w1, x)", ParseError, None, 1),
        ("w1 = x\nL = w1", CycleError, "w1", 1),
        ("h = h + w1\nL = h", CycleError, "h", 1),
        ("L = 'w1'", ParseError, "'w1'", 1),
        ("L = 3j*w1", ParseError, "3j", 1),
        ("this is not an assignment", ParseError, "this", 1),
        ("L =", ParseError, "L", 1),
    ],
)
def test_bad_equations_name_token_and_line(text, error, token, line):
    with pytest.raises(error) as info:
        sg.Network.from_equations(text, params="w1", inputs="x")
    if token is not None:
        assert info.value.token == token
        assert token in str(info.value)
    if line is not None:
        assert info.value.line == line
        assert f"line {line}" in str(info.value)


def test_cycle_message_names_the_cycle():
    with pytest.raises(CycleError, match=r"cycle: .*a.*b.*a|cycle: .*b.*a.*b"):
        sg.Network.from_equations("a = b + w1\nb = a*x\nL = a", params="w1", inputs="x")


def test_missing_and_ambiguous_loss():
    with pytest.raises(LossError, match="'Nope'"):
        sg.Network.from_equations("L = w1*x", params="w1", inputs="x", loss="Nope")
    with pytest.raises(LossError, match="empty"):
        sg.Network.from_equations("# nothing\n\n", params="w1")
    # a and b are used by nothing, and the last line (c) is used by b: no rule picks a loss.
    with pytest.raises(LossError, match="a, b.*loss="):
        sg.Network.from_equations("a = w1*x\nb = c*2\nc = w1", params="w1", inputs="x")


def test_declaration_errors():
    with pytest.raises(CycleError, match="'w1'.*parameters.*inputs"):
        sg.Network.from_equations("L = w1", params="w1", inputs="w1")
    with pytest.raises(CycleError, match="'w1'.*twice"):
        sg.Network.from_equations("L = w1", params="w1 w1")
    with pytest.raises(ParseError, match="'1x'"):
        sg.Network.from_equations("L = w1", params=["w1", "1x"])
    with pytest.raises(CycleError, match="'exp'"):
        sg.Network.from_equations("L = exp(x)", params="exp", inputs="x")
    with pytest.raises(UnknownSymbolError, match="'hardtanh'"):
        sg.Network.from_equations("L = g(w1)", params="w1", functions={"g": "hardtanh"})
    with pytest.raises(sg.SymgradError, match="no parameters"):
        sg.Network.from_equations("L = x", params="", inputs="x")


def test_unused_parameter_warns_and_gets_zero_gradient():
    with pytest.warns(UnusedParameterWarning, match="w2"):
        net = sg.Network.from_equations("L = w1*x", params="w1 w2", inputs="x")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert net.grad("w2").factored == 0


def test_grad_of_unknown_or_non_parameter():
    net = build(SEED_002)
    with pytest.raises(UnknownSymbolError, match=r"'w99' is not a parameter.*w1, w2"):
        net.grad("w99")
    with pytest.raises(UnknownSymbolError, match="'i1' is an input"):
        net.grad("i1")
    with pytest.raises(UnknownSymbolError, match="'f2' is a target"):
        net.grad("f2")


@pytest.mark.parametrize(
    "kwargs, error, token",
    [
        (dict(sizes=[3]), ShapeError, "[3]"),
        (dict(sizes=[3, 0, 2]), ShapeError, "[3, 0, 2]"),
        (dict(sizes=[3, 4, 2], activation=["sigmoid"]), ShapeError, "['sigmoid']"),
        (dict(sizes=[3, 4, 2], activation="swish"), UnknownSymbolError, "swish"),
        (dict(sizes=[3, 4, 2], activation=["softmax", "sigmoid"]), ShapeError, "softmax"),
        (dict(sizes=[3, 4, 2], loss="hinge"), UnknownSymbolError, "hinge"),
        (dict(sizes=[3, 4, 2], activation=["tanh", "tanh"], loss="softmax_cross_entropy"), ShapeError, "tanh"),
    ],
)
def test_bad_mlp(kwargs, error, token):
    with pytest.raises(error) as info:
        sg.mlp(**kwargs)
    assert info.value.token == token and token in str(info.value)


def test_bad_from_expr():
    with pytest.raises(LossError, match="scalar"):
        sg.Network.from_expr(sympy.Matrix([1, 2]))
    with pytest.raises(UnknownSymbolError, match="'z'"):
        sg.Network.from_expr("x*z", params="x")
    with pytest.raises(ParseError):
        sg.Network.from_expr("x*(", params="x")


def test_fingerprint_tells_function_kinds_apart():
    a = sg.Network.from_equations("L = g(w*x)", params="w", inputs="x", functions={"g": "sigmoid"})
    b = sg.Network.from_equations("L = g(w*x)", params="w", inputs="x", functions={"g": "tanh"})
    assert a.fingerprint != b.fingerprint


# --------------------------------------------------------------------------- refused combinations


@pytest.mark.parametrize("activation", ["tanh", "relu", "identity", "softplus", ["sigmoid", "tanh"], ["tanh", "relu"]])
def test_cross_entropy_needs_outputs_in_the_unit_interval(activation):
    sizes = [2, 3, 2] if isinstance(activation, list) else [2, 2]
    last = activation[-1] if isinstance(activation, list) else activation
    with pytest.raises(sg.LossError, match=rf"cross_entropy .* must lie in \(0, 1\).* sigmoid or softmax, not '{last}'") as info:
        sg.mlp(sizes, activation=activation, loss="cross_entropy")
    assert info.value.token == last


@pytest.mark.parametrize("activation", ["sigmoid", "softmax", ["tanh", "sigmoid"], ["relu", "softmax"]])
def test_cross_entropy_on_a_sigmoid_or_softmax_output_is_accepted(activation):
    sizes = [2, 3, 2] if isinstance(activation, list) else [2, 2]
    net = sg.mlp(sizes, activation=activation, loss="cross_entropy")
    assert net.layers.loss == "cross_entropy"


RANGE_NOTE = r"note: 'w1:8' declares w1 to w7: a range stops before its end number, as in Python \(write w1:9 for w1 to w8\)"


def test_a_range_that_stops_short_is_explained_where_the_missing_name_is_used():
    with pytest.raises(sg.UnknownSymbolError, match=r"unknown name 'w8'.*" + RANGE_NOTE) as info:
        sg.Network.from_equations("L = (w1*x + w8 - y)**2", params="w1:8", inputs="x", targets="y")
    assert info.value.token == "w8" and info.value.line == 1
    with pytest.raises(sg.UnknownSymbolError, match=r"unknown name 'x3'.*'x1:3' declares x1 to x2"):
        sg.Network.from_expr("x1 + x2 + x3**2", params="x1:3")
    import sympy

    with pytest.raises(sg.UnknownSymbolError, match=r"'w1:3' declares w1 to w2"):
        sg.Network.from_expr(sympy.sympify("w1 + w3**2"), params="w1:3")


def test_a_range_that_stops_short_is_explained_when_the_missing_name_is_asked_for():
    with pytest.warns(sg.UnusedParameterWarning):
        net = sg.Network.from_equations("L = (w1*x + w7 - y)**2", params="w1:8", inputs="x", targets="y")
    with pytest.raises(sg.UnknownSymbolError, match=r"'w8' is not a parameter.*" + RANGE_NOTE):
        net.grad("w8")
    with pytest.raises(sg.UnknownSymbolError, match=r"'w8' is not a name.*" + RANGE_NOTE):
        net.symbol("w8")
    # Other unknown names get no note, and names the range did declare work.
    with pytest.raises(sg.UnknownSymbolError) as info:
        net.grad("w9")
    assert "note" not in str(info.value)
    assert net.grad("w7").factored is not None


def test_range_notes_cover_sympys_range_forms():
    from symgrad.model.equations import range_notes

    assert set(range_notes("w1:11 b1 b2", "x_0:3", "c:2", None, ["w1"])) == {"w11", "x_3", "c2"}
    assert range_notes("a:c w5:5") == {}  # letter ranges and empty ranges suggest no missing number
