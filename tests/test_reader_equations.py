r"""A block of LaTeX as equations, and what their left sides are (symgrad.verification.reader.equations)."""

import symgrad as sg
from symgrad.verification.reader.claims import lexicon
from symgrad.verification.reader.equations import free_letters, left_side, split_equations
from symgrad.verification.reader.parser import Parser
from symgrad.verification.reader.tokens import Formula

NET = sg.mlp([3, 4, 2])


def parts(text):
    f = Formula(text)
    return f, [(f.source(*e.lhs) if e.lhs else None, [f.source(*r) for r in e.rhs]) for e in split_equations(f)]


def test_equations_and_their_continuation_lines():
    _, eqs = parts(r"A &= B \\ &= C \\ &\quad + D \\ E &= F = G")
    assert eqs == [("A", ["B", r"C \\ &\quad + D"]), ("E", ["F", "G"])]
    assert parts("B")[1] == [(None, ["B"])]
    assert parts(r"&= B \\ &= C")[1] == [(None, ["B", "C"])]


def roles(text):
    f = Formula(text)
    parser = Parser(NET, f, lexicon(NET))
    return [left_side(parser, *e.lhs).role for e in split_equations(f) if e.lhs]


def test_what_a_left_side_is():
    assert roles(r"\frac{\partial L}{\partial w^{(2)}_{11}} = 0") == ["gradient"]
    assert roles(r"\left(\frac{\partial J}{\partial w^{(2)}_{11}}\right)_w = 0") == ["gradient"]  # J: another name for the loss
    assert roles(r"\nabla_{W^{(2)}} L = 0 \\ dL/db^{(1)}_2 = 0 \\ \partial L/\partial b^{(1)}_2 = 0") == ["gradient"] * 3
    assert roles(r"\delta^{(2)} = 0 \\ \delta_j = 0 \\ e_k = 0") == ["definition"] * 3
    assert roles(r"u^{(1)}_1 = 0 \\ \mathbf{u}^{(1)} = 0 \\ f'(\mathbf{u}^{(1)}) = 0") == ["fact"] * 3
    assert roles(r"\frac{\partial u^{(2)}_1}{\partial w^{(2)}_{11}} = 0") == ["derivative"]


def test_free_letters_leave_out_summed_ones():
    f = Formula(r"\frac{\partial L}{\partial w^{(l)}_{jk}} = \sum_i w^{(l+1)}_{ij} \delta^{(l+1)}_i a^{(l-1)}_k")
    assert free_letters(Parser(NET, f, lexicon(NET)), [(0, len(f))]) == ["l", "j", "k"]
