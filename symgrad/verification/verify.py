r"""Verifying a hand derivation: a formula in, a verdict with a counterexample and a diagnosis out.

Deciding is done in two stages, cheapest first:

1. **Numbers.** Claim and truth are evaluated at a few random points (every parameter,
   input and target drawn at random, every step computed from them) in 30-digit
   arithmetic (mpmath). Points where either side is undefined, or where a ReLU, |x| or
   max is within a hair of its kink, are skipped. One disagreement refutes the claim,
   and that point is the counterexample. A false claim never reaches stage 2, so it
   never pays for a symbolic simplification (a bare ``simplify`` of a false claim can
   take half a minute).
2. **A symbolic proof**, for claims that agreed everywhere: both sides are written in
   parameters, inputs and targets only and their difference is expanded, cancelled
   and, if needed, simplified, in a child process that is killed when the time budget
   runs out. ``method`` is ``"symbolic"`` when the proof finished, ``"numeric"`` when
   only the random points agreed.

A refuted claim is diagnosed by :mod:`symgrad.verification.diagnose`, and every verdict shows the
correct factored derivative.

>>> import symgrad as sg
>>> from symgrad.verification.verify import verify
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> v = verify(net, "x1", r"2x_2(x_1 x_2 - 3)")
>>> v.ok, v.method, v.exit_code
(True, 'symbolic', 0)
"""

from __future__ import annotations

import html
import os
import random
import select
import signal
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Mapping

import mpmath
import sympy

from ..errors import ParseError, SymgradError, UnknownSymbolError
from ..model import functions as fn
from ..present.latex import expr_latex, partial_latex
from .diagnose import diagnose
from .latex_reader import read_claim, read_latex

if TYPE_CHECKING:  # pragma: no cover
    from ..model.network import Network

__all__ = ["Counterexample", "Verdict", "verify", "verify_value"]

_DPS = 30  # working precision of the numeric comparison, in decimal digits
_REL_TOL = 1e-20  # two 30-digit values closer than this are equal
_KINK = 1e-3  # keep this far from the kink of relu, |x|, max, sign
_BUDGET = 1.8  # seconds for a whole verdict (the numeric stage plus the proof)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Counterexample:
    """A point where the claim and the true derivative differ.

    ``point`` gives every parameter, input and target by name; ``claimed`` is the
    claim's value there (None where it is undefined), ``true`` the derivative's.
    """

    point: dict[str, float]
    claimed: float | None
    true: float

    def __str__(self) -> str:
        where = ", ".join(f"{k} = {v:.6g}" for k, v in self.point.items())
        said = "is undefined" if self.claimed is None else f"gives {self.claimed:.10g}"
        return f"at {where}: the claim {said}, the true value is {self.true:.10g}"

    def to_dict(self) -> dict:
        """``point`` (name → value), ``claimed`` (None where the claim is undefined) and ``true``."""
        return {"point": dict(self.point), "claimed": self.claimed, "true": self.true}


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify` or :func:`verify_value`.

    ``ok`` says whether the claim holds; ``method`` is ``"symbolic"`` (proved) or
    ``"numeric"`` (agreed at the sample points, or a value compared at one point);
    a refuted claim has a ``counterexample``, a plain-words ``diagnosis`` ending in the
    correct factored form, and ``mistake``, the kind of mistake found (see
    :data:`symgrad.verification.diagnose.MISTAKES`; None when no single mistake explains it). A
    derivation ``A = B = C`` has one verdict per line in ``lines``. ``exit_code`` is
    what ``symgrad verify`` exits with: 0 holds, 1 refuted.
    """

    ok: bool
    method: str
    param: str
    loss: str
    claim: sympy.Expr | None
    expected: sympy.Expr
    expected_latex: str
    counterexample: Counterexample | None = None
    diagnosis: str | None = None
    mistake: str | None = None
    lines: tuple["Verdict", ...] = field(default=())

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    def to_dict(self) -> dict:
        """The verdict as plain data (what ``symgrad verify --json`` prints; the schema is in
        ``docs/json.md``): ``ok``, ``verdict`` (``"holds"`` or ``"refuted"``), ``method``,
        ``param``, ``loss``, the ``claim`` and the ``expected`` derivative (sympy's text and
        LaTeX), ``counterexample``, ``diagnosis``, ``mistake`` and one entry per line in ``lines``.

        >>> import symgrad as sg
        >>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
        >>> d = verify(net, "x1", "x2*(x1*x2 - 3)").to_dict()
        >>> d["verdict"], d["mistake"], d["counterexample"]["true"] == 2 * d["counterexample"]["claimed"]
        ('refuted', 'constant_factor', True)
        """
        return {
            "ok": self.ok,
            "verdict": "holds" if self.ok else "refuted",
            "method": self.method,
            "param": self.param,
            "loss": self.loss,
            "claim": None if self.claim is None else str(self.claim),
            "claim_latex": None if self.claim is None else expr_latex(self.claim),
            "expected": str(self.expected),
            "expected_latex": self.expected_latex,
            "counterexample": None if self.counterexample is None else self.counterexample.to_dict(),
            "diagnosis": self.diagnosis,
            "mistake": self.mistake,
            "lines": [line.to_dict() for line in self.lines],
        }

    def _latex(self, printer=None) -> str:
        # sympy.latex(v): the correct derivative, the one thing every verdict holds.
        return f"{partial_latex(sympy.Symbol(self.loss), sympy.Symbol(self.param))} = {self.expected_latex}"

    def _repr_html_(self) -> str:
        """The verdict, the counterexample, the diagnosis and the correct form, for a notebook."""
        esc = html.escape
        name = f"∂{self.loss}/∂{self.param}"
        rows = []
        for i, line in enumerate(self.lines, start=1):
            rows.append((f"line {i}", esc(line._status())))
        shown = next((line for line in self.lines if not line.ok), self) if self.lines else self
        if shown.claim is not None:
            rows.append(("claim", f"\\({esc(expr_latex(shown.claim))}\\)"))
        if shown.counterexample is not None:
            rows.append(("counterexample", esc(str(shown.counterexample))))
        if shown.diagnosis:
            rows.append(("diagnosis", esc(shown.diagnosis).replace("\n", "<br>")))
        rows.append(("correct", f"\\({esc(self._latex())}\\)"))
        color = "#060" if self.ok else "#b00"
        body = "".join(f'<tr><th style="text-align:left;vertical-align:top">{k}</th><td style="text-align:left">{v}</td></tr>' for k, v in rows)
        return f'<div class="symgrad-verdict"><p><b style="color:{color}">{esc(name)}: {esc(self._status() if not self.lines else ("HOLDS" if self.ok else "REFUTED"))}</b></p><table>{body}</table></div>'

    def __str__(self) -> str:
        name = f"∂{self.loss}/∂{self.param}"
        out = []
        if self.lines:
            out.append(f"{name}: {'HOLDS' if self.ok else 'REFUTED'} ({len(self.lines)} lines)")
            for i, line in enumerate(self.lines, start=1):
                out.append(f"  line {i}: {line._status()}")
            first_bad = next((line for line in self.lines if not line.ok), None)
            if first_bad is not None:
                out += ["", first_bad._details()]
            else:
                out.append(f"  correct: {name} = {self.expected_latex}")
            return "\n".join(out)
        out.append(f"{name}: {self._status()}")
        out.append(self._details())
        return "\n".join(x for x in out if x)

    def _status(self) -> str:
        if not self.ok:
            return "REFUTED" + (f" ({self.mistake.replace('_', ' ')})" if self.mistake else "")
        if self.method == "symbolic":
            return "HOLDS (proved symbolically)"
        return "HOLDS (agrees numerically; no symbolic proof within the time budget)"

    def _details(self) -> str:
        out = []
        if self.claim is not None:
            out.append(f"  claim:     {expr_latex(self.claim)}")
        if self.counterexample is not None:
            out.append(f"  counterexample: {self.counterexample}")
        if self.diagnosis:
            out.append("  diagnosis: " + self.diagnosis.replace("\n", "\n             "))
        elif self.ok:
            out.append(f"  correct:   ∂{self.loss}/∂{self.param} = {self.expected_latex}")
        return "\n".join(out)


# --------------------------------------------------------------------------- sample points


def _real(v):
    """A finite real mpmath number, or None (complex, infinite, nan, or not a number)."""
    try:
        if isinstance(v, mpmath.mpc):
            if abs(v.imag) > 1e-25 * max(1, abs(v.real)):
                return None
            v = v.real
        v = mpmath.mpf(v)
    except (TypeError, ValueError):
        return None
    return v if mpmath.isfinite(v) else None


# How the functions outside the functions table are computed in mpmath (each row of
# the table has its own, FunctionRow.mpmath).
_MPMATH = {
    sympy.Max: max, sympy.Min: min,
    fn.logsumexp: lambda *xs: mpmath.log(mpmath.fsum(mpmath.exp(x) for x in xs)),
}


def _evaluate(e: sympy.Expr, values: dict, memo: dict):
    """``e`` in mpmath at the point ``values`` (None where a symbol has no value).

    A plain tree walk with a memo shared by every expression evaluated at the same
    point: the forward pass, the truth, the claim and all the diagnosis variants reuse
    each other's subexpressions, and nothing is compiled (``lambdify`` costs ~10 ms an
    expression, which a diagnosis comparing hundreds of variants cannot afford).
    """
    if e in memo:
        return memo[e]
    if e.is_Symbol:
        return values.get(e)
    if e.is_number and not e.has(sympy.zoo, sympy.nan):
        v = mpmath.mpf(e.evalf(mpmath.mp.dps + 5)) if e.is_real else mpmath.mpc(complex(e))  # evalf: sqrt(2), pi too
        memo[e] = v
        return v
    args = [_evaluate(a, values, memo) for a in e.args]
    if any(a is None for a in args):
        v = None
    else:
        try:
            v = _apply(e, args)
        except (ZeroDivisionError, ValueError, OverflowError, TypeError):
            v = None
    memo[e] = v
    return v


def _apply(e: sympy.Expr, args: list):
    if e.is_Add:
        return mpmath.fsum(args)
    if e.is_Mul:
        return mpmath.fprod(args)
    if e.is_Pow:
        base, exponent = args
        return base**exponent
    func = type(e)
    if func is sympy.log:
        return mpmath.log(args[0]) if len(args) == 1 else mpmath.log(args[0]) / mpmath.log(args[1])
    if func in _MPMATH:
        return _MPMATH[func](*args)
    row = fn.row_of(func)
    if row is not None:
        return row.mpmath(*args, **fn.parameters_of(func))
    raise TypeError(f"cannot evaluate {func.__name__}")  # becomes "undefined": no silent guess


class _Sample:
    """Points where every leaf and every step of a network has a value; evaluates
    expressions at all of them at once."""

    def __init__(self, net: "Network", points: list[dict]):
        self.net = net
        self.points: list[dict] = []
        self.memos: list[dict] = []
        for leaves in points:
            values, memo = self._forward(leaves)
            self.points.append(values)
            self.memos.append(memo)

    def _forward(self, leaves: dict) -> tuple[dict, dict]:
        values, memo = dict(leaves), {}
        for st in self.net.steps:
            values[st.target] = _evaluate(st.expr, values, memo)
        return values, memo

    def vec(self, expr) -> list:
        """``expr`` at every point (None where it is undefined)."""
        expr = sympy.sympify(expr)
        return [_real(_evaluate(expr, values, memo)) for values, memo in zip(self.points, self.memos)]

    def vec_swapped(self, expr, old: sympy.Symbol, new: sympy.Symbol) -> list:
        """``expr`` at every point, with ``old`` given ``new``'s values."""
        expr = sympy.sympify(expr)
        out = []
        for values in self.points:
            swapped = dict(values)
            swapped[old] = values.get(new)
            out.append(_real(_evaluate(expr, swapped, {})))
        return out

    @classmethod
    def random(cls, net: "Network", exprs, n: int, seed: int) -> "_Sample":
        """``n`` random points where ``exprs[0]`` (the truth) is defined, non-zero, and no kink is near.

        Points where the truth is 0 (a dead ReLU, say) tell little apart; up to two are
        kept besides, because a claim that is not 0 there is refuted by them.
        """
        rng = random.Random(seed)
        leaves = list(net.params) + list(net.inputs) + list(net.targets)
        kinks = _kink_arguments([st.expr for st in net.steps] + list(exprs))
        informative: list[tuple[dict, dict]] = []
        zeros: list[tuple[dict, dict]] = []
        for _ in range(40 * n):
            # Magnitudes away from 0 and 1, so that a dropped factor or an added one shows.
            point = {s: mpmath.mpf(rng.choice((-1, 1)) * rng.uniform(0.2, 1.8)) for s in leaves}
            values, memo = cls(net, [])._forward(point)
            truth = _real(_evaluate(exprs[0], values, memo))
            if truth is None or any(_real(values[st.target]) is None for st in net.steps):
                continue
            if any((k := _real(_evaluate(arg, values, memo))) is None or abs(k) < _KINK for arg in kinks):
                continue
            (informative if abs(truth) > 1e-25 else zeros).append((values, memo))
            if len(informative) == n:
                break
        chosen = informative + zeros[: min(2, max(0, n - len(informative)) + 2)]
        if not chosen:
            raise SymgradError("cannot find points where the derivative is defined (every random point hit a singularity)")
        sample = cls(net, [])
        sample.points = [values for values, _ in chosen]
        sample.memos = [memo for _, memo in chosen]
        return sample

    def leaf_point(self, i: int) -> dict[str, float]:
        net = self.net
        return {s.name: float(self.points[i][s]) for s in list(net.params) + list(net.inputs) + list(net.targets)}


def _kink_arguments(exprs) -> list[sympy.Expr]:
    """Where relu, |x|, max/min, sign and step change their formula: near there, a claim
    and the truth may legitimately differ by the choice of one-sided derivative."""
    args: list[sympy.Expr] = []
    for e in exprs:
        for node in sympy.preorder_traversal(e):
            kind = fn.kind_of(type(node)) if isinstance(node, sympy.Function) else None
            if isinstance(node, (sympy.Heaviside, sympy.Abs, sympy.sign)) or kind in ("relu", "abs"):
                args.append(node.args[0])
            elif isinstance(node, (sympy.Max, sympy.Min)):
                first, *rest = node.args
                args += [first - r for r in rest]
    return list(dict.fromkeys(args))


def _close(a, b) -> bool:
    return a is not None and b is not None and abs(a - b) <= _REL_TOL * max(1, abs(a), abs(b))


# --------------------------------------------------------------------------- the symbolic proof


def _canonical(net: "Network", expr: sympy.Expr, level: str) -> sympy.Expr:
    """``expr`` with each activation written by its canonical class (seed 002's g is a
    sigmoid: g(u) and σ(u) must compare equal) and its steps substituted to ``level``:

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


def _prove(net: "Network", claims: list[sympy.Expr], truth: sympy.Expr, budget: float) -> list[bool]:
    """For each claim, whether claim − truth was shown to be 0 within ``budget`` seconds."""
    same = _canonical(net, truth, "steps")
    proven = [_canonical(net, c, "steps") == same for c in claims]  # equal as written: no search
    todo = [i for i, ok in enumerate(proven) if not ok]
    if not todo or budget <= 0.05:
        return proven
    work = lambda i: _is_zero(net, claims[i], truth)  # noqa: E731 - run in the child or a thread
    if hasattr(os, "fork") and sys.platform != "win32":
        found = _prove_in_child(work, todo, budget)
    else:  # pragma: no cover - platforms without fork
        found = _prove_in_threads(work, todo, budget)
    return [ok or found.get(i, False) for i, ok in enumerate(proven)]


def _prove_in_child(work, todo, budget) -> dict[int, bool]:
    # A forked child can be killed when the budget runs out, which a thread cannot;
    # it inherits the expressions, so nothing is pickled, and reports one line per claim.
    read_fd, write_fd = os.pipe()
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


# --------------------------------------------------------------------------- verify


def verify(
    net: "Network",
    param,
    claim,
    *,
    kind: str | None = None,
    names: Mapping | None = None,
    points: int = 5,
    seed: int = 0,
    timeout: float = _BUDGET,
) -> Verdict:
    r"""Check a hand-derived ∂Loss/∂``param`` and explain what is wrong with it.

    ``claim`` is LaTeX (``\frac{\partial Loss}{\partial w_7} = (\hat{f}_1 - f_1) g(u_1)(1 - g(u_1)) h_1``;
    a chain ``A = B = C`` checks every line), Python text with the network's names, or
    a sympy expression; ``kind`` forces one reading (``"latex"``, ``"python"``,
    ``"sympy"``). ``names`` maps the claim's notation to the network's
    (``{"z_1": "y1", "f": "sigmoid"}``). ``points`` random points (drawn from ``seed``)
    decide; a symbolic proof then gets what is left of ``timeout`` seconds (the default
    keeps a verdict on a seed-sized network under 2 s; 0 skips the proof).

    Raises :class:`~symgrad.errors.SymgradError` (naming the token) for a claim that
    cannot be read.

    >>> import symgrad as sg
    >>> from symgrad.verification.verify import verify
    >>> net = sg.Network.from_equations("u = w*x + b; o = g(u); L = (o - y)**2/2",
    ...                                 params="w b", inputs="x", targets="y", functions={"g": "sigmoid"})
    >>> v = verify(net, "w", r"(o - y)\, g(u)\, x")
    >>> v.ok, v.mistake
    (False, 'wrong_factor')
    >>> print(v.diagnosis.splitlines()[0])
    activation written for its derivative: where the claim should have the derivative $g(u) \left(1 - g(u)\right)$ (∂o/∂u), it has the activation itself, $g(u)$ (σ written for σ').
    """
    with mpmath.workdps(_DPS):
        return _verify(net, param, claim, kind, names, points, seed, timeout)


def _parameter(net: "Network", param) -> sympy.Symbol:
    """The parameter ``param`` names, as declared (``w7``) or as LaTeX (``w_7``, ``w^{(1)}_{23}``)."""
    try:
        return net.parameter(param)
    except UnknownSymbolError:
        if isinstance(param, str) and not param.isidentifier() or "_" in str(param):
            try:
                read = read_latex(net, str(param)).lines
            except SymgradError:
                read = ()
            if len(read) == 1 and read[0] in net.params:
                return read[0]
        raise


def _verify(net, param, claim, kind, names, points, seed, timeout) -> Verdict:
    started = time.monotonic()
    p = _parameter(net, param)
    d = net.grad(p)
    read = read_claim(net, claim, kind=kind, names=names)
    if read.wrt is not None and read.wrt != p:
        raise SymgradError(
            f"the claim's left side is a derivative with respect to {read.wrt.name}, but {p.name} was asked for",
            token=read.wrt.name,
        )
    truth = d.factored
    sample = _Sample.random(net, [truth, *read.lines], n=max(1, points), seed=seed)
    true_values = sample.vec(truth)
    note = _check_readings(read, sample, true_values) if read.readings else None
    refuted: dict[int, int] = {}  # line → index of its first counterexample point
    for i, line in enumerate(read.lines):
        values = sample.vec(line)
        bad = next((k for k, (c, t) in enumerate(zip(values, true_values)) if not _close(c, t)), None)
        if bad is not None:
            refuted[i] = bad
    agreeing = [i for i in range(len(read.lines)) if i not in refuted]
    budget = timeout - (time.monotonic() - started)
    proofs = dict(zip(agreeing, _prove(net, [read.lines[i] for i in agreeing], truth, budget))) if agreeing else {}
    verdicts = [
        _line_verdict(net, d, line, sample, true_values, refuted.get(i), proofs.get(i, False))
        for i, line in enumerate(read.lines)
    ]
    if note:
        verdicts = [v if v.ok else replace(v, diagnosis=f"{note}\n{v.diagnosis}") for v in verdicts]
    if len(verdicts) == 1:
        return verdicts[0]
    ok = all(v.ok for v in verdicts)
    first_bad = next((i for i, v in enumerate(verdicts) if not v.ok), None)
    bad = verdicts[first_bad] if first_bad is not None else None
    return Verdict(
        ok=ok,
        method="symbolic" if all(v.method == "symbolic" for v in verdicts) else "numeric",
        param=p.name,
        loss=net.loss.name,
        claim=bad.claim if bad else None,
        expected=truth,
        expected_latex=d.latex(),
        counterexample=bad.counterexample if bad else None,
        diagnosis=f"line {first_bad + 1} of the derivation: {bad.diagnosis}" if bad else None,
        mistake=bad.mistake if bad else None,
        lines=tuple(verdicts),
    )


def _check_readings(read, sample: _Sample, true_values) -> str:
    """A claim with a lone closing bracket is refuted only if it is wrong wherever its
    opening bracket goes; if some place makes it hold, that is for its author to say."""

    def holds(lines) -> bool:
        return all(all(_close(c, t) for c, t in zip(sample.vec(line), true_values)) for line in lines)

    token = read.stray.split("'")[1]
    for where, lines in (("the stray bracket deleted", read.lines), *read.readings):
        if holds(lines):
            raise ParseError(
                f"unbalanced brackets: {read.stray} has no opening bracket; with {where} the claim holds, "
                "so correct it there (symgrad does not guess)",
                token=token,
            )
    return (
        f"note: {read.stray} has no opening bracket; the claim is wrong wherever its opening bracket goes "
        f"({len(read.readings)} places tried), and is read here as if it were absent."
    )


def _line_verdict(net, d, line, sample: _Sample, true_values, bad: int | None, proven: bool) -> Verdict:
    common = dict(param=d.param.name, loss=net.loss.name, claim=line, expected=d.factored, expected_latex=d.latex())
    if bad is None:
        return Verdict(ok=True, method="symbolic" if proven else "numeric", **common)
    claimed = sample.vec(line)
    counterexample = Counterexample(
        sample.leaf_point(bad),
        None if claimed[bad] is None else float(claimed[bad]),
        float(true_values[bad]),
    )
    finding = diagnose(d, claimed, sample, rel_tol=_REL_TOL, abs_tol=_REL_TOL)
    return Verdict(
        ok=False,
        method="numeric",
        counterexample=counterexample,
        diagnosis=_diagnosis_text(net, d, finding, undefined=any(c is None for c in claimed)),
        mistake=finding.mistake if finding else None,
        **common,
    )


def _diagnosis_text(net, d, finding, *, undefined: bool = False) -> str:
    if finding is not None:
        head = finding.message
    elif undefined:
        head = "the claim is undefined at some points where the derivative is defined (a division by zero or the log or root of a negative number)."
    else:
        head = "the claim differs from the true derivative, and no single mistake (sign, constant, path, bracket, factor or variable) explains it."
    return f"{head}\nThe correct derivative, factored: ${partial_latex(net.loss, d.param)} = {d.latex()}$"


# --------------------------------------------------------------------------- verify_value


def verify_value(net: "Network", param, claimed, at: Mapping, *, rel_tol: float | None = None) -> Verdict:
    """Check a hand-computed value of ∂Loss/∂``param`` at the point ``at``.

    ``at`` gives every parameter, input and target by name. The claim holds when it
    agrees with the true value to the digits it is written with (−1.995136 to within
    5·10⁻⁷), or within ``rel_tol`` when that is given.

    >>> import symgrad as sg
    >>> from symgrad.verification.verify import verify_value
    >>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    >>> v = verify_value(net, "x1", -1.995136, at={"x1": 1.04, "x2": 1.04})
    >>> v.ok, v.counterexample.true, v.mistake
    (False, -3.990272, 'constant_factor')
    """
    with mpmath.workdps(_DPS):
        return _verify_value(net, param, claimed, at, rel_tol)


def _verify_value(net, param, claimed, at, rel_tol) -> Verdict:
    p = _parameter(net, param)
    d = net.grad(p)
    point = _leaf_values(net, at)
    sample = _Sample(net, [point])
    true = sample.vec(d.factored)[0]
    if true is None:
        raise SymgradError(f"∂{net.loss.name}/∂{p.name} is not defined at the given point", token=p.name)
    value, digits_tol, written = _claimed_number(claimed)
    abs_tol = 0.0 if rel_tol is not None else digits_tol
    rel = rel_tol if rel_tol is not None else 1e-12
    ok = abs(value - true) <= abs_tol + rel * max(abs(value), abs(true))
    common = dict(param=p.name, loss=net.loss.name, claim=written, expected=d.factored, expected_latex=d.latex())
    if ok:
        return Verdict(ok=True, method="numeric", **common)
    finding = diagnose(d, [value], sample, rel_tol=rel, abs_tol=abs_tol)
    return Verdict(
        ok=False,
        method="numeric",
        counterexample=Counterexample(sample.leaf_point(0), float(value), float(true)),
        diagnosis=_diagnosis_text(net, d, finding),
        mistake=finding.mistake if finding else None,
        **common,
    )


def _leaf_values(net: "Network", at: Mapping) -> dict:
    leaves = list(net.params) + list(net.inputs) + list(net.targets)
    by_name = {s.name: s for s in leaves}
    point = {}
    for name, value in at.items():
        key = name.name if isinstance(name, sympy.Symbol) else str(name)
        if key not in by_name:
            raise UnknownSymbolError(f"at=: {key!r} is not a parameter, input or target of network {net.name!r}", token=key)
        point[by_name[key]] = _exact(value, key)
    missing = [s.name for s in leaves if s not in point]
    if missing:
        raise SymgradError(f"at=: no value for {', '.join(missing)}", token=missing[0])
    return point


def _exact(value, what: str):
    try:
        with mpmath.workdps(_DPS):
            return mpmath.mpf(str(value)) if not isinstance(value, sympy.Basic) else mpmath.mpf(sympy.Float(value, _DPS))
    except (TypeError, ValueError):
        raise SymgradError(f"{what}: {value!r} is not a number", token=str(value)) from None


def _claimed_number(claimed) -> tuple:
    """The claimed value exactly as written, half a unit of its last written digit, and
    the value as a sympy number (for printing)."""
    if isinstance(claimed, bool) or not isinstance(claimed, (int, float, str, Decimal, sympy.Number)):
        raise SymgradError(f"a claimed value must be a number, got {type(claimed).__name__}", token=str(claimed))
    text = str(claimed).strip().replace("−", "-")
    try:
        dec = Decimal(text)
    except InvalidOperation:
        raise SymgradError(f"{claimed!r} is not a number", token=text) from None
    if not dec.is_finite():
        raise SymgradError(f"{claimed!r} is not a finite number", token=text)
    exponent = dec.as_tuple().exponent
    # An integer is taken as exact; a decimal is good to half a unit of its last digit.
    tol = 0.0 if isinstance(claimed, (int, sympy.Integer)) else 0.5 * 10.0**exponent
    digits = max(15, len(dec.as_tuple().digits))
    with mpmath.workdps(_DPS):
        return mpmath.mpf(text), tol * (1 + 1e-9), sympy.Float(text, digits)
