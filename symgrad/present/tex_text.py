r"""Plain text (a spec's description, a network's name) made safe for pdflatex and lualatex.

The result is ASCII: LaTeX's special characters are escaped, and the Unicode a
description of a network uses (Greek letters, f̂, ∈, ⁽ˡ⁾, ‖, ⊙, ½ …) becomes the
LaTeX that prints it, so the document compiles with any engine and font. A character
with no LaTeX spelling is written as its code point rather than breaking the build.

>>> tex_text("f̂1 = g(u1), x ∈ R³, w⁽ˡ⁾ and 50% of a_b")
'\\ensuremath{\\hat{f}}1 = g(u1), x \\ensuremath{\\in} R\\ensuremath{^{3}}, w\\ensuremath{^{(l)}} and 50\\% of a\\_b'
"""

from __future__ import annotations

import unicodedata

__all__ = ["tex_text", "unicode_math"]

_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "#": r"\#",
            "%": r"\%", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}

# Text-mode characters pdflatex knows once spelled as commands.
_TEXT = {"–": "--", "—": "---", "‘": "`", "’": "'", "“": "``", "”": "''", "…": r"\ldots{}", "\u00a0": "~",
         "é": r"\'e", "è": r"\`e", "ü": r'\"u', "ö": r'\"o', "ä": r'\"a', "ß": r"\ss{}", "°": r"\ensuremath{^\circ}"}

# Characters written in math mode (inside \ensuremath in text).
_MATH = {
    "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon", "ζ": r"\zeta",
    "η": r"\eta", "θ": r"\theta", "ι": r"\iota", "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu",
    "ξ": r"\xi", "π": r"\pi", "ρ": r"\rho", "σ": r"\sigma", "τ": r"\tau", "υ": r"\upsilon", "φ": r"\phi",
    "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega", "Γ": r"\Gamma", "Δ": r"\Delta", "Θ": r"\Theta",
    "Λ": r"\Lambda", "Ξ": r"\Xi", "Π": r"\Pi", "Σ": r"\Sigma", "Φ": r"\Phi", "Ψ": r"\Psi", "Ω": r"\Omega",
    "∈": r"\in", "∉": r"\notin", "×": r"\times", "·": r"\cdot", "⋅": r"\cdot", "−": "-", "±": r"\pm",
    "≤": r"\leq", "≥": r"\geq", "≠": r"\neq", "≈": r"\approx", "→": r"\to", "←": r"\leftarrow",
    "⇒": r"\Rightarrow", "↦": r"\mapsto", "∞": r"\infty", "∂": r"\partial", "∇": r"\nabla", "∑": r"\sum",
    "∏": r"\prod", "√": r"\surd", "‖": r"\|", "⊙": r"\odot", "⊘": r"\oslash", "⊗": r"\otimes",
    "∘": r"\circ", "ℝ": r"\mathbf{R}", "½": r"\frac{1}{2}", "¼": r"\frac{1}{4}", "¾": r"\frac{3}{4}",
    "′": "'", "″": "''", "∀": r"\forall", "∃": r"\exists", "⊂": r"\subset", "∪": r"\cup", "∩": r"\cap",
}
_SUPERSCRIPT = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁼⁽⁾ⁿⁱˡᵀᵢʲᵏᵐ", "0123456789+-=()nilTijkm"))
_SUBSCRIPT = dict(zip("₀₁₂₃₄₅₆₇₈₉₊₋₌₍₎ₐₑₒₓᵢⱼₖₗₘₙₚₛₜ", "0123456789+-=()aeoxijklmnpst"))
_ACCENTS = {"\u0302": r"\hat", "\u0304": r"\bar", "\u0303": r"\tilde", "\u20d7": r"\vec", "\u0307": r"\dot"}


def _escape(c: str) -> str:
    if c in _SPECIAL:
        return _SPECIAL[c]
    if c in _TEXT:
        return _TEXT[c]
    if ord(c) < 128:
        return c
    if c in _MATH:
        return rf"\ensuremath{{{_MATH[c]}}}"
    base = unicodedata.normalize("NFD", c)
    if len(base) == 2 and base[1] in _ACCENTS and ord(base[0]) < 128:  # é in NFC, f̂ decomposed
        return rf"\ensuremath{{{_ACCENTS[base[1]]}{{{base[0]}}}}}"
    return rf"\texttt{{[U+{ord(c):04X}]}}"


def tex_text(text: str) -> str:
    """``text`` as LaTeX text-mode source in ASCII (see the module's doc)."""
    out: list[str] = []
    chars = list(text)
    i = 0
    while i < len(chars):
        c = chars[i]
        for table, mark in ((_SUPERSCRIPT, "^"), (_SUBSCRIPT, "_")):
            if c in table:
                j = i
                while j < len(chars) and chars[j] in table:
                    j += 1
                out.append(rf"\ensuremath{{{mark}{{{''.join(table[x] for x in chars[i:j])}}}}}")
                i = j
                break
        else:
            if i + 1 < len(chars) and chars[i + 1] in _ACCENTS:  # a letter with a combining accent: f̂
                inner = _MATH.get(c, c if c.isascii() else "?")
                out.append(rf"\ensuremath{{{_ACCENTS[chars[i + 1]]}{{{inner}}}}}")
                i += 2
                continue
            out.append(_escape(c))
            i += 1
    return "".join(out)


def unicode_math(text: str) -> str:
    r"""Unicode in math-mode LaTeX (a symbol's name) spelled as LaTeX commands.

    >>> unicode_math("θ_{1}"), unicode_math("x")
    ('\\theta_{1}', 'x')
    """
    if text.isascii():
        return text
    out = []
    for c in text:
        if c.isascii():
            out.append(c)
        elif c in _MATH:
            out.append(_MATH[c] + " ")
        elif c in _ACCENTS and out:
            out[-1] = rf"{_ACCENTS[c]}{{{out[-1].strip()}}}"
        else:
            out.append(rf"\text{{[U+{ord(c):04X}]}}")
    return "".join(out).replace(" _", "_").replace(" ^", "^").strip()
