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

import ast
import html
import json
import re
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Mapping

import mpmath
import sympy

from ..errors import ParseError, SymgradError, UnknownSymbolError
from ..present.latex import expr_latex, partial_latex
from .comparison import Counterexample
from .derivation import BUDGET, DefinitionReport, DerivationResult, LineResult, check_derivation, check_values
from .diagnose import diagnose
from .reader import read_claim, read_latex
from .reader.claims import TooLarge
from .reader.matrices import Matrix
from .reader.tokens import Formula
from .sampling import DPS, Sample

if TYPE_CHECKING:  # pragma: no cover
    from ..model.network import Network

__all__ = ["Counterexample", "Verdict", "verify", "verify_value"]



# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Verdict:
    """The outcome of :func:`verify` or :func:`verify_value`.

    ``ok`` says whether the claim holds; ``method`` is ``"symbolic"`` (proved) or
    ``"numeric"`` (agreed at the sample points, or a value compared at one point);
    a refuted claim has a ``counterexample``, a plain-words ``diagnosis`` ending in the
    correct form, and ``mistake``, the mistake found (see
    :data:`symgrad.verification.diagnose.MISTAKES`; None when no single mistake explains it). A
    derivation ``A = B = C`` has one verdict per line in ``lines``. ``exit_code`` is
    what ``symgrad verify`` exits with: 0 holds, 1 refuted.

    ``subject`` is what the line is about as written (a derivative, a defined name),
    ``line`` its line number in the text, ``scope`` the index values or convention it
    was checked for (``"for all 12 (i, j)"``); ``notes`` states how the reader read an
    ambiguous notation, and ``definitions`` lists the names the derivation defines.
    """

    ok: bool
    method: str
    param: str
    loss: str
    claim: object
    expected: object
    expected_latex: str
    counterexample: Counterexample | None = None
    diagnosis: str | None = None
    mistake: str | None = None
    lines: tuple["Verdict", ...] = field(default=())
    subject: str = ""
    line: int | None = None
    scope: str | None = None
    notes: tuple[str, ...] = ()
    definitions: tuple[DefinitionReport, ...] = ()
    written: str | None = None  # the claim as written (LaTeX), when it was text

    @property
    def exit_code(self) -> int:
        return 0 if self.ok else 1

    @property
    def name(self) -> str:
        """What the verdict is about: ∂Loss/∂w7, or the left side as written."""
        if self.param:
            return f"∂{self.loss}/∂{self.param}"
        return self.subject or "the derivation"

    def _ordinal(self, text_line: int) -> int:
        """The number a line of the text has in this verdict's list (line 1, 2, …)."""
        return next((i for i, line in enumerate(self.lines, start=1) if line.line == text_line), text_line)

    def __str__(self) -> str:
        out = []
        if self.lines:
            n = len(self.lines)
            out.append(f"{self.name}: {'HOLDS' if self.ok else 'REFUTED'} ({n} line{'s' if n != 1 else ''})")
            for i, line in enumerate(self.lines, start=1):
                about = f" ({line.subject})" if line.subject and line.subject != self.subject else ""
                out.append(f"  line {i}{about}: {line._status()}")
            first_bad = next((line for line in self.lines if not line.ok), None)
            if first_bad is not None:
                out += ["", first_bad._details()]
            elif self.param:
                out.append(f"  correct: {self.name} = {self.expected_latex}")
        else:
            out.append(f"{self.name}: {self._status()}")
            out.append(self._details())
        out += [f"  definition: {d.name} (line {self._ordinal(d.line)}) is {d.meaning}" for d in self.definitions]
        out += [f"  reading: {note}" for note in self.notes]
        return "\n".join(x for x in out if x)

    def _status(self) -> str:
        scope = f" {self.scope}" if self.scope else ""
        if not self.ok:
            return "REFUTED" + (f" ({self.mistake.replace('_', ' ')})" if self.mistake else "")
        if self.method == "definition":
            return "DEFINES" + scope
        if self.method == "symbolic":
            return f"HOLDS{scope} (proved symbolically)"
        return f"HOLDS{scope} (agrees numerically; no symbolic proof within the time budget)"

    def _details(self) -> str:
        out = []
        if self.written and (isinstance(self.claim, (Matrix, Exception)) or self.claim is None or self.scope):
            out.append(f"  claim:     {self.written}")
        elif self.claim is not None:
            out.append(f"  claim:     {_latex(self.claim)}")
        if self.counterexample is not None:
            out.append(f"  counterexample: {self.counterexample}")
        if self.diagnosis:
            out.append("  diagnosis: " + self.diagnosis.replace("\n", "\n             "))
        elif self.ok and self.expected_latex and not self.scope:
            out.append(f"  correct:   {self.name} = {self.expected_latex}")
        return "\n".join(out)

    def to_dict(self) -> dict:
        """The verdict as plain data (what ``symgrad verify --json`` prints; the schema is in
        ``docs/json.md``): ``ok``, ``verdict`` (``"holds"`` or ``"refuted"``), ``method``,
        ``param``, ``loss``, the ``claim`` and the ``expected`` derivative (sympy's text and
        LaTeX), ``counterexample``, ``diagnosis``, ``mistake``, one entry per line in ``lines``,
        and what the verdict is about: ``subject``, ``line``, ``scope``, ``written``, ``notes``
        and ``definitions``.

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
            "claim": _text(self.claim),
            "claim_latex": None if self.claim is None or isinstance(self.claim, Exception) else _latex(self.claim),
            "expected": _text(self.expected) or "",
            "expected_latex": self.expected_latex,
            "counterexample": None if self.counterexample is None else self.counterexample.to_dict(),
            "diagnosis": self.diagnosis,
            "mistake": self.mistake,
            "lines": [line.to_dict() for line in self.lines],
            "subject": self.subject,
            "line": self.line,
            "scope": self.scope,
            "written": self.written,
            "notes": list(self.notes),
            "definitions": [d.to_dict() for d in self.definitions],
        }

    def to_json(self, **options) -> str:
        """:meth:`to_dict` as JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, **options)

    def _latex(self, printer=None) -> str:
        # sympy.latex(v): the correct form, the one thing every verdict holds.
        if self.param:
            return f"{partial_latex(sympy.Symbol(self.loss), sympy.Symbol(self.param))} = {self.expected_latex}"
        return self.expected_latex or self.subject

    def _repr_html_(self) -> str:
        """The verdict, the counterexample, the diagnosis and the correct form, for a notebook."""
        esc = html.escape
        rows = []
        for i, line in enumerate(self.lines, start=1):
            rows.append((f"line {i}", esc(line._status())))
        shown = next((line for line in self.lines if not line.ok), self) if self.lines else self
        if shown.written and (shown.claim is None or isinstance(shown.claim, (Matrix, Exception)) or shown.scope):
            rows.append(("claim", f"\\({esc(shown.written)}\\)"))
        elif shown.claim is not None:
            rows.append(("claim", f"\\({esc(_latex(shown.claim))}\\)"))
        if shown.counterexample is not None:
            rows.append(("counterexample", esc(str(shown.counterexample))))
        if shown.diagnosis:
            rows.append(("diagnosis", esc(shown.diagnosis).replace("\n", "<br>")))
        if self._latex():
            rows.append(("correct", f"\\({esc(self._latex())}\\)"))
        rows += [("definition", esc(f"{d.name} (line {self._ordinal(d.line)}) is {d.meaning}")) for d in self.definitions]
        rows += [("reading", esc(note)) for note in self.notes]
        color = "#060" if self.ok else "#b00"
        body = "".join(f'<tr><th style="text-align:left;vertical-align:top">{k}</th><td style="text-align:left">{v}</td></tr>' for k, v in rows)
        status = self._status() if not self.lines else ("HOLDS" if self.ok else "REFUTED")
        return f'<div class="symgrad-verdict"><p><b style="color:{color}">{esc(self.name)}: {esc(status)}</b></p><table>{body}</table></div>'


def _text(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, Matrix):
        return str(value.entries.tolist())
    return str(value)


def _latex(value) -> str:
    if isinstance(value, Exception):
        return str(value)
    if isinstance(value, Matrix):
        return expr_latex(value.entries)
    if isinstance(value, sympy.Basic):
        return expr_latex(value)
    return str(value)


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
    timeout: float = BUDGET,
) -> Verdict:
    r"""Check a hand derivation of ∂Loss/∂``param`` and explain what is wrong with it.

    ``claim`` is LaTeX (``\frac{\partial Loss}{\partial w_7} = (\hat{f}_1 - f_1) g(u_1)(1 - g(u_1)) h_1``;
    a chain ``A = B = C`` checks every line), Python text with the network's names, or
    a sympy expression; ``kind`` forces one notation (``"latex"``, ``"python"``,
    ``"sympy"``; the keyword is kept from version 0.1). ``names`` maps the claim's
    notation to the network's (``{"z_1": "y1", "f": "sigmoid"}``). ``points`` random
    points (drawn from ``seed``) decide; a symbolic proof then gets what is left of
    ``timeout`` seconds (the default keeps a verdict under 2 s; 0 skips the proof).

    LaTeX may be a whole derivation: several equations, names it defines and uses
    (``\delta_j = …``), generic indices checked for every value (``w^{(2)}_{ij}``) and,
    on a layered network, matrix formulas (``\nabla_{W^{(2)}} L = \delta^{(2)} (a^{(1)})^T``)
    in the column or the row convention. With ``param=None`` every equation's left
    side says what it is about.

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
    activation written for its derivative: where the claim should have the derivative $g(u) \left(1 - g(u)\right)$ (∂o/∂u), it has the activation itself, $g(u)$ (σ written for σ': the factor (1 − σ) is missing).
    """
    deadline = time.monotonic() + timeout
    if isinstance(claim, str):
        Formula.check_length(claim)  # before any parser (Python's too) sees a text too long to read in time
    p = _parameter(net, param) if param is not None else None
    python_error = None
    if not isinstance(claim, str) or kind in ("python", "sympy") or (kind is None and _looks_like_python(claim)):
        try:
            read = read_claim(net, claim, notation=kind, names=names)
        except SymgradError as error:
            if kind is not None or not isinstance(claim, str) or isinstance(error, TooLarge):
                raise
            read, python_error = None, error  # Python syntax, LaTeX names (x_2*x_1)? read it as LaTeX below
        if read is not None and read.notation != "latex":
            if p is None:
                raise SymgradError("a formula without a left side: give the parameter it is the derivative of", token=str(claim))
            result = check_values(net, p, list(read.lines), points=points, seed=seed, deadline=deadline)
            return verdict_from(net, p, result)
    if not isinstance(claim, str):
        raise ParseError(f"a latex claim must be text, got {type(claim).__name__}")
    try:
        result = check_derivation(net, claim, param=p, names=names, points=points, seed=seed, deadline=deadline)
    except SymgradError:
        if python_error is not None:
            raise python_error from None
        raise
    return verdict_from(net, p, result)


def _looks_like_python(claim: str) -> bool:
    if re.search(r"[\\{}$]", claim):
        return False
    try:
        ast.parse(claim.strip(), mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        return False
    return True


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


def _line_verdict(net, line: LineResult) -> Verdict:
    if line.param is not None:
        expected_latex = net.grad(line.param).latex()
    elif isinstance(line.expected, sympy.Basic):
        expected_latex = expr_latex(line.expected)
    else:
        expected_latex = ""
    return Verdict(
        ok=line.ok,
        method=line.method,
        param=line.param.name if line.param is not None and (not line.subject or line.role == "gradient" and not line.scope) else "",
        loss=net.loss.name,
        claim=line.claim,
        expected=line.expected,
        expected_latex=expected_latex,
        counterexample=line.counterexample,
        diagnosis=line.diagnosis,
        mistake=line.mistake,
        subject=line.subject,
        line=line.line,
        scope=line.scope,
        written=line.written or None,
    )


def verdict_from(net, p, result: DerivationResult) -> Verdict:
    """The :class:`Verdict` of a checked derivation: one line's own, or one with a verdict per line."""
    verdicts = [_line_verdict(net, line) for line in result.lines]
    if p is not None:
        verdicts = [replace(v, param=p.name) if v.subject and v.scope is None and v.param == "" and _about(line, p) else v
                    for v, line in zip(verdicts, result.lines)]
    extras = dict(notes=tuple(result.notes), definitions=tuple(result.definitions))
    if len(verdicts) == 1 and not result.definitions:
        return replace(verdicts[0], param=p.name if p is not None else verdicts[0].param, **extras)
    ok = all(v.ok for v in verdicts)
    first_bad = next((i for i, v in enumerate(verdicts) if not v.ok), None)
    bad = verdicts[first_bad] if first_bad is not None else None
    d = net.grad(p) if p is not None else None
    subjects = list(dict.fromkeys(v.subject for v in verdicts if v.subject))
    return Verdict(
        ok=ok,
        method="symbolic" if all(v.method in ("symbolic", "definition") for v in verdicts) else "numeric",
        param=p.name if p is not None else "",
        loss=net.loss.name,
        claim=bad.claim if bad else None,
        written=bad.written if bad else None,
        expected=d.factored if d is not None else None,
        expected_latex=d.latex() if d is not None else "",
        counterexample=bad.counterexample if bad else None,
        diagnosis=f"line {first_bad + 1} of the derivation: {bad.diagnosis}" if bad else None,
        mistake=bad.mistake if bad else None,
        lines=tuple(verdicts),
        subject=subjects[0] if len(subjects) == 1 else "",
        **extras,
    )


def _about(line: LineResult, p) -> bool:
    return line.param == p


# --------------------------------------------------------------------------- verify_value


def _diagnosis_text(net, d, finding) -> str:
    head = finding.message if finding is not None else (
        "the claim differs from the true derivative, and no single mistake (sign, constant, path, bracket, factor or variable) explains it."
    )
    return f"{head}\nThe correct derivative, factored: ${partial_latex(net.loss, d.param)} = {d.latex()}$"


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
