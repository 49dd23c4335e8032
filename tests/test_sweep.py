"""The random-network agreement sweep: the compiled symbolic gradient, the numeric backprop
and finite differences, over many random networks, at ordinary and at saturated points.

Each network (half equation networks, half layered ones; :mod:`conftest`'s generators)
is checked at three points: parameters uniform in [−1, 1], and the same parameters
× 15 and × 60, where sigmoids, tanhs, softmaxes and cross-entropies saturate (|u| of
tens to hundreds). At each point :func:`symgrad.check` compares the columns:

* a *mismatch* is a report that is not OK: any column off by more than its tolerance;
* a point is *refused* when check raises because the loss is not finite there, which
  is allowed only where the compiled code's loss is not finite either (an overflow in
  the network itself, say a square of a square of 60) — never where it is finite.

The sweep's count (networks tried, points checked, mismatches, refused points) is
printed; ``python -m pytest tests/test_sweep.py -s -n 0`` shows it (a worker process's
output is not shown). The default run checks a sample (``FAST``);
``python -m pytest -m sweep tests/test_sweep.py -s -n 0`` checks ``SLOW``
networks, 1,000 (about a minute; CI runs it after the suite).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pytest

import symgrad as sg
from conftest import Rejected, random_equation_network, random_layered_network
from symgrad.crosscheck.backprop import forward
from symgrad.crosscheck.check import KINK_MARGIN, check

FAST = 60
SLOW = 1000
SCALES = (1.0, 15.0, 60.0)


@pytest.fixture(autouse=True, scope="module")
def _private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYMGRAD_CACHE_DIR", str(tmp_path_factory.mktemp("symgrad-cache")))
        yield


@dataclass
class Tally:
    networks: int = 0
    points: int = 0
    mismatches: list = field(default_factory=list)
    refused: int = 0
    refused_where_code_is_finite: list = field(default_factory=list)
    saturated_checked: int = 0
    on_a_kink: int = 0

    def __str__(self) -> str:
        return (f"sweep: {self.networks} networks, {self.points} points checked ({self.saturated_checked} saturated), "
                f"{len(self.mismatches)} mismatches, {self.refused} points refused "
                f"({len(self.refused_where_code_is_finite)} where the compiled loss is finite), "
                f"{self.on_a_kink} scaled points left out on a kink")


def _network(rng, k):
    choose = lambda options: list(options)[rng.integers(len(options))]  # noqa: E731
    build = random_equation_network if k % 2 == 0 else random_layered_network
    for _ in range(50):
        try:
            return build(choose)
        except Rejected:
            continue
    raise AssertionError("no network in 50 tries")


def _base_point(net, rng):
    """Parameters and inputs uniform in [−1, 1], targets in [0, 1], away from every kink."""
    for _ in range(200):
        theta = rng.uniform(-1, 1, len(net.params))
        x, y = rng.uniform(-1, 1, len(net.inputs)), rng.uniform(0, 1, len(net.targets))
        with np.errstate(all="ignore"):
            f = forward(net, theta, x, y)
        if math.isfinite(f.loss) and f.kink_distance >= KINK_MARGIN:
            return theta, x, y
    return None


def _sweep(count: int, seed: int) -> Tally:
    rng = np.random.default_rng(seed)
    tally = Tally()
    for k in range(count):
        net = _network(rng, k)
        tally.networks += 1
        base = _base_point(net, rng)
        if base is None:
            tally.refused += len(SCALES)
            continue
        theta, x, y = base
        code = net.compile(jit=False)
        for scale in SCALES:
            t = theta * scale
            with np.errstate(all="ignore"):
                if forward(net, t, x, y).kink_distance < KINK_MARGIN:
                    tally.on_a_kink += 1
                    continue  # scaled onto a kink: finite differences would straddle it
                code_loss = code(t, x if net.inputs else None, y if net.targets else None)[0]
            try:
                # Exact columns to 1e-8 (check's default); finite differences at their own tolerance.
                rep = check(net, params=t, x=x, y=y, symbolic="compiled")
            except sg.SymgradError as exc:
                if "not finite" not in str(exc):
                    raise
                tally.refused += 1
                if math.isfinite(code_loss):
                    tally.refused_where_code_is_finite.append((net, t, x, y))
                continue
            tally.points += 1
            tally.saturated_checked += scale > 1
            if not rep.ok:
                tally.mismatches.append((str(net), t.tolist(), x.tolist(), y.tolist(), str(rep)))
    return tally


def _assert_agreement(tally: Tally) -> None:
    print(tally)
    assert not tally.mismatches, "\n\n".join(m[-1] for m in tally.mismatches[:3])
    assert not tally.refused_where_code_is_finite, [str(n) for n, *_ in tally.refused_where_code_is_finite[:3]]
    assert tally.saturated_checked > tally.networks  # the saturated points are checked, not skipped


def test_agreement_sweep_sample():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        _assert_agreement(_sweep(FAST, seed=2026))


@pytest.mark.slow
@pytest.mark.sweep
def test_agreement_sweep():
    """1,000 random networks, each at an ordinary and two saturated points."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        tally = _sweep(SLOW, seed=15)
    assert tally.networks >= 1000
    _assert_agreement(tally)
