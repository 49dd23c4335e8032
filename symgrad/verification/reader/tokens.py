r"""LaTeX as TeX reads it: tokens, and every bracket paired up front.

The text is cut into TeX tokens (one letter or digit each, as TeX reads them), and
every ``{ }``, ``( )``, ``[ ]``, ``\{ \}``, ``\left … \right`` and ``| |`` is paired
before anything is parsed, so that an unbalanced formula is reported at the token
that breaks it, with its column. Commands that only lay the formula out (thin
spaces, ``\quad``, ``\begin{aligned}``, ``\label``…) become spaces; a line break
``\\`` is kept as a space of its own kind, because it separates the equations of a
derivation. A :class:`Formula` holds the tokens, the bracket pairs and the top-level
``=`` signs, with the small helpers every later pass uses to walk them.

>>> f = Formula(r"\frac{a}{b} = (c + d)_w")
>>> [t.text for t in f.tokens if t.category != "space"]
['\\frac', '{', 'a', '}', '{', 'b', '}', '=', '(', 'c', '+', 'd', ')', '_', 'w']
>>> f.pairs[10], f.equals, f.source(11, 16)
(16, [8], 'c + d')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import ParseError

__all__ = ["CLOSE", "MAX_CHARS", "MAX_DEPTH", "OPEN", "Formula", "Token", "column", "tokenize"]

#: Brackets nested deeper than this are refused (a formula is read recursively, bracket by bracket).
MAX_DEPTH = 100
#: A formula longer than this is refused before it is read: reading it would take longer
#: than a verdict may (a derivative this long is better checked in its factored form).
MAX_CHARS = 50_000

_TOKEN = re.compile(r"(?P<cmd>\\[A-Za-z]+)|(?P<sym>\\.)|(?P<letter>[A-Za-z])|(?P<digit>[0-9])|(?P<space>\s+)|(?P<char>.)", re.S)

_UNICODE = {
    "×": ("cmd", r"\times"), "·": ("cmd", r"\cdot"), "⋅": ("cmd", r"\cdot"), "∙": ("cmd", r"\cdot"),
    "−": ("char", "-"), "–": ("char", "-"), "′": ("char", "'"), "∂": ("cmd", r"\partial"),
    "⊙": ("cmd", r"\odot"), "σ": ("cmd", r"\sigma"), "δ": ("cmd", r"\delta"), "θ": ("cmd", r"\theta"),
    "η": ("cmd", r"\eta"), "α": ("cmd", r"\alpha"), "β": ("cmd", r"\beta"), "λ": ("cmd", r"\lambda"),
    "ω": ("cmd", r"\omega"), "φ": ("cmd", r"\phi"), "ε": ("cmd", r"\epsilon"), "π": ("cmd", r"\pi"),
    "∇": ("cmd", r"\nabla"), "∑": ("cmd", r"\sum"), "Σ": ("cmd", r"\Sigma"),
    "\u00a0": ("space", " "),
}


@dataclass(frozen=True)
class Token:
    """One TeX token: ``category`` is cmd, sym, letter, digit, space, newline or char; ``pos`` its 0-based offset."""

    category: str
    text: str
    pos: int

    def at(self, pos: int) -> "Token":
        """The same token placed at another offset."""
        return Token(self.category, self.text, pos)


def column(tok: Token | None) -> str:
    """Where a token is, for messages: ``column 7``."""
    return f"column {tok.pos + 1}" if tok is not None else "the end"


def tokenize(text: str) -> list[Token]:
    r"""``text`` as TeX tokens, with layout commands turned into spaces.

    >>> [t.text for t in tokenize(r"w_{7}\,h")]
    ['w', '_', '{', '7', '}', ' ', 'h']
    >>> [t.text for t in tokenize("a % (b = 1\nc")]
    ['a', ' ', ' ', '\n', 'c']
    """
    out = []
    comment_end = -1
    for m in _TOKEN.finditer(text):
        if m.start() < comment_end:
            continue
        category = m.lastgroup
        tok = m.group()
        if category == "char" and tok in _UNICODE:
            category, tok = _UNICODE[tok]
        if category == "char" and tok in "$&~":  # math delimiters, alignment, non-breaking space
            category = "space"
        if category == "char" and tok == "%":  # a TeX comment runs to the end of the line
            end = text.find("\n", m.start())
            out.append(Token("space", " ", m.start()))
            if end < 0:
                break
            comment_end = end
            continue
        out.append(Token(category, tok, m.start()))
    return _drop_layout(out)


# Commands that only lay the formula out: dropped (with their one brace argument, if any).
_LAYOUT = {r"\,", r"\;", r"\:", r"\!", r"\ ", r"\quad", r"\qquad", r"\displaystyle", r"\textstyle",
           r"\nonumber", r"\notag", r"\limits", r"\ldots", r"\cdots", r"\dots"}
_LAYOUT_WITH_ARG = {r"\begin", r"\end", r"\tag", r"\label"}
_MATRIX_ENVS = {"matrix", "bmatrix", "pmatrix", "vmatrix", "Bmatrix", "array", "cases"}
_SIZES = {rf"\{s}{x}" for s in ("big", "Big", "bigg", "Bigg") for x in ("", "l", "r", "m")}


def _drop_layout(toks: list[Token]) -> list[Token]:
    out: list[Token] = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.category == "sym" and t.text == "\\\\":
            out.append(Token("newline", " ", t.pos))  # a line break: it may end an equation
            i += 1
        elif t.category in ("cmd", "sym") and t.text in _LAYOUT:
            if t.text in (r"\ldots", r"\cdots", r"\dots"):
                raise ParseError(f"{column(t)}: '{t.text}' elides part of the formula; write it out in full", token=t.text)
            out.append(Token("space", " ", t.pos))
            i += 1
        elif t.category == "cmd" and t.text in _LAYOUT_WITH_ARG:
            j = i + 1
            while j < len(toks) and toks[j].category == "space":
                j += 1
            if j >= len(toks) or toks[j].text != "{":
                raise ParseError(f"{column(t)}: '{t.text}' needs a {{…}} argument", token=t.text)
            k = j + 1
            while k < len(toks) and toks[k].text != "}":
                k += 1
            if k >= len(toks):
                raise ParseError(f"unbalanced braces: the '{{' at {column(toks[j])} is never closed", token="{")
            env = "".join(x.text for x in toks[j + 1 : k]).strip()
            if t.text in (r"\begin", r"\end") and env.rstrip("*") in _MATRIX_ENVS:
                raise ParseError(
                    f"{column(t)}: '{t.text}{{{env}}}': a {env} holds several entries; verify one scalar element formula at a time",
                    token=f"{t.text}{{{env}}}",
                )
            out.append(Token("space", " ", t.pos))
            i = k + 1
        elif t.category == "cmd" and t.text in _SIZES:
            i += 1  # \big( is just a larger (
        else:
            out.append(t)
            i += 1
    return out


# --------------------------------------------------------------------------- brackets

OPEN = {"(": ")", "[": "]", r"\{": r"\}", r"\lbrace": r"\rbrace", r"\lbrack": r"\rbrack", r"\lvert": r"\rvert", r"\langle": r"\rangle",
        r"\lVert": r"\rVert"}
CLOSE = {v: k for k, v in OPEN.items()}
_LEFT_DELIMS = set(OPEN) | set(CLOSE) | {"|", ".", r"\vert", r"\|", r"\Vert"}
_NORMS = ("|", r"\vert", r"\|", r"\Vert")  # open or close, by position


def _is_blank(tok: Token) -> bool:
    return tok.category in ("space", "newline")


def _delimiter_after(toks: list[Token], i: int, what: str) -> int:
    j = i + 1
    while j < len(toks) and _is_blank(toks[j]):
        j += 1
    if j >= len(toks) or toks[j].text not in _LEFT_DELIMS:
        got = toks[j].text if j < len(toks) else "the end"
        raise ParseError(f"{column(toks[i])}: '{what}' must be followed by a delimiter, got {got!r}", token=what)
    return j


class _Unmatched(ParseError):
    """An unbalanced bracket; ``stray`` is the index of a lone closing bracket, if that is what it is."""

    stray: int | None = None


def _pair_brackets(toks: list[Token]) -> tuple[dict[int, int], list[int]]:
    """Pair every bracket: ``{open index: close index}``; also the top-level '=' positions.

    ``\\left`` pairs with ``\\right`` (any delimiters, as TeX allows); a plain bracket
    pairs with its own kind; ``|`` and ``\\|`` open or close an absolute value or a norm.
    """
    pairs: dict[int, int] = {}
    stack: list[tuple[str, int]] = []  # (the closer expected, index of the opener)
    equals: list[int] = []
    skip: set[int] = set()
    for i, t in enumerate(toks):
        if i in skip or _is_blank(t):
            continue
        text = t.text
        if t.category == "cmd" and text == r"\left":
            skip.add(_delimiter_after(toks, i, r"\left"))
            stack.append((r"\right", i))
        elif t.category == "cmd" and text == r"\right":
            d = _delimiter_after(toks, i, r"\right")
            skip.add(d)
            if not stack or stack[-1][0] != r"\right":
                raise _unmatched(toks, i, r"\right" + toks[d].text, stack)
            pairs[stack.pop()[1]] = i
        elif t.category == "char" and text == "{":
            stack.append(("}", i))
        elif t.category == "char" and text == "}":
            if not stack or stack[-1][0] != "}":
                raise _unmatched(toks, i, "}", stack)
            pairs[stack.pop()[1]] = i
        elif text in _NORMS:
            closer = "|" if text in ("|", r"\vert") else r"\|"
            if stack and stack[-1][0] == closer:
                pairs[stack.pop()[1]] = i
            else:
                stack.append((closer, i))
        elif text in OPEN and t.category in ("char", "sym", "cmd"):
            stack.append((OPEN[text], i))
        elif text in CLOSE and t.category in ("char", "sym", "cmd"):
            if not stack or stack[-1][0] != text:
                raise _unmatched(toks, i, text, stack)
            pairs[stack.pop()[1]] = i
        elif text == "=" and t.category == "char":
            if stack and stack[-1][0] != "}":  # inside braces it may be a sum's k=1
                opener = toks[stack[-1][1]]
                raise ParseError(f"{column(t)}: '=' inside the '{opener.text}' opened at {column(opener)}", token="=")
            if not stack:
                equals.append(i)
        if len(stack) > MAX_DEPTH:
            raise ParseError(f"{column(t)}: brackets nested more than {MAX_DEPTH} deep", token=text)
    if stack:
        closer, i = stack[-1]
        opener = toks[i].text + (toks[_delimiter_after(toks, i, r"\left")].text if toks[i].text == r"\left" else "")
        what = "braces" if opener == "{" else "brackets"
        raise ParseError(f"unbalanced {what}: the '{opener}' at {column(toks[i])} is never closed", token=opener)
    return pairs, equals


def _unmatched(toks: list[Token], i: int, closer: str, stack) -> ParseError:
    what = "braces" if closer == "}" else "brackets"
    if not stack:
        opener = {"}": "{", r"\right": r"\left"}.get(closer, CLOSE.get(closer, closer))
        error = _Unmatched(f"unbalanced {what}: the '{closer}' at {column(toks[i])} has no opening '{opener}'", token=closer)
        error.stray = i if closer in CLOSE else None  # a lone closing delimiter: see Formula
        return error
    j = stack[-1][1]
    opener = toks[j].text
    return ParseError(
        f"unbalanced {what}: the '{closer}' at {column(toks[i])} meets the '{opener}' opened at {column(toks[j])}, which is never closed",
        token=closer,
    )


# --------------------------------------------------------------------------- formulas


class Formula:
    """LaTeX text as tokens with every bracket paired (``pairs``: opener → closer index)
    and the top-level ``=`` signs (``equals``).

    With ``allow_stray=True``, one closing bracket that has no opening one (a common
    slip) does not stop the reading: it is blanked out, ``stray`` is its index and
    ``stray_error`` the error it would have raised, so that a caller can try every
    place its opening bracket could go.
    """

    def __init__(self, text: str, tokens: list[Token] | None = None, *, allow_stray: bool = False):
        self.check_length(text)
        self.text = text
        self.tokens = tokenize(text) if tokens is None else list(tokens)
        self.stray: int | None = None
        self.stray_error: ParseError | None = None
        try:
            self.pairs, self.equals = _pair_brackets(self.tokens)
        except _Unmatched as error:
            if error.stray is None or not allow_stray:
                raise
            # One closing bracket too many: read the formula without it, and keep it.
            self.stray, self.stray_error = error.stray, error
            self.tokens[self.stray] = Token("space", " ", self.tokens[self.stray].pos)
            try:
                self.pairs, self.equals = _pair_brackets(self.tokens)
            except ParseError:
                raise error from None

    @staticmethod
    def check_length(text: str) -> None:
        """Refuse a text longer than :data:`MAX_CHARS` by its size, before anything reads it."""
        if len(text) > MAX_CHARS:
            raise ParseError(
                f"a formula of {len(text):,} characters (more than {MAX_CHARS:,}): too long to read within a verdict's time; "
                "verify one derivative at a time, in its factored form",
                token=text[:20] + "…",
            )

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, i: int) -> Token:
        return self.tokens[i]

    def skip(self, i: int, end: int) -> int:
        """The first index from ``i`` (before ``end``) that is not a space."""
        while i < end and _is_blank(self.tokens[i]):
            i += 1
        return i

    def trim(self, start: int, stop: int) -> tuple[int, int]:
        """``start..stop`` without spaces at either end."""
        stop = min(stop, len(self.tokens))
        start = self.skip(start, stop)
        while stop > start and _is_blank(self.tokens[stop - 1]):
            stop -= 1
        return start, stop

    def is_blank(self, start: int, stop: int) -> bool:
        return self.skip(start, stop) >= stop

    def is_opener(self, i: int) -> bool:
        """Whether token ``i`` opens a bracket that delimits arithmetic (not a TeX brace group)."""
        t = self.tokens[i]
        return i in self.pairs and not (t.category == "char" and t.text == "{")

    def argument(self, i: int, end: int, what: str) -> tuple[int, int, int]:
        """One TeX argument at ``i``: a {group} or a single token → (start, stop, next)."""
        i = self.skip(i, end)
        if i >= end:
            raise ParseError(f"'{what}' at the end of the formula has no argument", token=what)
        t = self.tokens[i]
        if t.text == "{" and t.category == "char":
            close = self.pairs[i]
            return i + 1, close, close + 1
        if t.category in ("letter", "digit", "cmd"):
            return i, i + 1, i + 1
        raise ParseError(f"{column(t)}: '{what}' is followed by {t.text!r}, not an argument", token=t.text)

    def source(self, start: int, stop: int) -> str:
        """The text of tokens ``start..stop`` as written."""
        start, stop = self.trim(start, stop)
        if start >= stop:
            return ""
        last = self.tokens[stop - 1]
        return self.text[self.tokens[start].pos : last.pos + len(last.text)].strip()

    def group_text(self, start: int, stop: int) -> str:
        """The tokens ``start..stop`` run together without spaces (``{(1)}`` → ``(1)``)."""
        return "".join(t.text for t in self.tokens[start:stop] if not _is_blank(t))

    def inner_start(self, opener: int) -> int:
        """The first index inside the bracket opened at ``opener`` (after ``\\left(``'s delimiter)."""
        return self.delimiter_index(opener) + 1 if self.tokens[opener].text == r"\left" else opener + 1

    def delimiter_index(self, i: int) -> int:
        """The delimiter after ``\\left`` or ``\\right`` at ``i``."""
        return _delimiter_after(self.tokens, i, self.tokens[i].text)

    def opener_text(self, opener: int) -> str:
        """The bracket itself: ``(`` for ``(`` and for ``\\left(``."""
        return self.tokens[self.delimiter_index(opener)].text if self.tokens[opener].text == r"\left" else self.tokens[opener].text

    def after_bracket(self, close: int, end: int) -> int:
        """The index after a closing bracket and its evaluation subscript ``_w``, if any."""
        j = self.delimiter_index(close) + 1 if self.tokens[close].text == r"\right" else close + 1
        k = self.skip(j, end)
        if k < end and self.tokens[k].text == "_" and self.tokens[k].category == "char":
            _, _, j = self.argument(k + 1, end, "_")
        return j

    def newlines(self, start: int, stop: int) -> list[int]:
        """The line breaks ``\\\\`` in ``start..stop`` outside any bracket."""
        out = []
        i = start
        while i < stop:
            if i in self.pairs and self.tokens[i].text != r"\right":
                i = self.pairs[i] + 1
                continue
            if self.tokens[i].category == "newline":
                out.append(i)
            i += 1
        return out
