"""Substituting steps into expressions, in time linear in the result, however deep it gets.

``expr.xreplace(mapping)`` rebuilds every node it changes by calling its class, which
runs sympy's evaluation on the new arguments, and on a deep argument that is not cheap:
a function call such as ``tanh(arg)`` asks ``arg.is_number`` and its sign, a power
``(h − y)²`` whether ``h − y`` is zero, and each walks ``arg`` to the bottom, uncached;
a product sorts its factors by comparing them from the top down. Substituting a chain
of n steps into one expression, each a function of the one before, thus costs n² or
more (28 s for 1,000 tanh steps) and recurses n deep (a RecursionError from about 300).

:func:`substitute` rebuilds bottom-up with an explicit stack, and evaluates each node
as xreplace does while its arguments are shallow; a node with an argument deeper than
:data:`EVALUATE_DEPTH` is built as written (``evaluate=False``), its arguments in the
order they had. The value is the same; only what evaluation would have tidied (a
factor order, ``tanh(−u)`` as ``−tanh(u)``) is left as it was, and only that deep down.

>>> import sympy
>>> x, h = sympy.symbols("x h")
>>> substitute(sympy.tanh(h) + h, {h: 2 * x})
2*x + tanh(2*x)
"""

from __future__ import annotations

from typing import Mapping

import sympy

__all__ = ["EVALUATE_DEPTH", "substitute"]

#: Function calls on arguments deeper than this are built without sympy's evaluation.
EVALUATE_DEPTH = 48


def substitute(expr: sympy.Expr, mapping: Mapping[sympy.Basic, sympy.Expr], depths: dict | None = None) -> sympy.Expr:
    """``expr.xreplace(mapping)``, without recursion and in linear time (see the module docstring).

    ``depths`` (expression -> nesting depth) may be shared between calls that substitute
    the same mapping, so that each replacement's depth is measured once.
    """
    depths = {} if depths is None else depths
    done: dict[sympy.Basic, sympy.Basic] = {}
    stack = [(expr, False)]
    while stack:
        node, expanded = stack.pop()
        if node in done:
            continue
        if node in mapping:
            done[node] = mapping[node]
            continue
        if not node.args:
            done[node] = node
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in done)
            continue
        args = tuple(done[a] for a in node.args)
        if args == node.args:
            done[node] = node
        elif max(_depth(a, depths) for a in args) > EVALUATE_DEPTH:
            done[node] = node.func(*args, evaluate=False)
        else:
            done[node] = node.func(*args)
    return done[expr]


def _depth(expr: sympy.Basic, depths: dict) -> int:
    """The nesting depth of ``expr`` (an atom is 0), measured without recursion and memoised."""
    if expr in depths:
        return depths[expr]
    stack = [expr]
    while stack:
        node = stack[-1]
        waiting = [a for a in node.args if a not in depths]
        if waiting:
            stack.extend(waiting)
            continue
        depths[node] = 1 + max((depths[a] for a in node.args), default=-1)
        stack.pop()
    return depths[expr]
