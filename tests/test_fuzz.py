"""Fuzzing: random equation text, spec files, LaTeX claims and arrays.

Each input either gives a correct result or raises a SymgradError, within a time bound
(TIME_BOUND seconds, by SIGALRM); any other exception, a hang, or a wrong result fails
the test. A "correct result" is checked where it can be: a network read from text has
symbolic gradients equal to the independent numeric backprop; an array accepted by the
numeric engine gives what the compiled gradient gives.

Examples per run scale with ``SYMGRAD_FUZZ_SCALE`` (1 by default; 10 for a long run).
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

import symgrad as sg
from conftest import EXAMPLES, seed_network, time_limit
from symgrad.cli import main
from symgrad.crosscheck.backprop import numeric_backprop, numeric_backprop_batch
from symgrad.crosscheck.check import check_spec
from symgrad.model.spec import load_spec
from symgrad.train import gradient_descent

TIME_BOUND = 10.0
_SCALE = int(os.environ.get("SYMGRAD_FUZZ_SCALE", "1"))


def fuzz(examples: int):
    return settings(max_examples=examples * _SCALE, deadline=None, derandomize=_SCALE == 1,
                    suppress_health_check=list(HealthCheck), print_blob=True)


@pytest.fixture(autouse=True, scope="module")
def _private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYMGRAD_CACHE_DIR", str(tmp_path_factory.mktemp("symgrad-cache")))
        yield


def outcome(run):
    """``run()`` within the time bound: its value, or the SymgradError it raised (as a value)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", sg.UnusedParameterWarning)
        warnings.simplefilter("error", RuntimeWarning)  # no NumPy warning leaks out either
        with time_limit(TIME_BOUND):
            try:
                value = run()
            except sg.SymgradError as exc:
                assert str(exc), "a SymgradError must say what is wrong"
                _event(f"refused: {type(exc).__name__}")
                return exc
    _event("accepted")
    return value


def _event(what: str) -> None:
    if currently_in_test_context():  # hypothesis' statistics: how much was accepted, how much refused
        event(what)


# --------------------------------------------------------------------------- equation text

_NAMES = ["w1", "w2", "x", "y", "h", "L", "u"]
_PIECES = _NAMES + [
    "sigmoid", "tanh", "relu", "log", "exp", "sqrt", "abs", "softplus", "g", "(", ")", "+", "-", "*", "/", "**", "^", ",", "=", "==",
    "\n", ";", "#", " ", "0", "1", "2.5", "1e3", "10", "1e400", "0x1f", "ﬁ", "fi", "é", "$", "'", "[", "]", ".", "@", "\\", "{", "}",
    "lambda", "import", "__class__", "9" * 30, "Ω",
]


def _expression(names):
    atoms = st.sampled_from(names + ["1", "2", "0.5", "3", "0"])
    return st.recursive(
        atoms,
        lambda e: st.one_of(
            st.builds(lambda a, o, b: f"({a} {o} {b})", e, st.sampled_from(["+", "-", "*", "/", "**"]), e),
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(["sigmoid", "tanh", "relu", "softplus", "exp", "log", "sqrt", "abs", "g"]), e),
            st.builds(lambda a: f"-{a}", e),
        ),
        max_leaves=8,
    )


_STRUCTURED = st.builds(
    lambda h, loss: f"h = {h}\nL = {loss}",
    _expression(["w1", "w2", "x"]),
    _expression(["h", "w1", "w2", "x", "y"]),
)
_GARBAGE = st.lists(st.sampled_from(_PIECES), max_size=40).map("".join)
_ANY_TEXT = st.text(max_size=60)


def _gradients_agree(net):
    """The derived gradients (compiled, jit=False) equal the numeric backprop, at one random point.

    Where they do not, the compiled column must be NaN or infinite, loudly: a degenerate
    text (``h = 0; L = h**w``, whose derivative 0**w·log 0 is NaN where the backprop's rule
    gives 0) may fail the check, but never with a finite wrong number.
    """
    with np.errstate(all="ignore"):
        rep = sg.check(net, points=1, seed=1, fd=None)
    for row in rep.failed:
        assert not math.isfinite(row.symbolic), rep
    for error in rep.loss_errors:
        assert "nan" in error or "inf" in error, rep
    return rep


@fuzz(150)
@given(st.one_of(_STRUCTURED, _GARBAGE, _ANY_TEXT, st.builds(lambda a, b: a + b, _STRUCTURED, _GARBAGE)))
def test_random_equation_text(text):
    def run():
        net = sg.Network.from_equations(text, params="w1 w2", inputs="x", targets="y", functions={"g": "tanh"})
        return _gradients_agree(net)

    outcome(run)


@fuzz(60)
@given(st.one_of(_expression(["w1", "w2"]), _GARBAGE))
def test_random_plain_function(text):
    outcome(lambda: _gradients_agree(sg.Network.from_expr(text, params="w1 w2", functions={"g": "sigmoid"})))


# --------------------------------------------------------------------------- spec files


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else ("inf" if value > 0 else "-inf"))
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_value(v)}' for k, v in value.items()) + " }"
    raise TypeError(value)


def _toml(document: dict) -> str:
    lines = [f'"{k}" = {_toml_value(v)}' for k, v in document.items() if not isinstance(v, dict)]
    for k, v in document.items():
        if isinstance(v, dict):
            lines.append(f'["{k}"]')
            lines += [f'"{kk}" = {_toml_value(vv)}' for kk, vv in v.items()]
    return "\n".join(lines) + "\n"


_SCALARS = st.one_of(
    st.integers(-3, 5), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
    st.sampled_from(["w1 w2", "x", "y", "sigmoid", "tanh", "relu", "softmax", "mse", "cross_entropy", "batch", "sgd", "abc", "w1:3",
                     "L = (w1*x - y)**2", "h = tanh(w1*x + w2)\nL = (h - y)**2", "(w1*w2 - 3)**2", "false", ""]),
)
_VALUES = st.recursive(_SCALARS, lambda v: st.one_of(st.lists(v, max_size=4), st.dictionaries(st.sampled_from(["g", "w1", "x"]), v, max_size=2)),
                       max_leaves=8)


def _table(keys):
    return st.dictionaries(st.sampled_from(keys), _VALUES, max_size=len(keys))


_VALID_NETWORKS = [
    {"equations": "h = tanh(w1*x + w2)\nL = (h - y)**2", "params": "w1 w2", "inputs": "x", "targets": "y"},
    {"equations": "L = -y*log(g(w1*x)) - (1 - y)*log(1 - g(w1*x))", "params": ["w1"], "inputs": "x", "targets": "y", "functions": {"g": "sigmoid"}},
    {"layers": [2, 2, 1], "activation": "tanh", "loss": "mse", "bias": True},
    {"layers": [2, 3], "activation": "softmax", "loss": "cross_entropy"},
    {"expr": "(w1*w2 - 3)**2 + 1", "params": "w1 w2"},
]
_NETWORK_KEYS = ["equations", "layers", "expr", "params", "inputs", "targets", "functions", "loss", "activation", "bias", "colour"]


@st.composite
def _networks(draw):
    table = dict(draw(st.sampled_from(_VALID_NETWORKS)))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):  # a valid table, sometimes with values changed or added
        table[draw(st.sampled_from(_NETWORK_KEYS))] = draw(_VALUES)
    return table


def _rows(columns):
    return st.lists(st.lists(st.floats(-2, 2), min_size=columns, max_size=columns), min_size=1, max_size=3)


@st.composite
def _specs(draw):
    network = draw(_networks())
    document = {"network": network}
    valid = st.sampled_from([True, True, True, False])  # each table valid three times in four
    if draw(st.booleans()):
        document["point"] = draw(st.fixed_dictionaries({"params": st.lists(st.floats(-1, 1), min_size=2, max_size=2)})
                                 if draw(valid) else _table(["params", "x", "y", "z"]))
    if draw(st.booleans()):
        n = draw(st.integers(1, 3))
        data = {"X": draw(st.one_of(_rows(1), _rows(2))), "Y": draw(st.one_of(_rows(1), _rows(2)))}
        document["data"] = data if n > 1 or draw(valid) else draw(_table(["X", "Y", "Z"]))
    if draw(st.booleans()):
        document["train"] = draw(st.fixed_dictionaries({"lr": st.floats(0.001, 1), "epochs": st.integers(0, 3)})
                                 if draw(valid) else _table(["lr", "epochs", "mode", "seed", "params0", "momentum"]))
    if draw(st.booleans()):
        document["check"] = draw(st.fixed_dictionaries({"points": st.integers(1, 2), "seed": st.integers(0, 9)})
                                 if draw(valid) else _table(["points", "seed", "rtol", "fd", "pionts"]))
    if draw(st.booleans()):
        document["name"] = draw(st.text(max_size=8) if draw(valid) else _VALUES)
    return document


_SPECS = _specs()


def _use_spec(path):
    """What the commands do with a spec: load it, read its tables, derive, check, train."""
    spec = load_spec(path)
    net = spec.network
    for table in ("data", "train", "extra"):
        outcome(lambda: getattr(spec, table))
    texts = [d.text() for d in list(net.gradients())[:3]]
    assert all(t.startswith("∂") for t in texts)
    outcome(lambda: check_spec(spec, symbolic=None, points=1))
    train = outcome(lambda: spec.train)
    data = outcome(lambda: spec.data)
    if isinstance(train, dict) and isinstance(data, dict) and data and "lr" in train and "epochs" in train:
        grad = net.compile(jit=False)
        start = spec.point.params if spec.point is not None else np.zeros(len(net.params))
        outcome(lambda: gradient_descent(net, start, (data["X"], data["Y"]), lr=train["lr"], epochs=min(train["epochs"], 3), grad=grad))
    return spec


@fuzz(60)
@given(_SPECS)
def test_random_spec_files(tmp_path_factory, document):
    path = tmp_path_factory.mktemp("spec") / "fuzz.toml"
    path.write_text(_toml(document), encoding="utf-8")
    outcome(lambda: _use_spec(path))


@fuzz(40)
@given(st.one_of(st.text(max_size=80), st.binary(max_size=80).map(lambda b: b.decode("latin-1"))))
def test_random_bytes_as_a_spec_file_through_the_cli(tmp_path_factory, capsys, text):
    path = tmp_path_factory.mktemp("spec") / "fuzz.toml"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with time_limit(TIME_BOUND):
        code = main(["derive", str(path)])
    err = capsys.readouterr().err
    assert code in (0, 2) and (code == 0 or (err.count("\n") == 1 and err.startswith("symgrad: error: ")))


# --------------------------------------------------------------------------- LaTeX claims

_LATEX = [
    r"\frac{", "}", "{", "^", "_", r"\sigma", r"\cdot", r"\left(", r"\right)", "(", ")", "[", "]", r"\hat{f}_1", "f_1", "w_7", "h_1", "u_1",
    "g(u_1)", "1", "2", "-", "+", "=", r"\partial", r"\sum", r"\prod", r"\sqrt", r"\exp", r"\log", r"\ln", " ", r"\,", r"\\", "&",
    r"\mathrm{Loss}", "Loss", r"\frac{\partial Loss}{\partial w_7}", r"\delta", r"\odot", "^T", r"\begin{aligned}", r"\end{aligned}",
    r"\tanh", "x", "e^{", r"\infty", "0.5", "1e400", "$", "%", "'", r"\text{", "é",
]
_DATAWHALE = seed_network("datawhale")


_FACTORS = [r"(\hat{f}_1 - f_1)", "g(u_1)", "(1 - g(u_1))", "h_1", r"\cdot", "2", "w_7", r"\sigma(u_1)", "(f_1 - \\hat{f}_1)", r"\frac{1}{2}"]
_CLAIMS = st.one_of(
    st.lists(st.sampled_from(_LATEX), max_size=30).map("".join),
    st.text(max_size=40),
    st.lists(st.sampled_from(_FACTORS), min_size=1, max_size=6).map(" ".join),
)


def _verdict(claim):
    """A verdict or a SymgradError: anything else fails."""

    def run():
        verdict = sg.verify(_DATAWHALE, "w7", claim, kind="latex", points=2, timeout=0)
        assert isinstance(verdict.ok, bool) and str(verdict)
        return verdict

    return outcome(run)


@fuzz(100)
@given(_CLAIMS)
def test_random_latex_claims(claim):
    _verdict(claim)


@pytest.mark.parametrize("claim", ["1e400", "f_1_", "{" * 1000 + "h_1" + "}" * 1000, r"10^{10^{10}} h_1"])
def test_latex_claims_the_fuzz_found(claim):
    """Crashes and hangs the fuzz found in the reader: 1e400 (TypeError), a trailing
    subscript f_1_ (IndexError), 1,000 nested braces (RecursionError), a tower of powers."""
    _verdict(claim)


# --------------------------------------------------------------------------- arrays

_NUMBERS = st.one_of(st.floats(-3, 3), st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 1e-320, 0.0]))
_FINITE = st.floats(-30, 30)
_ODD = st.one_of(
    st.none(),
    st.lists(_NUMBERS, max_size=5),
    st.lists(st.lists(_NUMBERS, max_size=3), max_size=3),
    st.sampled_from(["abc", 3.0, [1, "a"], [[1.0], [1.0, 2.0]], [True, False], [1 + 2j], {"a": 1}, [None]]),
)
_TARGET = sg.mlp([2, 2, 1], activation=["tanh", "sigmoid"], loss="cross_entropy")
_PLAIN = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")


def _vector(size):
    """Mostly the right size of finite numbers (saturating ones included), sometimes anything."""
    right = st.lists(_FINITE, min_size=size, max_size=size)
    return st.one_of(right, right, right, _ODD) if size else st.one_of(st.none(), st.none(), _ODD)


@st.composite
def _calls(draw):
    net = draw(st.sampled_from([_TARGET, _PLAIN, _DATAWHALE]))
    return net, draw(_vector(len(net.params))), draw(_vector(len(net.inputs))), draw(_vector(len(net.targets)))


@fuzz(120)
@given(_calls())
def test_random_arrays(call):
    net, params, x, y = call
    compiled = net.compile(jit=False)

    def single():
        loss, g = numeric_backprop(net, params, x, y)
        theta, xs, ys = (np.asarray(v, dtype=float) for v in (params, [] if x is None else x, [] if y is None else y))
        assert all(np.all(np.isfinite(v)) for v in (theta, xs, ys))  # the engine refuses anything else
        if math.isfinite(loss) and np.all(np.isfinite(g)):
            loss2, g2 = compiled(theta, xs if net.inputs else None, ys if net.targets else None)
            assert loss2 == pytest.approx(loss, rel=1e-9, abs=1e-12)
            np.testing.assert_allclose(g2, g, rtol=1e-8, atol=1e-10 * max(1.0, float(np.max(np.abs(g)))))
        return loss

    outcome(single)
    outcome(lambda: numeric_backprop_batch(net, params, x, y))
    outcome(lambda: sg.check(net, params=params, x=x, y=y, symbolic=None, fd=None))
    outcome(lambda: gradient_descent(net, params if params is not None else np.zeros(len(net.params)), None if x is None else (x, y),
                                     lr=0.1, epochs=2, grad=compiled))


@fuzz(40)
@given(st.integers(-1, 4), st.integers(-1, 3), st.integers(0, 3), _NUMBERS)
def test_random_shapes_of_a_batch(rows, columns, target_columns, fill):
    assume(rows >= 0 or columns >= 0)
    X = np.full((max(rows, 0), max(columns, 0)), fill)
    Y = np.full((max(rows, 0), target_columns), 0.5)
    outcome(lambda: numeric_backprop_batch(_TARGET, np.zeros(len(_TARGET.params)), X, Y))
    outcome(lambda: gradient_descent(_TARGET, np.zeros(len(_TARGET.params)), (X, Y), lr=0.1, epochs=1, grad=_TARGET.compile(jit=False)))


def test_the_shipped_specs_pass_the_fuzz_harness():
    for path in sorted(EXAMPLES.glob("*.toml")):
        if path.stem in ("xor", "deep_4_layer"):
            continue  # long trainings, covered by their own tests
        assert isinstance(outcome(lambda: _use_spec(path)), object)
