r"""Claims: a derivation's lines and left side, lone brackets, Python and sympy claims.

The networks are the examples' (the ``net`` and ``mlp`` fixtures of conftest): the
Datawhale article's ten-weight network with g = sigmoid (examples/datawhale.toml), the
3-4-2 sigmoid MLP, and the plain function (x1·x2 − 3)² + 1.
"""

import pytest
import sympy

from symgrad.errors import ParseError, SymgradError, UnknownSymbolError
from symgrad.verification.reader import read_claim, read_latex, read_python, read_sympy


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


def test_chain_of_equalities_gives_one_line_each(net):
    claim = read_latex(
        net,
        r"\begin{aligned} \frac{\partial Loss}{\partial w_7} &= \frac{\partial Loss}{\partial \hat f_1} \frac{\partial \hat f_1}{\partial w_7} \\ &= (\hat f_1 - f_1)\, g'(u_1)\, h_1 \end{aligned}",
    )
    assert claim.wrt == net.symbol("w7")
    assert len(claim.lines) == 2


def test_a_lone_closing_bracket_is_kept_for_the_verifier(net):
    claim = read_latex(net, r"(\hat f_1 - f_1) w_7 \} i_1")
    assert claim.stray.startswith(r"'\}'")
    assert claim.lines == ((net.symbol("fhat1") - net.symbol("f1")) * net.symbol("w7") * net.symbol("i1"),)
    # the opening \{ could go before (f̂1 − f1), before w7 or before i1... the last place changes nothing
    assert len(claim.readings) == 2


def test_kind_detection(net):
    assert read_claim(net, "(fhat1 - f1)*h1").notation == "python"
    assert read_claim(net, r"(\hat f_1 - f_1) h_1").notation == "latex"
    assert read_claim(net, "(fhat1 - f1) h1").notation == "latex"  # implicit product: not Python
    assert read_claim(net, "w_7*h_1").notation == "latex"  # Python syntax, LaTeX-style names
    assert read_claim(net, sympy.Symbol("w7")).notation == "sympy"
    assert read_claim(net, 0).notation == "sympy"


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
