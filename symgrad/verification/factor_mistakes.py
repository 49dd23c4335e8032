"""Mistakes in one factor of a chain-rule term: left out, doubled, the activation written for
its derivative, or replaced by another expression of the network.

A group of factors (one edge of the computation graph, or one role played on every
path, such as "the output layer's σ'") is replaced, in the true derivative, by each
candidate, and the claim is compared with the result at the sample points.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

import sympy

from .mistakes import MAX_POOL, Context, Finding, Vec, add, edge_text, factor_tex, mul, ratio, slip_name, sub, tex

__all__ = ["factors", "family"]

# --------------------------------------------------------------------------- factors


@dataclass
class _Group:
    """Occurrences of one factor (an edge, or a role such as 'the output layer's σ'') on some paths."""

    where: list[tuple[int, int]]  # (path, factor position)
    label: str


def _groups(ctx: Context) -> list[_Group]:
    groups: list[_Group] = []
    seen_edges: dict = {}
    for k, path in enumerate(ctx.paths):
        for j, f in enumerate(path.factors):
            seen_edges.setdefault((f.of, f.wrt), []).append((k, j))
    for edge, where in seen_edges.items():
        groups.append(_Group(where, "edge"))
    if len(ctx.paths) > 1:
        for where in seen_edges.values():
            if len(where) > 1:
                groups += [_Group([w], "one") for w in where]
        lengths = {len(p.factors) for p in ctx.paths}
        if len(lengths) == 1:
            for j in range(lengths.pop()):
                where = [(k, j) for k in range(len(ctx.paths))]
                if len({(ctx.paths[k].factors[j].of, ctx.paths[k].factors[j].wrt) for k, _ in where}) > 1:
                    groups.append(_Group(where, "role"))
    return groups


def factors(ctx: Context) -> Finding | None:
    if not ctx.paths:
        return None
    views = [_GroupView(ctx, group) for group in _groups(ctx)]
    views = [v for v in views if v.usable]
    # A factor dropped, or written as its activation, names the mistake most exactly: first.
    for view in views:
        found = _dropped_or_activation(ctx, view)
        if found:
            return found
    found = _every_activation(ctx)
    if found:
        return found
    pool = _Pool(ctx)
    extra = pool.find(ratio(ctx.claimed, ctx.truth), lambda w: ctx.matches(mul(ctx.truth, w)))
    if extra is not None:
        return Finding("extra_factor", f"extra factor: the claim is the true derivative times {tex(extra)}.")
    for view in views:
        found = _replaced(ctx, view, pool)
        if found:
            return found
    return None


def _missing_part(ctx: Context, f) -> str:
    """For a sigmoid: σ' = σ(1 − σ), so σ for σ' is a missing (1 − σ)."""
    from ..model import functions as fn

    return ": the factor (1 − σ) is missing" if fn.kind_of(type(ctx.net.step_map[f.of])) == "sigmoid" else ""


def _every_activation(ctx: Context) -> Finding | None:
    """The activation's derivative slipped at every activation of every path at once:
    σ written for σ' everywhere (all the (1 − σ) factors missing), or σ' left out everywhere."""
    places = [(k, j) for k, p in enumerate(ctx.paths) for j, f in enumerate(p.factors) if _activation_of(ctx, f.of, f.wrt)]
    if len({(ctx.paths[k].factors[j].of, ctx.paths[k].factors[j].wrt) for k, j in places}) < 2:
        return None  # one activation: the per-factor checks name it
    for how in ("activation", "dropped"):
        terms = []
        for k, path in enumerate(ctx.paths):
            vecs = []
            for j, f in enumerate(path.factors):
                if (k, j) not in places:
                    vecs.append(ctx.vec(f.value))
                elif how == "activation":
                    vecs.append(ctx.vec(f.of))
            terms.append(mul(*vecs) if vecs else [1] * len(ctx.claimed))
        if ctx.matches(add(*terms)):
            n = len({(ctx.paths[k].factors[j].of) for k, j in places})
            if how == "activation":
                sigmoid = _missing_part(ctx, ctx.paths[places[0][0]].factors[places[0][1]])
                return Finding("wrong_factor", f"activation written for its derivative at every activation ({n} of them): "
                               f"σ written for σ' throughout{sigmoid.replace('the factor (1 − σ) is', 'the factors (1 − σ) are')}.")
            return Finding("missing_factor", f"missing factor: the derivative of the activation is left out at every activation ({n} of them).")
    return None


class _Pool:
    """Expressions a hand derivation might put in a factor's place (every symbol of the
    network and every local derivative), sorted by their value at the first point so
    that a vector is looked up by bisection instead of compared with all of them."""

    def __init__(self, ctx: Context):
        net = ctx.net
        exprs: list = list(net.params) + list(net.inputs) + list(net.targets) + [st.target for st in net.steps]
        for edges in ctx.sweep.edges.values():
            for _, value in edges:
                exprs.append(value)
                exprs += [a for a in sympy.Mul.make_args(value) if not a.is_number]
        self.ctx = ctx
        entries = {}
        for e in exprs:
            if e in entries or e.is_number or len(entries) >= MAX_POOL:
                continue
            v = ctx.vec(e)
            if v is not None:
                entries[e] = v
        self.items = sorted(entries.items(), key=lambda item: float(item[1][0]))
        self.keys = [float(v[0]) for _, v in self.items]

    def find(self, v: list | None, confirm, exclude=()) -> sympy.Expr | None:
        """An expression whose values are ``v`` (None entries: any value), for which
        ``confirm(expr_values)`` holds; None if there is none."""
        if v is None or all(x is None for x in v):
            return None
        if v[0] is None:
            candidates = self.items
        else:
            x = float(v[0])
            window = self.ctx.abs_tol + (self.ctx.rel_tol + 1e-12) * abs(x) + 1e-300
            candidates = self.items[bisect.bisect_left(self.keys, x - window) : bisect.bisect_right(self.keys, x + window)]
        for expr, w in candidates:
            if expr in exclude or not all(a is None or self.ctx.close(a, b) for a, b in zip(v, w)):
                continue
            if confirm(w):
                return expr
        return None


def _activation_of(ctx: Context, of: sympy.Symbol, wrt: sympy.Symbol) -> bool:
    expr = ctx.net.step_map.get(of)
    return isinstance(expr, sympy.Function) and len(expr.args) == 1 and expr.args[0] == wrt


def family(s: sympy.Symbol) -> str:
    return re.sub(r"\d+", "#", s.name)


def _describe(ctx: Context, group: _Group) -> tuple[str, str]:
    """Words for a group of factors, and the verb form that agrees with them."""
    f = ctx.paths[group.where[0][0]].factors[group.where[0][1]]
    if group.label == "role":
        edges = ", ".join(sorted({edge_text(ctx.paths[k].factors[j].of, ctx.paths[k].factors[j].wrt) for k, j in group.where}))
        return f"the factors {edges} (one in each chain-rule term)", "are"
    where = ""
    if group.label == "one":
        where = f" in the term of {ctx.path_text(ctx.paths[group.where[0][0]])}"
    return f"the factor {factor_tex(f.value)} ({edge_text(f.of, f.wrt)}){where}", "is"


def _swapped_symbol(value: sympy.Expr, other: sympy.Expr):
    """``(s, t)`` when ``other`` is ``value`` with one symbol s replaced by another t of its family."""
    for s in value.free_symbols:
        for t in other.free_symbols - value.free_symbols:
            if family(s) == family(t) and value.xreplace({s: t}) == other:
                return s, t
    return None


class _GroupView:
    """One group of factors, with the rest of the derivative evaluated around it."""

    def __init__(self, ctx: Context, group: _Group):
        self.group = group
        self.factors = [ctx.paths[k].factors[j] for k, j in group.where]
        self.usable = all(f.value != 1 for f in self.factors)
        inside = add(*[ctx.path_vecs[k] for k, _ in group.where])
        self.outside = sub(ctx.truth, inside)  # the terms this group is not in
        self.rests = [ctx.without(k, {j}) for k, j in group.where]  # its terms without it
        self.what, self.verb = _describe(ctx, group)
        # one factor, the same in every term it is in (not a role played by different factors)
        self.single = group.label != "role" and len({f.value for f in self.factors}) == 1

    def replaced_by(self, new_vecs) -> Vec | None:
        """The derivative with this group's factors replaced by ``new_vecs``."""
        return add(self.outside, *[mul(rest, nv) for rest, nv in zip(self.rests, new_vecs)])


def _dropped_or_activation(ctx: Context, view: _GroupView) -> Finding | None:
    factors, what, verb = view.factors, view.what, view.verb
    if ctx.matches(view.replaced_by([[1] * len(ctx.claimed)] * len(factors))):
        return Finding("missing_factor", f"missing factor: {what} {verb} left out.")
    if all(_activation_of(ctx, f.of, f.wrt) for f in factors) and ctx.matches(view.replaced_by([ctx.vec(f.of) for f in factors])):
        f = factors[0]
        several = len({(g.of, g.wrt) for g in factors}) > 1
        return Finding(
            "wrong_factor",
            f"activation written for its derivative: where the claim should have the derivative {tex(f.value)} "
            f"(∂{f.of.name}/∂{f.wrt.name}{', and its like in each term' if several else ''}), "
            f"it has the activation itself, {tex(ctx.net.step_map[f.of])} (σ written for σ'{_missing_part(ctx, f)}).",
        )
    if not view.single:
        return None
    args = sympy.Mul.make_args(factors[0].value)
    for piece in args if len(args) > 1 else ():
        rest_of_factor = ctx.vec(sympy.Mul(*[a for a in args if a != piece]))
        if ctx.matches(view.replaced_by([rest_of_factor] * len(factors))):
            if piece.is_number:
                return Finding("missing_factor", f"missing factor: the constant {tex(piece)} of {what} is left out.")
            return Finding("missing_factor", f"missing factor: part of {what}, {factor_tex(piece)}, is left out.")
    return None


def _replaced(ctx: Context, view: _GroupView, pool: _Pool) -> Finding | None:
    """Something else in the factor's place: solve for it, and look it up among the network's expressions."""
    if not view.single:
        return None
    value = view.factors[0].value
    fvec = ctx.vec(value)
    n = len(view.factors)
    stand_in = ratio(sub(ctx.claimed, view.outside), add(*view.rests))
    expr = pool.find(stand_in, lambda w: ctx.matches(view.replaced_by([w] * n)), exclude=(value,))
    if expr is not None:
        swap = _swapped_symbol(value, expr)
        if swap is not None:
            s, t = swap
            return Finding("wrong_variable", f"{slip_name(s, t)}: the claim has {tex(t)} where {tex(s)} belongs, in {view.what}.")
        return Finding("wrong_factor", f"wrong factor: {view.what} {view.verb} replaced by {tex(expr)}.")
    expr = pool.find(ratio(stand_in, fvec) if stand_in else None, lambda w: ctx.matches(view.replaced_by([mul(fvec, w)] * n)))
    if expr is not None:
        return Finding("extra_factor", f"extra factor: {view.what} {view.verb} multiplied by an extra {tex(expr)}.")
    return None


