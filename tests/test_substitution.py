"""Substitution: xreplace's result on shallow expressions, linear time and no recursion on deep ones."""

from __future__ import annotations

import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from symgrad.model import functions as fn
from symgrad.model.substitution import EVALUATE_DEPTH, substitute

a, b, c = sympy.symbols("a b c", real=True)
_leaves = st.sampled_from([a, b, c, sympy.Integer(2), sympy.Rational(-1, 2)])
_exprs = st.recursive(
    _leaves,
    lambda e: st.one_of(
        st.tuples(e, e).map(lambda p: p[0] + p[1]), st.tuples(e, e).map(lambda p: p[0] * p[1]), st.tuples(e, e).map(lambda p: p[0] - p[1]),
        e.map(sympy.tanh), e.map(fn.sigmoid), e.map(sympy.exp), e.map(lambda x: x**2), e.map(lambda x: 1 / (1 + x**2)),
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(_exprs, _exprs, _exprs)
def test_equals_xreplace_on_shallow_expressions(expr, for_a, for_b):
    mapping = {a: for_a, b: for_b}
    assert sympy.srepr(substitute(expr, mapping)) == sympy.srepr(expr.xreplace(mapping))


def _chain(n):
    h = sympy.symbols(f"h1:{n + 1}", real=True)
    steps = {h[0]: sympy.tanh(a)}
    steps.update({h[k]: sympy.tanh(h[k - 1]) for k in range(1, n)})
    return h, steps


def _substitute_all(steps):
    full, depths = {}, {}
    for s, e in steps.items():
        full[s] = substitute(e, full, depths)
    return full


def _evaluation_work(steps, monkeypatch) -> tuple[dict, int]:
    """The substituted chain, and how many times sympy's evaluation asked a node whether it
    is a number: the walk that, done on every deep argument, made xreplace quadratic."""
    is_number = sympy.Expr.__dict__["is_number"]
    asked = [0]

    def counted(self):
        asked[0] += 1
        return is_number.fget(self)

    sympy.core.cache.clear_cache()
    monkeypatch.setattr(sympy.Expr, "is_number", property(counted))
    full = _substitute_all(steps)
    monkeypatch.setattr(sympy.Expr, "is_number", is_number)
    return full, asked[0]


def test_a_chain_substitutes_in_linear_time_without_recursion(monkeypatch):
    # Work counted, not timed: evaluating every node of the chain (no depth limit) asks
    # 76,642 times for 150 steps and recurses too deep at 300; linear work grows at most
    # 4x from 1,000 steps to 4,000.
    h, steps = _chain(4000)
    _, quarter = _evaluation_work(dict(list(steps.items())[:1000]), monkeypatch)
    full, whole = _evaluation_work(steps, monkeypatch)
    assert whole <= 4 * quarter and whole < 50_000, (quarter, whole)
    value = sympy.Float(0.3)
    for _ in range(4000):
        value = sympy.tanh(value)
    assert substitute(full[h[-1]], {a: sympy.Float(0.3)}) == value


def test_deep_nodes_are_built_as_written_with_the_same_value():
    h, steps = _chain(EVALUATE_DEPTH + 5)
    full = _substitute_all(steps)
    deep = full[h[-1]]
    negated = substitute(sympy.tanh(b), {b: -deep})
    assert negated.func is sympy.tanh and negated.args[0].could_extract_minus_sign()  # not rewritten as -tanh(...)
    point = {a: sympy.Float(0.4)}
    assert float(substitute(negated, point)) == -float(sympy.tanh(substitute(deep, point)))
