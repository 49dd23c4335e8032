"""The exceptions and warnings symgrad raises.

Every error a user can cause derives from :class:`SymgradError`, and its message
names the offending token, line or shape, so that a caller never has to read a
sympy or numba traceback to find out what was wrong with the input.
"""

from __future__ import annotations


class SymgradError(Exception):
    """Base class of every error caused by bad input to symgrad.

    ``token`` and ``line`` (1-based), when known, say where the problem is.
    """

    def __init__(self, message: str, *, token: str | None = None, line: int | None = None):
        super().__init__(message)
        self.token = token
        self.line = line


class ParseError(SymgradError):
    """Text (equations, an expression, LaTeX) that cannot be read."""


class UnknownSymbolError(SymgradError):
    """A name that is not declared where it is used."""


class CycleError(SymgradError):
    """A step that depends on itself, or a name assigned twice."""


class LossError(SymgradError):
    """A missing, ambiguous or non-scalar loss."""


class ShapeError(SymgradError):
    """An array or a layer specification of the wrong size or shape."""


class SpecError(SymgradError):
    """A spec file (TOML) that is missing, unreadable or incomplete."""


class UnusedParameterWarning(UserWarning):
    """A declared parameter that the loss does not depend on."""
