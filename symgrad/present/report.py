"""Derivation reports: Markdown (with LaTeX math), a LaTeX document, or HTML (MathJax).

A report holds the network's equations, each parameter's derivative in factored
form with its chain-rule derivation (as a hand derivation writes it; where the factored form
nests brackets more than two deep, as a product of named adjoints δ followed by their
definitions, :mod:`symgrad.present.adjoints`), the matrix form of a
layered network when available, and the three-way gradient check. It is rendered
from the Jinja2 templates in ``templates/`` (``report.md.j2``, ``report.tex.j2``,
``report.html.j2``).

>>> import symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> text = render_report(net, fmt="md", check_report=None)
>>> print(text.splitlines()[0])
# Gradients of f
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..crosscheck.check import check as run_check
from ..derive.matrix_form import matrix_form
from ..errors import SymgradError
from ..model.network import Network
from ..template_loader import environment
from .adjoints import delta_form, prefers_delta
from .latex import expr_latex, partial_latex, symbol_latex

__all__ = ["FORMATS", "Report", "format_for_path", "render_report", "report"]

FORMATS = {"md": "report.md.j2", "tex": "report.tex.j2", "html": "report.html.j2"}

#: Above this many parameters the report lists the first ones only (the rest follow the same pattern).
MAX_PARAMS_SHOWN = 40
#: Above this many chain-rule routes a derivative is shown in factored form only.
MAX_ROUTES_SHOWN = 8


@dataclass(frozen=True)
class _Entry:
    name: str
    lhs: str
    factored: str
    chain: str | None
    routes: int


def format_for_path(path: str | Path) -> str:
    """The report format a file name asks for: ``.md``, ``.tex`` or ``.html``."""
    suffix = Path(path).suffix.lower().lstrip(".")
    fmt = {"markdown": "md", "htm": "html"}.get(suffix, suffix)
    if fmt not in FORMATS:
        raise SymgradError(f"cannot tell the report format of {str(path)!r}: use .md, .tex or .html", token=str(path))
    return fmt


def _entries(net: Network) -> list[_Entry]:
    grads = net.gradients()
    out = []
    for d in list(grads)[:MAX_PARAMS_SHOWN]:
        routes = d.sweep.path_count(d.param)
        if prefers_delta(d):
            # Brackets nested this deep read better as named adjoints: δ·x, then each δ defined once.
            form = delta_form(d)
            factored, chain = form.product_latex(), form.definitions_latex()
        else:
            factored = d.latex("factored")
            chain = d.latex("chain") if 0 < routes <= MAX_ROUTES_SHOWN else None
        out.append(_Entry(d.param.name, partial_latex(net.loss, d.param), factored, chain, routes))
    return out


def _matrix_latex(net: Network, convention: str) -> str | None:
    if net.layers is None:
        return None
    return matrix_form(net).latex(convention=convention)


def render_report(
    net: Network, *, fmt: str = "md", check_report: Any = None, title: str | None = None, description: str = "", standalone: bool = True
) -> str:
    """Render the derivation report of ``net`` as ``fmt`` (``"md"``, ``"tex"`` or ``"html"``).

    ``check_report`` is a :class:`~symgrad.crosscheck.check.CheckReport` to include (None leaves the
    check section out). ``standalone=False`` gives HTML as a fragment to embed (a notebook
    cell): no ``<html>`` page and no page-wide style.
    """
    if fmt not in FORMATS:
        raise SymgradError(f"unknown report format {fmt!r} (use md, tex or html)", token=str(fmt))
    context = {
        "title": title or f"Gradients of {net.name}",
        "description": description,
        "steps": [(symbol_latex(st.target), expr_latex(st.expr)) for st in net.steps] if len(net.steps) <= 200 else [],
        "n_steps": len(net.steps),
        "params": [p.name for p in net.params],
        "params_latex": [symbol_latex(p) for p in net.params],
        "inputs_latex": [symbol_latex(s) for s in net.inputs],
        "targets_latex": [symbol_latex(s) for s in net.targets],
        "loss_latex": symbol_latex(net.loss),
        "entries": _entries(net),
        "hidden": max(0, len(net.params) - MAX_PARAMS_SHOWN),
        "matrix_column": _matrix_latex(net, "column"),
        "matrix_row": _matrix_latex(net, "row"),
        "check": check_report,
        "check_text": str(check_report) if check_report is not None else None,
        "standalone": standalone,
    }
    return environment().get_template(FORMATS[fmt]).render(**context)


class Report:
    """A network's derivation report, in every format; shows itself in a notebook.

    >>> import symgrad as sg
    >>> rep = report(sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2"), check=False)
    >>> rep.markdown.splitlines()[0], rep.html.startswith("<!DOCTYPE html>"), rep._repr_html_().startswith('<div class="symgrad-report">')
    ('# Gradients of f', True, True)
    """

    def __init__(self, net: Network, *, check_report: Any = None, title: str | None = None, description: str = ""):
        self.network = net
        self.check_report = check_report
        self._options = dict(check_report=check_report, title=title, description=description)
        self._rendered: dict[str, str] = {}

    def render(self, fmt: str) -> str:
        if fmt not in self._rendered:
            self._rendered[fmt] = render_report(self.network, fmt=fmt, **self._options)
        return self._rendered[fmt]

    @property
    def markdown(self) -> str:
        return self.render("md")

    @property
    def latex(self) -> str:
        return self.render("tex")

    @property
    def html(self) -> str:
        return self.render("html")

    def save(self, path: str | Path) -> Path:
        """Write the report; the file name's suffix (.md, .tex, .html) picks the format."""
        path = Path(path)
        path.write_text(self.render(format_for_path(path)), encoding="utf-8")
        return path

    def _repr_html_(self) -> str:
        # A notebook embeds this in its own page: a fragment, not a document.
        if "html-fragment" not in self._rendered:
            self._rendered["html-fragment"] = render_report(self.network, fmt="html", standalone=False, **self._options)
        return self._rendered["html-fragment"]

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __str__(self) -> str:
        return self.markdown


def report(net: Network, *, check: bool = True, title: str | None = None, description: str = "", **check_options) -> Report:
    """Derive, check (unless ``check=False``) and write up ``net``: a :class:`Report`.

    ``check_options`` go to :func:`symgrad.crosscheck.check`.
    """
    check_report = None
    if check:
        check_report = run_check(net, **check_options)
    return Report(net, check_report=check_report, title=title, description=description)
