r"""Verifying hand derivations: the seeds' own derivations as printed, and one mistake of each kind.

The truth is always ``net.grad(...)`` (itself checked against ``sympy.diff`` in the
foundation's tests); no seed formula is taken as true. Seed 002's printed last lines
for ∂Loss/∂w1 *and* ∂Loss/∂w6 are both misbracketed (the common factor multiplies
only the second chain-rule term); their first two lines are right.
"""

import re

import pytest
import sympy

import symgrad as sg
from conftest import SEED_002_EQUATIONS as SEED_002
from symgrad.errors import ParseError, SymgradError, UnknownSymbolError
from symgrad.verification.diagnose import MISTAKES
from symgrad.verification.verify import Verdict, verify, verify_value

# Seed 002's derivations, verbatim (Datawhale, "the mathematics behind ANNs", §2.2.2).
SEED_002_W7 = r"""$$\begin{aligned}
 \left( \frac{\partial Loss}{\partial w_7} \right)_w &= \left( \frac{\partial Loss}{\partial \hat{f}_1} \right)_w \times \left( \frac{\partial \hat{f}_1}{\partial w_7} \right)_w \\
 &= \left( \frac{\partial Loss}{\partial \hat{f}_1} \right)_w \times \left( \frac{dg}{du_1} \right)_w \times \left( \frac{\partial u_1}{\partial w_7} \right)_w \\
 &= (\hat{f}_1 - f_1)_w \times [g(u_1) \times (1 - g(u_1))]_w \times (h_1)_w
 \end{aligned}$$"""

SEED_002_W1 = r"""$$\begin{aligned}
 \left(\frac{\partial Loss}{\partial w_1}\right)_w &= \left(\frac{\partial Loss}{\partial \hat{f}_1}\right)_w \times \left(\frac{\partial \hat{f}_1}{\partial h_1}\right)_w \times \left(\frac{\partial h_1}{\partial w_1}\right)_w + \left(\frac{\partial Loss}{\partial \hat{f}_2}\right)_w \times \left(\frac{\partial \hat{f}_2}{\partial h_1}\right)_w \times \left(\frac{\partial h_1}{\partial w_1}\right)_w \\
 &= \left(\frac{\partial Loss}{\partial \hat{f}_1}\right)_w \times \left(\frac{dg}{du_1}\right)_w \times \left(\frac{\partial u_1}{\partial h_1}\right)_w \times \left(\frac{dg}{du_2}\right)_w \times \left(\frac{\partial u_2}{\partial w_1}\right)_w \\
 &\quad + \left(\frac{\partial Loss}{\partial \hat{f}_2}\right)_w \times \left(\frac{dg}{du_3}\right)_w \times \left(\frac{\partial u_3}{\partial h_1}\right)_w \times \left(\frac{dg}{du_2}\right)_w \times \left(\frac{\partial u_2}{\partial w_1}\right)_w \\
 &= \{(\hat{f}_1 - f_1)_w \times [g(u_1) \times (1 - g(u_1))]\}_w \times (w_7)_w + \{(\hat{f}_2 - f_2)_w \times [g(u_3) \times (1 - g(u_3))]\}_w \times (w_9)_w \\
 &\quad \times [g(u_2) \times (1 - g(u_2))]\}_w \times i_1
 \end{aligned}$$"""

SEED_002_W6 = r"""$$\begin{aligned}
 \left(\frac{\partial Loss}{\partial w_6}\right)_w &= \left(\frac{\partial Loss}{\partial \hat{f}_1}\right)_w \times \left(\frac{\partial \hat{f}_1}{\partial h_2}\right)_w \times \left(\frac{\partial h_2}{\partial w_6}\right)_w + \left(\frac{\partial Loss}{\partial \hat{f}_2}\right)_w \times \left(\frac{\partial \hat{f}_2}{\partial h_2}\right)_w \times \left(\frac{\partial h_2}{\partial w_6}\right)_w \\
 &= \left[ \left(\frac{\partial Loss}{\partial \hat{f}_1}\right)_w \times \left(\frac{dg}{du_1}\right)_w \times \left(\frac{\partial u_1}{\partial h_2}\right)_w + \left(\frac{\partial Loss}{\partial \hat{f}_2}\right)_w \times \left(\frac{dg}{du_3}\right)_w \times \left(\frac{\partial u_3}{\partial h_2}\right)_w \right] \times \left(\frac{\partial h_2}{\partial w_6}\right)_w \\
 &= \{(\hat{f}_1 - f_1)_w \times [g(u_1) \times (1 - g(u_1))]\}_w \times (w_8)_w + \{(\hat{f}_2 - f_2)_w \times [g(u_3) \times (1 - g(u_3))]\}_w \times (w_{10})_w \times i_3
 \end{aligned}$$"""

# Seed 000 (3.2) and seed 003's element formulas, verbatim.
SEED_000_J = r"\mathbf{J}(f) = \begin{bmatrix} 2x_2(x_1 x_2 - 3) & 2x_1(x_1 x_2 - 3) \end{bmatrix} \quad (3.2)"
SEED_003_W2 = r"\frac{\partial L}{\partial w_{ij}^{(2)}} = \left(f\left(\mathbf{w}_{1}^{(2)}\mathbf{y} + b_{1}^{(2)}\right) - z_{1} \right) f'\left(\mathbf{w}_{1}^{(2)}\mathbf{y} + b_{1}^{(2)}\right) y_{j}"
SEED_003_W2_ROW = r"\frac{\partial L}{\partial \mathbf{w}_{i:}^{(2)}} = \left(f\left(\mathbf{w}_{i}^{(2)}\mathbf{y} + b_{i}^{(2)}\right) - z_{i} \right) f\left(\mathbf{w}_{i}^{(2)}\mathbf{y} + b_{i}^{(2)}\right) y_{j}"
SEED_003_B2 = r"\frac{\partial L}{\partial b_2^{(2)}} = \left(f\left(\mathbf{w}_2^{(2)} \mathbf{y} + b_2^{(2)}\right) - z_2 \right) f'\left(\mathbf{w}_2^{(2)} \mathbf{y} + b_2^{(2)}\right)"
SEED_003_B2_MATRIX = r"\left(f\left(\mathbf{W}^{(2)} \mathbf{y} + \mathbf{b}^{(2)} \right) - \mathbf{z} \right) \odot f\left(\mathbf{W}^{(2)} \mathbf{y} + \mathbf{b}^{(2)} \right)"

# Seed 003 writes y for the hidden activations (the network's x1_k) and z for the targets (y_i).
SEED_003_NAMES = {**{f"y_{k}": f"x1_{k}" for k in range(1, 5)}, **{f"z_{i}": f"y{i}" for i in range(1, 3)}}


def seed_003_element(text: str, i: int, j: int | None = None) -> str:
    r"""Seed 003's formula for row ``i`` (and column ``j``): the row-vector product
    ``\mathbf{w}_i^{(2)}\mathbf{y}`` written out as the seed itself writes it for z_1
    (``w_{11}^{(2)}y_1 + … + w_{14}^{(2)}y_4``), and the generic indices made concrete."""
    text = re.sub(r"\\mathbf\{w\}_\{?(\d|i)\}?\^\{\(2\)\}\s*\\mathbf\{y\}", lambda m: " + ".join(f"w_{{{i}{k}}}^{{(2)}}y_{k}" for k in range(1, 5)), text)
    text = text.replace("_{ij}", f"_{{{i}{j}}}").replace("_{i}", f"_{{{i}}}").replace("_{i:}", f"_{{{i}:}}")
    return text.replace("y_{j}", f"y_{{{j}}}") if j is not None else text


@pytest.fixture(scope="module")
def net():
    return sg.Network.from_equations(
        SEED_002, params="w1:11 b1 b2", inputs="i1 i2 i3", targets="f1 f2", functions={"g": "sigmoid"}
    )


@pytest.fixture(scope="module")
def net000():
    return sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")


@pytest.fixture(scope="module")
def mlp():
    return sg.mlp([3, 4, 2], activation="sigmoid", loss="mse")


def assert_refuted(v: Verdict, mistake: str | None, net, param):
    assert not v.ok
    assert v.exit_code == 1
    assert v.mistake == mistake, v.diagnosis
    assert v.counterexample is not None
    assert v.counterexample.claimed != pytest.approx(v.counterexample.true, rel=1e-9)
    # every diagnosis ends with the correct factored form
    assert net.grad(param).latex() in v.diagnosis


# --------------------------------------------------------------------------- seed 002


def test_seed_002_w7_holds_line_by_line(net):
    v = verify(net, "w7", SEED_002_W7)
    assert v.ok and v.exit_code == 0
    assert len(v.lines) == 3 and all(line.ok for line in v.lines)
    assert v.counterexample is None and v.diagnosis is None


def test_seed_002_w1_as_printed_is_refuted_with_the_bracket_diagnosis(net):
    v = verify(net, "w1", SEED_002_W1)
    assert [line.ok for line in v.lines] == [True, True, False]
    assert_refuted(v, "bracket", net, "w1")
    assert v.diagnosis.startswith("line 3 of the derivation")
    # the printed line has one \} too many; the claim is wrong wherever its \{ would go
    assert r"'\}'" in v.diagnosis and "wherever" in v.diagnosis
    # the shared factors g'(u2)·i1 multiply only the second chain-rule term
    assert r"g(u_{2}) \left(1 - g(u_{2})\right) \cdot i_{1}" in v.diagnosis
    assert "w1 → u2 → h1 → u3 → fhat2 → Loss" in v.diagnosis


def test_seed_002_w1_with_its_opening_brace_restored_is_still_misbracketed(net):
    # the author's pattern is \{…\}_w around each evaluated factor: restore the missing \{
    restored = SEED_002_W1.replace(r"&\quad \times [g(u_2)", r"&\quad \times \{[g(u_2)")
    v = verify(net, "w1", restored)
    assert_refuted(v, "bracket", net, "w1")
    assert "wherever" not in v.diagnosis


def test_seed_002_w6_chain_rule_lines_hold_but_the_printed_last_line_is_misbracketed(net):
    v = verify(net, "w6", SEED_002_W6)
    assert [line.ok for line in v.lines] == [True, True, False]
    assert_refuted(v, "bracket", net, "w6")
    assert "$i_{3}$ is shared" in v.diagnosis
    # the derivation up to its second line holds
    two_lines = SEED_002_W6.split(r"\\" + "\n &= \\{")[0] + r"\end{aligned}$$"
    assert verify(net, "w6", two_lines).ok


def test_seed_002_correctly_bracketed_last_lines_hold(net):
    w1 = r"\left[(\hat{f}_1 - f_1) g(u_1)(1 - g(u_1)) w_7 + (\hat{f}_2 - f_2) g(u_3)(1 - g(u_3)) w_9\right] g(u_2)(1 - g(u_2))\, i_1"
    w6 = r"\left[(\hat{f}_1 - f_1) g(u_1)(1 - g(u_1)) w_8 + (\hat{f}_2 - f_2) g(u_3)(1 - g(u_3)) w_{10}\right] i_3"
    assert verify(net, "w1", w1).ok
    assert verify(net, "w6", w6).ok


# --------------------------------------------------------------------------- seed 003


@pytest.mark.parametrize("i, j", [(1, 1), (1, 3), (2, 2), (2, 4)])
def test_seed_003_weight_element_formula_holds(mlp, i, j):
    text = SEED_003_W2 if i == 1 else SEED_003_W2.replace("_{1}", "_{2}")  # the seed's i = 2 case "is similar"
    v = verify(mlp, f"W2_{i}_{j}", seed_003_element(text, i, j), names=SEED_003_NAMES)
    assert v.ok, v.diagnosis


def test_seed_003_unified_row_formula_drops_the_prime(mlp):
    # "可以统一写成": the unified line writes f where f' belongs
    claim = seed_003_element(SEED_003_W2_ROW, 2, 3).split("=", 1)[1]
    v = verify(mlp, "W2_2_3", claim, names=SEED_003_NAMES)
    assert_refuted(v, "wrong_factor", mlp, "W2_2_3")
    assert "σ written for σ'" in v.diagnosis


@pytest.mark.parametrize("i", [1, 2])
def test_seed_003_bias_element_formula_holds(mlp, i):
    text = SEED_003_B2.replace("_2", f"_{i}").replace("z_2", f"z_{i}")
    v = verify(mlp, f"b2_{i}", seed_003_element(text, i), names=SEED_003_NAMES)
    assert v.ok, v.diagnosis


def test_seed_003_bias_matrix_form_drops_the_prime(mlp):
    # the matrix form ⊙ f(…), read for its first element
    element = (
        SEED_003_B2_MATRIX.replace(r"\mathbf{W}^{(2)} \mathbf{y} + \mathbf{b}^{(2)}", r"\mathbf{w}_1^{(2)}\mathbf{y} + b_1^{(2)}")
        .replace(r"\mathbf{z}", "z_1")
    )
    v = verify(mlp, "b2_1", seed_003_element(element, 1), names=SEED_003_NAMES)
    assert_refuted(v, "wrong_factor", mlp, "b2_1")


# --------------------------------------------------------------------------- seed 000


def test_seed_000_gradient_3_2_holds(net000):
    entries = SEED_000_J.split(r"\begin{bmatrix}")[1].split(r"\end{bmatrix}")[0].split("&")
    assert verify(net000, "x1", entries[0]).ok
    assert verify(net000, "x2", entries[1]).ok
    # the whole row vector is not one scalar claim
    with pytest.raises(ParseError):
        verify(net000, "x1", SEED_000_J)


def test_seed_000_hand_computed_value_is_off_by_a_factor_2(net000):
    v = verify_value(net000, "x1", -1.995136, at={"x1": 1.04, "x2": 1.04})
    assert not v.ok and v.exit_code == 1
    assert v.method == "numeric"
    assert v.counterexample.true == pytest.approx(-3.990272, abs=1e-12)
    assert v.counterexample.claimed == -1.995136
    assert v.counterexample.point == {"x1": 1.04, "x2": 1.04}
    assert v.mistake == "constant_factor"
    assert "half" in v.diagnosis and "factor 2" in v.diagnosis
    assert net000.grad("x1").latex() in v.diagnosis


def test_seed_000_values_that_hold(net000):
    assert verify_value(net000, "x1", -3.990272, at={"x1": 1.04, "x2": 1.04}).ok
    # (3.4): the gradient at (1, 1) is [-4, -4]; an integer is taken as exact
    assert verify_value(net000, "x1", -4, at={"x1": 1, "x2": 1}).ok
    assert verify_value(net000, "x2", -4, at={"x1": 1, "x2": 1}).ok
    assert not verify_value(net000, "x2", -4, at={"x1": 1.04, "x2": 1.04}).ok


def test_value_is_checked_to_the_digits_written(net000):
    at = {"x1": 1.04, "x2": 1.04}
    assert verify_value(net000, "x1", -3.99, at=at).ok  # |−3.99 − (−3.990272)| < 0.005
    assert not verify_value(net000, "x1", -3.98, at=at).ok
    assert verify_value(net000, "x1", "-3.9903", at=at).ok
    assert not verify_value(net000, "x1", -3.99, at=at, rel_tol=1e-9).ok


def test_value_diagnosis_finds_a_missing_path(net):
    at = {s.name: 0.1 * (k + 1) * (-1) ** k for k, s in enumerate(net.params + net.inputs + net.targets)}
    d = net.grad("w1")
    subs = {net.symbol(k): sympy.Rational(str(v)) for k, v in at.items()}
    first_path_only = d.paths[0].product.xreplace(net.substituted).xreplace(subs)
    claimed = float(sympy.N(first_path_only, 12))
    v = verify_value(net, "w1", round(claimed, 9), at=at)
    assert not v.ok
    assert v.mistake == "missing_path"


def test_value_errors(net000):
    with pytest.raises(SymgradError) as err:
        verify_value(net000, "x1", -4, at={"x1": 1})
    assert err.value.token == "x2"
    with pytest.raises(UnknownSymbolError):
        verify_value(net000, "x1", -4, at={"x1": 1, "x2": 1, "x3": 0})
    with pytest.raises(SymgradError):
        verify_value(net000, "x1", "about four", at={"x1": 1, "x2": 1})
    with pytest.raises(UnknownSymbolError):
        verify_value(net000, "x9", -4, at={"x1": 1, "x2": 1})


# --------------------------------------------------------------------------- one mistake of each kind

W1_TRUE = r"\left[(\hat f_1 - f_1) g'(u_1) w_7 + (\hat f_2 - f_2) g'(u_3) w_9\right] g'(u_2) i_1"

MISTAKE_CASES = [
    # (network, parameter, claim, mistake, a phrase the diagnosis must contain)
    ("seed002", "w7", r"(f_1 - \hat{f}_1) g(u_1)(1-g(u_1)) h_1", "sign", "negative"),
    ("seed000", "x1", r"-2x_2(x_1x_2-3)", "sign", "negative"),
    ("seed002", "w1", W1_TRUE.replace("+ (", "- ("), "sign", "minus sign"),
    ("seed002", "w7", r"2(\hat{f}_1 - f_1) g(u_1)(1-g(u_1)) h_1", "constant_factor", "twice"),
    ("seed002", "w7", r"\frac{1}{2}(\hat{f}_1 - f_1) g(u_1)(1-g(u_1)) h_1", "constant_factor", "half"),
    ("seed000", "x2", r"x_1(x_1x_2-3)", "constant_factor", "half"),
    ("seed002", "w7", r"(\hat{f}_1 - f_1) h_1", "missing_factor", "∂fhat1/∂u1"),
    ("seed002", "w1", W1_TRUE.replace("g'(u_2)", ""), "missing_factor", "∂h1/∂u2"),
    ("mlp", "W1_2_1", r"\left[(x^{(2)}_1 - y_1) w^{(2)}_{12} + (x^{(2)}_2 - y_2) w^{(2)}_{22}\right] \sigma'(u^{(1)}_2) x_1", "missing_factor", "one in each"),
    ("seed002", "w7", r"(\hat{f}_1 - f_1) g'(u_1) h_1 w_7", "extra_factor", "$w_{7}$"),
    ("seed002", "w7", r"(\hat{f}_1 - f_1) g'(u_1) g'(u_1) h_1", "extra_factor", "g(u_{1})"),
    ("seed002", "w7", r"(\hat{f}_1 - f_1) g(u_1) h_1", "wrong_factor", "σ written for σ'"),
    ("seed002", "w1", W1_TRUE.replace("g'(u_2)", "g(u_2)"), "wrong_factor", "σ written for σ'"),
    ("mlp", "W2_1_3", r"(x^{(2)}_1 - y_1) \sigma(u^{(2)}_1) x^{(1)}_3", "wrong_factor", "σ written for σ'"),
    ("seed002", "w1", r"(\hat f_1 - f_1) g'(u_1) w_7 g'(u_2) i_1", "missing_path", "w1 → u2 → h1 → u3 → fhat2 → Loss"),
    ("seed002", "w6", r"(\hat f_2 - f_2) g'(u_3) w_{10} i_3", "missing_path", "w6 → h2 → u1 → fhat1 → Loss"),
    ("seed002", "w7", r"(\hat{f}_1 - f_1) g'(u_1) h_1 + (\hat{f}_2 - f_2) g'(u_3) h_1", "extra_path", "belongs to w9"),
    ("seed002", "b1", r"(\hat{f}_1 - f_1) g'(u_1) + (\hat{f}_2 - f_2) g'(u_3)", "extra_path", "belongs to b2"),
    ("seed002", "w1", r"(\hat f_1 - f_1) g'(u_1) w_7 + (\hat f_2 - f_2) g'(u_3) w_9 g'(u_2) i_1", "bracket", "shared by both"),
    ("seed002", "w6", r"(\hat f_1 - f_1) g'(u_1) w_8 + (\hat f_2 - f_2) g'(u_3) w_{10} i_3", "bracket", "$i_{3}$ is shared"),
    ("seed002", "w7", r"\hat{f}_1 - f_1 g(u_1)(1-g(u_1)) h_1", "bracket", "missing brackets"),
    ("seed002", "w7", r"(\hat{f}_1 - f_1) g'(u_1) h_2", "wrong_parameter", "∂Loss/∂w8"),
    ("seed002", "w9", r"(\hat{f}_2 - f_2) g'(u_3) h_2", "wrong_parameter", "∂Loss/∂w10"),
    ("seed002", "w1", W1_TRUE.replace("w_9", "w_8"), "wrong_variable", "$w_{8}$ where $w_{9}$"),
    ("seed002", "w7", r"(\hat{f}_1 - f_1) g'(u_3) h_1", "wrong_variable", "$u_{3}$ where $u_{1}$"),
    (
        "mlp",
        "W1_2_1",
        r"\left[(x^{(2)}_1 - y_1) \sigma'(u^{(2)}_1) w^{(2)}_{21} + (x^{(2)}_2 - y_2) \sigma'(u^{(2)}_2) w^{(2)}_{22}\right] \sigma'(u^{(1)}_2) x_1",
        "wrong_variable",
        r"$w^{(2)}_{2,1}$ where $w^{(2)}_{1,2}$",
    ),
]


@pytest.fixture(scope="module")
def networks(net, net000, mlp):
    return {"seed002": net, "seed000": net000, "mlp": mlp}


@pytest.mark.parametrize("which, param, claim, mistake, phrase", MISTAKE_CASES)
def test_each_mistake_is_diagnosed(networks, which, param, claim, mistake, phrase):
    network = networks[which]
    v = verify(network, param, claim)
    assert_refuted(v, mistake, network, param)
    assert phrase in v.diagnosis


def test_every_kind_of_mistake_is_covered_twice():
    counts = {m: sum(1 for case in MISTAKE_CASES if case[3] == m) for m in MISTAKES}
    assert all(n >= 2 for n in counts.values()), counts


def test_an_unexplained_claim_still_gets_a_counterexample_and_the_correct_form(net):
    v = verify(net, "w7", r"\hat{f}_1 + f_1 h_1 w_8 i_2")
    assert_refuted(v, None, net, "w7")
    assert "no single mistake" in v.diagnosis


# --------------------------------------------------------------------------- notations, kinds, results


@pytest.mark.parametrize(
    "claim",
    [
        r"\frac{\partial Loss}{\partial w_7} = (\hat{f}_1 - f_1)\, g(u_1)\left(1 - g(u_1)\right) h_1",
        "(fhat1 - f1)*g(u1)*(1 - g(u1))*h1",
        "(fhat1 - f1)*fhat1*(1 - fhat1)*h1",
        r"(\hat f_1 - f_1)\, \sigma'(u_1)\, h_1",
        r"(\hat f_1 - f_1) \frac{e^{-u_1}}{(1 + e^{-u_1})^2} h_1",
    ],
)
def test_correct_claims_in_several_notations_hold(net, claim):
    assert verify(net, "w7", claim).ok


def test_correct_claim_as_a_sympy_expression_holds(net):
    fhat1, f1, u1, h1 = sympy.symbols("fhat1 f1 u1 h1")
    g = sympy.Function("g")
    assert verify(net, "w7", (fhat1 - f1) * g(u1) * (1 - g(u1)) * h1).ok
    # and the network's own derivative, for every parameter
    for p in net.params:
        assert verify(net, p, net.grad(p).factored).ok


@pytest.mark.parametrize(
    "sizes, options",
    [
        ([2, 2, 1], {}),
        ([2, 2, 1], {"activation": "tanh"}),
        ([2, 2, 1], {"activation": "relu"}),
        ([2, 2, 1], {"activation": "softplus"}),
        ([2, 2, 1], {"loss": "mae"}),
        ([2, 2, 2], {"activation": ["sigmoid", "softmax"], "loss": "cross_entropy"}),
        ([2, 2, 2], {"loss": "softmax_cross_entropy"}),
    ],
)
def test_symgrads_own_latex_reads_back_and_holds(sizes, options):
    network = sg.mlp(sizes, **options)
    for p in (network.params[0], network.params[-1]):
        d = network.grad(p)
        assert verify(network, p, d.latex()).ok
    assert verify(network, network.params[0], network.grad(network.params[0]).latex("expanded")).ok


def test_method_says_whether_a_proof_was_found(net):
    v = verify(net, "w7", "(fhat1 - f1)*g(u1)*(1 - g(u1))*h1")
    assert v.ok and v.method == "symbolic"  # equal as written: no search needed
    v = verify(net, "w7", r"(\hat f_1 - f_1) \frac{e^{-u_1}}{(1 + e^{-u_1})^2} h_1", timeout=0)
    assert v.ok and v.method == "numeric"  # no time for a proof: only the random points agreed


def test_counterexample_is_a_real_point_where_the_claim_fails(net):
    v = verify(net, "w1", r"(\hat f_1 - f_1) g'(u_1) w_7 g'(u_2) i_1")
    point = {net.symbol(k): sympy.Float(x, 30) for k, x in v.counterexample.point.items()}
    true = sympy.diff(sg.model.functions.to_elementary(net.loss_expr), net.symbol("w1")).xreplace(point)
    claimed = sg.model.functions.to_elementary(v.claim.xreplace(net.substituted)).xreplace(point)
    assert float(true) == pytest.approx(v.counterexample.true, rel=1e-9)
    assert float(claimed) == pytest.approx(v.counterexample.claimed, rel=1e-9)


def test_relu_network_avoids_the_kink():
    relu = sg.mlp([2, 2, 1], activation="relu", loss="mse")
    claim = r"(x^{(2)}_1 - y_1) \operatorname{ReLU}'(u^{(2)}_1) w^{(2)}_{12} \operatorname{ReLU}'(u^{(1)}_2) x_1"
    assert verify(relu, "W1_2_1", claim).ok
    v = verify(relu, "W1_2_1", claim.replace(r"\operatorname{ReLU}'(u^{(1)}_2)", r"\operatorname{ReLU}(u^{(1)}_2)"))
    assert v.mistake == "wrong_factor"


def test_claim_about_another_parameter_is_unusable(net):
    with pytest.raises(SymgradError) as err:
        verify(net, "w1", r"\frac{\partial Loss}{\partial w_7} = (\hat f_1 - f_1) g'(u_1) h_1")
    assert err.value.token == "w7"


def test_a_lone_brace_that_would_make_the_claim_hold_is_reported_not_guessed(net):
    # an opening \{ before the first term would make this right: symgrad says so and stops
    claim = r"(\hat f_1 - f_1) g'(u_1) w_7 + (\hat f_2 - f_2) g'(u_3) w_9 \} g'(u_2) i_1"
    with pytest.raises(ParseError) as err:
        verify(net, "w1", claim)
    assert err.value.token == r"\}"
    assert "holds" in str(err.value)


def test_a_lone_brace_whose_deletion_makes_the_claim_hold_is_reported(net):
    with pytest.raises(ParseError) as err:
        verify(net, "w7", r"(\hat f_1 - f_1) g'(u_1) h_1 \}")
    assert err.value.token == r"\}"
    assert "holds" in str(err.value)


def test_parameter_may_be_named_in_latex(mlp, net000):
    assert verify(mlp, r"w^{(2)}_{13}", r"(x^{(2)}_1 - y_1) \sigma'(u^{(2)}_1) x^{(1)}_3").param == "W2_1_3"
    assert verify_value(net000, "x_1", -4, at={"x1": 1, "x2": 1}).ok
    with pytest.raises(UnknownSymbolError):
        verify(net000, "x_3", "0")


@pytest.mark.parametrize(
    "claim, token",
    [
        (r"(\hat{f}_1 - f_1) g(u_1 h_1", "("),
        (r"{(\hat{f}_1 - f_1) h_1", "{"),
        (r"(\hat{f}_1 - f_1) \gee(u_1) h_1", r"\gee"),
        (r"(\hat{f}_1 - f_1) g'(u_1) h_3", "h_3"),
    ],
)
def test_bad_latex_is_unusable_input_naming_the_token(net, claim, token):
    with pytest.raises(SymgradError) as err:
        verify(net, "w7", claim)
    assert err.value.token == token


def test_verdict_prints_for_the_command_line(net):
    bad = verify(net, "w1", SEED_002_W1)
    text = str(bad)
    assert text.startswith("∂Loss/∂w1: REFUTED")
    assert "line 3: REFUTED (bracket)" in text and "counterexample" in text and "diagnosis" in text
    good = verify(net, "w7", "(fhat1 - f1)*g(u1)*(1 - g(u1))*h1")
    assert str(good).startswith("∂Loss/∂w7: HOLDS")
    assert good.exit_code == 0 and bad.exit_code == 1


def test_same_seed_same_counterexample(net):
    claim = r"(\hat{f}_1 - f_1) h_1"
    assert verify(net, "w7", claim).counterexample == verify(net, "w7", claim).counterexample
    assert verify(net, "w7", claim, seed=1).counterexample != verify(net, "w7", claim).counterexample
