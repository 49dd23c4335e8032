"""Shared fixtures: the seed networks, high-precision evaluation and golden files.

Golden files live in tests/golden/. To regenerate them after an intended change:

    SYMGRAD_UPDATE_GOLDEN=1 python -m pytest tests/

then review the diff (`git diff tests/golden`) before committing.
"""

from __future__ import annotations

import os
import random
import signal
import warnings
from contextlib import contextmanager
from pathlib import Path

import mpmath
import pytest
import sympy

import symgrad as sg
from symgrad.model.functions import kind_of
from symgrad.model.spec import load_spec

# The tests of compiled kernels compile them on the first call; the first calls' plain
# Python (net.compile(jit_after=...)) is tested in test_straight_line and test_check, and
# the README runs as users see it (test_readme clears this).
os.environ.setdefault("SYMGRAD_JIT_AFTER", "0")

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
GOLDEN = Path(__file__).resolve().parent / "golden"

SEED_SPECS = ["datawhale", "quadratic", "xor", "mlp_3_4_2", "blog_2_3_2_l1", "deep_4_layer"]


def _seed_002_table() -> dict:
    import tomllib

    return tomllib.loads((EXAMPLES / "datawhale.toml").read_text(encoding="utf-8"))["network"]


#: Seed 002's equations and declarations, as examples/datawhale.toml holds them (loss first).
SEED_002_EQUATIONS: str = _seed_002_table()["equations"]
SEED_002_DECLARATIONS: dict = {k: v for k, v in _seed_002_table().items() if k in ("params", "inputs", "targets", "functions")}


#: A textbook network numbered node by node (o1, o2 in; 3 and 4 hidden; 5 out; w_ij from i
#: to j), as derivations that define δ_j = ∂E/∂net_j write it.
NODE_NUMBERED_EQUATIONS = """
net3 = w13*o1 + w23*o2
o3 = sigmoid(net3)
net4 = w14*o1 + w24*o2
o4 = sigmoid(net4)
net5 = w35*o3 + w45*o4
o5 = sigmoid(net5)
E = (t5 - o5)**2/2
"""


def node_numbered_network() -> sg.Network:
    return sg.Network.from_equations(NODE_NUMBERED_EQUATIONS, params="w13 w23 w14 w24 w35 w45", inputs="o1 o2", targets="t5")


def seed_network(name: str) -> sg.Network:
    return load_spec(EXAMPLES / f"{name}.toml").network


@pytest.fixture(scope="module")
def net() -> sg.Network:
    """The Datawhale article's ten-weight network, g = sigmoid, built from its equations."""
    return sg.Network.from_equations(SEED_002_EQUATIONS, **SEED_002_DECLARATIONS)


@pytest.fixture(scope="module")
def mlp() -> sg.Network:
    """The 3-4-2 sigmoid MLP with the squared-error loss."""
    return sg.mlp([3, 4, 2], activation="sigmoid", loss="mse")


def one(net: sg.Network, text: str, **kw):
    """A LaTeX formula of one line, read over ``net``."""
    from symgrad.verification.reader import read_latex

    claim = read_latex(net, text, **kw)
    assert len(claim.lines) == 1
    return claim.lines[0]


@pytest.fixture
def datawhale() -> sg.Network:
    return seed_network("datawhale")


@pytest.fixture
def quadratic() -> sg.Network:
    return seed_network("quadratic")


def random_point(net: sg.Network, rng: random.Random) -> dict:
    """Values for every leaf symbol: parameters and inputs in (−1, 1), targets in (0.05, 0.95)."""
    values = {s: rng.uniform(-1, 1) for s in net.params + net.inputs}
    values.update({s: rng.uniform(0.05, 0.95) for s in net.targets})
    return values


def evaluate(expr: sympy.Expr, values: dict, dps: int = 40) -> mpmath.mpf:
    """``expr`` at ``values`` in mpmath with ``dps`` digits.

    Walks the expression as a DAG (equal subtrees evaluated once), which keeps the
    fully substituted losses of the seed networks cheap; symgrad's own functions are
    evaluated from their definitions, not from its derivative table.
    """
    with mpmath.workdps(dps):
        leaves = {s: mpmath.mpf(repr(v)) for s, v in values.items()}
        return _mp(sympy.sympify(expr), leaves, {})


_MP_FUNCTIONS = {
    "sigmoid": lambda x: 1 / (1 + mpmath.exp(-x)),
    "relu": lambda x: max(mpmath.mpf(0), x),
    "softplus": lambda x: mpmath.log(1 + mpmath.exp(x)),
    "tanh": mpmath.tanh,
    "exp": mpmath.exp,
    "log": mpmath.log,
    "abs": abs,
    "sqrt": mpmath.sqrt,
}


def _mp(e, leaves, memo):
    if e in memo:
        return memo[e]
    if e.is_Symbol:
        value = leaves[e]
    elif e.is_Number:
        value = mpmath.mpf(e.p) / e.q if e.is_Rational else mpmath.mpf(str(e))
    else:
        args = [_mp(a, leaves, memo) for a in e.args]
        kind = kind_of(type(e))
        if e.is_Add:
            value = mpmath.fsum(args)
        elif e.is_Mul:
            value = mpmath.fprod(args)
        elif e.is_Pow:
            value = args[0] ** args[1]
        elif kind in _MP_FUNCTIONS:
            value = _MP_FUNCTIONS[kind](args[0])
        elif kind == "logsumexp":
            value = mpmath.log(mpmath.fsum(mpmath.exp(a) for a in args))
        elif isinstance(e, sympy.Heaviside):
            h0 = args[1] if len(args) > 1 else mpmath.mpf(0.5)
            value = mpmath.mpf(1) if args[0] > 0 else (mpmath.mpf(0) if args[0] < 0 else h0)
        elif isinstance(e, sympy.sign):
            value = mpmath.sign(args[0])
        elif isinstance(e, sympy.Max):
            value = max(args)
        else:
            raise NotImplementedError(f"no mpmath rule for {type(e).__name__}")
    memo[e] = value
    return value


def assert_close_hp(a, b, rel: float = 1e-25) -> None:
    scale = max(abs(a), abs(b), mpmath.mpf(1e-30))
    assert abs(a - b) <= rel * scale, f"{a} != {b}"


def check_golden(name: str, text: str) -> None:
    """Compare ``text`` with tests/golden/<name>, or rewrite it when SYMGRAD_UPDATE_GOLDEN=1."""
    path = GOLDEN / name
    if os.environ.get("SYMGRAD_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"missing golden file {path}; run with SYMGRAD_UPDATE_GOLDEN=1 to create it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{path} differs; if the change is intended, regenerate with SYMGRAD_UPDATE_GOLDEN=1"


@contextmanager
def time_limit(seconds: float):
    """Turn a run longer than ``seconds`` into TimeoutError (a hang in a Python-level loop
    becomes a test failure; main thread only, as it uses SIGALRM)."""

    def expire(*_):
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# --------------------------------------------------------------------------- random networks
# One generator for the property tests (hypothesis draws the choices) and the agreement
# sweep (a seeded generator does): ``choose(options)`` picks one of a sequence.

#: Each random step applies one of these to earlier values. Growth is kept bounded (exp only
#: of a tanh, logs and roots of 1 + a²) so that finite differences stay meaningful.
RANDOM_UNARY = {
    "sigmoid": lambda a: _fn().sigmoid(a),
    "tanh": sympy.tanh,
    "softplus": lambda a: _fn().softplus(a),
    "relu": lambda a: _fn().relu(a),
    "abs": sympy.Abs,
    "exp∘tanh": lambda a: sympy.exp(sympy.tanh(a)),
    "log(1+a²)": lambda a: sympy.log(1 + a**2),
    "sqrt(1+a²)": lambda a: sympy.sqrt(1 + a**2),
    "square": lambda a: a**2,
    "g (aliased sigmoid)": lambda a: _fn().resolve("g", "sigmoid")(a),
    "log-sigmoid": lambda a: sympy.log(_fn().sigmoid(a)),
    "log(1-sigmoid)": lambda a: sympy.log(1 - _fn().sigmoid(a)),
}
RANDOM_BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - 2 * b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1 + b**2),
    "max": sympy.Max,
    "logsumexp": lambda a, b: _fn().logsumexp(a, b),
    "affine": lambda a, b: sympy.Rational(3, 2) * a + b / 2 - sympy.Rational(1, 4),
}
HIDDEN_ACTIVATIONS = ["sigmoid", "tanh", "relu", "softplus", "identity"]
LAYERED_LOSSES = ["mse", "mae", "cross_entropy", "softmax_cross_entropy"]


def _fn():
    from symgrad.model import functions

    return functions


class Rejected(Exception):
    """The choices made a network not worth testing (a parameter cancelled away)."""


def random_equation_network(choose) -> sg.Network:
    """1–4 parameters, 0–2 inputs, maybe a target, 1–6 steps of the ops above; the loss
    uses every sink and every parameter nothing else reached."""
    from symgrad.model.names import real_symbol
    from symgrad.model.step import Step

    params = [real_symbol(f"p{i}") for i in range(choose(range(1, 5)))]
    inputs = [real_symbol(f"i{i}") for i in range(choose(range(0, 3)))]
    targets = [real_symbol("t")] if choose([False, True]) else []
    values = params + inputs
    steps = []
    for k in range(choose(range(1, 7))):
        if choose([False, True]):
            expr = RANDOM_UNARY[choose(sorted(RANDOM_UNARY))](choose(values))
        else:
            expr = RANDOM_BINARY[choose(sorted(RANDOM_BINARY))](choose(values), choose(values))
        if not expr.free_symbols:
            raise Rejected
        s = real_symbol(f"s{k}")
        steps.append(Step(s, expr))
        values.append(s)
    used = set().union(*(st.expr.free_symbols for st in steps))
    sinks = [st.target for st in steps if st.target not in used]
    terms = [(s - targets[0]) ** 2 / 2 if targets else s for s in sinks]
    terms += [sympy.tanh(p) for p in params if p not in used]
    steps.append(Step(real_symbol("L"), sympy.Add(*terms)))
    return _network_or_reject(lambda: sg.Network(steps, params=params, inputs=inputs, targets=targets, loss="L", name="random"))


def random_layered_network(choose) -> sg.Network:
    """Depth 1–4, widths 1–6, random activations, losses and bias."""
    depth = choose(range(1, 5))
    sizes = [choose(range(1, 7)) for _ in range(depth + 1)]
    loss = choose(LAYERED_LOSSES)
    acts = [choose(HIDDEN_ACTIVATIONS) for _ in range(depth - 1)]
    if loss == "cross_entropy":
        out = choose(["sigmoid", "softmax"])  # outputs in (0, 1), as log needs
    elif loss == "softmax_cross_entropy":
        out = "softmax"
    else:
        out = choose(HIDDEN_ACTIVATIONS + ["softmax"])
    bias = choose([False, True])
    return _network_or_reject(lambda: sg.mlp(sizes, activation=acts + [out], loss=loss, bias=bias))


def _network_or_reject(build) -> sg.Network:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return build()
        except sg.UnusedParameterWarning:  # sympy cancelled a parameter away (p − p)
            raise Rejected from None
