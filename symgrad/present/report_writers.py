r"""How a report writes formulas, text and pictures in each format (what the templates call).

* HTML: MathML (:mod:`symgrad.present.mathml`), rows in a grid, pictures as inline SVG;
* LaTeX: ``align*`` rows, long formulas broken by symgrad onto ``\quad`` continuation
  lines, text in ASCII (:mod:`symgrad.present.tex_text`), pictures as PDF files;
* Markdown: GitHub's ``$…$`` and ``$$…$$`` with ``aligned`` rows, pictures as PNG files.

>>> w = WRITERS["tex"](None, "")
>>> print(w.rows([("y", formula.join("+", [formula.Atom("a"), formula.Atom("b")]))]))
\begin{align*}
y &= a + b
\end{align*}
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Callable

from . import formula
from .mathml import formula_html, math_html
from .tex_text import tex_text

__all__ = ["Picture", "WRITERS"]


@dataclass(frozen=True)
class Picture:
    """A picture of the report: a file name stem, a caption, and how to draw it (a Figure)."""

    key: str
    caption: str
    draw: Callable


def _rows_of(pairs):
    """Normalise rows to (lhs or None, node)."""
    return [(lhs, formula.Atom(node) if isinstance(node, str) else node) for lhs, node in pairs]


def _aligned(pairs, limit: float, continuation: str) -> list[str]:
    """``lhs &= …`` lines, each formula broken to fit ``limit`` em after the widest left-hand side."""
    pairs = _rows_of(pairs)
    left = max((formula.width(lhs) for lhs, _ in pairs if lhs), default=0.0)
    room = limit - left - 1.5 - 1.0  # the "=" and the continuation indent
    out = []
    for lhs, node in pairs:
        lines = formula.break_lines(node, room)
        out.append(f"{lhs} &= {lines[0].latex}" if lhs else f"&= {lines[0].latex}")
        for line in lines[1:]:
            out.append(f"{continuation} {{}}{line.latex}" if line.continued else f"{continuation} {line.latex}")
    return out


class _Writer:
    fmt = ""

    def __init__(self, assets: dict[str, bytes] | None, asset_dir: str, figures: dict | None = None):
        self.assets = assets
        self.asset_dir = asset_dir
        self.figures = {} if figures is None else figures

    def figure(self, p: Picture):
        """The picture's figure, drawn once per report."""
        if p.key not in self.figures:
            self.figures[p.key] = p.draw()
        return self.figures[p.key]

    def derivation(self, d) -> str:
        """A derivation's rows, ``(left side or None, right side)`` each: ``lhs = row₁``, then
        ``= row₂`` … (or, for named adjoints, one equation per δ)."""
        return self.rows(d.pairs())


class _Html(_Writer):
    fmt = "html"

    def text(self, s: str) -> str:
        return html.escape(s)

    def inline(self, latex: str) -> str:
        return math_html(latex, display=False)

    def inline_list(self, items: list[str]) -> str:
        return ", ".join(self.inline(x) for x in items)

    def rows(self, pairs) -> str:
        cells = []
        for lhs, node in _rows_of(pairs):
            left = math_html(lhs) if lhs else ""
            cells.append(f'<div class="sg-lhs">{left}</div><div class="sg-eq">{math_html("=")}</div>'
                         f'<div class="sg-rhs">{formula_html(node)}</div>')
        return '<div class="sg-rows">' + "".join(cells) + "</div>"

    def picture(self, p: Picture | None) -> str:
        if p is None:
            return ""
        from .figure import figure_bytes

        svg = figure_bytes(self.figure(p), "svg").decode("utf-8")
        svg = re.sub(r"<!--.*?-->\s*", "", svg[svg.index("<svg"):], flags=re.S)  # matplotlib's comments quote TeX
        svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
        # Several SVGs share one page: give each its own ids.
        prefix = f"sg-{p.key}-"
        svg = re.sub(r'id="([^"]+)"', lambda m: f'id="{prefix}{m.group(1)}"', svg)
        svg = re.sub(r'(href="#|url\(#)([^")]+)', lambda m: f"{m.group(1)}{prefix}{m.group(2)}", svg)
        # Its natural size, shrunk to the page when the page is narrower.
        svg = re.sub(r'<svg ([^>]*?)width="([^"]*)" height="[^"]*"', r'<svg \1style="width: 100%; max-width: \2; height: auto"', svg, count=1)
        return f'<figure class="sg-figure">{svg}<figcaption>{html.escape(p.caption)}</figcaption></figure>'


class _Tex(_Writer):
    fmt = "tex"
    #: The text block is 17 cm at 11 pt, about 44 em; formulas are kept a little narrower.
    WIDTH = 40.0

    def text(self, s: str) -> str:
        return tex_text(s)

    def inline(self, latex: str) -> str:
        return f"${latex}$"

    def inline_list(self, items: list[str]) -> str:
        return ", ".join(f"${x}$" for x in items)  # one formula each, so the line may break between them

    def rows(self, pairs) -> str:
        lines = _aligned(pairs, self.WIDTH, r"&\quad")
        return "\\begin{align*}\n" + " \\\\\n".join(lines) + "\n\\end{align*}"

    def picture(self, p: Picture | None) -> str:
        if p is None or self.assets is None:
            return ""
        from .figure import figure_bytes

        name = f"{p.key}.pdf"
        self.assets[name] = figure_bytes(self.figure(p), "pdf")
        path = f"{self.asset_dir}/{name}" if self.asset_dir else name
        # Not a float: a route picture stays beside its derivation.
        return ("\\begin{center}\n"
                f"\\includegraphics[width=0.92\\linewidth,height=0.42\\textheight,keepaspectratio]{{{path}}}\n"
                f"\\captionof*{{figure}}{{{tex_text(p.caption)}}}\n\\end{{center}}")


class _Markdown(_Writer):
    fmt = "md"
    WIDTH = 42.0

    def text(self, s: str) -> str:
        return s

    def inline(self, latex: str) -> str:
        return f"${latex}$"

    def inline_list(self, items: list[str]) -> str:
        return ", ".join(f"${x}$" for x in items)

    def rows(self, pairs) -> str:
        lines = _aligned(pairs, self.WIDTH, r"&\quad")
        return "$$\n\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}\n$$"

    def picture(self, p: Picture | None) -> str:
        if p is None or self.assets is None:
            return ""
        from .figure import figure_bytes

        name = f"{p.key}.png"
        self.assets[name] = figure_bytes(self.figure(p), "png")
        path = f"{self.asset_dir}/{name}" if self.asset_dir else name
        return f"![{p.caption}]({path})"


WRITERS = {"html": _Html, "tex": _Tex, "md": _Markdown}
