r"""What exactly is wrong with a refuted derivative claim.

The claim is compared, as numbers at the verifier's sample points, with variants of
the true derivative built from its chain-rule paths and their local factors (the
foundation keeps both): the derivative with its sign flipped, scaled by a constant,
with a path left out or added, with shared factors bracketed onto only some paths,
with one factor dropped, doubled, replaced by the activation instead of its
derivative, or with one variable swapped for another of its family. The first variant
the claim equals, point for point, is the diagnosis. Nothing here reads the claim's
text: two claims that are equal as functions get the same diagnosis however they
are written.

The checks run from the most global mistake to the most local, so that a claim that
is simply the negative of the truth is called a sign error, not "every path has a
wrong factor".

>>> import symgrad as sg
>>> from symgrad.verification.verify import verify
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> v = verify(net, "x1", r"4 x_2 (x_1 x_2 - 3)")
>>> v.mistake
'constant_factor'
"""

from __future__ import annotations

import bisect
import itertools
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Sequence

import sympy

from ..present.latex import expr_latex, name_latex

if TYPE_CHECKING:  # pragma: no cover
    from ..derive.sweep import ChainPath, Derivative

__all__ = ["Finding", "MISTAKES", "diagnose"]

#: The mistakes a diagnosis can name.
MISTAKES = (
    "sign",
    "constant_factor",
    "wrong_parameter",
    "missing_path",
    "extra_path",
    "bracket",
    "missing_factor",
    "extra_factor",
    "wrong_factor",
    "wrong_variable",
)

# Limits that keep a diagnosis well under a second on networks of a few dozen parameters; beyond
# them the costlier checks are skipped rather than slowing every verdict down.
_MAX_PATHS = 12
_MAX_SUBSET_PATHS = 6
_MAX_POOL = 600
_MAX_SWAPS = 3000


@dataclass(frozen=True)
class Finding:
    """A diagnosis: which mistake (one of :data:`MISTAKES`) and what it is, in words."""

    mistake: str
    message: str


def diagnose(derivative: "Derivative", claimed: Sequence, sample, *, rel_tol: float = 1e-20, abs_tol: float = 1e-20) -> Finding | None:
    """Explain why ``claimed`` (the claim's values at ``sample``'s points) is not ``derivative``.

    ``sample`` evaluates expressions at the points (``vec(expr)``, and
    ``vec_swapped(expr, old, new)`` with one symbol's values replaced by another's); two
    values agree when they differ by at most ``abs_tol + rel_tol·max(|a|, |b|)``.
    Returns None when no single mistake explains the claim.
    """
    if any(c is None for c in claimed):
        return None
    ctx = _Context(derivative, list(claimed), sample, rel_tol, abs_tol)
    if ctx.truth is None:
        return None
    for check in (_sign, _constant_factor, _wrong_parameter, _paths, _bracket, _factors, _substitution):
        found = check(ctx)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- vectors

Vec = list  # one value per sample point (mpmath numbers), or None when undefined somewhere


def _add(*vs: Vec | None) -> Vec | None:
    if any(v is None for v in vs):
        return None
    return [sum(xs) for xs in zip(*vs)]


def _sub(a: Vec | None, b: Vec | None) -> Vec | None:
    if a is None or b is None:
        return None
    return [x - y for x, y in zip(a, b)]


def _mul(*vs: Vec | None) -> Vec | None:
    if any(v is None for v in vs):
        return None
    out = list(vs[0])
    for v in vs[1:]:
        out = [x * y for x, y in zip(out, v)]
    return out


def _ratio(a: Vec | None, b: Vec | None) -> list | None:
    """a / b point by point, None at the points where b is 0 (they say nothing about a ratio)."""
    if a is None or b is None:
        return None
    return [x / y if x is not None and y is not None and abs(y) > 1e-25 else None for x, y in zip(a, b)]


class _Context:
    """The true derivative, its paths and factors, evaluated at the sample points."""

    def __init__(self, derivative: "Derivative", claimed: Vec, sample, rel_tol: float, abs_tol: float):
        self.d = derivative
        self.net = derivative.network
        self.param = derivative.param
        self.sweep = derivative.sweep
        self.claimed = claimed
        self.sample = sample
        self.rel_tol, self.abs_tol = rel_tol, abs_tol
        self._cache: dict[sympy.Expr, Vec | None] = {}
        self.truth = self.vec(derivative.factored)
        n_paths = self.sweep.path_count(self.param)
        self.paths: tuple["ChainPath", ...] = derivative.paths if n_paths <= _MAX_PATHS else ()
        self.path_vecs = [self.product(p.factors) for p in self.paths]

    def vec(self, expr) -> Vec | None:
        expr = sympy.sympify(expr)
        if expr not in self._cache:
            values = self.sample.vec(expr)
            self._cache[expr] = None if any(v is None for v in values) else values
        return self._cache[expr]

    def product(self, factors) -> Vec | None:
        return _mul(*[self.vec(f.value) for f in factors]) if factors else [1] * len(self.claimed)

    def without(self, k: int, skip) -> Vec | None:
        """Path ``k``'s term without the factors at positions ``skip``: a product of the
        others, never a division (a ReLU's step factor is 0 wherever the unit is dead)."""
        return self.product([f for j, f in enumerate(self.paths[k].factors) if j not in skip])

    def close(self, a, b) -> bool:
        return abs(a - b) <= self.abs_tol + self.rel_tol * max(abs(a), abs(b))

    def matches(self, v: Vec | None) -> bool:
        return v is not None and all(self.close(a, b) for a, b in zip(v, self.claimed))

    def is_zero(self, v: Vec | None) -> bool:
        return v is not None and all(self.close(a, 0) for a in v)

    def path_text(self, path: "ChainPath") -> str:
        return " → ".join(s.name for s in reversed(path.nodes))

    def derivative_name(self, p=None) -> str:
        p = self.param if p is None else p
        return f"∂{self.net.loss.name}/∂{p.name}"


def _tex(expr) -> str:
    return f"${expr_latex(sympy.sympify(expr))}$"


def _factor_tex(value) -> str:
    text = expr_latex(value)
    return f"$\\left({text}\\right)$" if sympy.sympify(value).is_Add else f"${text}$"


def _edge_text(of: sympy.Symbol, wrt: sympy.Symbol) -> str:
    return f"∂{of.name}/∂{wrt.name}"


def _paths_text(ctx: _Context, ks) -> str:
    return "; ".join(ctx.path_text(ctx.paths[k]) for k in ks)


def _term_tex(ctx: _Context, k: int) -> str:
    factors = [f.value for f in ctx.paths[k].factors if f.value != 1]
    return " \\cdot ".join(f"\\left({expr_latex(v)}\\right)" if v.is_Add else expr_latex(v) for v in factors) or "1"


# --------------------------------------------------------------------------- global mistakes


def _sign(ctx: _Context) -> Finding | None:
    if ctx.is_zero(ctx.truth):
        return None
    if ctx.matches([-t for t in ctx.truth]):
        hint = ""
        first = [p.factors[0].value for p in ctx.paths] if ctx.paths else []
        if first and all(f.is_Add for f in first):
            hint = f" (for example {_tex(-first[0])} written for {_tex(first[0])})"
        return Finding("sign", f"sign error: the claim is the negative of the true derivative{hint}.")
    for k, pv in enumerate(ctx.path_vecs if len(ctx.paths) > 1 else []):
        if ctx.matches(_sub(ctx.truth, _mul(pv, [2] * len(pv)))):
            return Finding(
                "sign",
                f"sign error in one term: the term of the chain-rule path {ctx.path_text(ctx.paths[k])}, "
                f"${_term_tex(ctx, k)}$, enters the claim with a minus sign.",
            )
    return None


def _nice(ctx: _Context, r) -> Fraction | None:
    """The simple fraction (denominator ≤ 12) the claim is of the truth, if there is one."""
    frac = Fraction(float(r)).limit_denominator(12)
    scaled = [t * frac.numerator / frac.denominator for t in ctx.truth]
    return frac if frac != 0 and ctx.matches(scaled) else None


def _constant_factor(ctx: _Context) -> Finding | None:
    if all(ctx.close(c, 0) for c in ctx.claimed) and not ctx.is_zero(ctx.truth):
        return Finding("missing_path", f"the claim is 0, but {ctx.param.name} does reach the loss: every chain-rule term is missing.")
    ratios = [r for r in _ratio(ctx.claimed, ctx.truth) if r is not None]
    if not ratios:
        return None
    r = ratios[0]
    if ctx.close(r, 1) or ctx.close(r, -1) or not ctx.matches([r * t for t in ctx.truth]):
        return None
    frac = _nice(ctx, r)
    if frac is None and len(ctx.claimed) == 1:
        return None  # one number is always some multiple of another: only a simple ratio explains it
    shown = str(frac) if frac is not None else sympy.nsimplify(float(r), rational=False)
    half = sympy.Rational(1, 2) in ctx.net.step_map[ctx.net.loss].atoms(sympy.Rational)
    if frac == 2:
        hint = " (the ½ in front of the loss cancels the 2 from differentiating the square)" if half else ""
        return Finding("constant_factor", f"constant factor: the claim is twice the true derivative, an extra factor 2{hint}.")
    if frac == Fraction(1, 2):
        return Finding("constant_factor", "constant factor: the claim is half the true derivative, a factor 2 is missing "
                       "(differentiating a square gives a factor 2).")
    return Finding("constant_factor", f"constant factor: the claim is {shown} times the true derivative.")


def _wrong_parameter(ctx: _Context) -> Finding | None:
    for q in ctx.net.params[:300]:
        if q == ctx.param:
            continue
        if ctx.matches(ctx.vec(ctx.sweep.factored[q])):
            return Finding(
                "wrong_parameter",
                f"wrong parameter: the claim is {ctx.derivative_name(q)}, the derivative with respect to {q.name} "
                f"(${name_latex(q.name)}$), not {ctx.param.name} (${name_latex(ctx.param.name)}$).",
            )
    return None


# --------------------------------------------------------------------------- paths


def _paths(ctx: _Context) -> Finding | None:
    m = len(ctx.paths)
    if m >= 2:
        for size in range(m - 1, 0, -1):
            for kept in itertools.combinations(range(m), size):
                if ctx.matches(_add(*[ctx.path_vecs[k] for k in kept])):
                    missing = [k for k in range(m) if k not in kept]
                    terms = " + ".join(f"${_term_tex(ctx, k)}$" for k in missing)
                    return Finding(
                        "missing_path",
                        f"missing chain-rule path: {ctx.param.name} reaches the loss by {m} paths and each contributes a term, "
                        f"but the claim leaves out {'the path' if len(missing) == 1 else 'the paths'} {_paths_text(ctx, missing)} "
                        f"(the term {terms}).",
                    )
    for q, path, pv in _all_paths(ctx):
        if ctx.matches(_add(ctx.truth, pv)):
            where = (
                "counted twice" if q == ctx.param
                else f"the path {' → '.join(s.name for s in reversed(path.nodes))}, which belongs to {q.name}, not {ctx.param.name}"
            )
            term = " \\cdot ".join(_factor_tex(f.value).strip("$") for f in path.factors if f.value != 1) or "1"
            return Finding("extra_path", f"extra chain-rule term: the claim adds ${term}$, {where}.")
    return None


def _all_paths(ctx: _Context):
    """Every chain-rule path of every parameter (as long as they are few), with its value."""
    budget = 300
    for q in ctx.net.params:
        if ctx.sweep.path_count(q) > _MAX_PATHS:
            continue
        for path in ctx.sweep.paths(q):
            budget -= 1
            if budget < 0:
                return
            pv = ctx.product(path.factors)
            if pv is not None:
                yield q, path, pv


# --------------------------------------------------------------------------- brackets


def _edges(path: "ChainPath") -> list[tuple[sympy.Symbol, sympy.Symbol]]:
    return [(f.of, f.wrt) for f in path.factors]


def _bracket(ctx: _Context) -> Finding | None:
    m = len(ctx.paths)
    if 2 <= m <= _MAX_SUBSET_PATHS:
        found = _shared_factors_on_some_paths(ctx) or _factor_spread_to_other_paths(ctx)
        if found:
            return found
    return _sum_without_brackets(ctx)


def _edge_values(ctx: _Context) -> dict:
    return {(f.of, f.wrt): f.value for p in ctx.paths for f in p.factors}


def _shared_factors_on_some_paths(ctx: _Context) -> Finding | None:
    """A common slip: factors common to every path, e.g. g'(u_2)·i_1 in ∂Loss/∂w_1, written
    after the last term only, so that they multiply that term and not the whole sum."""
    m = len(ctx.paths)
    values = _edge_values(ctx)
    common = [e for e in _edges(ctx.paths[0]) if all(e in _edges(p) for p in ctx.paths[1:]) and values[e] != 1]
    for size in range(len(common), 0, -1):
        for shared in itertools.combinations(common[:6], size):
            bare = [ctx.without(k, {j for j, e in enumerate(_edges(ctx.paths[k])) if e in shared}) for k in range(m)]
            for n_keep in range(m - 1, 0, -1):
                for keep in itertools.combinations(range(m), n_keep):
                    terms = [ctx.path_vecs[k] if k in keep else bare[k] for k in range(m)]
                    if ctx.matches(_add(*terms)):
                        factors = " \\cdot ".join(_factor_tex(values[e]).strip("$") for e in shared)
                        lacking = [k for k in range(m) if k not in keep]
                        return Finding(
                            "bracket",
                            f"misplaced bracket: ${factors}$ is shared by {'both' if m == 2 else f'all {m}'} chain-rule paths, so it must multiply the whole "
                            f"sum of their terms, [ … + … ]·${factors}$; the claim's brackets apply it only to the "
                            f"{'term' if n_keep == 1 else 'terms'} of {_paths_text(ctx, keep)}, and not to {_paths_text(ctx, lacking)}.",
                        )
    return None


def _factor_spread_to_other_paths(ctx: _Context) -> Finding | None:
    """A factor of one path written outside a bracket, so that it multiplies the other terms too."""
    m = len(ctx.paths)
    for k, path in enumerate(ctx.paths):
        for f in path.factors:
            if all((f.of, f.wrt) in _edges(p) for p in ctx.paths) or f.value == 1:
                continue
            fv = ctx.vec(f.value)
            terms = [ctx.path_vecs[i] if i == k or (f.of, f.wrt) in _edges(ctx.paths[i]) else _mul(ctx.path_vecs[i], fv) for i in range(m)]
            if ctx.matches(_add(*terms)):
                return Finding(
                    "bracket",
                    f"misplaced bracket: the factor {_factor_tex(f.value)} ({_edge_text(f.of, f.wrt)}) belongs only to the term of "
                    f"{ctx.path_text(path)}, but the claim's brackets make it multiply the other chain-rule terms as well.",
                )
    return None


def _sum_without_brackets(ctx: _Context) -> Finding | None:
    """A sum factor such as (f̂_1 − f_1) written without its brackets, so that only some of
    its terms are multiplied by the rest of the product."""
    paths = ctx.paths or ()
    for k, path in enumerate(paths):
        for j, f in enumerate(path.factors):
            pieces = [f.value] if f.value.is_Add else [a for a in sympy.Mul.make_args(f.value) if a.is_Add]
            for piece in pieces:
                terms = list(sympy.Add.make_args(piece))
                if not 2 <= len(terms) <= 4:
                    continue
                rest = _mul(ctx.without(k, {j}), ctx.vec(sympy.Mul(*[a for a in sympy.Mul.make_args(f.value) if a != piece])))
                for size in range(1, len(terms)):
                    for alone in itertools.combinations(range(len(terms)), size):
                        unbracketed = _add(
                            *[ctx.vec(terms[i]) for i in alone],
                            _mul(_add(*[ctx.vec(terms[i]) for i in range(len(terms)) if i not in alone]), rest),
                        )
                        if ctx.matches(_add(_sub(ctx.truth, ctx.path_vecs[k]), unbracketed)):
                            return Finding(
                                "bracket",
                                f"missing brackets: {_factor_tex(piece)} must be multiplied as a whole, but in the claim only "
                                f"{_tex(sympy.Add(*[terms[i] for i in range(len(terms)) if i not in alone]))} is multiplied by the rest "
                                f"of the term and {_tex(sympy.Add(*[terms[i] for i in alone]))} stands alone.",
                            )
    return None


# --------------------------------------------------------------------------- factors


@dataclass
class _Group:
    """Occurrences of one factor (an edge, or a role such as 'the output layer's σ'') on some paths."""

    where: list[tuple[int, int]]  # (path, factor position)
    label: str


def _groups(ctx: _Context) -> list[_Group]:
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


def _factors(ctx: _Context) -> Finding | None:
    if not ctx.paths:
        return None
    views = [_GroupView(ctx, group) for group in _groups(ctx)]
    views = [v for v in views if v.usable]
    # A factor dropped, or written as its activation, names the mistake most exactly: first.
    for view in views:
        found = _dropped_or_activation(ctx, view)
        if found:
            return found
    pool = _Pool(ctx)
    extra = pool.find(_ratio(ctx.claimed, ctx.truth), lambda w: ctx.matches(_mul(ctx.truth, w)))
    if extra is not None:
        return Finding("extra_factor", f"extra factor: the claim is the true derivative times {_tex(extra)}.")
    for view in views:
        found = _replaced(ctx, view, pool)
        if found:
            return found
    return None


class _Pool:
    """Expressions a hand derivation might put in a factor's place (every symbol of the
    network and every local derivative), sorted by their value at the first point so
    that a vector is looked up by bisection instead of compared with all of them."""

    def __init__(self, ctx: _Context):
        net = ctx.net
        exprs: list = list(net.params) + list(net.inputs) + list(net.targets) + [st.target for st in net.steps]
        for edges in ctx.sweep.edges.values():
            for _, value in edges:
                exprs.append(value)
                exprs += [a for a in sympy.Mul.make_args(value) if not a.is_number]
        self.ctx = ctx
        entries = {}
        for e in exprs:
            if e in entries or e.is_number or len(entries) >= _MAX_POOL:
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


def _activation_of(ctx: _Context, of: sympy.Symbol, wrt: sympy.Symbol) -> bool:
    expr = ctx.net.step_map.get(of)
    return isinstance(expr, sympy.Function) and len(expr.args) == 1 and expr.args[0] == wrt


def _family(s: sympy.Symbol) -> str:
    return re.sub(r"\d+", "#", s.name)


def _describe(ctx: _Context, group: _Group) -> tuple[str, str]:
    """Words for a group of factors, and the verb form that agrees with them."""
    f = ctx.paths[group.where[0][0]].factors[group.where[0][1]]
    if group.label == "role":
        edges = ", ".join(sorted({_edge_text(ctx.paths[k].factors[j].of, ctx.paths[k].factors[j].wrt) for k, j in group.where}))
        return f"the factors {edges} (one in each chain-rule term)", "are"
    where = ""
    if group.label == "one":
        where = f" in the term of {ctx.path_text(ctx.paths[group.where[0][0]])}"
    return f"the factor {_factor_tex(f.value)} ({_edge_text(f.of, f.wrt)}){where}", "is"


def _swapped_symbol(value: sympy.Expr, other: sympy.Expr):
    """``(s, t)`` when ``other`` is ``value`` with one symbol s replaced by another t of its family."""
    for s in value.free_symbols:
        for t in other.free_symbols - value.free_symbols:
            if _family(s) == _family(t) and value.xreplace({s: t}) == other:
                return s, t
    return None


class _GroupView:
    """One group of factors, with the rest of the derivative evaluated around it."""

    def __init__(self, ctx: _Context, group: _Group):
        self.group = group
        self.factors = [ctx.paths[k].factors[j] for k, j in group.where]
        self.usable = all(f.value != 1 for f in self.factors)
        inside = _add(*[ctx.path_vecs[k] for k, _ in group.where])
        self.outside = _sub(ctx.truth, inside)  # the terms this group is not in
        self.rests = [ctx.without(k, {j}) for k, j in group.where]  # its terms without it
        self.what, self.verb = _describe(ctx, group)
        # one factor, the same in every term it is in (not a role played by different factors)
        self.single = group.label != "role" and len({f.value for f in self.factors}) == 1

    def replaced_by(self, new_vecs) -> Vec | None:
        """The derivative with this group's factors replaced by ``new_vecs``."""
        return _add(self.outside, *[_mul(rest, nv) for rest, nv in zip(self.rests, new_vecs)])


def _dropped_or_activation(ctx: _Context, view: _GroupView) -> Finding | None:
    factors, what, verb = view.factors, view.what, view.verb
    if ctx.matches(view.replaced_by([[1] * len(ctx.claimed)] * len(factors))):
        return Finding("missing_factor", f"missing factor: {what} {verb} left out.")
    if all(_activation_of(ctx, f.of, f.wrt) for f in factors) and ctx.matches(view.replaced_by([ctx.vec(f.of) for f in factors])):
        f = factors[0]
        several = len({(g.of, g.wrt) for g in factors}) > 1
        return Finding(
            "wrong_factor",
            f"activation written for its derivative: where the claim should have the derivative {_tex(f.value)} "
            f"(∂{f.of.name}/∂{f.wrt.name}{', and its like in each term' if several else ''}), "
            f"it has the activation itself, {_tex(ctx.net.step_map[f.of])} (σ written for σ').",
        )
    if not view.single:
        return None
    args = sympy.Mul.make_args(factors[0].value)
    for piece in args if len(args) > 1 else ():
        rest_of_factor = ctx.vec(sympy.Mul(*[a for a in args if a != piece]))
        if ctx.matches(view.replaced_by([rest_of_factor] * len(factors))):
            if piece.is_number:
                return Finding("missing_factor", f"missing factor: the constant {_tex(piece)} of {what} is left out.")
            return Finding("missing_factor", f"missing factor: part of {what}, {_factor_tex(piece)}, is left out.")
    return None


def _replaced(ctx: _Context, view: _GroupView, pool: _Pool) -> Finding | None:
    """Something else in the factor's place: solve for it, and look it up among the network's expressions."""
    if not view.single:
        return None
    value = view.factors[0].value
    fvec = ctx.vec(value)
    n = len(view.factors)
    stand_in = _ratio(_sub(ctx.claimed, view.outside), _add(*view.rests))
    expr = pool.find(stand_in, lambda w: ctx.matches(view.replaced_by([w] * n)), exclude=(value,))
    if expr is not None:
        swap = _swapped_symbol(value, expr)
        if swap is not None:
            s, t = swap
            return Finding("wrong_variable", f"wrong index or variable: the claim has {_tex(t)} where {_tex(s)} belongs, in {view.what}.")
        return Finding("wrong_factor", f"wrong factor: {view.what} {view.verb} replaced by {_tex(expr)}.")
    expr = pool.find(_ratio(stand_in, fvec) if stand_in else None, lambda w: ctx.matches(view.replaced_by([_mul(fvec, w)] * n)))
    if expr is not None:
        return Finding("extra_factor", f"extra factor: {view.what} {view.verb} multiplied by an extra {_tex(expr)}.")
    return None


# --------------------------------------------------------------------------- swapped variables


def _substitution(ctx: _Context) -> Finding | None:
    """One symbol swapped for another of its family (w_7 for w_8, u_1 for u_3, W⁽²⁾₁₂ for W⁽²⁾₂₁)."""
    net = ctx.net
    groups = [tuple(net.params), tuple(net.inputs), tuple(net.targets), tuple(st.target for st in net.steps)]
    family_of: dict[sympy.Symbol, list[sympy.Symbol]] = {}
    for group in groups:
        by_pattern: dict[str, list] = {}
        for s in group:
            by_pattern.setdefault(_family(s), []).append(s)
        for members in by_pattern.values():
            for s in members:
                family_of[s] = [t for t in members if t != s]
    budget = _MAX_SWAPS
    truth = ctx.d.factored
    for s in sorted(truth.free_symbols, key=lambda x: x.name):
        for t in family_of.get(s, []):
            budget -= 1
            if budget < 0:
                return None
            if ctx.matches(ctx.sample.vec_swapped(truth, s, t)):
                return Finding("wrong_variable", f"wrong index or variable: the claim has {_tex(t)} where {_tex(s)} belongs.")
    # The same, inside one chain-rule term only.
    for k, path in enumerate(ctx.paths):
        for j, f in enumerate(path.factors):
            rest = ctx.without(k, {j})
            for s in sorted(f.value.free_symbols, key=lambda x: x.name):
                for t in family_of.get(s, []):
                    budget -= 1
                    if budget < 0:
                        return None
                    swapped = _add(_sub(ctx.truth, ctx.path_vecs[k]), _mul(rest, ctx.sample.vec_swapped(f.value, s, t)))
                    if ctx.matches(swapped):
                        return Finding(
                            "wrong_variable",
                            f"wrong index or variable: in the term of {ctx.path_text(path)}, the factor {_factor_tex(f.value)} "
                            f"({_edge_text(f.of, f.wrt)}) has {_tex(t)} where {_tex(s)} belongs.",
                        )
    return None
