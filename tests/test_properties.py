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

Examples per run: profile ``symgrad`` (50, the default: the counted agreement sweep of
tests/test_sweep.py checks 1,000 more networks from the same generators, at ordinary and
saturated points), or set ``SYMGRAD_HYPOTHESIS_PROFILE=symgrad-quick`` (25) /
``symgrad-thorough`` (1000). Failures here are shrunk to a smallest network.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from conftest import Rejected, random_equation_network, random_layered_network
from symgrad.crosscheck.backprop import forward, numeric_backprop
from symgrad.crosscheck.check import KINK_MARGIN, check

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], print_blob=True)
settings.register_profile("symgrad", max_examples=50, **_COMMON)
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

def _chooser(draw):
    return lambda options: draw(st.sampled_from(list(options)))


@st.composite
def equation_networks(draw):
    try:
        return random_equation_network(_chooser(draw))
    except Rejected:
        reject()


@st.composite
def layered_networks(draw):
    try:
        return random_layered_network(_chooser(draw))
    except Rejected:
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
