r"""Names as written, matched to a network's symbols by their structure.

The networks are the examples' (the ``net`` and ``mlp`` fixtures of conftest): the
Datawhale article's ten-weight network with g = sigmoid (examples/datawhale.toml), the
3-4-2 sigmoid MLP, and the plain function (x1·x2 − 3)² + 1.
"""

import pytest
import sympy

import symgrad as sg
from conftest import one
from symgrad.errors import SymgradError, UnknownSymbolError
from symgrad.model import functions as fn
from symgrad.present.latex import name_latex
from symgrad.verification.reader import read_latex
from symgrad.verification.reader.lexicon import Lexicon
from symgrad.verification.reader.names import parse_name


@pytest.mark.parametrize(
    "text, name",
    [
        (r"\hat{f}_1", "fhat1"),
        (r"\hat f_1", "fhat1"),
        (r"\hat{f_1}", "fhat1"),
        (r"\hat{f}_{2}", "fhat2"),
        (r"\widehat{f}_2", "fhat2"),
        ("fhat1", "fhat1"),
        ("w_7", "w7"),
        ("w_{7}", "w7"),
        ("w7", "w7"),
        ("w_{10}", "w10"),
        ("b_2", "b2"),
        ("i_3", "i3"),
        ("Loss", "Loss"),
        (r"\mathrm{Loss}", "Loss"),
        (r"\text{Loss}", "Loss"),
        ("h_1", "h1"),
    ],
)
def test_seed_002_names(net, text, name):
    assert one(net, text) == net.symbol(name)


@pytest.mark.parametrize(
    "text, name",
    [
        (r"w^{(1)}_{23}", "W1_2_3"),
        (r"w_{23}^{(1)}", "W1_2_3"),
        (r"W^{(1)}_{23}", "W1_2_3"),
        (r"w^{(1)}_{2,3}", "W1_2_3"),
        (r"w_{41}^{(1)}", "W1_4_1"),
        (r"b^{(2)}_{1}", "b2_1"),
        (r"b_1^{(2)}", "b2_1"),
        (r"u_{2}^{(1)}", "u1_2"),
        (r"x^{(2)}_1", "x2_1"),
        ("x_3", "x3"),
        ("y_2", "y2"),
    ],
)
def test_layered_names(mlp, text, name):
    assert one(mlp, text) == mlp.symbol(name)


@pytest.mark.parametrize("which", ["seed002", "mlp", "from_expr"])
def test_every_printed_name_reads_back_as_its_symbol(net, mlp, which):
    network = {"seed002": net, "mlp": mlp, "from_expr": sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")}[which]
    symbols = list(network.params) + list(network.inputs) + list(network.targets) + [st.target for st in network.steps]
    for s in symbols:
        assert one(network, name_latex(s.name)) == s, name_latex(s.name)


def test_unknown_name_suggests_close_names(net):
    with pytest.raises(UnknownSymbolError) as err:
        read_latex(net, r"w_{11} h_1")
    assert "w_{10}" in str(err.value)


def test_activation_name_is_ambiguous_with_two_kinds():
    net = sg.mlp([2, 2, 1], activation=["tanh", "sigmoid"])
    with pytest.raises(UnknownSymbolError) as err:
        read_latex(net, r"f(u^{(1)}_1)")
    assert err.value.token == "f"
    # naming it resolves the ambiguity
    assert one(net, r"f(u^{(1)}_1)", names={"f": "tanh"}) == sympy.tanh(net.symbol("u1_1"))


def test_names_mapping_for_another_notation(mlp):
    # seed 003 writes z for the targets and y for the hidden activations
    names = {"z_1": "y1", "y_3": "x1_3"}
    assert one(mlp, r"(f(u^{(2)}_1) - z_1) y_3", names=names) == (fn.sigmoid(mlp.symbol("u2_1")) - mlp.symbol("y1")) * mlp.symbol("x1_3")
    # a mapped name wins over the network's own y_1 only where it is mapped
    assert one(mlp, "y_1", names=names) == mlp.symbol("y1")
    with pytest.raises(SymgradError):
        read_latex(mlp, "y_1", names={"z_1": "nonsense_name"})


# --------------------------------------------------------------------------- names on their own



def test_parse_name_reads_the_structure():
    assert parse_name(r"\hat{f}_1").key == ("hat", "f", "", "1")
    assert parse_name(r"w_{23}^{(1)}").key == parse_name(r"w^{(1)}_{2,3}").key == ("", "w", "1", "23")
    assert parse_name(r"g''").primes == 2
    assert parse_name("w_7 h_1") is None and parse_name("") is None


def test_lexicon_resolves_names_and_functions(net):
    lexicon = Lexicon(net)
    assert lexicon.symbol(parse_name(r"\hat f_2")) == net.symbol("fhat2")
    assert lexicon.function(parse_name("g")) is net.functions["g"]
    assert lexicon.function(parse_name("h_1")) is None
    assert lexicon.is_word("Loss") and not lexicon.is_word("wh")
    with pytest.raises(UnknownSymbolError):
        lexicon.symbol(parse_name("q_1"))


def test_phi_is_the_normal_density_where_the_derivative_prints_it_and_the_activation_elsewhere():
    gelu = sg.Network.from_equations("u = w*x; o = gelu(u); L = (o - y)**2/2", params="w", inputs="x", targets="y")
    tanh = sg.Network.from_equations("u = w*x; o = tanh(u); L = (o - y)**2/2", params="w", inputs="x", targets="y")
    assert sg.verify(gelu, "w", r"(o - y) (\Phi(u) + u \phi(u)) x").ok
    assert not sg.verify(gelu, "w", r"(o - y) \Phi(u) x").ok
    assert sg.verify(tanh, "w", r"(o - y) \phi'(u) x").ok  # φ names the network's one activation
    assert not sg.verify(tanh, "w", r"(o - y) \Phi(u) x").ok  # Φ is the normal CDF in any network
