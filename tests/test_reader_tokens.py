r"""Tokens and brackets: errors name the token and its column; layout is dropped.

The networks are the examples' (the ``net`` and ``mlp`` fixtures of conftest): the
Datawhale article's ten-weight network with g = sigmoid (examples/datawhale.toml), the
3-4-2 sigmoid MLP, and the plain function (x1·x2 − 3)² + 1.
"""

import pytest

from conftest import one
from symgrad.errors import ParseError, SymgradError, UnknownSymbolError
from symgrad.verification.reader import read_latex
from symgrad.verification.reader.tokens import MAX_DEPTH, Formula, tokenize


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


def test_errors_give_the_column(net):
    with pytest.raises(ParseError) as err:
        read_latex(net, r"w_7 + (h_1")
    assert "column 7" in str(err.value)


def test_errors_are_symgrad_errors_not_library_tracebacks(net):
    for text in [r"\frac{}{h_1}", r"^2", r"w_7 ^", r"_1", r"\frac{\partial}{\partial w_7}", r"\partial w_7", "w_7 = "]:
        with pytest.raises(SymgradError):
            read_latex(net, text)


# --------------------------------------------------------------------------- the Formula itself



def test_formula_pairs_every_bracket_and_finds_the_equals_signs():
    f = Formula(r"\left( a + [b] \right) = \{c\}_w = |d|")
    texts = [t.text for t in f.tokens]
    assert f.pairs[texts.index(r"\left")] == texts.index(r"\right")
    assert f.pairs[texts.index("[")] == texts.index("]")
    assert f.pairs[texts.index(r"\{")] == texts.index(r"\}")
    assert len(f.equals) == 2
    assert f.opener_text(texts.index(r"\left")) == "("
    assert f.source(f.inner_start(texts.index(r"\left")), texts.index(r"\right")) == "a + [b]"


def test_line_breaks_are_kept_apart_from_spaces():
    f = Formula(r"a \\ b (c \\ d)")
    assert [t.category for t in tokenize(r"a\\b")] == ["letter", "newline", "letter"]
    assert f.newlines(0, len(f)) == [2]  # the one inside the bracket is not a line break of the block


def test_a_lone_closer_is_kept_only_when_asked():
    with pytest.raises(ParseError):
        Formula(r"a + b \} c")
    f = Formula(r"a + b \} c", allow_stray=True)
    assert f.stray is not None and f.stray_error.token == r"\}"
    assert f[f.stray].category == "space"


def test_deep_nesting_is_refused_not_a_recursion_error(net):
    deep = "{" * 1000 + "w_7" + "}" * 1000
    with pytest.raises(ParseError) as err:
        read_latex(net, deep)
    assert str(MAX_DEPTH) in str(err.value)
    assert one(net, "(" * 40 + "w_7" + ")" * 40) == net.symbol("w7")
