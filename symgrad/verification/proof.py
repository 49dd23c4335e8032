"""The symbolic proof that a claim equals the true derivative, within a time budget.

Claims that agreed with the truth at every random point are proved, cheapest first:
both sides are compared with their steps as free symbols, then with activations
substituted, then in parameters, inputs and targets only; the difference is expanded,
cancelled and, if need be, simplified. The search runs in a forked child process that
is killed when the budget runs out (a bare ``simplify`` can take half a minute), so
a verdict is never late.

>>> import symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> prove(net, [2*net.symbol("x2")*(net.symbol("x1")*net.symbol("x2") - 3)], net.grad("x1").factored, budget=1.0)
[True]
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
import time
import warnings
from typing import TYPE_CHECKING

import sympy

from ..model import functions as fn

if TYPE_CHECKING:  # pragma: no cover
    from ..model.network import Network

__all__ = ["prove", "prove_pairs"]


def _canonical(net: "Network", expr: sympy.Expr, level: str) -> sympy.Expr:
    """``expr`` with each activation written by its canonical class (a sigmoid declared
    as g: g(u) and σ(u) must compare equal) and its steps substituted to ``level``:

    * ``"steps"``: none; every step is a free symbol;
    * ``"activations"``: steps that apply a function to one symbol (f̂₁ = g(u₁)) replaced
      by that application, so that f̂₁(1 − f̂₁) meets g(u₁)(1 − g(u₁));
    * ``"leaves"``: parameters, inputs and targets only.

    An identity proved with steps as free symbols holds in particular at their actual
    values, so each level is a sound proof; the shallow ones are far cheaper.
    """
    expr = sympy.sympify(expr)
    if level == "leaves":
        expr = expr.xreplace(net.substituted)
    elif level == "activations":
        activations = {st.target: st.expr for st in net.steps if isinstance(st.expr, sympy.Function) and len(st.expr.args) == 1 and st.expr.args[0].is_Symbol}
        expr = expr.xreplace(activations)

    def alias(e) -> bool:
        if not isinstance(e, fn.Elementwise):
            return False
        row = fn.row_of(type(e))
        return row is not None and type(e) is not row.builtin

    def canonical(e):
        row = fn.row_of(type(e))
        return e.args[0] if row.builtin is None else row.builtin(e.args[0])

    return expr.replace(alias, canonical)


_LEVELS = ("steps", "activations", "leaves")


def _is_zero(net: "Network", claim: sympy.Expr, truth: sympy.Expr) -> bool:
    """Whether claim − truth is identically zero: cheap canonical forms at every
    substitution level first (the deepest can be large, so it comes last), ``simplify`` last."""
    diffs = []
    for level in _LEVELS:
        diff = _canonical(net, claim, level) - _canonical(net, truth, level)
        if diff == 0 or sympy.expand(diff) == 0:
            return True
        diffs.append(diff)
    for diff in diffs:
        if sympy.cancel(sympy.together(sympy.expand(fn.to_elementary(diff)))) == 0:
            return True
    return any(sympy.simplify(fn.to_elementary(diff)) == 0 for diff in diffs)


def prove(net: "Network", claims: list[sympy.Expr], truth: sympy.Expr, budget: float) -> list[bool]:
    """For each claim, whether claim − truth was shown to be 0 within ``budget`` seconds."""
    return prove_pairs(net, [(c, truth) for c in claims], budget)


def prove_pairs(net: "Network", pairs: list[tuple[sympy.Expr, sympy.Expr]], budget: float) -> list[bool]:
    """For each ``(claim, truth)``, whether claim − truth was shown to be 0 within ``budget`` seconds."""
    proven = [_canonical(net, c, "steps") == _canonical(net, t, "steps") for c, t in pairs]  # equal as written: no search
    todo = [i for i, ok in enumerate(proven) if not ok]
    if not todo or budget <= 0.05:
        return proven
    work = lambda i: _is_zero(net, *pairs[i])  # noqa: E731 - run in the child or a thread
    if hasattr(os, "fork") and sys.platform != "win32":
        found = _prove_in_child(work, todo, budget)
    else:  # pragma: no cover - platforms without fork
        found = _prove_in_threads(work, todo, budget)
    return [ok or found.get(i, False) for i, ok in enumerate(proven)]


def _prove_in_child(work, todo, budget) -> dict[int, bool]:
    # A forked child can be killed when the budget runs out, which a thread cannot;
    # it inherits the expressions, so nothing is pickled, and reports one line per claim.
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():
        # Libraries with threads (JAX) warn that a forked child may deadlock: this child
        # runs sympy alone and is killed at the deadline, so a deadlock costs the budget only.
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.close(read_fd)
            for i in todo:
                try:
                    ok = work(i)
                except Exception:
                    ok = False
                os.write(write_fd, f"{i} {int(ok)}\n".encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    deadline = time.monotonic() + budget
    data = b""
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([read_fd], [], [], remaining)[0]:
                break
            chunk = os.read(read_fd, 4096)
            if not chunk:
                break
            data += chunk
    finally:
        os.close(read_fd)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:  # pragma: no cover - it finished first
            pass
        os.waitpid(pid, 0)
    found = {}
    for line in data.decode().splitlines():
        i, ok = line.split()
        found[int(i)] = ok == "1"
    return found


def _prove_in_threads(work, todo, budget) -> dict[int, bool]:  # pragma: no cover - platforms without fork
    # Without fork, a thread that cannot be stopped: it is left to finish in the background.
    found: dict[int, bool] = {}

    def run():
        for i in todo:
            found[i] = work(i)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(budget)
    return dict(found)
