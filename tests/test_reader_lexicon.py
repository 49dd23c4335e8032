r"""What a claim's names mean (symgrad.verification.reader.lexicon)."""

import pytest
import sympy

import symgrad as sg
from symgrad.errors import ParseError, UnknownSymbolError
from symgrad.verification.reader.lexicon import Definition, IndexOutOfRange, Lexicon, UnboundIndex, Variant, index_letters
from symgrad.verification.reader.matrices import Matrix
from symgrad.verification.reader.names import parse_name
from symgrad.verification.reader.parser import Parser
from symgrad.verification.reader.tokens import Formula

NET = sg.mlp([3, 4, 2])


def value(text, **kw):
    return Lexicon(NET, **kw).value(parse_name(text))


def test_generic_indices_take_their_bound_values():
    assert value(r"w^{(l)}_{ij}", bindings={"l": 2, "i": 1, "j": 4}).name == "W2_1_4"
    assert value(r"a^{(l-1)}_k", bindings={"l": 1, "k": 3}).name == "x3"
    assert value(r"\delta^{(L)}_i", bindings={"i": 2}) == sg.mlp([3, 4, 2]).grad("b2_2").factored
    assert index_letters(parse_name(r"w^{(l+1)}_{kj}")) == ["l", "k", "j"]
    with pytest.raises(IndexOutOfRange):
        value(r"w^{(2)}_{ij}", bindings={"i": 3, "j": 1})
    with pytest.raises(UnboundIndex) as err:
        value(r"w^{(2)}_{ij}")
    assert err.value.token == r"w^{(2)}_{ij}"


def test_bare_superscripts_read_as_layers_or_powers_and_say_so():
    lexicon = Lexicon(NET)
    assert lexicon.value(parse_name("b^2_1")).name == "b2_1"
    assert lexicon.notes == ["b^2_1 is read as b^{(2)}_{1} (layer 2), not as a power"]
    with pytest.raises(ParseError) as err:
        lexicon.value(parse_name("x^2_1"))
    assert "ambiguous" in str(err.value)
    plain = sg.Network.from_expr("x1**2", params="x1")
    assert Lexicon(plain).value(parse_name("x^2_1")) == plain.symbol("x1") ** 2


def test_whole_matrices_and_vectors_in_each_convention():
    W = value("W^{(2)}")
    assert isinstance(W, Matrix) and W.shape == (2, 4) and W.entries[0, 3].name == "W2_1_4"
    assert value("W^{(2)}", convention="row").shape == (4, 2)
    assert value(r"\mathbf{a}^{(1)}").shape == (4, 1) and value(r"\mathbf{a}^{(1)}", convention="row").shape == (1, 4)
    assert [s.name for s in value(r"\mathbf{y}").entries] == ["y1", "y2"]
    assert [s.name for s in value(r"\mathbf{w}^{(2)}_1").entries] == ["W2_1_1", "W2_1_2", "W2_1_3", "W2_1_4"]


def test_definitions_resolve_by_pattern_and_layer():
    lexicon = Lexicon(NET)
    text = r"\delta^{(l)}_j = 7 a^{(l)}_j"
    f = Formula(text)
    lexicon.define(Definition(parse_name(r"\delta^{(l)}_j"), lambda lex: Parser(NET, f, lex).expression(f.equals[0] + 1, len(f))))
    assert lexicon.value(parse_name(r"\delta^{(1)}_3")) == 7 * NET.symbol("x1_3")
    with pytest.raises(UnknownSymbolError):
        Lexicon(sg.Network.from_expr("x1**2", params="x1")).value(parse_name(r"\epsilon_3"))


def test_variants_change_one_name_at_one_place():
    lexicon = Lexicon(NET)
    name = parse_name(r"w^{(2)}_{12}")
    assert lexicon.bound(variant=Variant(5, swap=True)).value(name, at=5).name == "W2_2_1"
    assert lexicon.bound(variant=Variant(5, layer_shift=-1)).value(name, at=5).name == "W1_1_2"
    assert lexicon.bound(variant=Variant(5, swap=True)).value(name, at=6).name == "W2_1_2"  # elsewhere: unchanged
    assert lexicon.bound(variant=Variant(5, transpose=True)).value(parse_name("W^{(2)}"), at=5).shape == (4, 2)


def test_adjoints_of_parameters_and_steps_and_not_of_inputs():
    lexicon = Lexicon(NET)
    assert lexicon.adjoint(NET.symbol("W1_1_1")) == NET.grad("W1_1_1").factored
    assert lexicon.adjoint(NET.symbol("u2_1")) == NET.grad("b2_1").factored
    with pytest.raises(ParseError):
        lexicon.adjoint(NET.symbol("x1"))
    assert isinstance(lexicon.adjoint(value("W^{(2)}")), Matrix)
    assert sympy.simplify(lexicon.error_term(parse_name(r"\delta^{(2)}_1")) - NET.grad("b2_1").factored) == 0
