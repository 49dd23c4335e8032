r"""Reading hand-written claims (LaTeX, Python, sympy) into a network's symbols.

The networks are the seeds' own: seed 002's ten-weight network with g = sigmoid,
seed 003's 3-4-2 sigmoid MLP, seed 000's plain function.
"""

import pytest
import sympy

import symgrad as sg
from conftest import SEED_002_EQUATIONS as SEED_002
from symgrad.errors import ParseError, SymgradError, UnknownSymbolError
from symgrad.model import functions as fn
from symgrad.present.latex import name_latex
from symgrad.verification.latex_reader import (
    read_claim,
    read_latex,
    read_python,
    read_sympy,
)


@pytest.fixture(scope="module")
def net():
    return sg.Network.from_equations(
        SEED_002, params="w1:11 b1 b2", inputs="i1 i2 i3", targets="f1 f2", functions={"g": "sigmoid"}
    )


@pytest.fixture(scope="module")
def mlp():
    return sg.mlp([3, 4, 2], activation="sigmoid", loss="mse")


def one(net, text, **kw):
    claim = read_latex(net, text, **kw)
    assert len(claim.lines) == 1
    return claim.lines[0]


# --------------------------------------------------------------------------- names


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


# --------------------------------------------------------------------------- functions


def test_declared_function_is_applied(net):
    g = net.functions["g"]
    assert one(net, "g(u_1)") == g(net.symbol("u1"))
    assert one(net, r"g\left(u_1\right)") == g(net.symbol("u1"))


def test_primes_are_the_activation_derivative(net):
    u1 = net.symbol("u1")
    g = net.functions["g"]
    expected = g(u1) * (1 - g(u1))
    assert one(net, "g'(u_1)") == expected
    assert one(net, r"g^{\prime}(u_1)") == expected
    assert one(net, r"\frac{dg}{du_1}") == expected
    assert one(net, r"\frac{\mathrm{d} g}{\mathrm{d} u_1}") == expected
    # f is "the activation" when the network has exactly one kind
    assert one(net, "f'(u_1)") == expected
    s = fn.sigmoid(u1)
    assert one(net, r"\sigma'(u_1)") == s * (1 - s)
    assert one(net, r"\sigma(u_1)") == s


def test_second_derivative_by_two_primes(net):
    u1 = net.symbol("u1")
    g = net.functions["g"]
    assert sympy.simplify(one(net, "g''(u_1)") - g(u1).diff(u1, 2)) == 0


def test_function_commands(net):
    u1, h1 = net.symbol("u1"), net.symbol("h1")
    assert one(net, r"e^{-u_1}") == sympy.exp(-u1)
    assert one(net, r"\exp(u_1)") == sympy.exp(u1)
    assert one(net, r"\exp{u_1}") == sympy.exp(u1)
    assert one(net, r"\ln(h_1)") == sympy.log(h1)
    assert one(net, r"\log h_1") == sympy.log(h1)  # natural log, as in ML texts (latex2sympy reads base 10)
    assert one(net, r"\tanh(u_1)") == sympy.tanh(u1)
    assert one(net, r"\tanh^2(u_1)") == sympy.tanh(u1) ** 2
    assert one(net, r"\operatorname{ReLU}(u_1)") == fn.relu(u1)
    assert one(net, r"\frac{1}{1 + e^{-u_1}}") == 1 / (1 + sympy.exp(-u1))
    assert one(net, r"\sqrt{h_1}") == sympy.sqrt(h1)


def test_functions_symgrad_itself_prints(net):
    u1, u3 = net.symbol("u1"), net.symbol("u3")
    assert one(net, r"\operatorname{step}(u_1)") == sympy.Heaviside(u1, 0)
    assert one(net, r"\operatorname{sign}(u_1)") == sympy.sign(u1)
    assert one(net, r"\operatorname{logsumexp}\left(u_1, u_3\right)") == fn.logsumexp(u1, u3)
    assert one(net, r"\max(0, u_1)") == sympy.Max(0, u1)


def test_activation_name_is_ambiguous_with_two_kinds():
    net = sg.mlp([2, 2, 1], activation=["tanh", "sigmoid"])
    with pytest.raises(UnknownSymbolError) as err:
        read_latex(net, r"f(u^{(1)}_1)")
    assert err.value.token == "f"
    # naming it resolves the ambiguity
    assert one(net, r"f(u^{(1)}_1)", names={"f": "tanh"}) == sympy.tanh(net.symbol("u1_1"))


# --------------------------------------------------------------------------- arithmetic


def test_products_brackets_and_spaces(net):
    w7, h1, i1 = net.symbol("w7"), net.symbol("h1"), net.symbol("i1")
    for text in [
        r"w_7 h_1 i_1",
        r"w_7\,h_1\;i_1",
        r"w_7 \cdot h_1 \times i_1",
        r"w_7 * h_1 * i_1",
        r"(w_7)(h_1)(i_1)",
        r"\left(w_7\right) h_1 \big( i_1 \big)",
    ]:
        assert one(net, text) == w7 * h1 * i1, text
    for text in [r"[w_7 + h_1] i_1", r"\{w_7 + h_1\} i_1", r"\left[w_7 + h_1\right] i_1", r"\left\{w_7 + h_1\right\} i_1", r"\lbrack w_7 + h_1 \rbrack i_1"]:
        assert one(net, text) == (w7 + h1) * i1, text


def test_a_symbol_before_a_bracket_is_a_product_not_a_call(net):
    h1, w7 = net.symbol("h1"), net.symbol("w7")
    assert one(net, r"h_1(w_7)") == h1 * w7
    assert one(net, r"h_1 (1 - h_1)") == h1 * (1 - h1)


def test_evaluation_subscripts_are_dropped(net):
    fhat1, f1, h1 = net.symbol("fhat1"), net.symbol("f1"), net.symbol("h1")
    assert one(net, r"(\hat{f}_1 - f_1)_w \times (h_1)_w") == (fhat1 - f1) * h1
    assert one(net, r"\left(\hat{f}_1 - f_1\right)_{w} [h_1]_{w^{old}}") == (fhat1 - f1) * h1


def test_fractions_and_numbers_are_exact(net):
    w7 = net.symbol("w7")
    assert one(net, r"\frac12 w_7") == w7 / 2
    assert one(net, r"\dfrac{1}{2} w_7") == w7 / 2
    assert one(net, r"0.5 w_7") == w7 / 2  # exact, so a symbolic proof stays exact
    assert one(net, r"2 \frac{1}{2} w_7") == w7  # a product, not the mixed number 2½
    assert one(net, r"w_7^2") == w7**2
    assert one(net, r"-w_7^{2}") == -(w7**2)
    assert one(net, r"|w_7|") == sympy.Abs(w7)


def test_unicode_operators_and_greek(net):
    w7 = net.symbol("w7")
    assert one(net, "w_7 × h_1 − h_1 · w_7") == 0
    assert one(net, "σ(w_7)") == fn.sigmoid(w7)


# --------------------------------------------------------------------------- derivations


def test_leading_derivative_is_dropped_and_names_the_parameter(net):
    claim = read_latex(net, r"\frac{\partial Loss}{\partial w_7} = (\hat{f}_1 - f_1) h_1")
    assert claim.wrt == net.symbol("w7")
    assert claim.lines == ((net.symbol("fhat1") - net.symbol("f1")) * net.symbol("h1"),)
    # bracketed with the seeds' evaluation subscript, and with another name for the loss
    claim = read_latex(net, r"\left(\frac{\partial L}{\partial w_1}\right)_w &= w_7")
    assert claim.wrt == net.symbol("w1")


def test_left_side_about_another_step_is_refused(net):
    with pytest.raises(SymgradError) as err:
        read_latex(net, r"\frac{\partial h_1}{\partial w_1} = i_1")
    assert err.value.token == "h_1"


def test_chain_rule_local_derivatives(net):
    sym = net.symbol
    g = net.functions["g"]
    assert one(net, r"\frac{\partial u_1}{\partial h_1}") == sym("w7")
    assert one(net, r"\frac{\partial u_2}{\partial w_1}") == sym("i1")
    assert one(net, r"\frac{\partial Loss}{\partial \hat{f}_1}") == sym("fhat1") - sym("f1")
    assert one(net, r"\frac{\partial h_1}{\partial w_1}") == sym("i1") * g(sym("u2")) * (1 - g(sym("u2")))
    # through a step: f̂1 = g(u1), u1 = w7 h1 + …; the result is written in the network's names
    u1 = sym("u1")
    assert one(net, r"\frac{\partial \hat{f}_1}{\partial h_1}") == sym("w7") * g(u1) * (1 - g(u1))


def test_chain_of_equalities_gives_one_line_each(net):
    claim = read_latex(
        net,
        r"\begin{aligned} \frac{\partial Loss}{\partial w_7} &= \frac{\partial Loss}{\partial \hat f_1} \frac{\partial \hat f_1}{\partial w_7} \\ &= (\hat f_1 - f_1)\, g'(u_1)\, h_1 \end{aligned}",
    )
    assert claim.wrt == net.symbol("w7")
    assert len(claim.lines) == 2


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "text, token, error",
    [
        (r"(\hat{f}_1 - f_1", "(", ParseError),
        (r"w_7) + (h_1", ")", ParseError),
        (r"\hat{f_1 - f_1", "{", ParseError),
        (r"\hat{f}_1} - f_1", "}", ParseError),
        (r"[w_7 + h_1)", ")", ParseError),
        (r"\left( w_7 + h_1 \right", r"\right", ParseError),
        (r"\foo{w_7}", r"\foo", ParseError),
        (r"w_7 \star h_1", r"\star", ParseError),
        (r"w_{11}", "w_{11}", UnknownSymbolError),
        (r"q_1 h_1", "q_1", UnknownSymbolError),
        (r"\hat{q}_1", r"\hat{q}_1", UnknownSymbolError),
        (r"w_{ij}^{(2)}", "w_{ij}^{(2)}", UnknownSymbolError),
        (r"w_10", "w_10", ParseError),
        (r"h_1'", "h_1'", ParseError),
        (r"w_7 +", "+", ParseError),
        (r"\cdot w_7", r"\cdot", ParseError),
        (r"g", "g", ParseError),
        (r"h_1 + \ldots", r"\ldots", ParseError),
        (r"\begin{bmatrix} w_1 & w_2 \end{bmatrix}", r"\begin{bmatrix}", ParseError),
        (r"g(u_1, u_2)", ",", ParseError),
    ],
)
def test_bad_latex_names_the_token(net, text, token, error):
    with pytest.raises(error) as err:
        read_latex(net, text)
    assert err.value.token == token
    assert token in str(err.value) or token.strip("{}") in str(err.value)


def test_unknown_name_suggests_close_names(net):
    with pytest.raises(UnknownSymbolError) as err:
        read_latex(net, r"w_{11} h_1")
    assert "w_{10}" in str(err.value)


def test_errors_give_the_column(net):
    with pytest.raises(ParseError) as err:
        read_latex(net, r"w_7 + (h_1")
    assert "column 7" in str(err.value)


def test_errors_are_symgrad_errors_not_library_tracebacks(net):
    for text in [r"\frac{}{h_1}", r"^2", r"w_7 ^", r"_1", r"\frac{\partial}{\partial w_7}", r"\partial w_7", "w_7 = "]:
        with pytest.raises(SymgradError):
            read_latex(net, text)


def test_a_lone_closing_bracket_is_kept_for_the_verifier(net):
    claim = read_latex(net, r"(\hat f_1 - f_1) w_7 \} i_1")
    assert claim.stray.startswith(r"'\}'")
    assert claim.lines == ((net.symbol("fhat1") - net.symbol("f1")) * net.symbol("w7") * net.symbol("i1"),)
    # the opening \{ could go before (f̂1 − f1), before w7 or before i1... the last place changes nothing
    assert len(claim.readings) == 2


# --------------------------------------------------------------------------- Python and sympy claims


def test_kind_detection(net):
    assert read_claim(net, "(fhat1 - f1)*h1").kind == "python"
    assert read_claim(net, r"(\hat f_1 - f_1) h_1").kind == "latex"
    assert read_claim(net, "(fhat1 - f1) h1").kind == "latex"  # implicit product: not Python
    assert read_claim(net, "w_7*h_1").kind == "latex"  # Python syntax, LaTeX-style names
    assert read_claim(net, sympy.Symbol("w7")).kind == "sympy"
    assert read_claim(net, 0).kind == "sympy"


def test_python_claims(net):
    g = net.functions["g"]
    u1 = net.symbol("u1")
    assert read_python(net, "g(u1)*(1 - g(u1))").lines[0] == g(u1) * (1 - g(u1))
    assert read_python(net, "w7^2").lines[0] == net.symbol("w7") ** 2
    assert read_python(net, "0.5*w7").lines[0] == net.symbol("w7") / 2
    with pytest.raises(UnknownSymbolError) as err:
        read_python(net, "w7*q")
    assert err.value.token == "q"
    with pytest.raises(ParseError):
        read_python(net, "w7 == h1")
    with pytest.raises(ParseError):
        read_python(net, "w7[0]")


def test_sympy_claims_match_by_name(net):
    fhat1, f1, u1 = sympy.symbols("fhat1 f1 u1")  # plain symbols, not the network's real ones
    g = sympy.Function("g")
    expr = read_sympy(net, (fhat1 - f1) * g(u1)).lines[0]
    assert expr == (net.symbol("fhat1") - net.symbol("f1")) * net.functions["g"](net.symbol("u1"))
    # LaTeX-style symbol names too (as latex2sympy makes them)
    assert read_sympy(net, sympy.Symbol("w_{10}")).lines[0] == net.symbol("w10")
    assert read_sympy(net, sympy.Float(0.5) * sympy.Symbol("w7")).lines[0] == net.symbol("w7") / 2
    with pytest.raises(UnknownSymbolError):
        read_sympy(net, sympy.Symbol("q"))
    with pytest.raises(UnknownSymbolError):
        read_sympy(net, sympy.Function("k")(u1))
    with pytest.raises(ParseError):
        read_sympy(net, sympy.Eq(fhat1, f1))


def test_names_mapping_for_another_notation(mlp):
    # seed 003 writes z for the targets and y for the hidden activations
    names = {"z_1": "y1", "y_3": "x1_3"}
    assert one(mlp, r"(f(u^{(2)}_1) - z_1) y_3", names=names) == (fn.sigmoid(mlp.symbol("u2_1")) - mlp.symbol("y1")) * mlp.symbol("x1_3")
    # a mapped name wins over the network's own y_1 only where it is mapped
    assert one(mlp, "y_1", names=names) == mlp.symbol("y1")
    with pytest.raises(SymgradError):
        read_latex(mlp, "y_1", names={"z_1": "nonsense_name"})
