"""Where f.batch's helper threads run (symgrad.compile.placement)."""

from __future__ import annotations

import os
import threading

import pytest

from symgrad.compile import placement
from symgrad.compile.placement import cores_besides_current, keep_to

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
def test_cores_besides_current_leave_out_one_allowed_core():
    allowed = os.sched_getaffinity(0)
    others = cores_besides_current()
    assert others < allowed and len(others) == len(allowed) - 1


@linux
def test_a_thread_on_one_core_has_no_other():
    def on_one_core():
        keep_to(frozenset([min(os.sched_getaffinity(0))]))
        return cores_besides_current()

    assert _in_a_thread(on_one_core) is None


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


def test_without_sched_getcpu_there_is_no_placement(monkeypatch):
    monkeypatch.setattr(placement, "_SCHED_GETCPU", None)
    assert cores_besides_current() is None
