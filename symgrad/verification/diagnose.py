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

import itertools
from fractions import Fraction
from typing import TYPE_CHECKING, Sequence

import sympy

from ..present.latex import name_latex
from .factor_mistakes import factors, family
from .mistakes import (
    MAX_PATHS,
    MAX_SUBSET_PATHS,
    MAX_SWAPS,
    MISTAKES,
    Context,
    Finding,
    add,
    edge_text,
    factor_tex,
    mul,
    paths_text,
    ratio,
    slip_name,
    sub,
    term_tex,
    tex,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..derive.sweep import ChainPath, Derivative

__all__ = ["Finding", "MISTAKES", "diagnose"]

def diagnose(derivative: "Derivative", claimed: Sequence, sample, *, rel_tol: float = 1e-20, abs_tol: float = 1e-20) -> Finding | None:
    """Explain why ``claimed`` (the claim's values at ``sample``'s points) is not ``derivative``.

    ``sample`` evaluates expressions at the points (``vec(expr)``, and
    ``vec_swapped(expr, old, new)`` with one symbol's values replaced by another's); two
    values agree when they differ by at most ``abs_tol + rel_tol·max(|a|, |b|)``.
    Returns None when no single mistake explains the claim.
    """
    if any(c is None for c in claimed):
        return None
    ctx = Context(derivative, list(claimed), sample, rel_tol, abs_tol)
    if ctx.truth is None:
        return None
    for check in (_sign, _constant_factor, _wrong_parameter, _paths, _bracket, factors, _substitution):
        found = check(ctx)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- global mistakes


def _sign(ctx: Context) -> Finding | None:
    if ctx.is_zero(ctx.truth):
        return None
    if ctx.matches([-t for t in ctx.truth]):
        hint = ""
        first = [p.factors[0].value for p in ctx.paths] if ctx.paths else []
        if first and all(f.is_Add for f in first):
            hint = f" (for example {tex(-first[0])} written for {tex(first[0])})"
        return Finding("sign", f"sign error: the claim is the negative of the true derivative{hint}.")
    for k, pv in enumerate(ctx.path_vecs if len(ctx.paths) > 1 else []):
        if ctx.matches(sub(ctx.truth, mul(pv, [2] * len(pv)))):
            return Finding(
                "sign",
                f"sign error in one term: the term of the chain-rule path {ctx.path_text(ctx.paths[k])}, "
                f"${term_tex(ctx, k)}$, enters the claim with a minus sign.",
            )
    return None


def _nice(ctx: Context, r) -> Fraction | None:
    """The simple fraction (denominator ≤ 12) the claim is of the truth, if there is one."""
    frac = Fraction(float(r)).limit_denominator(12)
    scaled = [t * frac.numerator / frac.denominator for t in ctx.truth]
    return frac if frac != 0 and ctx.matches(scaled) else None


def _constant_factor(ctx: Context) -> Finding | None:
    if all(ctx.close(c, 0) for c in ctx.claimed) and not ctx.is_zero(ctx.truth):
        return Finding("missing_path", f"the claim is 0, but {ctx.param.name} does reach the loss: every chain-rule term is missing.")
    ratios = [r for r in ratio(ctx.claimed, ctx.truth) if r is not None]
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


def _wrong_parameter(ctx: Context) -> Finding | None:
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


def _paths(ctx: Context) -> Finding | None:
    m = len(ctx.paths)
    if m >= 2:
        for size in range(m - 1, 0, -1):
            for kept in itertools.combinations(range(m), size):
                if ctx.matches(add(*[ctx.path_vecs[k] for k in kept])):
                    missing = [k for k in range(m) if k not in kept]
                    terms = " + ".join(f"${term_tex(ctx, k)}$" for k in missing)
                    return Finding(
                        "missing_path",
                        f"missing chain-rule path: {ctx.param.name} reaches the loss by {m} paths and each contributes a term, "
                        f"but the claim leaves out {'the path' if len(missing) == 1 else 'the paths'} {paths_text(ctx, missing)} "
                        f"(the term {terms}).",
                    )
    for q, path, pv in _all_paths(ctx):
        if ctx.matches(add(ctx.truth, pv)):
            where = (
                "counted twice" if q == ctx.param
                else f"the path {' → '.join(s.name for s in reversed(path.nodes))}, which belongs to {q.name}, not {ctx.param.name}"
            )
            term = " \\cdot ".join(factor_tex(f.value).strip("$") for f in path.factors if f.value != 1) or "1"
            return Finding("extra_path", f"extra chain-rule term: the claim adds ${term}$, {where}.")
    return None


def _all_paths(ctx: Context):
    """Every chain-rule path of every parameter (as long as they are few), with its value."""
    budget = 300
    for q in ctx.net.params:
        if ctx.sweep.path_count(q) > MAX_PATHS:
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


def _bracket(ctx: Context) -> Finding | None:
    m = len(ctx.paths)
    if 2 <= m <= MAX_SUBSET_PATHS:
        found = _shared_factors_on_some_paths(ctx) or _factor_spread_to_other_paths(ctx)
        if found:
            return found
    return _sum_without_brackets(ctx)


def _edge_values(ctx: Context) -> dict:
    return {(f.of, f.wrt): f.value for p in ctx.paths for f in p.factors}


def _shared_factors_on_some_paths(ctx: Context) -> Finding | None:
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
                    if ctx.matches(add(*terms)):
                        factors = " \\cdot ".join(factor_tex(values[e]).strip("$") for e in shared)
                        lacking = [k for k in range(m) if k not in keep]
                        return Finding(
                            "bracket",
                            f"misplaced bracket: ${factors}$ is shared by {'both' if m == 2 else f'all {m}'} chain-rule paths, so it must multiply the whole "
                            f"sum of their terms, [ … + … ]·${factors}$; the claim's brackets apply it only to the "
                            f"{'term' if n_keep == 1 else 'terms'} of {paths_text(ctx, keep)}, and not to {paths_text(ctx, lacking)}.",
                        )
    return None


def _factor_spread_to_other_paths(ctx: Context) -> Finding | None:
    """A factor of one path written outside a bracket, so that it multiplies the other terms too."""
    m = len(ctx.paths)
    for k, path in enumerate(ctx.paths):
        for f in path.factors:
            if all((f.of, f.wrt) in _edges(p) for p in ctx.paths) or f.value == 1:
                continue
            fv = ctx.vec(f.value)
            terms = [ctx.path_vecs[i] if i == k or (f.of, f.wrt) in _edges(ctx.paths[i]) else mul(ctx.path_vecs[i], fv) for i in range(m)]
            if ctx.matches(add(*terms)):
                return Finding(
                    "bracket",
                    f"misplaced bracket: the factor {factor_tex(f.value)} ({edge_text(f.of, f.wrt)}) belongs only to the term of "
                    f"{ctx.path_text(path)}, but the claim's brackets make it multiply the other chain-rule terms as well.",
                )
    return None


def _sum_without_brackets(ctx: Context) -> Finding | None:
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
                rest = mul(ctx.without(k, {j}), ctx.vec(sympy.Mul(*[a for a in sympy.Mul.make_args(f.value) if a != piece])))
                for size in range(1, len(terms)):
                    for alone in itertools.combinations(range(len(terms)), size):
                        unbracketed = add(
                            *[ctx.vec(terms[i]) for i in alone],
                            mul(add(*[ctx.vec(terms[i]) for i in range(len(terms)) if i not in alone]), rest),
                        )
                        if ctx.matches(add(sub(ctx.truth, ctx.path_vecs[k]), unbracketed)):
                            return Finding(
                                "bracket",
                                f"missing brackets: {factor_tex(piece)} must be multiplied as a whole, but in the claim only "
                                f"{tex(sympy.Add(*[terms[i] for i in range(len(terms)) if i not in alone]))} is multiplied by the rest "
                                f"of the term and {tex(sympy.Add(*[terms[i] for i in alone]))} stands alone.",
                            )
    return None


# --------------------------------------------------------------------------- swapped variables


def _substitution(ctx: Context) -> Finding | None:
    """One symbol swapped for another of its family (w_7 for w_8, u_1 for u_3, W⁽²⁾₁₂ for W⁽²⁾₂₁)."""
    net = ctx.net
    groups = [tuple(net.params), tuple(net.inputs), tuple(net.targets), tuple(st.target for st in net.steps)]
    family_of: dict[sympy.Symbol, list[sympy.Symbol]] = {}
    for group in groups:
        by_pattern: dict[str, list] = {}
        for s in group:
            by_pattern.setdefault(family(s), []).append(s)
        for members in by_pattern.values():
            for s in members:
                family_of[s] = [t for t in members if t != s]
    budget = MAX_SWAPS
    truth = ctx.d.factored
    for s in sorted(truth.free_symbols, key=lambda x: x.name):
        for t in family_of.get(s, []):
            budget -= 1
            if budget < 0:
                return None
            if ctx.matches(ctx.sample.vec_swapped(truth, s, t)):
                return Finding("wrong_variable", f"{slip_name(s, t)}: the claim has {tex(t)} where {tex(s)} belongs.")
    # The same, inside one chain-rule term only.
    for k, path in enumerate(ctx.paths):
        for j, f in enumerate(path.factors):
            rest = ctx.without(k, {j})
            for s in sorted(f.value.free_symbols, key=lambda x: x.name):
                for t in family_of.get(s, []):
                    budget -= 1
                    if budget < 0:
                        return None
                    swapped = add(sub(ctx.truth, ctx.path_vecs[k]), mul(rest, ctx.sample.vec_swapped(f.value, s, t)))
                    if ctx.matches(swapped):
                        return Finding(
                            "wrong_variable",
                            f"{slip_name(s, t)}: in the term of {ctx.path_text(path)}, the factor {factor_tex(f.value)} "
                            f"({edge_text(f.of, f.wrt)}) has {tex(t)} where {tex(s)} belongs.",
                        )
    return None
