"""present/tex_text.py: text with Unicode becomes ASCII LaTeX that pdflatex and lualatex accept."""

from __future__ import annotations

import pytest

from conftest import EXAMPLES
from symgrad.model.spec import load_spec
from symgrad.present.latex import name_latex
from symgrad.present.tex_text import tex_text, unicode_math


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.toml")), ids=lambda p: p.stem)
def test_every_example_description_becomes_ascii(path):
    text = tex_text(load_spec(path).description)
    assert text.isascii() and "U+" not in text  # every character the examples use has a spelling


def test_specials_accents_and_scripts():
    assert tex_text("50% of a_b & {c} #1 $x$ ~ ^") == r"50\% of a\_b \& \{c\} \#1 \$x\$ \textasciitilde{} \textasciicircum{}"
    assert tex_text("f̂1") == r"\ensuremath{\hat{f}}1"
    assert tex_text("x⁽ˡ⁺¹⁾ and y₁₂") == r"x\ensuremath{^{(l+1)}} and y\ensuremath{_{12}}"
    assert tex_text("½‖x − y‖²") == r"\ensuremath{\frac{1}{2}}\ensuremath{\|}x \ensuremath{-} y\ensuremath{\|}\ensuremath{^{2}}"
    assert tex_text("Ω ∈ ℝ") == r"\ensuremath{\Omega} \ensuremath{\in} \ensuremath{\mathbf{R}}"
    assert tex_text("日") == r"\texttt{[U+65E5]}"  # no spelling: the code point, not a failed build


def test_unicode_names_in_math():
    assert unicode_math("θ") == r"\theta"
    assert name_latex("θ1") == r"\theta_{1}"
