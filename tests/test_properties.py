"""Property tests: on random networks the symbolic gradient, the numeric backprop and
finite differences agree.

For each random network (random equation networks, and random layered networks of
depth 1–4, widths 1–6, random activations and losses) at a random point away from kinks:

* the compiled gradient (``net.compile(jit=False)``, the generated module run without
  numba) equals the numeric backprop
  to 1e-10 relative — componentwise, with an absolute floor of 1e-10·max(1, ‖g‖∞) for
  components that cancel to almost nothing;
* finite differences (central, step ε^(1/3)·max(1, |θ|)) equal the numeric backprop to
  1e-6 relative, with an absolute floor of 1e-6·max(1, |L|), the scale of their rounding.

Examples per run: profile ``symgrad`` (200, the default), or set
``SYMGRAD_HYPOTHESIS_PROFILE=symgrad-quick`` (25) / ``symgrad-thorough`` (1000).
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

import symgrad as sg
from symgrad.crosscheck.backprop import forward, numeric_backprop
from symgrad.crosscheck.check import KINK_MARGIN, check
from symgrad.model import functions as fn
from symgrad.model.names import real_symbol
from symgrad.model.step import Step

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], print_blob=True)
settings.register_profile("symgrad", max_examples=200, **_COMMON)
settings.register_profile("symgrad-quick", max_examples=25, **_COMMON)
settings.register_profile("symgrad-thorough", max_examples=1000, **_COMMON)
PROFILE = settings.get_profile(os.environ.get("SYMGRAD_HYPOTHESIS_PROFILE", "symgrad"))

EXACT_RTOL = 1e-10
FD_TOL = 1e-6

SYMBOLIC = "compiled"  # the generated module without numba; a compile failure is a failure


@pytest.fixture(autouse=True, scope="module")
def _private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYMGRAD_CACHE_DIR", str(tmp_path_factory.mktemp("symgrad-cache")))
        yield


# --------------------------------------------------------------------------- random networks

# Each builds a new step from one or two earlier values. Growth is kept bounded (exp only
# of a tanh, logs and roots of 1 + a²) so that finite differences stay meaningful.
_UNARY = {
    "sigmoid": fn.sigmoid,
    "tanh": sympy.tanh,
    "softplus": fn.softplus,
    "relu": fn.relu,
    "abs": sympy.Abs,
    "exp∘tanh": lambda a: sympy.exp(sympy.tanh(a)),
    "log(1+a²)": lambda a: sympy.log(1 + a**2),
    "sqrt(1+a²)": lambda a: sympy.sqrt(1 + a**2),
    "square": lambda a: a**2,
    "g (aliased sigmoid)": fn.resolve("g", "sigmoid"),
}
_BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - 2 * b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (1 + b**2),
    "max": sympy.Max,
    "logsumexp": fn.logsumexp,
    "affine": lambda a, b: sympy.Rational(3, 2) * a + b / 2 - sympy.Rational(1, 4),
}


@st.composite
def equation_networks(draw):
    params = [real_symbol(f"p{i}") for i in range(draw(st.integers(1, 4)))]
    inputs = [real_symbol(f"i{i}") for i in range(draw(st.integers(0, 2)))]
    targets = [real_symbol("t")] if draw(st.booleans()) else []
    values = params + inputs
    steps = []
    for k in range(draw(st.integers(1, 6))):
        if draw(st.booleans()):
            expr = _UNARY[draw(st.sampled_from(sorted(_UNARY)))](draw(st.sampled_from(values)))
        else:
            a, b = draw(st.sampled_from(values)), draw(st.sampled_from(values))
            expr = _BINARY[draw(st.sampled_from(sorted(_BINARY)))](a, b)
        if not expr.free_symbols:
            reject()
        s = real_symbol(f"s{k}")
        steps.append(Step(s, expr))
        values.append(s)
    # The loss uses every sink and every parameter nothing else reached.
    used = set().union(*(st_.expr.free_symbols for st_ in steps))
    sinks = [st_.target for st_ in steps if st_.target not in used]
    terms = [(s - targets[0]) ** 2 / 2 if targets else s for s in sinks]
    reached = set()
    for st_ in steps:
        reached |= st_.expr.free_symbols
    terms += [sympy.tanh(p) for p in params if p not in reached]
    steps.append(Step(real_symbol("L"), sympy.Add(*terms)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return sg.Network(steps, params=params, inputs=inputs, targets=targets, loss="L", name="random")
        except sg.UnusedParameterWarning:  # sympy cancelled a parameter away (p − p)
            reject()


_HIDDEN = ["sigmoid", "tanh", "relu", "softplus", "identity"]


@st.composite
def layered_networks(draw):
    depth = draw(st.integers(1, 4))
    sizes = [draw(st.integers(1, 6)) for _ in range(depth + 1)]
    loss = draw(st.sampled_from(["mse", "mae", "cross_entropy", "softmax_cross_entropy"]))
    acts = [draw(st.sampled_from(_HIDDEN)) for _ in range(depth - 1)]
    if loss == "cross_entropy":
        out = draw(st.sampled_from(["sigmoid", "softmax"]))  # outputs in (0, 1), as log needs
    elif loss == "softmax_cross_entropy":
        out = "softmax"
    else:
        out = draw(st.sampled_from(_HIDDEN + ["softmax"]))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return sg.mlp(sizes, activation=acts + [out], loss=loss, bias=draw(st.booleans()))
        except sg.UnusedParameterWarning:
            reject()


def _point(net, seed):
    """A random point where the loss is finite and every kink is KINK_MARGIN away."""
    rng = np.random.default_rng(seed)
    for _ in range(200):
        theta = rng.uniform(-1, 1, len(net.params))
        x, y = rng.uniform(-1, 1, len(net.inputs)), rng.uniform(0, 1, len(net.targets))
        f = forward(net, theta, x, y)
        if np.isfinite(f.loss) and f.kink_distance >= KINK_MARGIN:
            return theta, x, y
    reject()


def _assert_three_way(net, seed):
    theta, x, y = _point(net, seed)
    loss, g = numeric_backprop(net, theta, x, y)
    floor = EXACT_RTOL * max(1.0, float(np.max(np.abs(g))))
    rep = check(net, params=theta, x=x, y=y, rtol=EXACT_RTOL, atol=floor, fd_rtol=FD_TOL, fd_atol=FD_TOL, symbolic=SYMBOLIC)
    assert rep.ok, f"{net}\n{rep}"
    return rep


@PROFILE
@given(equation_networks(), st.integers(0, 2**32 - 1))
def test_random_equation_networks(net, seed):
    rep = _assert_three_way(net, seed)
    assert rep.symbolic_method == "compiled (jit=False)"


@PROFILE
@given(layered_networks(), st.integers(0, 2**32 - 1))
def test_random_layered_networks(net, seed):
    _assert_three_way(net, seed)
    # The δ-recursion and the scalar engine agree as well.
    theta, x, y = _point(net, seed)
    layers, graph = numeric_backprop(net, theta, x, y, method="layers"), numeric_backprop(net, theta, x, y, method="graph")
    assert layers[0] == pytest.approx(graph[0], rel=EXACT_RTOL, abs=EXACT_RTOL)
    np.testing.assert_allclose(layers[1], graph[1], rtol=EXACT_RTOL, atol=EXACT_RTOL * max(1.0, float(np.max(np.abs(graph[1])))))
