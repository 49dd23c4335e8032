"""Derivation reports in Markdown, LaTeX and HTML; golden file for seed 002's Markdown.

Regenerate with ``SYMGRAD_UPDATE_GOLDEN=1 python -m pytest tests/test_report.py``.
"""

from __future__ import annotations

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
    text = render_report(spec.network, fmt=fmt, title="Gradients of datawhale", description=spec.description)
    check_golden(f"reports/datawhale.{fmt}", text)


def test_markdown_holds_equations_derivatives_and_check(spec):
    rep = sg.check(spec.network, params=spec.point.params, x=spec.point.x, y=spec.point.y)
    text = render_report(spec.network, fmt="md", check_report=rep)
    assert text.count("### $") == len(spec.network.params)
    assert r"\hat{f}_{1} &= g(u_{1})" in text
    assert "Chain rule (2 routes)" in text
    assert "## Gradient check" in text and "OK: all 12 parameters agree" in text
    assert "\n\n\n" not in text  # no stray blank lines from the template


def test_latex_document_is_complete_and_balanced(spec):
    text = render_report(spec.network, fmt="tex")
    assert text.startswith(r"\documentclass") and text.rstrip().endswith(r"\end{document}")
    assert text.count(r"\begin{") == text.count(r"\end{")
    assert text.count("{") == text.count("}")
    body = text[text.index(r"\begin{align*}"):text.index(r"\end{align*}")]
    assert "\n\n" not in body  # a blank line inside align* is a LaTeX error


def test_html_escapes_and_embeds_the_check(spec):
    rep = sg.check(spec.network, params=spec.point.params, x=spec.point.x, y=spec.point.y)
    text = render_report(spec.network, fmt="html", check_report=rep)
    assert text.startswith("<!DOCTYPE html>") and "MathJax" in text
    assert "&amp;=" in text  # LaTeX alignment marks escaped in HTML
    assert "<table>" in text


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
    with pytest.raises(SymgradError, match="'out.pdf'"):
        format_for_path("out.pdf")
    with pytest.raises(SymgradError, match="'rtf'"):
        render_report(sg.mlp([1, 1]), fmt="rtf")


def test_report_object_renders_saves_and_shows_in_notebooks(spec, tmp_path):
    rep = sg.report(spec.network, params=spec.point.params, x=spec.point.x, y=spec.point.y)
    assert rep.check_report.ok
    assert "<table>" in rep.html and rep.html.startswith("<!DOCTYPE html>")
    # In a notebook, a fragment of the page: the same content, no document and no page-wide style.
    fragment = rep._repr_html_()
    assert fragment.startswith('<div class="symgrad-report">') and fragment.rstrip().endswith("</div>")
    assert "<html" not in fragment and "<body" not in fragment and "body {" not in fragment and "<head" not in fragment
    assert "<table>" in fragment and "Gradient check" in fragment
    assert str(rep) == rep.markdown and rep.latex.startswith(r"\documentclass")
    path = rep.save(tmp_path / "out.tex")
    assert path.read_text() == rep.latex
    with pytest.raises(SymgradError, match="out.docx': use .md, .tex or .html"):
        rep.save(tmp_path / "out.docx")
