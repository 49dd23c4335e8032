r"""Formulas as MathML, which current browsers render with no script and no network.

Each atom of a formula (:mod:`symgrad.present.formula`) is converted with ``latex2mathml``;
a formula too wide for one piece becomes nested ``<span>`` flex boxes of pieces, so the
browser wraps it at the outermost ``+`` or ``·`` first and inside brackets only when it
must (the report's stylesheet gives the boxes their behaviour).

>>> from symgrad.present.formula import Atom
>>> html = formula_html(Atom(r"\frac{\partial \mathrm{Loss}}{\partial w_{7}}"))
>>> html.startswith('<math displaystyle="true"'), "<mi>Loss</mi>" in html, "\\" in html
(True, True, False)
"""

from __future__ import annotations

import html as _html
import re
from functools import lru_cache

from ..errors import SymgradError
from . import formula

__all__ = ["formula_html", "math_html", "rows_html"]

#: Formulas estimated narrower than this (em) stay one <math> element: brackets stretch to fit.
PIECE_WIDTH = 14.0

_UPRIGHT_RUN = re.compile(r'(?:<mi mathvariant="normal">[^<]</mi>){2,}')
_UPRIGHT_LETTER = re.compile(r'<mi mathvariant="normal">([^<])</mi>')


@lru_cache(maxsize=4096)
def math_html(latex: str, display: bool = True) -> str:
    r"""One ``<math>`` element for ``latex`` (display style unless ``display=False``).

    >>> math_html("x_{1}", display=False)
    '<math><msub><mi>x</mi><mrow><mn>1</mn></mrow></msub></math>'
    """
    try:
        from latex2mathml.converter import convert
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise SymgradError(f"HTML reports need latex2mathml: {exc}") from None
    try:
        text = convert(latex)
    except Exception as exc:  # latex2mathml raises its own exception classes
        raise SymgradError(f"cannot convert {latex!r} to MathML ({type(exc).__name__})", token=latex) from None
    # One upright name (\mathrm{Loss}) is one <mi>, not four letters.
    text = _UPRIGHT_RUN.sub(lambda m: "<mi>" + "".join(_UPRIGHT_LETTER.findall(m.group(0))) + "</mi>", text)
    text = re.sub(r'^<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline">', "<math>", text)
    text = re.sub(r"^<math><mrow>(.*)</mrow></math>$", r"<math>\1</math>", text)
    if display:
        text = '<math displaystyle="true"' + text[len("<math"):]
    return text


def _op_html(op: str) -> str:
    return f'<math class="sg-op">{_inner(math_html(op, False))}</math>' if op else ""


def _inner(math: str) -> str:
    return math[math.index(">") + 1:-len("</math>")]


def formula_html(node: formula.Node, piece_width: float = PIECE_WIDTH) -> str:
    """``node`` as HTML: one ``<math>`` if it is narrow, else flex boxes of pieces."""
    if isinstance(node, formula.Atom) or formula.width(node) <= piece_width:
        return math_html(formula.latex(node))
    if isinstance(node, formula.Group):
        # Split brackets cannot stretch to their content: sized as tall as what they hold.
        body = formula.latex(node.body)
        size = r"\Big" if r"\frac" in body else r"\big" if any(t in body for t in (r"\left", r"\hat", "^", r"\sum")) else ""
        opening = math_html(node.prefix + (size + "l" if size else "") + node.open)
        closing = math_html((size + "r" if size else "") + node.close + node.suffix)
        return f'<span class="sg-group">{opening}{formula_html(node.body, piece_width)}{closing}</span>'
    items = "".join(
        f'<span class="sg-item">{_op_html(op)}{formula_html(item, piece_width)}</span>' for op, item in node.items
    )
    return f'<span class="sg-chain">{items}</span>'


def rows_html(lhs: str | None, rows, piece_width: float = PIECE_WIDTH) -> str:
    """A derivation as a grid: ``lhs = row₁``, then ``= row₂`` … (``rows``: nodes or LaTeX).

    >>> print(rows_html("y", ["a", "b"]).count("<math"))
    5
    """
    cells = []
    for i, row in enumerate(rows):
        node = formula.Atom(row) if isinstance(row, str) else row
        left = math_html(lhs) if i == 0 and lhs else ""
        equals = math_html("=") if lhs is not None else ""
        cells.append(f'<div class="sg-lhs">{left}</div><div class="sg-eq">{equals}</div><div class="sg-rhs">{formula_html(node, piece_width)}</div>')
    return '<div class="sg-rows">' + "".join(cells) + "</div>"


def text_html(text: str) -> str:
    """Plain text, escaped for HTML."""
    return _html.escape(text)
