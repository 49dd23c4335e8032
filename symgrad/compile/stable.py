"""Numerically stable code forms of a network's steps.

The derived formulas stay textbook: a network that writes ``log(o)`` with
``o = σ(u)`` keeps that form in its derivation and its LaTeX. Code is different:
evaluated as written, ``log σ(u)`` is ``log 0 = −∞`` once σ(u) underflows, and its
derivative as the sweep writes it, (1/σ)·σ(1 − σ), is ``∞·0 = NaN``. So before
code generation the *steps* are rewritten into equal expressions that stay
finite, and then differentiated again by the same reverse sweep, which makes the
adjoints stable too (the derivative of −softplus(−u) is σ(−u), finite everywhere).

The rewrites, each an identity on the reals, look through step symbols (``log(o)``
where ``o`` is a step ``o = σ(u)``):

* ``log σ(u)        → −softplus(−u)``  (log-sigmoid)
* ``log(1 − σ(u))   → −softplus(u)``   (the other half of binary cross-entropy)
* ``log e^z         → z``              (log of a softmax output ``e^(u_k − lse)``)

The one-function stable forms (σ from e^(−|u|), softplus, log-sum-exp shifted by
its maximum) are the printer's job (``symgrad.compile.printer``), not this module's.

>>> from symgrad import Network
>>> net = Network.from_equations("o = sigmoid(w*x); L = -y*log(o) - (1 - y)*log(1 - o)",
...                              params="w", inputs="x", targets="y")
>>> print(stabilize(net))
L = y*softplus(-w*x) + (1 - y)*softplus(w*x)
"""

from __future__ import annotations

import warnings

import sympy

from ..errors import UnusedParameterWarning
from ..model.functions import kind_of, softplus
from ..model.network import Network
from ..model.step import Step

__all__ = ["stabilize"]


def stabilize(net: Network) -> Network:
    """``net`` with every log-of-sigmoid and log-of-exp rewritten into a stable form.

    Returns ``net`` itself when no rule applies, so that the caller can reuse its
    already derived gradients. Steps the rewritten loss no longer needs (a sigmoid
    output used only inside a log) are dropped.

    >>> from symgrad import Network
    >>> net = Network.from_expr("log(sigmoid(w))", params="w")
    >>> print(stabilize(net))
    f = -softplus(-w)
    >>> plain = Network.from_expr("(w - 1)**2", params="w")
    >>> stabilize(plain) is plain
    True
    """
    definitions = {st.target: st.expr for st in net.steps}
    steps = [Step(st.target, _rewrite(st.expr, definitions), st.line) for st in net.steps]
    if all(new.expr == old.expr for new, old in zip(steps, net.steps)):
        return net
    with warnings.catch_warnings():
        # The rewrites are identities, so no parameter can drop out; if sympy ever
        # simplified one away, its gradient is still correctly 0 and the user's own
        # network has already warned about it.
        warnings.simplefilter("ignore", UnusedParameterWarning)
        return Network(
            steps,
            params=net.params,
            inputs=net.inputs,
            targets=net.targets,
            loss=net.loss,
            name=net.name,
        )


def _rewrite(expr: sympy.Expr, definitions: dict) -> sympy.Expr:
    def is_log(e) -> bool:
        return isinstance(e, sympy.Function) and kind_of(type(e)) == "log"

    def stable(e):
        replaced = _stable_log(e.args[0], definitions)
        return e if replaced is None else replaced

    return expr.replace(is_log, stable)


def _definition(e: sympy.Expr, definitions: dict) -> sympy.Expr:
    """The expression a step symbol stands for; anything else is itself."""
    return definitions.get(e, e) if e.is_Symbol else e


def _is_kind(e: sympy.Expr, kind: str) -> bool:
    return isinstance(e, sympy.Function) and kind_of(type(e)) == kind


def _stable_log(argument: sympy.Expr, definitions: dict) -> sympy.Expr | None:
    """A stable equal of ``log(argument)``, or None when no rule applies."""
    inner = _definition(argument, definitions)
    if _is_kind(inner, "sigmoid"):  # log σ(u) = −log(1 + e^(−u))
        return -softplus(-inner.args[0])
    if _is_kind(inner, "exp"):
        return inner.args[0]
    # log(1 − σ(u)) = log σ(−u) = −softplus(u)
    if argument.is_Add and len(argument.args) == 2 and sympy.S.One in argument.args:
        rest = argument.args[0] if argument.args[1] == sympy.S.One else argument.args[1]
        inner = _definition(-rest, definitions)
        if _is_kind(inner, "sigmoid"):
            return -softplus(inner.args[0])
    return None
