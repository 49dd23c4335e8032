r"""Derivatives as people write them (symgrad.verification.reader.calculus)."""

import pytest
import sympy

import symgrad as sg
from conftest import one
from symgrad.errors import ParseError
from symgrad.verification.reader import read_latex
from symgrad.verification.reader.calculus import function_derivative, partial


def test_d_with_or_without_a_space_as_symgrad_prints_it(net):
    g, u1 = net.functions["g"], net.symbol("u1")
    for text in (r"\frac{d g}{d u_{1}}", r"\frac{dg}{du_1}", r"\frac{d\,g}{d\,u_1}", r"\frac{\mathrm{d} g}{\mathrm{d} u_1}", "dg/du_1"):
        assert one(net, text) == g(u1) * (1 - g(u1)), text


def test_slash_forms_and_other_names_for_the_loss(net):
    assert one(net, r"\partial Loss/\partial \hat f_1") == net.symbol("fhat1") - net.symbol("f1")
    assert one(net, r"\partial E/\partial \hat f_1") == net.symbol("fhat1") - net.symbol("f1")  # E: the loss
    assert one(net, r"\partial u_1/\partial h_1") == net.symbol("w7")
    claim = read_latex(net, r"\partial E/\partial \hat f_1")
    assert claim.lines  # and the reading is noted where a verdict shows it


def test_operator_forms_apply_to_what_follows_up_to_a_sign_or_product(net):
    fhat1, f1, h1 = (net.symbol(n) for n in ("fhat1", "f1", "h1"))
    assert one(net, r"\frac{\partial}{\partial \hat f_1} \frac{1}{2}(\hat f_1 - f_1)^2") == fhat1 - f1
    # the steps in between fold back into their names: g(u_1) is the step f̂_1
    assert one(net, r"\frac{\partial}{\partial u_1} g(u_1) \cdot h_1") == fhat1 * (1 - fhat1) * h1
    assert one(net, r"\frac{d}{d u_1}\left(g(u_1) h_1\right) + 1") == fhat1 * (1 - fhat1) * h1 + 1
    product = one(net, r"\frac{d}{d u_1} g(u_1)\, g(u_1)")  # implicit products stay under the operator
    assert sympy.expand(product - 2 * fhat1**2 * (1 - fhat1)) == 0
    with pytest.raises(ParseError):
        read_latex(net, r"\frac{\partial}{\partial u_1}")


def test_function_commands_as_the_numerator(net):
    u1 = net.symbol("u1")
    assert one(net, r"\frac{d \tanh}{d u_1}") == 1 - sympy.tanh(u1) ** 2
    assert one(net, r"\frac{d \sigma}{d u_1}") == function_derivative(sg.model.functions.sigmoid, 1, u1)


def test_gradients_of_the_loss_with_nabla(net):
    assert one(net, r"\nabla_{w_7} Loss") == net.grad("w7").factored
    with pytest.raises(ParseError):
        read_latex(net, r"\nabla Loss")


def test_partial_holds_the_other_symbols_fixed(net):
    assert partial(net, net.symbol("u1"), net.symbol("h1")) == net.symbol("w7")
    x = sympy.Symbol("x")
    assert sympy.simplify(function_derivative(sympy.tanh, 2, x) - sympy.tanh(x).diff(x, 2)) == 0
