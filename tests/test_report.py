"""Derivation reports in Markdown, LaTeX and HTML; golden files for seed 002 (without pictures).

Rendered in a browser and compiled with pdflatex: tests/test_report_render.py.

Regenerate with ``SYMGRAD_UPDATE_GOLDEN=1 python -m pytest tests/test_report.py``.
"""

from __future__ import annotations

import re

import pytest

import symgrad as sg
from conftest import EXAMPLES, check_golden
from symgrad.errors import SymgradError
from symgrad.model.spec import load_spec
from symgrad.present.report import format_for_path, render_report


@pytest.fixture
def spec():
    return load_spec(EXAMPLES / "datawhale.toml")


@pytest.mark.parametrize("fmt", ["md", "tex", "html"])
def test_golden_without_check(spec, fmt):
    text = render_report(spec.network, fmt=fmt, title="Gradients of datawhale", description=spec.description, pictures=False)
    check_golden(f"reports/datawhale.{fmt}", text)


def test_markdown_holds_equations_derivatives_and_check(spec):
    rep = sg.check(spec.network, params=spec.point.params, x=spec.point.x, y=spec.point.y)
    text = render_report(spec.network, fmt="md", check_report=rep)
    assert text.count("### $") == len(spec.network.params)
    assert r"### $\partial \mathrm{Loss} / \partial w_{7}$" in text  # a heading on one line, not a fraction
    assert r"\hat{f}_{1} &= g(u_{1})" in text
    assert "Chain rule (2 routes)" in text
    assert "## Gradient check" in text and "OK: all 12 parameters agree" in text
    assert text.count("| ok |") == 12  # one table: a row per parameter
    assert "\n\n\n" not in text  # no stray blank lines from the template
    assert "![" not in text  # Markdown on its own has no files for pictures


def test_latex_document_is_complete_and_balanced(spec):
    text = render_report(spec.network, fmt="tex", description=spec.description)
    assert text.startswith(r"\documentclass") and text.rstrip().endswith(r"\end{document}")
    assert text.count(r"\begin{") == text.count(r"\end{")
    assert text.count("{") == text.count("}")
    assert text.isascii() and r"\ensuremath{\hat{f}}1" in text  # the description's f̂1, spelled for any TeX engine
    assert r"\usepackage{lmodern}" in text and r"\tableofcontents" in text  # 12 parameters: contents
    body = text[text.index(r"\begin{align*}"):text.index(r"\end{align*}")]
    assert "\n\n" not in body  # a blank line inside align* is a LaTeX error


def test_latex_breaks_long_rows_onto_continuation_lines():
    net = load_spec(EXAMPLES / "xor.toml").network
    text = render_report(net, fmt="tex", pictures=False)
    assert r"&\quad {}+ " in text or r"&\quad {}\cdot " in text
    assert r"\left(" in text and all(line.count(r"\left") == line.count(r"\right") for line in text.splitlines())


def test_html_is_mathml_with_one_check_table_and_no_script(spec):
    rep = sg.check(spec.network, params=spec.point.params, x=spec.point.x, y=spec.point.y)
    text = render_report(spec.network, fmt="html", check_report=rep, pictures=False)
    assert text.startswith("<!DOCTYPE html>") and "<script" not in text and "MathJax" not in text
    assert text.count("<table") == 1 and text.count("<tr") == 13
    assert "<math" in text and "\\frac" not in text and "$" not in text
    assert '<nav class="sg-contents"' in text and 'href="#sg-d-w7"' in text
    style = re.sub(r"/\*.*?\*/", "", text[text.index("<style>") + 7:text.index("</style>")], flags=re.S)
    rules = [r.split("{")[0].strip() for r in style.split("}") if "{" in r]
    assert rules and all(sel.startswith(".symgrad-report") for rule in rules for sel in map(str.strip, rule.split(",")))  # scoped


def test_html_embeds_the_graph_and_each_parameter_with_several_routes(spec):
    text = render_report(spec.network, fmt="html")
    assert text.count("<svg") == 1 + 6  # the network, and w1..w6 (two routes each)
    assert 'id="sg-routes_w1-' in text and "<!--" not in text


def test_layered_report_has_the_matrix_form():
    net = sg.mlp([3, 4, 2])
    text = render_report(net, fmt="md")
    assert "## Matrix form" in text and r"\delta^{(1)}" in text


def test_wide_networks_are_summarised():
    net = sg.mlp([8, 8, 2])
    text = render_report(net, fmt="md")
    assert f"and {len(net.params) - 40} more parameters" in text
    assert "chain-rule routes: factored form only" not in text or "routes" in text


def test_formats_and_errors(tmp_path):
    assert format_for_path("a/b.MD") == "md" and format_for_path("x.htm") == "html" and format_for_path("r.tex") == "tex"
    assert format_for_path("out.pdf") == "pdf"
    with pytest.raises(SymgradError, match="'out.rtf'"):
        format_for_path("out.rtf")
    with pytest.raises(SymgradError, match="'rtf'"):
        render_report(sg.mlp([1, 1]), fmt="rtf")


def test_report_object_renders_saves_and_shows_in_notebooks(spec, tmp_path, monkeypatch):
    monkeypatch.setattr("symgrad.present.report.MAX_ROUTE_PICTURES", 1)  # the graph and w1's routes: enough to see the files
    rep = sg.report(spec.network, params=spec.point.params, x=spec.point.x, y=spec.point.y)
    assert rep.check_report.ok
    assert "<table" in rep.html and rep.html.startswith("<!DOCTYPE html>")
    # In a notebook, a fragment of the page: the same content, no document and no page-wide style.
    fragment = rep._repr_html_()
    assert fragment.startswith('<div class="symgrad-report">') and fragment.rstrip().endswith("</div>")
    assert "<html" not in fragment and "<body" not in fragment and "body {" not in fragment and "<head" not in fragment
    assert "<table" in fragment and "Gradient check" in fragment
    assert str(rep) == rep.markdown and rep.latex.startswith(r"\documentclass")
    path = rep.save(tmp_path / "out.tex")
    text = path.read_text()
    assert r"\includegraphics" in text and (tmp_path / "out_files" / "graph.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "out_files" / "routes_w1.pdf").exists()
    md = rep.save(tmp_path / "out.md").read_text()
    assert "![" in md and (tmp_path / "out_files" / "graph.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(SymgradError, match="out.docx': use .md, .tex, .html or .pdf"):
        rep.save(tmp_path / "out.docx")


def test_training_pictures(tmp_path):
    spec = load_spec(EXAMPLES / "xor.toml")
    X, Y = spec.data["X"], spec.data["Y"]
    hist = sg.gradient_descent(spec.network, spec.point.params, (X, Y), lr=0.5, epochs=40, mode="batch", grad=spec.network.compile(jit=False))
    text = render_report(spec.network, fmt="html", pictures=False, history=hist, data=(X, Y))
    assert "<h2 id=\"sg-training\">Training</h2>" in text and text.count("<svg") == 3  # loss, gradient norm, decision boundary
    assert "decision boundary" in text
    quad = load_spec(EXAMPLES / "quadratic.toml")
    hq = sg.gradient_descent(quad.network, [1.0, 1.0], None, lr=0.01, epochs=5, grad=quad.network.compile(jit=False))
    assert render_report(quad.network, fmt="html", pictures=False, history=hq).count("<svg") == 2  # no data: no boundary
