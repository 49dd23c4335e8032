r"""The arithmetic of a LaTeX formula: functions, primes, brackets, fractions, local derivatives.

The networks are the examples' (the ``net`` and ``mlp`` fixtures of conftest): the
Datawhale article's ten-weight network with g = sigmoid (examples/datawhale.toml), the
3-4-2 sigmoid MLP, and the plain function (x1·x2 − 3)² + 1.
"""

import sympy

from conftest import one
from symgrad.model import functions as fn


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
