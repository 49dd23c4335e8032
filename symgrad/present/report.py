"""Derivation reports: HTML (MathML, no script), a LaTeX document (or its PDF), or Markdown.

A report holds the network's equations and a picture of its computation, each
parameter's derivative in factored form with its chain-rule derivation (as a hand
derivation writes it; where the factored form nests brackets more than two deep, as a
product of named adjoints δ followed by their definitions, :mod:`symgrad.present.adjoints`)
and, where several routes meet, a picture of them; the matrix form of a
layered network; a training run's pictures when one is given; and the three-way
gradient check. Formulas keep their structure (:mod:`symgrad.present.formula`), so long
ones break at their outermost ``+`` and ``·`` in every format. It is rendered from the
Jinja2 templates in ``templates/`` (``report.html.j2``, ``report.tex.j2``, ``report.md.j2``)
through one writer per format (:mod:`symgrad.present.report_writers`).

>>> import symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> text = render_report(net, fmt="md", check_report=None)
>>> print(text.splitlines()[0])
# Gradients of f
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..crosscheck.check import check as run_check
from ..derive.matrix_form import matrix_form
from ..errors import SymgradError
from ..model.network import Network
from ..template_loader import environment
from . import formula
from .adjoints import Definitions, delta_form, prefers_delta
from .latex import Derivation, derivation, derivative_layout, expr_layout, partial_latex, symbol_latex
from .matrix_latex import formulas_rows
from .report_writers import WRITERS, Picture

__all__ = ["FORMATS", "Report", "build_pdf", "format_for_path", "render_report", "report"]

FORMATS = {"md": "report.md.j2", "tex": "report.tex.j2", "html": "report.html.j2"}
#: What a file name may ask for: the three formats, and a PDF compiled from the LaTeX.
FILE_FORMATS = (*FORMATS, "pdf")

#: Above this many parameters the report lists the first ones only (the rest follow the same pattern).
MAX_PARAMS_SHOWN = 40
#: Above this many chain-rule routes a derivative is shown in factored form only.
MAX_ROUTES_SHOWN = 8
#: At most this many route pictures per report (each is a drawing; net.draw(highlight=…) draws any other).
MAX_ROUTE_PICTURES = 8
#: From this many parameters on, the HTML and LaTeX reports open with a table of contents.
CONTENTS_FROM = 8


@dataclass(frozen=True)
class _Entry:
    name: str
    heading: str  # ∂Loss/∂w7 on one line, for headings and the contents
    lhs: str
    factored: formula.Node
    chain: Derivation | Definitions | None  # named adjoints' definitions where the factored form nests deep
    routes: int
    picture: Picture | None


def format_for_path(path: str | Path) -> str:
    """The report format a file name asks for: ``.md``, ``.tex``, ``.html`` or ``.pdf``."""
    suffix = Path(path).suffix.lower().lstrip(".")
    fmt = {"markdown": "md", "htm": "html"}.get(suffix, suffix)
    if fmt not in FILE_FORMATS:
        raise SymgradError(f"cannot tell the report format of {str(path)!r}: use .md, .tex, .html or .pdf", token=str(path))
    return fmt


def _heading(net: Network, param) -> str:
    return rf"\partial {symbol_latex(net.loss)} / \partial {symbol_latex(param)}"


def _entries(net: Network, pictures: bool) -> list[_Entry]:
    grads = net.gradients()
    out = []
    drawn = 0
    for d in list(grads)[:MAX_PARAMS_SHOWN]:
        routes = d.sweep.path_count(d.param)
        if prefers_delta(d):
            # Brackets nested this deep read better as named adjoints: δ·x, then each δ defined once.
            form = delta_form(d)
            factored, chain = form.product_layout(), form.definition_block()
        else:
            factored = derivative_layout(d, "factored")
            chain = derivation(d) if 0 < routes <= MAX_ROUTES_SHOWN else None
        picture = None
        if pictures and routes > 1 and drawn < MAX_ROUTE_PICTURES:
            drawn += 1
            picture = Picture(f"routes_{d.param.name}", f"The {routes} chain-rule routes from {d.param.name} to the loss.",
                              _drawing(net, d.param.name))
        lhs = partial_latex(net.loss, d.param)
        out.append(_Entry(d.param.name, _heading(net, d.param), lhs, factored, chain, routes, picture))
    return out


def _undrawn(net: Network, entries: list[_Entry]) -> int:
    """How many parameters shown with several routes have no picture of them."""
    return sum(1 for e in entries if e.routes > 1 and e.picture is None)


def _drawing(net: Network, highlight: str | None) -> Callable:
    return lambda: net.draw(highlight=highlight)


def _matrix_rows(net: Network, convention: str):
    if net.layers is None:
        return None
    rows = formulas_rows(matrix_form(net).formulas(convention))
    return [(lhs, formula.join("=", [formula.Atom(r) for r in rhs])) for lhs, rhs in rows]


def _check_view(rep) -> dict | None:
    """The check report as one table: title, headline, columns, cells, and the lines after it."""
    if rep is None:
        return None
    legs = [leg for leg in ("user", "symbolic", "backprop", "finite_diff") if leg in rep.legs]
    titles = {"user": "user", "symbolic": "symbolic", "backprop": "backprop", "finite_diff": "finite diff"}
    lines = rep.table().splitlines()
    rows = []
    for r in sorted(rep.rows, key=lambda r: -r.score):
        values = [getattr(r, leg) for leg in legs]
        rows.append({"ok": r.ok, "cells": [r.param] + ["-" if v is None else f"{v:.10g}" for v in values] + [f"{r.abs_err:.2e}", f"{r.rel_err:.2e}"]})
    return {
        "title": lines[0],
        "headline": lines[1],
        "columns": ["param"] + [titles[leg] for leg in legs] + ["abs err", "rel err"],
        "rows": rows,
        "after": [line for line in lines[3:] if not line.startswith(("ok ", "FAIL "))],
        "ok": rep.ok,
    }


def _training_pictures(net: Network, history, data) -> list[Picture]:
    from .training import curve_figure, decision_boundary_figure, thinned_index

    out = [Picture("loss", f"The loss over {len(history.loss) - 1} updates ({history.mode}, lr = {history.lr:g}).",
                   lambda: curve_figure(history.loss, "loss", mode=history.mode))]
    if getattr(history, "mean_gradient", None) is not None:
        index = thinned_index(len(history.params))
        out.append(Picture("grad_norm", "The gradient's norm over the same updates.",
                           lambda: curve_figure(history.grad_norm_at(index), "gradient norm", steps=index, mode=history.mode)))
    if data is not None and len(net.inputs) == 2 and len(net.targets) == 1:
        X, Y = data
        out.append(Picture("decision_boundary", "The trained network's output over the plane of its data; the black line is the decision boundary.",
                           lambda: decision_boundary_figure(net, history.params[-1], X, Y)))
    return out


def render_report(
    net: Network,
    *,
    fmt: str = "md",
    check_report: Any = None,
    title: str | None = None,
    description: str = "",
    pictures: bool = True,
    history: Any = None,
    data=None,
    assets: dict[str, bytes] | None = None,
    asset_dir: str = "",
    figures: dict | None = None,
    standalone: bool = True,
) -> str:
    """Render the derivation report of ``net`` as ``fmt`` (``"md"``, ``"tex"`` or ``"html"``).

    ``check_report`` is a :class:`~symgrad.crosscheck.check.CheckReport` to include (None leaves the
    check section out). ``pictures`` draws the network and the routes of every parameter with
    more than one; ``history`` (a :class:`symgrad.train.History`) and ``data`` (``(X, Y)``) add
    the training pictures. HTML embeds its pictures; LaTeX and Markdown refer to files,
    put into ``assets`` (name → bytes, to be written under ``asset_dir``), and leave
    pictures out when ``assets`` is None. ``standalone=False`` gives HTML as a fragment to
    embed (a notebook cell): no ``<html>`` page, the scoped style inside. ``figures`` keeps the drawn figures by name
    between renderings (a :class:`Report` renders each picture once for every format).
    """
    if fmt not in FORMATS:
        raise SymgradError(f"unknown report format {fmt!r} (use md, tex or html)", token=str(fmt))
    writer = WRITERS[fmt](assets, asset_dir, {} if figures is None else figures)
    entries = _entries(net, pictures)
    graph = Picture("graph", f"The computation of {net.name}: each step, the parameters, inputs and targets it uses, and the loss.",
                    _drawing(net, None)) if pictures else None
    context = {
        "w": writer,
        "title": title or f"Gradients of {net.name}",
        "description": description,
        "steps": [(symbol_latex(st.target), expr_layout(st.expr)) for st in net.steps] if len(net.steps) <= 200 else [],
        "n_steps": len(net.steps),
        "params": [p.name for p in net.params],
        "params_latex": [symbol_latex(p) for p in net.params],
        "inputs_latex": [symbol_latex(s) for s in net.inputs],
        "targets_latex": [symbol_latex(s) for s in net.targets],
        "loss_latex": symbol_latex(net.loss),
        "graph": graph,
        "entries": entries,
        "contents": len(net.params) >= CONTENTS_FROM,
        "hidden": max(0, len(net.params) - MAX_PARAMS_SHOWN),
        "undrawn": _undrawn(net, entries) if pictures else 0,
        "matrix_column": _matrix_rows(net, "column"),
        "matrix_row": _matrix_rows(net, "row"),
        "training": _training_pictures(net, history, data) if history is not None else [],
        "history": history,
        "check": _check_view(check_report),
        "standalone": standalone,
    }
    return environment().get_template(FORMATS[fmt]).render(**context)


# --------------------------------------------------------------------------- PDF


def build_pdf(tex: str, assets: dict[str, bytes], path: str | Path, *, engine: str = "pdflatex", asset_dir: str = "") -> Path:
    """Compile a LaTeX report (with its pictures) into ``path`` with ``engine`` (twice, for the contents).

    Raises a :class:`~symgrad.SymgradError` naming the engine when it is not installed,
    and the first LaTeX error when the document does not compile.
    """
    exe = shutil.which(engine)
    if exe is None:
        raise SymgradError(f"{engine} is not installed: install TeX Live (Debian: texlive-latex-recommended) or write .tex or .html", token=engine)
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="symgrad-pdf-") as tmp:
        work = Path(tmp)
        for name, data in assets.items():
            target = work / asset_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (work / "report.tex").write_text(tex, encoding="utf-8")
        for _ in range(2):
            try:
                proc = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error", "report.tex"], cwd=work,
                                      capture_output=True, text=True, errors="replace", timeout=300)
            except subprocess.TimeoutExpired:
                raise SymgradError(f"{engine} took more than 300 s on the report", token=engine) from None
            if proc.returncode != 0:
                first = next((line for line in proc.stdout.splitlines() if line.startswith("!")), f"exit code {proc.returncode}")
                raise SymgradError(f"{engine} could not compile the report: {first}", token=engine)
        shutil.copyfile(work / "report.pdf", path)
    return path


# --------------------------------------------------------------------------- the Report object


class Report:
    """A network's derivation report, in every format; shows itself in a notebook.

    >>> import symgrad as sg
    >>> rep = report(sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2"), check=False, pictures=False)
    >>> rep.markdown.splitlines()[0], rep.html.startswith("<!DOCTYPE html>"), rep._repr_html_().startswith('<div class="symgrad-report">')
    ('# Gradients of f', True, True)
    """

    def __init__(self, net: Network, *, check_report: Any = None, title: str | None = None, description: str = "",
                 pictures: bool = True, history: Any = None, data=None):
        self.network = net
        self.check_report = check_report
        self._options = dict(check_report=check_report, title=title, description=description, pictures=pictures, history=history, data=data)
        self._rendered: dict[str, str] = {}
        self._figures: dict = {}

    def render(self, fmt: str, assets: dict[str, bytes] | None = None, asset_dir: str = "") -> str:
        """The report as ``fmt``; for LaTeX and Markdown, pictures go into ``assets`` when it is given."""
        if assets is not None:
            return render_report(self.network, fmt=fmt, assets=assets, asset_dir=asset_dir, figures=self._figures, **self._options)
        if fmt not in self._rendered:
            self._rendered[fmt] = render_report(self.network, fmt=fmt, figures=self._figures, **self._options)
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
        """Write the report; the file name's suffix (.md, .tex, .html, .pdf) picks the format.

        LaTeX and Markdown reports put their pictures in a folder beside the file
        (``r_files/`` for ``r.tex``); a PDF is compiled with pdflatex.
        """
        path = Path(path)
        fmt = format_for_path(path)
        if fmt == "html":
            path.write_text(self.html, encoding="utf-8")
            return path
        assets: dict[str, bytes] = {}
        asset_dir = f"{path.stem}_files"
        text = self.render("tex" if fmt == "pdf" else fmt, assets, asset_dir)
        if fmt == "pdf":
            return build_pdf(text, assets, path, asset_dir=asset_dir)
        path.write_text(text, encoding="utf-8")
        for name, data in assets.items():
            target = path.parent / asset_dir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return path

    def _repr_html_(self) -> str:
        # A notebook embeds this in its own page: a fragment, not a document.
        if "html-fragment" not in self._rendered:
            self._rendered["html-fragment"] = render_report(self.network, fmt="html", standalone=False, figures=self._figures, **self._options)
        return self._rendered["html-fragment"]

    def _repr_markdown_(self) -> str:
        return self.markdown

    def __str__(self) -> str:
        return self.markdown


def report(net: Network, *, check: bool = True, title: str | None = None, description: str = "", pictures: bool = True,
           history: Any = None, data=None, **check_options) -> Report:
    """Derive, check (unless ``check=False``) and write up ``net``: a :class:`Report`.

    ``history``/``data`` add a training run's pictures; ``check_options`` go to
    :func:`symgrad.crosscheck.check`.
    """
    check_report = None
    if check:
        check_report = run_check(net, **check_options)
    return Report(net, check_report=check_report, title=title, description=description, pictures=pictures, history=history, data=data)
