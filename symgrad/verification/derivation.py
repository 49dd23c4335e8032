r"""Checking a derivation: every equation of a LaTeX block, every right side, every index value.

A block is cut into equations (:mod:`.reader.equations`) and read in order:

1. **Instances.** Each equation is read once per admissible value of its generic
   indices (``w^{(2)}_{ij}`` for every row i and column j of W⁽²⁾; ``l`` for every
   layer), and, when it holds a whole matrix or vector, in the column and in the row
   convention. The left side gives the true value: the network's gradient for a
   derivative of the loss, the network's error term for δ, the left side's own value
   for a stated fact. A name the block defines (``\delta_j = …``) is bound for every
   other line, wherever it is written; a definition may use one written further down
   (``\delta_j`` from ``\delta_k`` before the output layer's ``\delta_k``). A name
   defined again on a later line is a claim about its first definition.
2. **Numbers.** Every right side is compared with its left side at random points
   (:mod:`.comparison`); a matrix claim holds when it holds, for every index value, in
   one convention.
3. **A proof** (:mod:`.proof`) for what agreed, within what is left of the budget, and
   **a diagnosis** (:mod:`.diagnose`, then :mod:`.variants`) for what did not.

>>> import symgrad as sg
>>> net = sg.mlp([3, 4, 2])
>>> result = check_derivation(net, r"\frac{\partial L}{\partial w^{(2)}_{ij}} = (\hat y_i - y_i) f'(u^{(2)}_i) a^{(1)}_j")
>>> [(line.ok, line.scope) for line in result.lines]
[(True, 'for all 8 (i, j)')]
"""

from __future__ import annotations

import itertools
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Mapping

import mpmath
import sympy

from ..errors import ParseError, SymgradError, UnknownSymbolError
from ..present.latex import expr_latex, partial_latex
from . import variants
from .comparison import Agreement, Counterexample, Instance, agreement, counterexample, entries
from .diagnose import diagnose
from .proof import prove_pairs
from .reader.claims import lexicon as claim_lexicon
from .reader.claims import stray_readings
from .reader.equations import Equation, LeftSide, free_letters, left_side, split_equations
from .reader.lexicon import Definition, IndexOutOfRange, Lexicon
from .reader.matrices import Matrix, ShapeMismatch
from .reader.parser import Parser
from .reader.tokens import Formula
from .sampling import DPS, REL_TOL, Sample

if TYPE_CHECKING:  # pragma: no cover
    from ..model.network import Network

__all__ = ["BUDGET", "DefinitionReport", "DerivationResult", "LineResult", "check_derivation", "check_values"]

BUDGET = 1.8  # seconds for a whole verdict (reading, numbers, proof and diagnosis)
READ_LIMIT = 10.0  # seconds to read a block (every equation, every index value) before giving up with an error
MAX_INSTANCES = 400  # index values × conventions of one equation
_MAX_PROOF_PAIRS = 60


@dataclass
class LineResult:
    """The verdict on one right-hand side of a derivation."""

    index: int  # 0-based, across the block
    line: int  # line number in the text
    subject: str  # the left side, as written
    role: str
    ok: bool
    method: str
    claim: object = None
    expected: object = None
    counterexample: Counterexample | None = None
    diagnosis: str | None = None
    mistake: str | None = None
    scope: str | None = None  # "for all 12 (i, j)", "in the column convention"
    param: sympy.Symbol | None = None  # the one parameter the line is the gradient of, if it is
    written: str = ""  # the right side as written


@dataclass
class DefinitionReport:
    """A name the derivation defines, where, and whether it is one of the network's adjoints."""

    name: str
    line: int
    meaning: str
    matches: bool | None  # True: it is the network's adjoint; False: it should be and is not; None: a new name

    def to_dict(self) -> dict:
        return {"name": self.name, "line": self.line, "meaning": self.meaning, "matches": self.matches}


@dataclass
class DerivationResult:
    lines: list[LineResult]
    definitions: list[DefinitionReport] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Plan:
    """One equation as it will be checked."""

    equation: Equation
    side: LeftSide
    role: str  # gradient, definition, fact, claim
    segments: list[tuple[int, int]]
    subject: str
    instances: list[Instance] = field(default_factory=list)
    letters: list[str] = field(default_factory=list)
    lexicon: Lexicon | None = None  # as of this equation (the definitions bound before it)
    standard: bool = False  # a δ, whose meaning is the network's error term


def check_derivation(
    net: "Network",
    text: str,
    *,
    param: sympy.Symbol | None = None,
    names: Mapping | None = None,
    lexicon: Lexicon | None = None,
    points: int = 5,
    seed: int = 0,
    deadline: float | None = None,
    line_of: Callable[[int], int] | None = None,
) -> DerivationResult:
    """Check every line of the LaTeX block ``text`` (see the module notes).

    ``param``, when given, is what a bare formula is the derivative of, and every
    derivative of the loss in the block must be with respect to it; ``lexicon`` carries
    the names of earlier blocks of a document; ``line_of(offset)`` turns an offset in
    ``text`` into a line number (default: the line within ``text``).
    """
    deadline = deadline if deadline is not None else time.monotonic() + BUDGET
    line_of = line_of or (lambda offset: text.count("\n", 0, offset) + 1)
    lexicon = lexicon if lexicon is not None else claim_lexicon(net, names)
    with mpmath.workdps(DPS):
        checker = _Checker(net, text, lexicon, param, points, seed, deadline, line_of)
        return checker.run()


def check_values(net: "Network", param: sympy.Symbol, values: list, *, points: int = 5, seed: int = 0,
                 deadline: float | None = None) -> DerivationResult:
    """Check claims already read (Python text, sympy) as lines about ∂Loss/∂``param``."""
    deadline = deadline if deadline is not None else time.monotonic() + BUDGET
    with mpmath.workdps(DPS):
        checker = _Checker(net, "", claim_lexicon(net), param, points, seed, deadline, lambda offset: 1)
        plan = _Plan(Equation(None, []), LeftSide(None), "claim", [(0, 0)] * len(values), "")
        plan.instances = [Instance({}, None, net.grad(param).factored, list(values), [param])]
        return checker.judge_all([plan])


def _restatements_are_facts(plans: list[_Plan]) -> None:
    """A name defined on two lines (``\\delta_5 = …`` and again ``\\delta_5 = …``) is defined
    by the first; a later one is a claim about it, checked against it like any other line,
    so that every line reads the name the same way."""
    defined: set = set()
    for plan in plans:
        if plan.role == "definition" and not plan.standard:
            name = plan.side.name
            key = (name.key, name.superscript, name.primes)
            if key in defined:
                plan.role = "fact"
            defined.add(key)


def _unbound(deferred: list[tuple[_Plan, UnknownSymbolError]]) -> UnknownSymbolError:
    """The error of the first definition that could not be read. When the name it does not
    know is one that another of them defines, the definitions wait for each other: said so."""
    plan, error = deferred[0]
    waiting_for = re.match(r"\\?([A-Za-z]+)", error.token or "")
    others = [other for other, _ in deferred if other is not plan]
    if waiting_for and any(other.side.name.base == waiting_for.group(1) for other in others):
        names = ", ".join(repr(p.side.name.written) for p, _ in deferred)
        return UnknownSymbolError(
            f"the definitions of {names} each use a name another of them defines ({error.token!r}), so none can be "
            "read first: define one of them from the network's own names",
            token=error.token,
        )
    return error


class _Checker:
    def __init__(self, net, text, lexicon, param, points, seed, deadline, line_of):
        self.net, self.text, self.param = net, text, param
        self.lexicon = lexicon
        self.points, self.seed, self.deadline, self.line_of = points, seed, deadline, line_of
        self.started = time.monotonic()
        self.read_by = self.started + READ_LIMIT
        self.formula = Formula(text, allow_stray=True)
        self.parser = Parser(net, self.formula, lexicon, self.read_by)
        self.definitions: list[DefinitionReport] = []

    # -- reading

    def run(self) -> DerivationResult:
        equations = split_equations(self.formula)
        plans = [self._plan(eq, len(equations)) for eq in equations]
        _restatements_are_facts(plans)
        # A definition may come after the line that uses it ("… = δ_j o_k, where δ_j = …"):
        # definitions are bound first, and every other line sees them all.
        self._bind_definitions([plan for plan in plans if plan.role == "definition"])
        for plan in plans:
            if plan.role != "definition":
                plan.lexicon = self.lexicon.as_of(len(self.lexicon.definitions))
                self._instances(plan)
        return self.judge_all(plans)

    def _bind_definitions(self, plans: list[_Plan]) -> None:
        """Bind the definitions in the order written, each seeing the ones bound before it;
        one that uses a name defined further down waits until that one is bound (a
        derivation may give the hidden units' δ_j from δ_k before the output units' δ_k)."""
        waiting = plans
        while waiting:
            deferred = []
            for plan in waiting:
                plan.lexicon = self.lexicon.as_of(len(self.lexicon.definitions))
                plan.instances = []  # a retry reads them again
                try:
                    self._instances(plan)
                except UnknownSymbolError as error:
                    deferred.append((plan, error))
                    continue
                a, b = plan.segments[0]
                self.lexicon.define(Definition(plan.side.name, self._reader(a, b), self._line(a)))
            if len(deferred) == len(waiting):  # none of them could be read: a name is unknown, or they wait for each other
                raise _unbound(deferred)
            waiting = [plan for plan, _ in deferred]

    def judge_all(self, plans: list[_Plan]) -> DerivationResult:
        self.sample = self._sample(plans)
        lines: list[LineResult] = []
        pending = []  # (line, plan, segment, instances that held) for the proof
        for plan in plans:
            first = len(lines)
            for s, (a, b) in enumerate(plan.segments):
                line, held = self._judge(plan, s, len(lines))
                lines.append(line)
                if line.ok and held:
                    pending.append((line, held, s))
            if plan.role == "definition":
                self._report_definition(plan, lines[first].ok)
        self._prove(pending)
        self._stray(plans, lines)
        return DerivationResult(lines, self.definitions, self.lexicon.notes)

    def _reader(self, a: int, b: int):
        """How a definition's right side (tokens ``a..b``) is read where the name is used."""
        return lambda lexicon: Parser(self.net, self.formula, lexicon, self.read_by).expression(a, b)

    def _line(self, token: int) -> int:
        if not len(self.formula):
            return 1
        return self.line_of(self.formula[self.formula.skip(token, len(self.formula))].pos if token < len(self.formula) else len(self.text))

    def _plan(self, eq: Equation, n_equations: int) -> _Plan:
        side = left_side(self.parser, *eq.lhs) if eq.lhs is not None else LeftSide(None)
        segments = list(eq.rhs)
        for a, b in segments:
            if self.formula.is_blank(a, b):
                at = self.formula[a - 1] if a > 0 else None
                raise ParseError(f"{'column ' + str(at.pos + 1) + ': ' if at else ''}nothing after '='", token="=")
        subject = self.formula.source(*side.text_range) if side.role else ""
        role = side.role
        if role == "derivative":
            if self.param is not None:
                of = side.name.written if side.name else self.formula.source(*side.numerator)
                raise SymgradError(
                    f"the left side {subject!r} is a derivative of {of!r}, not of the loss {self.net.loss.name!r}", token=of,
                )
            role = "fact"
        if role in (None, "fact") and self.param is not None and n_equations == 1:
            # One formula, or "A = B" about the parameter asked for: every side is a claim about it.
            role = "claim"
            if eq.lhs is not None:
                segments = [eq.lhs] + segments
            subject = ""
        if role is None:
            raise SymgradError("a formula without a left side: say what it is the derivative of (give the parameter, or write ∂L/∂w = …)")
        plan = _Plan(eq, side, role, segments, subject)
        plan.standard = role == "definition" and side.name.base == "delta" and self.lexicon.layers is not None and bool(side.name.layer or side.name.superscript)
        return plan

    def _instances(self, plan: _Plan) -> None:
        ranges = ([plan.side.text_range] if plan.role not in ("claim",) and plan.side.role else []) + plan.segments
        letters = free_letters(self.parser, ranges)
        lhs_letters = free_letters(self.parser, [plan.side.text_range]) if plan.role not in ("claim",) else []
        loose = [x for x in letters if x not in lhs_letters]
        if loose:
            where = "on the right side only" if plan.role != "claim" else "with no left side to give them values"
            raise UnknownSymbolError(
                f"the index {', '.join(loose)} of {plan.subject or 'the claim'!r} is free {where}: write it on the left side "
                "(e.g. \\frac{\\partial L}{\\partial w^{(2)}_{ij}} = …), sum over it, or write a number",
                token=loose[0],
            )
        plan.letters = letters
        ranges_of = [range(0, self.lexicon.layers.L + 1) if x == "l" and self.lexicon.layers else range(1, plan.lexicon.index_limit() + 1) for x in letters]
        combos = 1
        for r in ranges_of:
            combos *= len(r)
        if combos > 20_000:
            raise ParseError(f"{combos} combinations of the indices {', '.join(letters)}: too many to check one by one", token=letters[0])
        first_error = None
        for values in itertools.product(*ranges_of):
            bindings = dict(zip(letters, values))
            for convention in ("column", "row"):
                instance = self._read(plan, bindings, convention)
                if isinstance(instance, SymgradError):
                    first_error = first_error or instance
                    break
                if instance is not None:
                    plan.instances.append(instance)
                if instance is None or instance.convention is None:
                    break
            if len(plan.instances) > MAX_INSTANCES:
                raise ParseError(f"{plan.subject!r} has more than {MAX_INSTANCES} index values to check", token=plan.subject)
            if time.monotonic() > self.read_by:
                raise SymgradError(f"reading {plan.subject or 'the claim'!r} takes more than {READ_LIMIT:g} s", token=plan.subject)
        if not plan.instances:
            if first_error is not None:
                raise first_error
            raise UnknownSymbolError(f"{plan.subject!r}: no value of {', '.join(letters)} names anything in the network", token=plan.subject)
        self._check_subject(plan)

    def _read(self, plan: _Plan, bindings: dict, convention: str):
        """One instance, None when the index values are out of range, the error when the left side cannot be read."""
        lexicon = plan.lexicon.bound(bindings, convention)
        parser = Parser(self.net, self.formula, lexicon, self.read_by)
        try:
            truth, subjects = self._truth(plan, parser)
        except IndexOutOfRange:
            return None
        except SymgradError as error:
            if plan.letters and isinstance(error, UnknownSymbolError):
                return error
            raise
        values = []
        for a, b in plan.segments:
            try:
                values.append(parser.expression(a, b))
            except (ShapeMismatch, IndexOutOfRange) as error:
                if isinstance(error, IndexOutOfRange) and "l" in bindings:
                    return None  # a formula for some layers (δ^{(l)} from δ^{(l+1)}): not this one
                values.append(error)
        if plan.role == "definition" and not plan.standard:
            if isinstance(values[0], SymgradError):
                if isinstance(values[0], IndexOutOfRange) and plan.letters:
                    return None
                raise values[0]
            truth = values[0]
        used = lexicon.used_matrices or any(isinstance(v, (Matrix, ShapeMismatch)) for v in values) or isinstance(truth, Matrix)
        return Instance(bindings, convention if used else None, truth, values, subjects)

    def _truth(self, plan: _Plan, parser: Parser):
        """The true value of the left side, and per entry the parameter it is the gradient of."""
        side = plan.side
        if plan.role == "claim":
            return self.net.grad(self.param).factored, [self.param]
        if plan.role == "gradient":
            from .reader.calculus import wrt_value

            wrt = wrt_value(parser, *side.wrt)
            truth = parser.lexicon.adjoint(wrt)
            subjects = [s if s in self.net.params else None for s in entries(wrt)]
            return truth, subjects
        if plan.role == "definition":
            if plan.standard:
                return parser.lexicon.error_term(side.name), []
            return None, []
        return parser.expression(*side.text_range), []

    def _check_subject(self, plan: _Plan) -> None:
        if self.param is None or plan.role != "gradient":
            return
        keep = [inst for inst in plan.instances if self.param in inst.subjects]
        if not keep:
            found = next((s for inst in plan.instances for s in inst.subjects if s is not None), None)
            token = found.name if found is not None else plan.subject
            raise SymgradError(
                f"the claim's left side is a derivative with respect to {token}, but {self.param.name} was asked for", token=token,
            )
        if all(len(entries(inst.truth)) == 1 for inst in keep):
            plan.instances = keep

    # -- numbers

    def _sample(self, plans: list[_Plan]) -> Sample:
        truths = [e for plan in plans for inst in plan.instances[:8] for e in entries(inst.truth) if isinstance(e, sympy.Expr)]
        first = next((e for plan in plans if plan.role in ("gradient", "claim") for inst in plan.instances for e in entries(inst.truth)), None)
        exprs = ([first] if first is not None else [self.net.loss]) + truths[:40]
        return Sample.random(self.net, exprs, n=max(1, self.points), seed=self.seed)

    def _judge(self, plan: _Plan, s: int, index: int) -> tuple[LineResult, list]:
        a, b = plan.segments[s]
        line = LineResult(index, self._line(a), plan.subject, plan.role, ok=False, method="numeric",
                          written=self.formula.source(a, b) if b > a else "")
        if plan.role == "definition" and s == 0 and not plan.standard:
            line.ok, line.method, line.claim = True, "definition", plan.instances[0].truth
            assignments = list(dict.fromkeys(tuple(i.bindings.items()) for i in plan.instances))
            line.scope = _scope(plan.letters, len(assignments), values=[a[0][1] for a in assignments] if len(plan.letters) == 1 else None)
            return line, []
        by_convention: dict = {}
        for inst in plan.instances:
            by_convention.setdefault(inst.convention, []).append(inst)
        failures = {}
        for convention, group in by_convention.items():
            for inst in group:
                found = agreement(self.sample, inst.truth, inst.values[s])
                if not found.ok:
                    failures[convention] = (inst, found)
                    break
        holding = [c for c in by_convention if c not in failures]
        first = plan.instances[0]
        line.claim, line.expected = first.values[s], first.truth
        singles = [p for p in first.subjects if p is not None]
        line.param = singles[0] if len(first.subjects) == 1 and singles else None
        assignments = list(dict.fromkeys(tuple(i.bindings.items()) for i in plan.instances))
        count = len(assignments)
        values = [a[0][1] for a in assignments] if len(plan.letters) == 1 else None
        if holding:
            line.ok = True
            convention = holding[0]
            line.scope = _scope(plan.letters, count, convention if convention and len(holding) == 1 else None, values)
            return line, by_convention[convention]
        # Refuted: diagnose where it first fails, preferring a convention in which it at least reads.
        inst, found = next(
            (failures[c] for c in failures if found_value(failures[c])), next(iter(failures.values()))
        )
        line.claim = inst.values[s]
        line.expected = inst.truth
        if found.point is not None:
            line.counterexample = counterexample(self.sample, inst, found)
        line.scope = _scope(plan.letters, count, values=values)
        line.diagnosis, line.mistake = self._diagnose(plan, s, inst, found)
        entry_param = inst.subjects[found.entry] if found.entry is not None and found.entry < len(inst.subjects) else None
        line.param = entry_param or line.param
        return line, []

    def _diagnose(self, plan: _Plan, s: int, inst: Instance, found: Agreement) -> tuple[str, str | None]:
        finding = None
        p = inst.subjects[found.entry] if found.entry is not None and found.entry < len(inst.subjects) else None
        if p is None and len(inst.subjects) == 1:
            p = inst.subjects[0]
        written_first = bool(plan.letters) or inst.convention is not None  # an index or a matrix: what is written names the slip best

        def by_variants():
            if plan.lexicon is None or time.monotonic() > self.deadline + 0.5:
                return None
            return variants.find(self.net, self.formula, plan.lexicon.bound(inst.bindings, inst.convention or "column"),
                                 plan.segments[s], inst.truth, self.sample, deadline=self.deadline + 0.8, letters=plan.letters)

        if written_first:
            finding = by_variants()
        if finding is None and p is not None and found.claimed is not None:
            finding = diagnose(self.net.grad(p), found.claimed, self.sample, rel_tol=REL_TOL, abs_tol=REL_TOL)
        if finding is None and not written_first:
            finding = by_variants()
        head = self._head(plan, inst, found, finding)
        where = inst.where(found.entry)
        if where and (plan.letters or inst.convention):
            head = f"{where}: {head}"
        correct = self._correct(plan, inst, p)
        return f"{head}\n{correct}" if correct else head, finding.mistake if finding else None

    def _head(self, plan, inst, found, finding) -> str:
        if finding is not None:
            return finding.message
        if found.problem:
            return found.problem + " (in either convention)." if inst.convention else found.problem + "."
        if found.claimed is not None and any(c is None for c in found.claimed):
            return "the claim is undefined at some points where the derivative is defined (a division by zero or the log or root of a negative number)."
        return "the claim differs from the true value, and no single mistake (sign, constant, path, bracket, factor, index, layer or transpose) explains it."

    def _correct(self, plan: _Plan, inst: Instance, p) -> str:
        if p is not None:
            d = self.net.grad(p)
            return f"The correct derivative, factored: ${partial_latex(self.net.loss, p)} = {d.latex()}$"
        correct = variants.correct_form(self.net, plan.subject, inst.convention, inst.bindings)
        if correct:
            return f"The correct formula ({inst.convention} convention): ${correct}$"
        if isinstance(inst.truth, sympy.Expr) and len(expr_latex(inst.truth)) <= 300:
            return f"The true value: ${expr_latex(inst.truth)}$"
        return ""

    def _prove(self, pending) -> None:
        budget = self.deadline - time.monotonic()
        pairs, owners = [], []
        for line, held, s in pending:
            mine = [pair for inst in held for pair in zip(entries(inst.values[s]), entries(inst.truth))]
            if len(pairs) + len(mine) > _MAX_PROOF_PAIRS:
                continue
            owners.append((line, len(pairs), len(mine)))
            pairs += mine
        proven = prove_pairs(self.net, pairs, budget) if pairs else []
        for line, start, n in owners:
            if n and all(proven[start : start + n]):
                line.method = "symbolic"

    # -- definitions and stray brackets

    def _report_definition(self, plan: _Plan, ok: bool) -> None:
        name = plan.side.name
        written = name.written
        line = self._line(plan.side.start)
        if plan.standard:
            layer = name.layer or name.superscript
            meaning = f"the network's error term ∇_{{u^{{({layer})}}}} L" + (" (it matches)" if ok else " (it does not match)")
            self.definitions.append(DefinitionReport(written, line, meaning, ok))
            return
        values = [inst.truth for inst in plan.instances]
        matched = variants.adjoint_named(self.net, self.sample, values)
        if matched:
            self.definitions.append(DefinitionReport(written, line, "the network's adjoint " + self._adjoints(matched), True))
            return
        negated = variants.adjoint_named(self.net, self.sample, values, sign=-1)
        if negated:
            meaning = f"the negative of the network's adjoint {self._adjoints(negated)}: a sign slip, if it is meant to be the adjoint"
            self.definitions.append(DefinitionReport(written, line, meaning, False))
        else:
            self.definitions.append(DefinitionReport(written, line, "a name of the derivation's own (not one of the network's adjoints)", None))

    def _adjoints(self, symbols) -> str:
        shown = ", ".join(f"∂{self.net.loss.name}/∂{s.name}" for s in symbols[:6])
        return shown + (", …" if len(symbols) > 6 else "")

    def _stray(self, plans: list[_Plan], lines: list[LineResult]) -> None:
        """A lone closing bracket: refuted only if wrong wherever its opening bracket goes."""
        f = self.formula
        if f.stray is None:
            return
        index = 0
        for plan in plans:
            for s, (a, b) in enumerate(plan.segments):
                if a <= f.stray < b and len(plan.instances) == 1:
                    inst = plan.instances[0]
                    parser = Parser(self.net, f, plan.lexicon.bound(inst.bindings, inst.convention or "column"))
                    stray, readings = stray_readings(parser, self.text, a, b)
                    token = stray.split("'")[1]
                    for where, value in (("the stray bracket deleted", inst.values[s]), *readings):
                        if agreement(self.sample, inst.truth, value).ok:
                            raise ParseError(
                                f"unbalanced brackets: {stray} has no opening bracket; with {where} the claim holds, "
                                "so correct it there (symgrad does not guess)",
                                token=token,
                            )
                    note = (
                        f"note: {stray} has no opening bracket; the claim is wrong wherever its opening bracket goes "
                        f"({len(readings)} places tried), and is read here as if it were absent."
                    )
                    for line in lines:
                        if not line.ok:
                            line.diagnosis = f"{note}\n{line.diagnosis}"
                    return
                index += 1
        raise f.stray_error


def found_value(pair) -> bool:
    inst, found = pair
    return found.problem is None


def _scope(letters: list[str], count: int, convention: str | None = None, values: list | None = None) -> str | None:
    parts = []
    if len(letters) == 1 and values is not None and count <= 4:
        parts.append(f"for {letters[0]} = {', '.join(str(v) for v in values)}")
    elif letters:
        what = f"values of {letters[0]}" if len(letters) == 1 else "(" + ", ".join(letters) + ")"
        parts.append(f"for all {count} {what}")
    if convention:
        parts.append(f"in the {convention} convention")
    return ", ".join(parts) or None
