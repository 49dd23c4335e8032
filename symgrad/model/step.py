"""``Step``: one assignment ``name = expr`` of a network."""

from __future__ import annotations

from dataclasses import dataclass

import sympy

__all__ = ["Step"]


@dataclass(frozen=True)
class Step:
    """One assignment ``target = expr``; ``line`` is its line in the source text, if any."""

    target: sympy.Symbol
    expr: sympy.Expr
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.target} = {self.expr}"
