"""Where ``f.batch``'s helper threads run: off the core of the thread that calls it.

With another process busy on a 2-core machine, Linux's scheduler puts three runnable
threads two on one core and one on the other, and leaves them there: moving one would
not even out the load. When the two are the batch's own threads, each gets half a core
and two threads finish no sooner than one. Measured on the 1M-sample batch of seed
002's network, that happened in 10 of 24 batches (2 threads / 1: 0.89–1.03, against
0.57–0.75 when the two ran on different cores; with the helper kept off the
caller's core, 0.49–0.80 over 48 batches). So before each batch a helper thread is
kept to the cores its caller may use but for the one the caller is on: the pair always
spans two cores. The calling thread itself is the user's and is left where it is.

Only Linux can say which core a thread is on; elsewhere the threads run where the
system puts them.

>>> cores = cores_for_helpers()
>>> cores is None or len(cores) >= 1
True
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["cores_for_helpers", "keep_to"]


def _sched_getcpu():
    """The C library's ``sched_getcpu`` (the core the calling thread runs on), or None."""
    try:
        function = ctypes.CDLL(None).sched_getcpu
    except (OSError, AttributeError, TypeError):  # a C library without it
        return None
    function.restype = ctypes.c_int
    function.argtypes = ()
    return function


_SCHED_GETCPU = _sched_getcpu()


def cores_for_helpers() -> frozenset[int] | None:
    """The cores a helper of the calling thread is to run on: those the caller may run on,
    but for the one it is on now (all of them if that is the only one); None where the
    system has no thread placement."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = frozenset(os.sched_getaffinity(0))
    current = _SCHED_GETCPU() if _SCHED_GETCPU is not None else None
    others = allowed - {current}
    # Every core, rather than no change: a helper keeps its placement from batch to batch.
    return others if others and current in allowed else allowed


def keep_to(cores: frozenset[int] | None) -> None:
    """From now on the calling thread runs only on ``cores`` (nothing changes for None)."""
    if cores is None:
        return
    try:
        os.sched_setaffinity(0, cores)  # 0: the calling thread, on Linux
    except OSError:  # a core taken offline meanwhile: the thread runs where it may
        pass
