r"""Named adjoints: a derivative as a short product of δ's, then one line per δ.

A deep network's factored derivative nests a bracket per layer. A textbook names the
shared factor instead, the adjoint δ = ∂L/∂u of a pre-activation, and defines it once,
from the loss end backwards:

    ∂L/∂w⁽¹⁾₁₁ = δ⁽¹⁾₁ · x₁
    δ⁽³⁾ᵢ = (x⁽³⁾ᵢ − yᵢ) · σ(u⁽³⁾ᵢ)(1 − σ(u⁽³⁾ᵢ))
    δ⁽²⁾ⱼ = (Σᵢ w⁽³⁾ᵢⱼ δ⁽³⁾ᵢ) · (1 − tanh²(u⁽²⁾ⱼ))
    …

A layered network (:func:`symgrad.mlp`) gets one line per layer with generic indices,
its output term in the form a reader recognises (:mod:`symgrad.present.output_terms`).
Any other network gets one line per named adjoint, each named after its step
(δ_{u1}): the argument of an activation (a pre-activation), and any other step that
several steps use (where routes meet), unless it is itself an activation.

>>> import symgrad as sg
>>> net = sg.Network.from_equations('''
...     u = w*x + b
...     o = sigmoid(u)
...     L = (o - y)**2 / 2
... ''', params="w b", inputs="x", targets="y")
>>> print(delta_form(net.grad("w")).text())
∂L/∂w = δ_u · x
δ_u = (o − y) · σ(u)(1 − σ(u))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy

from .. import hooks
from ..derive.hadamard import ComponentAlgebra, total
from ..derive.matrix_form import matrix_form
from ..errors import SymgradError
from ..model import names
from . import formula
from .latex import FORMULA, LATEX, expr_latex, name_latex, partial_latex, recognised_outputs
from .normalise import Product, Shown, bracket_depth, render, sweep_tree, tidy, to_expr
from .output_terms import LSE, U, X, Y, output_term, softmax_of
from .text import TEXT, expr_text, name_text, partial_text

if TYPE_CHECKING:  # pragma: no cover
    from ..derive.derivative import Derivative
    from ..model.network import Network

__all__ = ["DELTA_DEPTH", "DeltaForm", "Definitions", "delta_form", "derivative_delta", "prefers_delta"]

#: A report writes a derivative with named adjoints once its factored form nests brackets deeper than this.
DELTA_DEPTH = 2

_PRE_ACTIVATION = re.compile(r"^u(\d+)_(\d+)$")


@dataclass(frozen=True)
class DeltaForm:
    """A derivative as a product of named adjoints (``product``), then the definitions,
    ``(name, tree)`` from the loss end backwards, and notes (``(latex, text)``)."""

    lhs: Shown
    product: object
    definitions: tuple[tuple[Shown, object], ...]
    notes: tuple[tuple[str, str], ...] = ()

    def rows(self, notation) -> list[tuple[str, str]]:
        """``(left side, right side)`` of every line, in ``notation`` (:data:`~symgrad.present.latex.LATEX` or ``TEXT``)."""
        return [(notation.expr(lhs), render(rhs, notation)) for lhs, rhs in ((self.lhs, self.product), *self.definitions)]

    def latex(self) -> str:
        """One ``aligned`` block; each note follows as a TeX comment (every reader skips it)."""
        return _aligned(self.rows(LATEX), self.notes)

    def product_latex(self) -> str:
        """The right-hand side of the first line, the product of named adjoints."""
        return render(self.product, LATEX)

    def product_layout(self) -> formula.Node:
        """The same as a breakable formula (:mod:`symgrad.present.formula`)."""
        return render(self.product, FORMULA)

    def definition_block(self) -> "Definitions | None":
        """The definitions alone, as a block of equations (None when there are none)."""
        if not self.definitions:
            return None
        return Definitions(tuple((lhs._latex(), render(rhs, FORMULA)) for lhs, rhs in self.definitions), self.notes)

    def text(self) -> str:
        """One line per equation, then the notes in brackets."""
        lines = [f"{lhs} = {rhs}" for lhs, rhs in self.rows(TEXT)]
        return "\n".join(lines + [f"({text})" for _, text in self.notes])


@dataclass(frozen=True)
class Definitions:
    """Named adjoints' definitions as a block of equations, ``δ = …`` per line (what a
    report shows where a chain-rule derivation would go)."""

    equations: tuple[tuple[str, formula.Node], ...]
    notes: tuple[tuple[str, str], ...] = ()

    def pairs(self) -> list[tuple[str, formula.Node]]:
        """``(left side, right side)`` per line."""
        return list(self.equations)

    def latex(self) -> str:
        return _aligned([(lhs, formula.latex(rhs)) for lhs, rhs in self.equations], self.notes)


def _aligned(rows: list[tuple[str, str]], notes) -> str:
    body = " \\\\\n".join(f"{lhs} &= {rhs}" for lhs, rhs in rows)
    comments = "".join(f"\n% {latex}" for latex, _ in notes)
    return "\\begin{aligned}\n" + body + comments + "\n\\end{aligned}"


# --------------------------------------------------------------------------- which adjoints get a name


def _named_steps(network: "Network", sweep) -> list[sympy.Symbol]:
    """The steps whose adjoint gets a name, in step order (see the module notes)."""
    steps = [st.target for st in network.steps if st.target in sweep.bar]
    pre = {
        st.expr.args[0]
        for st in network.steps
        if isinstance(st.expr, sympy.Function) and len(st.expr.args) == 1 and st.expr.args[0] in sweep.bar
    }

    def activation(t) -> bool:
        e = network.step_map.get(t)
        return isinstance(e, sympy.Function) and len(e.args) == 1 and e.args[0] in pre

    return [t for t in steps if t in pre or (len(sweep.consumers.get(t, ())) > 1 and not activation(t))]


def _delta_name(t: sympy.Symbol) -> Shown:
    m = _PRE_ACTIVATION.match(t.name)
    if m:
        layer, i = m.groups()
        return Shown(rf"\delta^{{({layer})}}_{{{i}}}", f"δ{layer}_{i}")
    return Shown(rf"\delta_{{{name_latex(t.name)}}}", f"δ_{name_text(t.name)}")


def _lhs(network: "Network", param: sympy.Symbol) -> Shown:
    return Shown(partial_latex(network.loss, param), partial_text(network.loss, param))


def _used(tree, deltas: dict) -> set:
    found = to_expr(tree).free_symbols
    return {t for t, d in deltas.items() if d in found}


def _concrete(derivative: "Derivative") -> DeltaForm:
    """One definition per named adjoint the derivative needs, from the loss end backwards."""
    network, sweep, param = derivative.network, derivative.sweep, derivative.param
    order = _named_steps(network, sweep)
    deltas = {t: _delta_name(t) for t in order}
    product = tidy(sweep_tree(sweep, param, deltas))
    definitions: dict[sympy.Symbol, object] = {}
    todo = _used(product, deltas)
    while todo:
        t = todo.pop()
        if t in definitions:
            continue
        definitions[t] = tidy(sweep_tree(sweep, t, deltas))
        todo |= _used(definitions[t], deltas) - set(definitions)
    # From the loss end: each adjoint after the ones its definition uses, in step order otherwise.
    level: dict[sympy.Symbol, int] = {}
    for t in reversed(order):
        if t in definitions:
            level[t] = 1 + max((level[s] for s in _used(definitions[t], deltas)), default=-1)
    position = {t: i for i, t in enumerate(order)}
    ranked = sorted(level, key=lambda t: (level[t], position[t]))
    return DeltaForm(_lhs(network, param), product, tuple((deltas[t], definitions[t]) for t in ranked))


# --------------------------------------------------------------------------- layered networks: one line per layer


def _layer_names(layer: int, index: str) -> dict:
    return {
        "u": Shown(rf"u^{{({layer})}}_{{{index}}}", f"u{layer}_{index}"),
        "x": Shown(rf"x^{{({layer})}}_{{{index}}}", f"x{layer}_{index}"),
        "delta": Shown(rf"\delta^{{({layer})}}_{{{index}}}", f"δ{layer}_{index}"),
    }


def _sum_over(expr: sympy.Expr, k_names: dict) -> Shown:
    """Σₖ of a summand written in the placeholders, as one leaf."""
    inner = expr.xreplace(k_names)
    latex, text = expr_latex(inner), expr_text(inner)
    if inner.is_Add:
        latex, text = rf"\left({latex}\right)", f"({text})"
    return Shown(rf"\sum_{{k}} {latex}", f"Σ_k {text}")


def _output_lines(network: "Network") -> tuple[list, list]:
    """The output layer's δ⁽ᴸ⁾ᵢ line (after ŷᵢ's, for a fused softmax), and its note."""
    term = output_term(network)
    L = term.layer
    own = _layer_names(L, "i")
    lse = Shown(name_latex(names.lse_name(L)), name_text(names.lse_name(L)))
    at_i = {U: own["u"], X: own["u"] if term.identity else own["x"], Y: Shown("y_{i}", "y_i"), LSE: lse}
    at_k = {U: _layer_names(L, "k")["u"], X: _layer_names(L, "k")["u" if term.identity else "x"], Y: Shown("y_{k}", "y_k"), LSE: lse}
    lines, notes = [], []
    softmax = softmax_of()
    if term.fused_softmax:
        yhat, yhat_k = Shown(r"\hat{y}_{i}", "ŷ_i"), Shown(r"\hat{y}_{k}", "ŷ_k")
        lines.append((yhat, Product((softmax.xreplace(at_i),))))
        at_i, at_k = {softmax: yhat, **at_i}, {softmax: yhat_k, **at_k}
    elif not term.identity:
        at_i, at_k = {softmax: at_i[X], **at_i}, {softmax: at_k[X], **at_k}

    def written(expr: sympy.Expr) -> sympy.Expr:
        # xreplace matches a whole subtree before its parts: e^{u − lse} becomes ŷ before u does.
        return expr.xreplace({t: _sum_over(t.args[0], at_k) for t in expr.atoms(total)}).xreplace(at_i)

    factors = (written(term.gradient),) + ((written(term.derivative),) if term.derivative is not None else ())
    lines.append((own["delta"], tidy(Product(factors))))
    targets = [t for t in term.expr.atoms(total) if t.args[0] == Y]
    if targets:
        one_hot = written(term.expr.xreplace({targets[0]: sympy.S.One}))
        name = own["delta"]
        notes.append((
            rf"one-hot targets (\sum_{{k}} y_{{k}} = 1): {expr_latex(name)} = {expr_latex(one_hot)}",
            f"one-hot targets (Σ_k y_k = 1): {expr_text(name)} = {expr_text(one_hot)}",
        ))
    return lines, notes


def _hidden_line(network: "Network", F, l: int):
    """δ⁽ˡ⁾ⱼ = (Σᵢ w⁽ˡ⁺¹⁾ᵢⱼ δ⁽ˡ⁺¹⁾ᵢ) · f′(u⁽ˡ⁾ⱼ)."""
    up = l + 1
    weight = rf"w^{{({up})}}_{{i,j}}", f"W{up}_i_j"
    below = _layer_names(up, "i")["delta"]
    latex = rf"\sum_{{i}} {weight[0]} {below._latex()}"
    text = f"Σ_i {weight[1]} {below._sympystr()}"
    derivative = F.derivatives.get(l)
    if derivative is None:
        return _layer_names(l, "j")["delta"], Product((Shown(latex, text),))
    brought = Shown(rf"\left({latex}\right)", f"({text})")
    algebra = ComponentAlgebra(network.layers.sizes[l], "column", {F.u[l]: _layer_names(l, "j")["u"]})
    return _layer_names(l, "j")["delta"], tidy(Product((brought, algebra.to_scalar(derivative))))


def _layered(derivative: "Derivative") -> DeltaForm:
    """The layer-by-layer form (a softmax, having no element-wise derivative, is an output layer only)."""
    network, sweep, param = derivative.network, derivative.sweep, derivative.param
    spec = network.layers
    F = matrix_form(network).formulas("column")
    deltas = {t: _delta_name(t) for t in sweep.bar if _PRE_ACTIVATION.match(t.name)}
    product = tidy(sweep_tree(sweep, param, deltas))
    layers = [int(_PRE_ACTIVATION.match(t.name).group(1)) for t in _used(product, deltas)]
    if not layers:
        return DeltaForm(_lhs(network, param), product, ())
    lines, notes = _output_lines(network)
    for l in range(spec.n_layers - 1, min(layers) - 1, -1):
        lines.append(_hidden_line(network, F, l))
    return DeltaForm(_lhs(network, param), product, tuple(lines), tuple(notes))


def delta_form(derivative: "Derivative") -> DeltaForm:
    """The derivative written with named adjoints (see the module notes)."""
    if derivative.network.layers is not None:
        return _layered(derivative)
    return _concrete(derivative)


def prefers_delta(derivative: "Derivative") -> bool:
    """Whether the factored form nests brackets more than :data:`DELTA_DEPTH` deep (a report then names the adjoints)."""
    sweep = derivative.sweep
    return bracket_depth(tidy(sweep_tree(sweep, derivative.param, recognised_outputs(derivative.network, sweep)))) > DELTA_DEPTH


@hooks.provides
def derivative_delta(derivative: "Derivative", notation: str = "latex") -> str:
    """The named-adjoint form as LaTeX (an ``aligned`` block) or text (one line per equation);
    what ``d.latex("delta")`` and ``d.text("delta")`` return."""
    form = delta_form(derivative)
    if notation == "latex":
        return form.latex()
    if notation == "text":
        return form.text()
    raise SymgradError(f"unknown notation {notation!r} (use 'latex' or 'text')", token=str(notation))
