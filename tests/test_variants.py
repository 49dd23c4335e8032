r"""Diagnoses found by changing the claim's text one thing at a time (symgrad.verification.variants)."""

import mpmath
import pytest

import symgrad as sg
from conftest import seed_network
from symgrad.verification.reader.claims import lexicon
from symgrad.verification.reader.tokens import Formula
from symgrad.verification.sampling import DPS, Sample
from symgrad.verification.variants import adjoint_named, correct_form, find


@pytest.fixture(scope="module")
def datawhale():
    return seed_network("datawhale")


def _find(net, text, param):
    truth = net.grad(param).factored
    with mpmath.workdps(DPS):
        sample = Sample.random(net, [truth], n=4, seed=0)
        f = Formula(text)
        return find(net, f, lexicon(net), (0, len(f)), truth, sample, deadline=float("inf"))


@pytest.mark.parametrize(
    "text, phrase",
    [
        (r"(\hat{f}_1 - f_1) g(u_1) (1 - g(u_1) h_1)", "the ')' at column 41 belongs after column 36"),
        (r"[(\hat f_1 - f_1 g(u_1))(1 - g(u_1)) h_1]", "the ')' at column 24 belongs after column 16"),
        (r"(\hat{f}_1 - f_1) g(u_1)(1 - g(u_1)) h_2", "wrong layer"),
    ],
)
def test_one_change_that_makes_the_claim_hold_names_the_slip(datawhale, text, phrase):
    finding = _find(datawhale, text, "w7")
    if phrase == "wrong layer":  # h_2 for h_1 is no layer slip on a network without layers
        assert finding is None or "layer" not in finding.message
        return
    assert finding is not None and finding.mistake == "bracket"
    assert phrase in finding.message


def test_a_function_written_for_its_derivative():
    net = sg.Network.from_equations("h = tanh(w*x); L = (h - y)**2/2", params="w", inputs="x", targets="y")
    finding = _find(net, r"(h - y) \tanh(w x)\, x", "w")
    assert finding.mistake == "wrong_factor" and r"\tanh at column 9 should be \tanh'" in finding.message


def test_adjoints_are_recognised_by_their_values(datawhale):
    sweep = datawhale.grad("w1").sweep
    with mpmath.workdps(DPS):
        sample = Sample.random(datawhale, [datawhale.loss], n=3, seed=0)
        named = adjoint_named(datawhale, sample, [sweep.inline[datawhale.symbol("u1")]])
        negated = adjoint_named(datawhale, sample, [-sweep.inline[datawhale.symbol("u1")]], sign=-1)
        nothing = adjoint_named(datawhale, sample, [datawhale.symbol("w7") ** 3])
    assert [s.name for s in named] == ["u1"] and [s.name for s in negated] == ["u1"] and nothing == []


def test_the_correct_form_is_the_networks_own_matrix_form_line():
    net = seed_network("mlp_3_4_2")
    assert correct_form(net, r"\nabla_{W^{(2)}} L", "column") == r"\nabla_{W^{(2)}} L = \delta^{(2)} \left(\mathbf{x}^{(1)}\right)^{T}"
    assert correct_form(net, r"\frac{\partial L}{\partial W^{(l)}}", "row", {"l": 1}).startswith(r"\nabla_{W^{(1)}} L = ")
    assert correct_form(net, r"\delta^{(1)}", "column").startswith(r"\delta^{(1)} = ")
    assert correct_form(seed_network("datawhale"), r"\nabla_{w_1} Loss", "column") is None  # no layers, no matrix form
