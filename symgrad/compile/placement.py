"""Where ``f.batch``'s helper threads run: off the core of the thread that calls it.

With another process busy on a 2-core machine, Linux's scheduler puts three runnable
threads two on one core and one on the other, and leaves them there: moving one would
not even out the load. When the two are the batch's own threads, each gets half a core
and two threads finish no sooner than one. Measured on the 1M-sample batch of seed
002's network, that happened in a quarter of the batches (2 threads / 1: 0.89–1.03,
against 0.57–0.75 when the two ran on different cores; 0.49–0.80 over 48 batches with
the helper kept off the caller's core). A helper thread that keeps off
the calling thread's current core makes the pair always span two cores; the calling
thread itself is the user's and is left where it is.

Only Linux can say which core a thread is on; elsewhere the threads run where the
system puts them.

>>> cores = cores_besides_current()
>>> cores is None or len(cores) >= 1
True
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["cores_besides_current", "keep_to"]


def _sched_getcpu():
    """The C library's ``sched_getcpu`` (the core the calling thread runs on), or None."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        function = ctypes.CDLL(None).sched_getcpu
    except (OSError, AttributeError, TypeError):  # a C library without it
        return None
    function.restype = ctypes.c_int
    function.argtypes = ()
    return function


_SCHED_GETCPU = _sched_getcpu()


def cores_besides_current() -> frozenset[int] | None:
    """The cores the calling thread may run on, but for the one it is running on now;
    None where the system cannot say, or where no other core is left."""
    if _SCHED_GETCPU is None:
        return None
    allowed = os.sched_getaffinity(0)
    current = _SCHED_GETCPU()
    if current not in allowed or len(allowed) < 2:
        return None
    return frozenset(allowed - {current})


def keep_to(cores: frozenset[int] | None) -> None:
    """From now on the calling thread runs only on ``cores`` (nothing changes for None)."""
    if cores is None:
        return
    try:
        os.sched_setaffinity(0, cores)  # 0: the calling thread, on Linux
    except OSError:  # a core taken offline meanwhile: the thread runs where it may
        pass
