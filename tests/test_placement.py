"""Where f.batch's helper threads run (symgrad.compile.placement)."""

from __future__ import annotations

import os
import threading

import pytest

from symgrad.compile import placement
from symgrad.compile.placement import cores_for_helpers, keep_to

linux = pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="thread placement is Linux's")
two_cores = pytest.mark.skipif(not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2, reason="needs two cores")


def _in_a_thread(job):
    """job() run in a new thread (whose placement the test may change), its result."""
    seen = {}
    thread = threading.Thread(target=lambda: seen.setdefault("result", job()))
    thread.start()
    thread.join()
    return seen["result"]


@linux
@two_cores
def test_helpers_leave_out_one_of_the_callers_cores():
    allowed = os.sched_getaffinity(0)
    cores = cores_for_helpers()
    assert cores < allowed and len(cores) == len(allowed) - 1


@linux
def test_a_caller_on_one_core_shares_it():
    def on_one_core():
        keep_to(frozenset([min(os.sched_getaffinity(0))]))
        return cores_for_helpers()

    assert _in_a_thread(on_one_core) == {min(os.sched_getaffinity(0))}


@linux
def test_without_sched_getcpu_helpers_may_use_every_core_of_the_caller(monkeypatch):
    # not "no change": a helper kept off a core in an earlier batch is let back on it
    monkeypatch.setattr(placement, "_SCHED_GETCPU", None)
    assert cores_for_helpers() == os.sched_getaffinity(0)


@linux
@two_cores
def test_keep_to_moves_only_the_calling_thread():
    before = os.sched_getaffinity(0)
    target = frozenset([max(before)])

    def helper():
        keep_to(target)
        return os.sched_getaffinity(0)

    assert _in_a_thread(helper) == target
    assert os.sched_getaffinity(0) == before  # the caller is where it was


@linux
def test_keep_to_none_changes_nothing():
    def helper():
        before = os.sched_getaffinity(0)
        keep_to(None)
        return before, os.sched_getaffinity(0)

    before, after = _in_a_thread(helper)
    assert after == before


def test_without_affinity_calls_there_is_no_placement(monkeypatch):
    monkeypatch.delattr(os, "sched_setaffinity", raising=False)
    assert cores_for_helpers() is None
