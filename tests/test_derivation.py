r"""Whole derivations: generic indices checked for every value, names a derivation defines,
matrix formulas in both conventions, on the 3-4-2 example (examples/mlp_3_4_2.toml) and
the 4-layer example (examples/deep_4_layer.toml: tanh, tanh, sigmoid).

The truth is always the network's own gradient (net.grad and its sweep); the formulas
below are written the way a textbook writes them, some with a slip on purpose.
"""

import itertools

import pytest

from conftest import node_numbered_network, seed_network
from symgrad.errors import SymgradError, UnknownSymbolError
from symgrad.verification.derivation import check_derivation
from symgrad.verification.verify import verify


@pytest.fixture(scope="module")
def mlp():
    return seed_network("mlp_3_4_2")


@pytest.fixture(scope="module")
def deep():
    return seed_network("deep_4_layer")


# --------------------------------------------------------------------------- generic indices


def test_generic_index_formula_holds_for_every_index_value(mlp):
    v = verify(mlp, None, r"\frac{\partial L}{\partial w^{(1)}_{ij}} = \left(\sum_k w^{(2)}_{ki}\, \delta^{(2)}_k\right) f'(u^{(1)}_i)\, x_j")
    assert v.ok and v.scope == "for all 12 (i, j)"
    assert str(v).startswith(r"\frac{\partial L}{\partial w^{(1)}_{ij}}: HOLDS for all 12 (i, j)")
    v = verify(mlp, None, r"\frac{\partial L}{\partial w^{(2)}_{ij}} = (\hat y_i - y_i)\, f'(u^{(2)}_i)\, a^{(1)}_j")
    assert v.ok and v.scope == "for all 8 (i, j)"


def test_generic_index_formula_in_the_seeds_letters_with_a_names_mapping(mlp):
    # z for the targets and y for the hidden activations, mapped entry by entry
    names = {**{f"z_{i}": f"y{i}" for i in (1, 2)}, **{f"y_{k}": f"x1_{k}" for k in range(1, 5)}}
    v = verify(mlp, None, r"\frac{\partial L}{\partial w^{(2)}_{ij}} = (\hat y_i - z_i) f'(u^{(2)}_i) y_j", names=names)
    assert v.ok and v.scope == "for all 8 (i, j)"


def test_generic_index_slip_names_the_first_failing_values_and_the_slip(mlp):
    v = verify(mlp, None, r"\frac{\partial L}{\partial w^{(2)}_{ij}} = (\hat y_i - y_i)\, f'(u^{(2)}_i)\, a^{(1)}_i")
    assert not v.ok and v.mistake == "wrong_variable"
    assert v.counterexample.where == "(i, j) = (1, 2)"  # i = j holds by accident: the first failure is (1, 2)
    assert v.diagnosis.startswith("(i, j) = (1, 2): wrong index: a^{(1)}_i")
    assert "should be a^{(1)}_j" in v.diagnosis
    v = verify(mlp, None, r"\frac{\partial L}{\partial w^{(2)}_{ij}} = (\hat y_i - y_i)\, f'(u^{(2)}_i)\, a^{(2)}_j")
    assert not v.ok and "wrong layer: a^{(2)}_j" in v.diagnosis


def test_a_sum_whose_names_run_over_different_ranges_is_a_slip(mlp):
    # w^{(2)}_{ik}: k runs over 4 columns, δ^{(2)}_k over 2 entries; the swapped index is named
    v = verify(mlp, None, r"\frac{\partial L}{\partial w^{(1)}_{ij}} = \left(\sum_k w^{(2)}_{ik}\, \delta^{(2)}_k\right) f'(u^{(1)}_i)\, x_j")
    assert not v.ok and v.mistake == "wrong_variable"
    assert "swapped index: w^{(2)}_{ik}" in v.diagnosis and "should be w^{(2)}_{ki}" in v.diagnosis
    # as an error, when it cannot be a slip of the claim being checked
    with pytest.raises(SymgradError) as err:
        check_derivation(mlp, r"\delta_1 = \sum_k w^{(2)}_{1k}\, \delta^{(2)}_k")
    assert "the names of one sum must run over the same range" in str(err.value)


def test_generic_layer_formulas_on_the_four_layer_network(deep):
    text = r"""\begin{aligned}
    \delta^{(l)}_j &= \left(\sum_k w^{(l+1)}_{kj}\, \delta^{(l+1)}_k\right) f'(u^{(l)}_j) \\
    \frac{\partial L}{\partial w^{(l)}_{jk}} &= \delta^{(l)}_j\, a^{(l-1)}_k
    \end{aligned}"""
    v = verify(deep, None, text)
    assert v.ok, v
    assert [line.scope for line in v.lines] == ["for all 7 (l, j)", "for all 30 (l, j, k)"]  # 12 + 12 + 6 weights
    assert v.definitions[0].matches is True and "error term" in v.definitions[0].meaning
    # f' of the wrong layer: tanh' where σ' belongs (and the other way round)
    bad = verify(deep, None, text.replace("f'(u^{(l)}_j)", "f'(u^{(l+1)}_j)"))
    assert not bad.ok and bad.lines[0].ok is False


def test_a_free_index_on_the_right_only_is_an_error(mlp):
    with pytest.raises(UnknownSymbolError) as err:
        verify(mlp, None, r"\frac{\partial L}{\partial w^{(2)}_{12}} = \delta^{(2)}_i\, a^{(1)}_j")
    assert err.value.token == "i"
    with pytest.raises(UnknownSymbolError):
        verify(mlp, "W2_1_2", r"\delta^{(2)}_i\, a^{(1)}_j")


def test_a_given_parameter_picks_its_index_values(mlp):
    v = verify(mlp, "W2_1_3", r"\frac{\partial L}{\partial w^{(2)}_{ij}} = (\hat y_i - y_i)\, f'(u^{(2)}_i)\, a^{(1)}_j")
    assert v.ok and v.param == "W2_1_3"
    with pytest.raises(SymgradError):
        verify(mlp, "W1_1_1", r"\frac{\partial L}{\partial w^{(2)}_{ij}} = (\hat y_i - y_i)\, f'(u^{(2)}_i)\, a^{(1)}_j")


# --------------------------------------------------------------------------- names a derivation defines


WIKI_DERIVATION = r"""\begin{aligned}
\delta_5 &= (o_5 - t_5)\, o_5 (1 - o_5) \\
\delta_j &= \Big(\sum_k w_{jk}\, \delta_k\Big)\, o_j (1 - o_j) \\
\frac{\partial E}{\partial w_{ij}} &= \delta_j\, o_i
\end{aligned}"""


@pytest.fixture(scope="module")
def wiki():
    return node_numbered_network()


def test_definitions_bind_for_the_lines_after_them_and_are_reported(wiki):
    v = verify(wiki, None, WIKI_DERIVATION)
    assert v.ok, v
    assert [line.method for line in v.lines[:2]] == ["definition", "definition"]
    assert v.lines[2].scope == "for all 6 (i, j)"
    d5, dj = v.definitions
    assert (d5.name, d5.line, d5.matches) == (r"\delta_5", 2, True) and "∂E/∂net5" in d5.meaning
    assert dj.matches is True and "∂E/∂net3" in dj.meaning and "∂E/∂net4" in dj.meaning
    assert "definition: \\delta_j (line 2) is the network's adjoint" in str(v)  # as the verdict numbers its lines


def test_a_definition_may_follow_the_line_that_uses_it(wiki):
    # "∂E/∂w_ij = δ_j o_i, where δ_5 = … and δ_j = …"
    reordered = r"""\begin{aligned}
\frac{\partial E}{\partial w_{ij}} &= \delta_j\, o_i \\
\delta_5 &= (o_5 - t_5)\, o_5 (1 - o_5) \\
\delta_j &= \Big(\sum_k w_{jk}\, \delta_k\Big)\, o_j (1 - o_j)
\end{aligned}"""
    v = verify(wiki, None, reordered)
    assert v.ok, v
    assert [line.method for line in v.lines[1:]] == ["definition", "definition"]
    assert all(d.matches for d in v.definitions)
    slipped = verify(wiki, None, reordered.replace("(o_5 - t_5)", "(t_5 - o_5)"))
    assert not slipped.ok and not slipped.lines[0].ok


HIDDEN_FIRST = r"""\begin{aligned}
\delta_j &= \Big(\sum_k w_{jk}\, \delta_k\Big)\, o_j (1 - o_j) \\
\delta_5 &= e_5\, o_5 (1 - o_5) \\
e_5 &= o_5 - t_5 \\
\frac{\partial E}{\partial w_{ij}} &= \delta_j\, o_i
\end{aligned}"""


def test_a_definition_may_use_names_defined_further_down(wiki):
    # The recursion before its base case: δ_j from δ_k, then the output unit's δ_5 from e_5.
    v = verify(wiki, None, HIDDEN_FIRST)
    assert v.ok, v
    assert [line.method for line in v.lines[:3]] == ["definition"] * 3 and v.lines[3].scope == "for all 6 (i, j)"
    assert [(d.name, d.line, d.matches) for d in v.definitions] == [(r"\delta_j", 2, True), (r"\delta_5", 3, True), ("e_5", 4, True)]
    slipped = verify(wiki, None, HIDDEN_FIRST.replace("o_5 - t_5", "t_5 - o_5"))
    assert not slipped.ok and not slipped.lines[3].ok and "sign" in str(slipped)


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))), ids=lambda order: "".join(map(str, order)))
def test_a_derivation_holds_whatever_the_order_of_its_lines(wiki, order):
    lines = HIDDEN_FIRST.splitlines()[1:-1]
    text = " \\\\\n".join(lines[k].rstrip(" \\") for k in order)
    v = verify(wiki, None, text)
    assert v.ok, (text, v)
    assert sorted(d.name for d in v.definitions) == sorted([r"\delta_j", r"\delta_5", "e_5"])


def test_a_name_defined_again_is_a_claim_about_the_first_definition(wiki):
    # Every line reads δ_5 as its first definition; the line that restates it wrongly is
    # the one refuted, not the line between the two that uses it.
    restated = r"""\begin{aligned}
\delta_5 &= (o_5 - t_5)\, o_5 (1 - o_5) \\
\frac{\partial E}{\partial w_{35}} &= \delta_5\, o_3 \\
\delta_5 &= (t_5 - o_5)\, o_5 (1 - o_5)
\end{aligned}"""
    v = verify(wiki, None, restated)
    assert [line.ok for line in v.lines] == [True, True, False] and v.lines[0].method == "definition"
    assert [(d.name, d.line) for d in v.definitions] == [(r"\delta_5", 2)]
    simplified = verify(wiki, None, r"\delta_5 = \frac{\partial E}{\partial net_5} \\ \delta_5 = (o_5 - t_5)\, o_5 (1 - o_5) \\ "
                                    r"\frac{\partial E}{\partial w_{35}} = \delta_5\, o_3")
    assert simplified.ok and simplified.lines[1].method != "definition", simplified


def test_definitions_that_wait_for_each_other_or_an_unknown_name_are_errors(wiki):
    circle = r"\alpha_5 = \beta_5 \\ \beta_5 = 2\alpha_5 \\ \frac{\partial E}{\partial w_{35}} = \alpha_5\, o_3"
    with pytest.raises(UnknownSymbolError, match=r"definitions of '\\\\alpha_5', '\\\\beta_5' each use a name another of them defines") as caught:
        verify(wiki, None, circle)
    assert caught.value.token == r"\beta_5"
    with pytest.raises(UnknownSymbolError, match=r"unknown name '\\\\gamma_k'"):
        verify(wiki, None, HIDDEN_FIRST.replace(r"\delta_k\Big)", r"\gamma_k\Big)"))


def test_a_definition_with_a_slip_is_reported_and_the_line_using_it_refuted(wiki):
    v = verify(wiki, None, WIKI_DERIVATION.replace("(o_5 - t_5)", "(t_5 - o_5)"))
    assert not v.ok and v.mistake == "sign"
    assert v.definitions[0].matches is False and "negative of the network's adjoint" in v.definitions[0].meaning


def test_a_name_no_line_defines_is_unknown(wiki):
    with pytest.raises(UnknownSymbolError):
        verify(wiki, None, r"\frac{\partial E}{\partial w_{35}} = \epsilon_5\, o_3 \\ \delta_5 = (o_5 - t_5) o_5 (1 - o_5)")


def test_a_wrong_error_term_definition_is_the_first_wrong_line(mlp):
    text = r"""\begin{aligned}
    \delta^{(2)} &= (\mathbf{a}^{(2)} - \mathbf{y}) \\
    \nabla_{W^{(2)}} L &= \delta^{(2)} (\mathbf{a}^{(1)})^T
    \end{aligned}"""
    v = verify(mlp, None, text)
    assert [line.ok for line in v.lines] == [False, False]
    assert v.diagnosis.startswith("line 1 of the derivation")
    assert v.lines[0].mistake == "missing_factor" and "f'(u^{(2)})" in v.lines[0].diagnosis
    assert v.definitions[0].matches is False


# --------------------------------------------------------------------------- matrix formulas

MATRIX_CASES = [
    # network, formula (holds), convention it holds in
    ("mlp", r"\delta^{(l)} = (W^{(l+1)})^T \delta^{(l+1)} \odot f'(\mathbf{u}^{(l)})", "column"),
    ("mlp", r"\delta^{(l)} = \delta^{(l+1)} (W^{(l+1)})^T \odot f'(\mathbf{u}^{(l)})", "row"),
    ("mlp", r"\nabla_{W^{(l)}} L = \delta^{(l)} (a^{(l-1)})^T", "column"),
    ("mlp", r"\nabla_{W^{(l)}} L = (a^{(l-1)})^T \delta^{(l)}", "row"),
    ("mlp", r"\frac{\partial L}{\partial \mathbf{b}^{(2)}} = (\mathbf{a}^{(2)} - \mathbf{y}) \odot \sigma(\mathbf{u}^{(2)}) \odot (\mathbf{1} - \sigma(\mathbf{u}^{(2)}))", None),
    ("deep", r"\delta^{(l)} = (W^{(l+1)})^T \delta^{(l+1)} \odot f'(\mathbf{z}^{(l)})", "column"),
    ("deep", r"\nabla_{W^{(l)}} L = \delta^{(l)} (\mathbf{a}^{(l-1)})^T", "column"),
    ("deep", r"\nabla_{W^{(l)}} L = (\mathbf{a}^{(l-1)})^T \delta^{(l)}", "row"),
]


@pytest.fixture(scope="module")
def layered(mlp, deep):
    return {"mlp": mlp, "deep": deep}


@pytest.mark.parametrize("which, formula, convention", MATRIX_CASES)
def test_matrix_formulas_hold_in_their_convention(layered, which, formula, convention):
    v = verify(layered[which], None, formula)
    assert v.ok, v
    scope = v.lines[0].scope if v.lines else v.scope
    if convention is not None:
        assert f"in the {convention} convention" in scope


MATRIX_SLIPS = [
    # network, formula with one slip, mistake, phrase
    ("mlp", r"\delta^{(l)} = W^{(l+1)} \delta^{(l+1)} \odot f'(\mathbf{u}^{(l)})", "transposed", "W^{(l+1)} at column"),
    ("mlp", r"\nabla_{W^{(2)}} L = \delta^{(2)} \mathbf{a}^{(1)}", "transposed", r"(\mathbf{a}^{(1)})^T"),
    ("deep", r"\nabla_{W^{(l)}} L = \delta^{(l)} (a^{(l-1)})", "transposed", "transposition slip"),
    ("mlp", r"\delta^{(l)} = (W^{(l+1)})^T \delta^{(l+1)}", "missing_factor", "missing ⊙ f'(u^{(1)})"),
    ("deep", r"\delta^{(l)} = (W^{(l+1)})^T \delta^{(l+1)}", "missing_factor", "missing ⊙ f'(u^{(1)})"),
    ("mlp", r"\nabla_{W^{(l)}} L = \delta^{(l)} (a^{(l)})^T", "wrong_variable", "wrong layer: a^{(l)}"),
    ("deep", r"\nabla_{W^{(l)}} L = \delta^{(l)} (\mathbf{a}^{(l)})^T", "wrong_variable", r"should be \mathbf{a}^{(l-1)}"),
]


@pytest.mark.parametrize("which, formula, mistake, phrase", MATRIX_SLIPS)
def test_matrix_slips_are_named(layered, which, formula, mistake, phrase):
    v = verify(layered[which], None, formula)
    assert not v.ok
    assert v.mistake == mistake, v.diagnosis
    assert phrase in v.diagnosis
    assert "The correct formula" in v.diagnosis  # the network's own matrix form, for comparison


def test_check_derivation_reports_line_numbers_and_roles(mlp):
    result = check_derivation(mlp, "\\delta^{(2)} = (\\mathbf{a}^{(2)} - \\mathbf{y}) \\odot f'(\\mathbf{u}^{(2)}) \\\\\n"
                                    "\\nabla_{\\mathbf{b}^{(2)}} L = \\delta^{(2)}")
    assert [(line.line, line.role, line.ok) for line in result.lines] == [(1, "definition", True), (2, "gradient", True)]
