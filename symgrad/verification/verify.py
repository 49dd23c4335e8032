r"""Verifying a hand derivation: a formula in, a verdict with a counterexample and a diagnosis out.

Deciding is done in two stages, cheapest first:

1. **Numbers** (:mod:`.sampling`). Claim and truth are evaluated at a few random
   points in 30-digit arithmetic. One disagreement refutes the claim, and that point
   is the counterexample. A false claim never reaches stage 2, so it never pays for a
   symbolic simplification (a bare ``simplify`` of a false claim can take half a minute).
2. **A symbolic proof** (:mod:`.proof`), for claims that agreed everywhere, in a child
   process that is killed when the time budget runs out. ``method`` is ``"symbolic"``
   when the proof finished, ``"numeric"`` when only the random points agreed.

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

import time
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Mapping

import mpmath
import sympy

from ..errors import ParseError, SymgradError, UnknownSymbolError
from ..present.latex import expr_latex, partial_latex
from .diagnose import diagnose
from .proof import prove
from .reader import read_claim, read_latex
from .sampling import DPS, REL_TOL, Sample, close

if TYPE_CHECKING:  # pragma: no cover
    from ..model.network import Network

__all__ = ["Counterexample", "Verdict", "verify", "verify_value"]

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


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify` or :func:`verify_value`.

    ``ok`` says whether the claim holds; ``method`` is ``"symbolic"`` (proved) or
    ``"numeric"`` (agreed at the sample points, or a value compared at one point);
    a refuted claim has a ``counterexample``, a plain-words ``diagnosis`` ending in the
    correct factored form, and ``mistake``, the mistake found (see
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
    a sympy expression; ``kind`` forces one notation (``"latex"``, ``"python"``,
    ``"sympy"``; the keyword is kept from version 0.1, where a claim's notation was its kind). ``names`` maps the claim's notation to the network's
    (``{"z_1": "y1", "f": "sigmoid"}``). ``points`` random points (drawn from ``seed``)
    decide; a symbolic proof then gets what is left of ``timeout`` seconds (the default
    keeps a verdict on a network of a few dozen parameters under 2 s; 0 skips the proof).

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
    with mpmath.workdps(DPS):
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


def _verify(net, param, claim, notation, names, points, seed, timeout) -> Verdict:
    started = time.monotonic()
    p = _parameter(net, param)
    d = net.grad(p)
    read = read_claim(net, claim, notation=notation, names=names)
    if read.wrt is not None and read.wrt != p:
        raise SymgradError(
            f"the claim's left side is a derivative with respect to {read.wrt.name}, but {p.name} was asked for",
            token=read.wrt.name,
        )
    truth = d.factored
    sample = Sample.random(net, [truth, *read.lines], n=max(1, points), seed=seed)
    true_values = sample.vec(truth)
    note = _check_readings(read, sample, true_values) if read.readings else None
    refuted: dict[int, int] = {}  # line → index of its first counterexample point
    for i, line in enumerate(read.lines):
        values = sample.vec(line)
        bad = next((k for k, (c, t) in enumerate(zip(values, true_values)) if not close(c, t)), None)
        if bad is not None:
            refuted[i] = bad
    agreeing = [i for i in range(len(read.lines)) if i not in refuted]
    budget = timeout - (time.monotonic() - started)
    proofs = dict(zip(agreeing, prove(net, [read.lines[i] for i in agreeing], truth, budget))) if agreeing else {}
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


def _check_readings(read, sample: Sample, true_values) -> str:
    """A claim with a lone closing bracket is refuted only if it is wrong wherever its
    opening bracket goes; if some place makes it hold, that is for its author to say."""

    def holds(lines) -> bool:
        return all(all(close(c, t) for c, t in zip(sample.vec(line), true_values)) for line in lines)

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


def _line_verdict(net, d, line, sample: Sample, true_values, bad: int | None, proven: bool) -> Verdict:
    common = dict(param=d.param.name, loss=net.loss.name, claim=line, expected=d.factored, expected_latex=d.latex())
    if bad is None:
        return Verdict(ok=True, method="symbolic" if proven else "numeric", **common)
    claimed = sample.vec(line)
    counterexample = Counterexample(
        sample.leaf_point(bad),
        None if claimed[bad] is None else float(claimed[bad]),
        float(true_values[bad]),
    )
    finding = diagnose(d, claimed, sample, rel_tol=REL_TOL, abs_tol=REL_TOL)
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
    with mpmath.workdps(DPS):
        return _verify_value(net, param, claimed, at, rel_tol)


def _verify_value(net, param, claimed, at, rel_tol) -> Verdict:
    p = _parameter(net, param)
    d = net.grad(p)
    point = _leaf_values(net, at)
    sample = Sample(net, [point])
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
        with mpmath.workdps(DPS):
            return mpmath.mpf(str(value)) if not isinstance(value, sympy.Basic) else mpmath.mpf(sympy.Float(value, DPS))
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
    with mpmath.workdps(DPS):
        return mpmath.mpf(text), tol * (1 + 1e-9), sympy.Float(text, digits)
