r"""Checking every derivation in a document: Markdown or LaTeX notes, line by line.

:func:`verify_document` finds the display blocks of a text (``$$ … $$``, ``\[ … \]``,
a fenced ``math`` block, and the ``equation``, ``align``, ``gather`` and ``multline``
environments), and reads them in order. A block whose left side is a derivative of
the loss is a derivation: each of its lines is checked (:mod:`.derivation`), and the
report names, per derivation, the first wrong line by its line number in the file.
Names a block defines (``\delta_j = …``) stay bound for the blocks after it. Other
blocks (a network's equations, a loss, an aside) are skipped.

>>> import symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> report = verify_document(net, r'''Notes.
...
... $$\frac{\partial f}{\partial x_1} = 2 x_2 (x_1 x_2 - 3)$$
...
... $$\frac{\partial f}{\partial x_2} = x_1 (x_1 x_2 - 3)$$
... ''')
>>> report.ok, [d.first_wrong_line for d in report.derivations], report.exit_code
(False, [None, 5], 1)
"""

from __future__ import annotations

import json
import re
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

from ..errors import SymgradError
from .derivation import BUDGET, DefinitionReport, check_derivation
from .reader.claims import lexicon as claim_lexicon
from .reader.equations import left_side, split_equations
from .reader.parser import Parser
from .reader.tokens import Formula
from .verify import Verdict, verdict_from

if TYPE_CHECKING:  # pragma: no cover
    from ..model.network import Network

__all__ = ["Block", "DerivationReport", "DocumentReport", "display_blocks", "verify_document"]

_ENVIRONMENTS = ("equation", "align", "aligned", "gather", "multline", "eqnarray", "displaymath", "flalign", "alignat")
_OPENERS = re.compile(
    r"(?P<dollars>\$\$)|(?P<bracket>\\\[)|(?P<fence>^[ \t]*```+[ \t]*math[ \t]*$)|(?P<env>\\begin\{(?P<name>" + "|".join(_ENVIRONMENTS) + r")\*?\})",
    re.M,
)


@dataclass(frozen=True)
class Block:
    """A display block: its text (without the delimiters) and where that text starts in the document."""

    text: str
    offset: int


def display_blocks(text: str) -> list[Block]:
    r"""Every display block of a Markdown or LaTeX text, in order.

    >>> [b.text for b in display_blocks(r"a $x$ b $$y = 1$$ c \[z = 2\]")]
    ['y = 1', 'z = 2']
    """
    blocks = []
    pos = 0
    while True:
        m = _OPENERS.search(text, pos)
        if m is None:
            return blocks
        if m.group("dollars"):
            end = text.find("$$", m.end())
            closer_len = 2
        elif m.group("bracket"):
            end = text.find(r"\]", m.end())
            closer_len = 2
        elif m.group("fence"):
            close = re.compile(r"^[ \t]*```+[ \t]*$", re.M).search(text, m.end())
            end = close.start() if close else -1
            closer_len = len(close.group()) if close else 0
        else:
            name = m.group("name")
            close = re.compile(r"\\end\{" + name + r"\*?\}").search(text, m.end())
            end = close.start() if close else -1
            closer_len = len(close.group()) if close else 0
            if end >= 0:  # the environment stays in the block: the reader drops \begin and \end itself
                blocks.append(Block(text[m.start() : end + closer_len], m.start()))
                pos = end + closer_len
                continue
        if end < 0:
            line = text.count("\n", 0, m.start()) + 1
            raise SymgradError(f"line {line}: the display block opened by {m.group().strip()!r} is never closed", token=m.group().strip(), line=line)
        blocks.append(Block(text[m.end() : end], m.end()))
        pos = end + closer_len


@dataclass(frozen=True)
class DerivationReport:
    """One derivation of a document: what it is about, where it starts, and its verdict
    (or, when it cannot be read, the error)."""

    subject: str
    line: int
    verdict: Verdict | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.verdict is not None and self.verdict.ok

    @property
    def first_wrong_line(self) -> int | None:
        """The line number in the document of the first line that does not hold."""
        if self.verdict is None:
            return None
        lines = self.verdict.lines or (self.verdict,)
        return next((v.line for v in lines if not v.ok), None)

    @property
    def status(self) -> str:
        if self.error is not None:
            return "UNREADABLE"
        return "HOLDS" if self.ok else "REFUTED"

    def __str__(self) -> str:
        head = f"line {self.line}: {self.subject}: {self.status}"
        if self.error is not None:
            return f"{head}\n  {self.error}"
        if self.ok:
            n = len(self.verdict.lines) or 1
            return f"{head} ({n} line{'s' if n != 1 else ''})"
        bad = next(v for v in (self.verdict.lines or (self.verdict,)) if not v.ok)
        out = [f"{head}: first wrong line is line {self.first_wrong_line}" + (f" ({bad.mistake.replace('_', ' ')})" if bad.mistake else "")]
        if bad.written:
            out.append(f"  claim:     {bad.written}")
        if bad.counterexample is not None:
            out.append(f"  counterexample: {bad.counterexample}")
        if bad.diagnosis:
            out.append("  diagnosis: " + bad.diagnosis.replace("\n", "\n             "))
        return "\n".join(out)

    def to_dict(self) -> dict:
        return {
            "subject": self.subject,
            "line": self.line,
            "status": self.status,
            "ok": self.ok,
            "first_wrong_line": self.first_wrong_line,
            "error": self.error,
            "verdict": None if self.verdict is None else self.verdict.to_dict(),
        }


@dataclass(frozen=True)
class DocumentReport:
    """What :func:`verify_document` found: one :class:`DerivationReport` per derivation,
    the names the document defines, and how many display blocks were not derivations.

    ``exit_code`` is what ``symgrad verify --document`` exits with: 0 every derivation
    holds, 1 one is wrong, 2 none is wrong but one could not be read.
    """

    derivations: tuple[DerivationReport, ...]
    definitions: tuple[DefinitionReport, ...] = ()
    skipped: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return all(d.ok for d in self.derivations)

    @property
    def exit_code(self) -> int:
        if any(d.verdict is not None and not d.ok for d in self.derivations):
            return 1
        return 0 if self.ok else 2

    def __str__(self) -> str:
        wrong = sum(1 for d in self.derivations if d.status == "REFUTED")
        unreadable = sum(1 for d in self.derivations if d.status == "UNREADABLE")
        n = len(self.derivations)
        head = f"{n} derivation{'s' if n != 1 else ''}: {n - wrong - unreadable} hold, {wrong} wrong" + (
            f", {unreadable} unreadable" if unreadable else ""
        ) + (f" ({self.skipped} other display blocks skipped)" if self.skipped else "")
        out = [head, ""] + [str(d) for d in self.derivations]
        out += [f"definition: {d.name} (line {d.line}) is {d.meaning}" for d in self.definitions]
        out += [f"reading: {note}" for note in self.notes]
        return "\n".join(out)

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "derivations": [d.to_dict() for d in self.derivations],
            "definitions": [d.to_dict() for d in self.definitions],
            "skipped": self.skipped,
            "notes": list(self.notes),
        }

    def to_json(self, **options) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, **options)


def verify_document(net: "Network", text: str, *, names: Mapping | None = None, points: int = 5, seed: int = 0,
                    timeout: float = BUDGET) -> DocumentReport:
    """Check every derivation of the loss in a Markdown or LaTeX ``text`` (see the module notes).

    ``timeout`` is the budget of each derivation. Raises :class:`~symgrad.errors.SymgradError`
    when the text holds no derivation of the loss at all.
    """
    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_of(offset: int) -> int:
        return bisect_right(starts, offset)

    lexicon = claim_lexicon(net, names)
    derivations: list[DerivationReport] = []
    definitions: list[DefinitionReport] = []
    skipped = 0
    for block in display_blocks(text):
        role, subject, at = _kind_of_block(net, block, lexicon)
        if role is None:
            skipped += 1
            continue
        block_line = line_of(block.offset + at)
        try:
            result = check_derivation(
                net, block.text, lexicon=lexicon, points=points, seed=seed, deadline=time.monotonic() + timeout,
                line_of=lambda offset, base=block.offset: line_of(base + offset),
            )
        except SymgradError as error:
            if role == "gradient":
                derivations.append(DerivationReport(subject, block_line, error=f"cannot read it: {error}"))
            else:
                skipped += 1
            continue
        definitions += result.definitions
        if role == "gradient":
            verdict = verdict_from(net, None, result)
            derivations.append(DerivationReport(subject, block_line, verdict))
    if not derivations:
        raise SymgradError("the text holds no display block whose left side is a derivative of the loss", token=net.loss.name)
    return DocumentReport(tuple(derivations), tuple(definitions), skipped, tuple(lexicon.notes))


def _kind_of_block(net, block: Block, lexicon) -> tuple[str | None, str, int]:
    """``("gradient", subject, offset)`` for a derivation, ``("definition", …)`` for a block that
    only defines names, ``(None, "", 0)`` for anything else."""
    try:
        formula = Formula(block.text, allow_stray=True)
        parser = Parser(net, formula, lexicon.as_of(len(lexicon.definitions), private=True))
        equations = split_equations(formula)
    except SymgradError:
        return None, "", 0
    roles = []
    for eq in equations:
        if eq.lhs is None:
            continue
        try:
            side = left_side(parser, *eq.lhs)
        except SymgradError:
            continue
        roles.append((side.role, formula.source(*side.text_range), formula[formula.skip(side.start, len(formula))].pos))
    gradient = next((r for r in roles if r[0] == "gradient"), None)
    if gradient is not None:
        return gradient
    if roles and all(r[0] == "definition" for r in roles):
        return "definition", roles[0][1], roles[0][2]
    return None, "", 0
