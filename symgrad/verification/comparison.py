"""Comparing what a claim says with the truth, entry by entry, at the sample points.

An :class:`Instance` is one reading of one equation: values for its generic indices,
a convention for its matrices, the true value of its left side, and the value of
each right side. Values are scalars or :class:`~.reader.matrices.Matrix`; they are
compared entry by entry, at every sample point (:mod:`.sampling`), in 30-digit
arithmetic. The first point where an entry differs is the :class:`Counterexample`.

>>> import mpmath, symgrad as sg
>>> from symgrad.verification.sampling import DPS, Sample
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> truth = net.grad("x1").factored
>>> with mpmath.workdps(DPS):
...     sample = Sample.random(net, [truth], n=3, seed=0)
...     agreement(sample, truth, 2 * truth).ok
False
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy

from ..errors import SymgradError
from .reader.matrices import Matrix, shape_text
from .sampling import Sample, close

__all__ = ["Agreement", "Counterexample", "Instance", "agreement", "entries", "shape_of"]


@dataclass(frozen=True)
class Counterexample:
    """A point where the claim and the true value differ.

    ``point`` gives every parameter, input and target by name; ``claimed`` is the
    claim's value there (None where it is undefined), ``true`` the truth's; ``where``
    names the index values, convention or matrix entry, when there are any.
    """

    point: dict[str, float]
    claimed: float | None
    true: float
    where: str | None = None

    def __str__(self) -> str:
        at = ", ".join(f"{k} = {v:.6g}" for k, v in self.point.items())
        said = "is undefined" if self.claimed is None else f"gives {self.claimed:.10g}"
        return (f"{self.where}, " if self.where else "") + f"at {at}: the claim {said}, the true value is {self.true:.10g}"

    def to_dict(self) -> dict:
        """``point`` (name → value), ``claimed`` (None where the claim is undefined), ``true``,
        and ``where`` when the claim has indices or matrices."""
        out = {"point": dict(self.point), "claimed": self.claimed, "true": self.true}
        if self.where is not None:
            out["where"] = self.where
        return out


@dataclass
class Instance:
    """One reading of an equation (see the module notes). ``values`` holds one value per
    right side, or the error that reading it raised (a shape that does not fit)."""

    bindings: dict
    convention: str | None
    truth: object
    values: list
    subjects: list = field(default_factory=list)  # per entry of the truth: the parameter it is the gradient of, or None

    def where(self, entry: int | None = None) -> str | None:
        parts = []
        if self.bindings:
            names = ", ".join(self.bindings)
            values = ", ".join(str(v) for v in self.bindings.values())
            parts.append(f"({names}) = ({values})" if len(self.bindings) > 1 else f"{names} = {values}")
        if self.convention:
            parts.append(f"in the {self.convention} convention")
        if entry is not None and isinstance(self.truth, Matrix):
            rows, cols = self.truth.shape
            r, c = divmod(entry, cols)
            parts.append(f"entry ({r + 1}, {c + 1})" if rows > 1 and cols > 1 else f"entry {entry + 1}")
        return ", ".join(parts) or None


def entries(value) -> list:
    """A value's entries in row order (a scalar has one)."""
    if isinstance(value, Matrix):
        return list(value.entries)
    return [value]


def shape_of(value) -> tuple[int, int]:
    return value.shape if isinstance(value, Matrix) else (1, 1)


@dataclass
class Agreement:
    """How a claimed value compares with the truth: ``ok``; the first entry and point that
    differ; the claim's values there (for a diagnosis); or ``problem``, why they cannot
    be compared at all (shapes)."""

    ok: bool
    entry: int | None = None
    point: int | None = None
    claimed: list | None = None
    true: list | None = None
    problem: str | None = None


def agreement(sample: Sample, truth, claimed) -> Agreement:
    """Compare ``claimed`` with ``truth`` at every point of ``sample``."""
    if isinstance(claimed, SymgradError):
        return Agreement(False, problem=str(claimed))
    if shape_of(truth) != shape_of(claimed):
        return Agreement(
            False,
            problem=f"the claim is {_shape_words(claimed)} where the true value is {_shape_words(truth)}",
        )
    for k, (t, c) in enumerate(zip(entries(truth), entries(claimed))):
        true_values = sample.vec(t)
        claimed_values = sample.vec(c)
        for p, (tv, cv) in enumerate(zip(true_values, claimed_values)):
            if tv is None:
                continue  # the truth itself is undefined there: the point says nothing
            if not close(cv, tv):
                return Agreement(False, k, p, claimed_values, true_values)
    return Agreement(True)


def _shape_words(value) -> str:
    if not isinstance(value, Matrix):
        return "a scalar"
    rows, cols = value.shape
    if cols == 1:
        return f"a column of {rows}"
    if rows == 1:
        return f"a row of {cols}"
    return f"a {shape_text(value.shape)} matrix"


def counterexample(sample: Sample, instance: Instance, found: Agreement) -> Counterexample:
    claimed = found.claimed[found.point]
    return Counterexample(
        sample.leaf_point(found.point),
        None if claimed is None else float(claimed),
        float(found.true[found.point]),
        instance.where(found.entry),
    )


def scalar_pairs(instance: Instance, segment: int) -> list[tuple[sympy.Expr, sympy.Expr]]:
    """The (claim, truth) entry pairs of one right side, for a symbolic proof."""
    value = instance.values[segment]
    return list(zip(entries(value), entries(instance.truth)))
