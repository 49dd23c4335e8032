"""Walks over deep expressions, where Python's recursion limit would stop them.

sympy substitutes, compares and prints an expression by recursion, a few Python frames
per level: a chain of 500 steps, substituted into one expression (``d.expanded``) or
printed as a chain-rule derivation, is deeper than the 1,000 frames Python allows by
default. :func:`deep` runs a function as usual and, only when it hits that limit, runs
it again in a worker thread with a large stack and a raised limit, so that depth is
bounded by memory rather than by the default limit; the result or error comes back to
the caller as if the call had been direct.

>>> def nest(n):
...     return 0 if n == 0 else 1 + nest(n - 1)
>>> deep(nest)(20_000)
20000
"""

from __future__ import annotations

import functools
import sys
import threading
from typing import Callable, TypeVar

from .errors import SymgradError

__all__ = ["RECURSION_LIMIT", "STACK_BYTES", "call_deep", "deep"]

#: The worker's stack, and the recursion limit while it runs: about 2 KB of stack per
#: frame, for expressions some 10,000 levels deep.
STACK_BYTES = 512 * 2**20
RECURSION_LIMIT = 250_000

_WORKER_NAME = "symgrad-deep"
# stack_size and the recursion limit are process-wide: one deep call at a time.
_LOCK = threading.Lock()

T = TypeVar("T")


def call_deep(function: Callable[..., T], *args, **kwargs) -> T:
    """``function(*args, **kwargs)`` in a worker thread with a large stack and recursion limit.

    Errors are raised in the caller's thread; running out of even that stack is a
    SymgradError saying so.
    """
    if threading.current_thread().name == _WORKER_NAME:
        raise SymgradError(f"{_name(function)}: the expression is nested too deeply even for a {STACK_BYTES >> 20} MB stack", token=_name(function))
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as exc:  # handed to the caller, whatever it is
            outcome["error"] = exc

    with _LOCK:
        limit = sys.getrecursionlimit()
        previous = threading.stack_size(STACK_BYTES)
        try:
            worker = threading.Thread(target=work, name=_WORKER_NAME, daemon=True)
            sys.setrecursionlimit(max(limit, RECURSION_LIMIT))
            worker.start()
        finally:
            threading.stack_size(previous)
        try:
            worker.join()
        finally:
            sys.setrecursionlimit(limit)
    if "error" in outcome:
        error = outcome["error"]
        if isinstance(error, RecursionError):
            raise SymgradError(f"{_name(function)}: the expression is nested too deeply ({RECURSION_LIMIT:,} frames were not enough)", token=_name(function)) from None
        raise error
    return outcome["value"]


def deep(function: Callable[..., T]) -> Callable[..., T]:
    """``function``, run again by :func:`call_deep` when it hits Python's recursion limit."""

    @functools.wraps(function)
    def run(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except RecursionError:
            pass  # outside the handler, so that the failed attempt's frames are gone
        return call_deep(function, *args, **kwargs)

    return run


def _name(function) -> str:
    return getattr(function, "__qualname__", getattr(function, "__name__", "a walk"))
