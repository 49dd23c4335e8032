"""Matrix form of a layered network's gradient: the δ recursion, derived symbolically.

A layered network (:func:`symgrad.mlp`) is written at layer level as sympy matrix
expressions, u⁽ˡ⁾ = W⁽ˡ⁾x⁽ˡ⁻¹⁾ + b⁽ˡ⁾ and x⁽ˡ⁾ = f(u⁽ˡ⁾) (the column convention of
textbooks), or u⁽ˡ⁾ = x⁽ˡ⁻¹⁾W⁽ˡ⁾ + b⁽ˡ⁾ with row vectors (the convention of code that
holds one sample per row), followed by the loss. A reverse sweep over these layer-level steps derives the
gradient formulas; nothing is typed in:

* a linear step's pullback is sympy's matrix calculus: the adjoint of z in t = A(z) is
  ∂ tr(t̄ᵀ A(z)) / ∂z, which gives (W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾, δ⁽ˡ⁾(x⁽ˡ⁻¹⁾)ᵀ and ∂½‖x − y‖²/∂x = x − y
  (derived once per kind of step, with symbolic sizes, and reused by every layer);
* an element-wise step t = f(z) pulls back as t̄ ⊙ f'(z), with f' from sympy's
  scalar derivative (σ' = σ(1 − σ), tanh' = 1 − tanh², relu' = step);
* the adjoint of each u⁽ˡ⁾ is kept as the symbol δ⁽ˡ⁾, so δ⁽ˡ⁾ is written in δ⁽ˡ⁺¹⁾:
  the recursion itself, δ⁽ˡ⁾ = ((W⁽ˡ⁺¹⁾)ᵀδ⁽ˡ⁺¹⁾) ⊙ f'(u⁽ˡ⁾);
* the output term δ⁽ᴸ⁾ = ∇ₓL ⊙ f'(u⁽ᴸ⁾) is simplified one component at a time
  (:mod:`symgrad.derive.hadamard`) when that cancels the derivative: a sigmoid output under
  the binary cross-entropy gives x⁽ᴸ⁾ − y, a softmax output under the cross-entropy
  gives softmax(u⁽ᴸ⁾)·(1ᵀy) − y.

:meth:`MatrixForm.instantiate` writes the formulas out at the network's sizes in its
own scalar symbols (``W1_2_3``, ``u2_1``, ``x1_4``, ``lse2``…), to compare with the
element-wise derivatives of :meth:`symgrad.Network.grad`.

>>> import symgrad as sg
>>> mf = matrix_form(sg.mlp([3, 4, 2]))
>>> mf.delta[1]
HadamardProduct(W2.T*delta2, Lambda(_d, (1 - sigmoid(_d))*sigmoid(_d)).(u1))
>>> mf.grad_W[2], mf.grad_b[2]
(delta2*x1.T, delta2)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

import sympy
from sympy import (
    HadamardPower,
    HadamardProduct,
    ImmutableMatrix,
    MatAdd,
    MatMul,
    MatPow,
    MatrixExpr,
    MatrixSymbol,
    OneMatrix,
    Trace,
    Transpose,
)
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.tensor.array.expressions.from_array_to_matrix import convert_array_to_matrix

from .. import hooks
from ..errors import ShapeError, SymgradError
from ..model import functions as fn
from ..model import names
from ..model.names import real_symbol
from .hadamard import ComponentAlgebra, D, apply, elementwise, matmul

if TYPE_CHECKING:  # pragma: no cover
    from ..model.layers import LayerSpec
    from ..model.network import Network

__all__ = ["CONVENTIONS", "Instance", "LayerFormulas", "MatrixForm", "matrix_form"]

CONVENTIONS = ("column", "row")

#: instantiate() refuses networks with more parameters than this: it writes every entry out.
MAX_INSTANTIATE_PARAMS = 5000


# --------------------------------------------------------------------------- the layer-level steps


@dataclass(frozen=True)
class _Node:
    """One layer-level step ``target = expr``; ``named`` nodes (u, x, lse) stay as symbols
    in the formulas, the others (pieces of a loss or of the softmax) are inlined."""

    target: MatrixSymbol
    expr: MatrixExpr
    named: bool


class _LayerSteps:
    """The layered network as steps of matrix expressions, in evaluation order."""

    def __init__(self, spec: "LayerSpec", convention: str):
        self.spec = spec
        self.convention = convention
        self.column = convention == "column"
        sizes, L = spec.sizes, spec.n_layers
        self.L = L
        self.nodes: list[_Node] = []
        self.x = {0: self._vector("x0", sizes[0])}
        self.y = self._vector("y", sizes[-1])
        self.W, self.b, self.u, self.delta = {}, {}, {}, {}
        self.activation: dict[int, str] = {}
        self.lse: MatrixSymbol | None = None
        self.softmax: MatrixExpr | None = None  # softmax(u⁽ᴸ⁾) = exp(u⁽ᴸ⁾ − lse·1)
        for l in range(1, L + 1):
            rows, cols = sizes[l], sizes[l - 1]
            self.W[l] = MatrixSymbol(f"W{l}", rows, cols) if self.column else MatrixSymbol(f"W{l}", cols, rows)
            linear = matmul(self.W[l], self.x[l - 1]) if self.column else matmul(self.x[l - 1], self.W[l])
            if spec.bias:
                self.b[l] = self._vector(f"b{l}", rows)
                linear = MatAdd(linear, self.b[l])
            self.u[l] = self._vector(f"u{l}", rows)
            self.delta[l] = self._vector(f"delta{l}", rows)
            self._add(self.u[l], linear, named=True)
            self.activation[l] = spec.activations[l - 1]
            self._activate(l)
        self.loss = MatrixSymbol("L", 1, 1)
        self._add(self.loss, self._loss_expr(), named=True)

    # -- shapes and small constructions, one place for both conventions

    def _vector(self, name: str, n: int) -> MatrixSymbol:
        return MatrixSymbol(name, n, 1) if self.column else MatrixSymbol(name, 1, n)

    def _ones(self, n: int) -> OneMatrix:
        return OneMatrix(n, 1) if self.column else OneMatrix(1, n)

    def _dot(self, a: MatrixExpr, b: MatrixExpr) -> MatrixExpr:
        """aᵀb for columns, abᵀ for rows: a 1×1 matrix."""
        return matmul(Transpose(a), b) if self.column else matmul(a, Transpose(b))

    def _sum(self, v: MatrixExpr) -> MatrixExpr:
        """Σ_k v_k: 1ᵀv for columns, v1ᵀ for rows (v itself when it has one entry)."""
        n = max(v.shape)
        if n == 1:
            return v
        return matmul(OneMatrix(1, n), v) if self.column else matmul(v, OneMatrix(n, 1))

    def _broadcast(self, scalar: MatrixExpr, n: int) -> MatrixExpr:
        """A 1×1 matrix repeated n times: 1·s for columns, s·1 for rows."""
        if n == 1:
            return scalar
        return matmul(self._ones(n), scalar) if self.column else matmul(scalar, self._ones(n))

    def _add(self, target: MatrixSymbol, expr: MatrixExpr, named: bool = False) -> MatrixSymbol:
        self.nodes.append(_Node(target, expr, named))
        return target

    # -- layers and losses, as LayerSpec.expand writes them element by element

    def _activate(self, l: int) -> None:
        n, u, act = self.spec.sizes[l], self.u[l], self.activation[l]
        fused = l == self.L and self.spec.loss == "softmax_cross_entropy"
        if act == "softmax":
            # softmax(u) = exp(u − lse(u)·1) with lse(u) = log 1ᵀexp(u), as the scalar steps do.
            total = self._add(MatrixSymbol(f"_S{l}", 1, 1), self._sum(self._add(self._vector(f"_e{l}", n), apply(sympy.exp(D), u))))
            self.lse = self._add(MatrixSymbol(f"lse{l}", 1, 1), apply(sympy.log(D), total), named=True)
            self.x[l] = self._vector(f"x{l}", n)
            shifted = MatAdd(u, matmul(-1, self._broadcast(self.lse, n)))
            self.softmax = apply(sympy.exp(D), shifted)
            if not fused:  # the fused loss reads u and lse directly, as LayerSpec.expand does
                self._add(self.x[l], apply(sympy.exp(D), self._add(self._vector(f"_v{l}", n), shifted)), named=True)
        elif act == "identity":
            self.x[l] = self._add(self._vector(f"x{l}", n), u, named=True)
        else:
            self.x[l] = self._add(self._vector(f"x{l}", n), apply(fn.resolve(act)(D), u), named=True)

    def _loss_expr(self) -> MatrixExpr:
        n, y, loss = self.spec.sizes[-1], self.y, self.spec.loss
        x = self.x[self.L]
        if loss == "mse":  # ½‖x − y‖²
            error = MatAdd(x, matmul(-1, y))
            return matmul(sympy.Rational(1, 2), self._dot(error, error))
        if loss == "mae":  # 1ᵀ|x − y|
            error = self._add(self._vector("_d", n), MatAdd(x, matmul(-1, y)))
            return self._sum(self._add(self._vector("_a", n), apply(sympy.Abs(D), error)))
        if loss == "softmax_cross_entropy":  # lse(u)·1ᵀy − yᵀu
            return MatAdd(matmul(self.lse, self._sum(y)), matmul(-1, self._dot(y, self.u[self.L])))
        log_x = self._add(self._vector("_p", n), apply(sympy.log(D), x))
        if self.activation[self.L] == "softmax":  # −yᵀ log x
            return matmul(-1, self._dot(y, log_x))
        # −(yᵀ log x + (1 − y)ᵀ log(1 − x))
        ones = self._ones(n)
        complement = self._add(self._vector("_q", n), MatAdd(ones, matmul(-1, x)))
        log_complement = self._add(self._vector("_r", n), apply(sympy.log(D), complement))
        return matmul(-1, MatAdd(self._dot(y, log_x), self._dot(MatAdd(ones, matmul(-1, y)), log_complement)))

    @cached_property
    def definitions(self) -> dict[MatrixSymbol, MatrixExpr]:
        return {node.target: node.expr for node in self.nodes}

    def inline(self, expr: MatrixExpr) -> MatrixExpr:
        """``expr`` with every unnamed intermediate replaced by its definition."""
        unnamed = {node.target: node.expr for node in self.nodes if not node.named}
        for _ in range(len(unnamed) + 1):  # definitions may refer to earlier ones
            if not (expr.free_symbols & unnamed.keys()):
                return expr
            expr = expr.xreplace(unnamed)
        return expr  # pragma: no cover - the steps form no cycle


# --------------------------------------------------------------------------- the reverse sweep


def _pullback(node: _Node, z: MatrixSymbol, adjoint: MatrixExpr | None) -> MatrixExpr:
    """The adjoint contribution of ``node`` to ``z``; ``adjoint`` is the node's adjoint
    (``None`` for the loss, whose adjoint is 1)."""
    expr = node.expr
    if isinstance(expr, ElementwiseApplyFunction):
        (var,) = expr.function.variables
        derivative = apply(expr.function.expr.diff(var).xreplace({var: D}), z)
        return HadamardProduct(adjoint, derivative)
    template, z_template, back = _generic(expr, z)
    result = _linear_pullback(template, z_template, adjoint is not None)
    if adjoint is not None:
        back[_bar(template)] = adjoint
    return result.xreplace(back)


def _bar(template: MatrixExpr) -> MatrixSymbol:
    """The adjoint of a generic node, t̄, shaped like it."""
    return MatrixSymbol("_bar", *template.shape)


def _generic(expr: MatrixExpr, z: MatrixSymbol):
    """``expr`` and ``z`` with their matrices renamed in order of appearance and their sizes
    (other than 1) made symbolic, and the substitution that undoes it: every affine layer
    of every network then shares one pullback, derived once."""
    dims: dict[int, sympy.Symbol] = {}

    def dim(n):
        if n == 1:
            return n
        return dims.setdefault(int(n), sympy.Symbol(f"_n{len(dims)}", integer=True, positive=True))

    rename: dict[MatrixExpr, MatrixExpr] = {}
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, (MatrixSymbol, OneMatrix)) and node not in rename:
            shape = tuple(dim(n) for n in node.shape)
            rename[node] = MatrixSymbol(f"_m{len(rename)}", *shape) if isinstance(node, MatrixSymbol) else OneMatrix(*shape)
    back: dict = {v: k for k, v in rename.items() if isinstance(k, MatrixSymbol)}
    back.update({s: sympy.Integer(n) for n, s in dims.items()})
    return expr.xreplace(rename), rename[z], back


@lru_cache(maxsize=None)
def _linear_pullback(expr: MatrixExpr, z: MatrixSymbol, has_adjoint: bool) -> MatrixExpr:
    """∂ tr(t̄ᵀ expr)/∂z by sympy's matrix calculus (∂ tr(expr)/∂z for the loss), with
    t̄ the matrix symbol :func:`_bar`."""
    scalar = Trace(matmul(Transpose(_bar(expr)), expr)) if has_adjoint else Trace(expr)
    result = scalar.diff(z)
    if not isinstance(result, MatrixExpr):
        result = convert_array_to_matrix(result)
    if not isinstance(result, MatrixExpr) or result.shape != z.shape:  # pragma: no cover - a sympy regression
        raise SymgradError(f"matrix calculus gave {result} for the pullback of {expr} to {z}")
    return result


@dataclass
class _LayerAdjoints:
    adjoint: dict[MatrixSymbol, MatrixExpr]  # every node's adjoint, in δ symbols
    delta: dict[int, MatrixExpr]  # δ⁽ˡ⁾ in terms of δ⁽ˡ⁺¹⁾
    grad: dict[MatrixSymbol, MatrixExpr]  # ∇ of each W⁽ˡ⁾ and b⁽ˡ⁾, in δ⁽ˡ⁾


def _layer_adjoints(steps: _LayerSteps) -> _LayerAdjoints:
    """Walk the layer-level steps backwards, collecting each symbol's pullbacks and adding
    them once; the adjoint of u⁽ˡ⁾ is passed on as the symbol δ⁽ˡ⁾."""
    delta_of = {steps.u[l]: l for l in steps.u}
    parameters = set(steps.W.values()) | set(steps.b.values())
    parts: dict[MatrixSymbol, list[MatrixExpr]] = {}
    adjoint: dict[MatrixSymbol, MatrixExpr] = {}
    delta: dict[int, MatrixExpr] = {}
    for node in reversed(steps.nodes):
        t = node.target
        if t == steps.loss:
            passed = None
        else:
            if t not in parts:
                continue  # nothing below the loss uses it (x⁽ᴸ⁾ of a fused softmax)
            adjoint[t] = parts[t][0] if len(parts[t]) == 1 else MatAdd(*parts[t])
            passed = adjoint[t]
            if t in delta_of:
                delta[delta_of[t]] = adjoint[t]
                passed = steps.delta[delta_of[t]]
        for z in sorted(node.expr.free_symbols, key=lambda s: s.name):
            if z in steps.definitions or z in parameters:
                parts.setdefault(z, []).append(_pullback(node, z, passed))
    grad = {p: parts[p][0] if len(parts[p]) == 1 else MatAdd(*parts[p]) for p in parameters}
    return _LayerAdjoints(adjoint, delta, grad)


# --------------------------------------------------------------------------- the output term


def _simplify(expr: sympy.Expr) -> sympy.Expr:
    """The shortest of a few cheap rewrites: ``cancel`` clears the fractions of the
    cross-entropy against σ(1 − σ), ``powsimp`` merges e^u·e^(−lse) into one exponential.
    (``sympy.simplify`` finds the same here at a hundred times the cost.)"""
    candidates = [expr, sympy.powsimp(expr), sympy.cancel(expr)]
    return min(candidates, key=sympy.count_ops)


def _output_algebra(steps: _LayerSteps) -> ComponentAlgebra:
    """Components of the output layer's vectors, as derived: x⁽ᴸ⁾ a symbol, f'(u⁽ᴸ⁾) one
    opaque factor, the loss's and the softmax's intermediates inlined."""
    L, n = steps.L, steps.spec.sizes[-1]
    u, x, y, lse = steps.u[L], steps.x[L], steps.y, steps.lse
    named = {u: real_symbol("upsilon"), y: real_symbol("eta"), x: real_symbol("xi")}
    definitions = {node.target: node.expr for node in steps.nodes if not node.named}
    if lse is not None:
        named[lse] = real_symbol("lambda")
        # lse = log S, so S = exp(lse): the identity that turns e^u / S into a softmax.
        definitions[steps.definitions[lse].expr] = apply(sympy.exp(D), lse)
    opaque = {}
    act = steps.activation[L]
    if act not in ("identity", "softmax"):
        opaque[elementwise(fn.resolve(act)(D).diff(D))] = sympy.Function("fprime")
    return ComponentAlgebra(n, steps.convention, named, definitions, opaque)


def _output_delta(steps: _LayerSteps, raw: MatrixExpr) -> MatrixExpr:
    """δ⁽ᴸ⁾ tidied one component at a time, and simplified where that cancels f'(u⁽ᴸ⁾)."""
    L, n = steps.L, steps.spec.sizes[-1]
    x, act = steps.x[L], steps.activation[L]
    as_derived = _output_algebra(steps)
    upsilon, xi = as_derived.named[steps.u[L]], as_derived.named[x]
    kept = as_derived.to_scalar(raw)
    # Spelled out: x⁽ᴸ⁾ = f(u⁽ᴸ⁾) and f' substituted, simplified, then f(u) read back as x.
    named = {k: v for k, v in as_derived.named.items() if k != x}
    definitions = dict(as_derived.definitions)
    if x in steps.definitions:  # the fused softmax cross-entropy has no x⁽ᴸ⁾ step
        definitions[x] = steps.definitions[x]
    spelled = ComponentAlgebra(n, steps.convention, named, definitions, simplify=_simplify)
    simplified = _simplify(spelled.to_scalar(raw))
    if act not in ("identity", "softmax"):
        simplified = simplified.xreplace({fn.resolve(act)(upsilon): xi})
    # Keep the derived form, f'(u) and all, unless the simplification makes it shorter.
    return as_derived.to_matrix(simplified if sympy.count_ops(simplified) < sympy.count_ops(kept) else kept)


def _tidy(steps: _LayerSteps, expr: MatrixExpr) -> MatrixExpr:
    """An element-wise output expression with its intermediates inlined and flattened."""
    algebra = _output_algebra(steps)
    return algebra.to_matrix(algebra.to_scalar(expr))


# --------------------------------------------------------------------------- public results


@dataclass(frozen=True)
class LayerFormulas:
    """The derived formulas in one convention; every dict is keyed by the layer number l = 1..L.

    ``W``, ``b``, ``u``, ``x`` (with ``x[0]`` the input), ``y``, ``delta`` and ``lse``
    (softmax output only) are the matrix symbols; ``softmax`` is softmax(u⁽ᴸ⁾) =
    exp(u⁽ᴸ⁾ − lse·1) for a softmax output; ``forward`` the layer equations and
    the loss as ``(symbol, expression)`` pairs; ``output_gradient`` ∇ₓL at the output
    (``None`` when the loss reads u⁽ᴸ⁾ directly, as the fused softmax cross-entropy);
    ``output_delta_raw`` δ⁽ᴸ⁾ before simplification; ``delta_formulas[l]`` δ⁽ˡ⁾ in terms of
    δ⁽ˡ⁺¹⁾; ``grad_W[l]``, ``grad_b[l]`` in terms of δ⁽ˡ⁾; ``derivatives[l]`` the
    element-wise f'(u⁽ˡ⁾) that the δ formulas contain (absent for identity and softmax).
    """

    convention: str
    activations: dict[int, str]
    W: dict[int, MatrixSymbol]
    b: dict[int, MatrixSymbol]
    u: dict[int, MatrixSymbol]
    x: dict[int, MatrixSymbol]
    y: MatrixSymbol
    delta: dict[int, MatrixSymbol]
    lse: MatrixSymbol | None
    softmax: MatrixExpr | None
    forward: tuple[tuple[MatrixSymbol, MatrixExpr], ...]
    output_gradient: MatrixExpr | None
    output_delta_raw: MatrixExpr
    delta_formulas: dict[int, MatrixExpr]
    grad_W: dict[int, MatrixExpr]
    grad_b: dict[int, MatrixExpr]
    derivatives: dict[int, ElementwiseApplyFunction]

    @property
    def n_layers(self) -> int:
        return len(self.W)


def _derive(spec: "LayerSpec", convention: str) -> LayerFormulas:
    steps = _LayerSteps(spec, convention)
    adjoints = _layer_adjoints(steps)
    L = steps.L
    deltas = dict(adjoints.delta)
    raw = deltas[L]
    deltas[L] = _output_delta(steps, raw)
    x_L = steps.x[L]
    output_gradient = _tidy(steps, adjoints.adjoint[x_L]) if x_L in adjoints.adjoint else None
    named = [node for node in steps.nodes if node.named]
    forward = tuple((node.target, steps.inline(node.expr)) for node in named)
    derivatives = {}
    for l, act in steps.activation.items():
        if act not in ("identity", "softmax"):
            derivatives[l] = apply(fn.resolve(act)(D).diff(D), steps.u[l])
    return LayerFormulas(
        convention=convention,
        activations=dict(steps.activation),
        W=dict(steps.W),
        b=dict(steps.b),
        u=dict(steps.u),
        x=dict(steps.x),
        y=steps.y,
        delta=dict(steps.delta),
        lse=steps.lse,
        softmax=steps.softmax,
        forward=forward,
        output_gradient=output_gradient,
        output_delta_raw=_tidy(steps, raw),
        delta_formulas=dict(sorted(deltas.items())),
        grad_W={l: adjoints.grad[steps.W[l]] for l in steps.W},
        grad_b={l: adjoints.grad[steps.b[l]] for l in steps.b},
        derivatives=derivatives,
    )


@dataclass(frozen=True)
class Instance:
    """Matrix formulas written out at a network's sizes, in its own scalar symbols.

    ``delta[l]``, ``grad_W[l]`` and ``grad_b[l]`` are explicit sympy matrices (shaped as
    in the convention: ∇_W is s_l×s_{l−1} in the column convention, its transpose in
    the row one); ``gradients`` maps every parameter to its derivative, in ``net.params`` order.
    """

    convention: str
    delta: dict[int, ImmutableMatrix]
    grad_W: dict[int, ImmutableMatrix]
    grad_b: dict[int, ImmutableMatrix]
    gradients: dict[sympy.Symbol, sympy.Expr]


class MatrixForm:
    """The δ recursion of a layered network as sympy matrix expressions (see the module doc).

    ``delta``, ``grad_W``, ``grad_b`` and ``output_gradient`` are those of the column
    convention; :meth:`formulas` gives either convention.

    >>> import symgrad as sg
    >>> mf = matrix_form(sg.mlp([2, 3, 2], loss="cross_entropy"))
    >>> mf.output_gradient   # ∇ₓL of the binary cross-entropy: (1 − y) ⊘ (1 − x) − y ⊘ x
    HadamardProduct(HadamardPower(-x2 + 1, -1), -y + 1) - (HadamardProduct(y, HadamardPower(x2, -1)))
    >>> mf.delta[2]   # ∇ₓL ⊙ σ'(u) simplifies: the sigmoid's derivative cancels
    x2 - y
    """

    def __init__(self, network: "Network"):
        self.network = network
        self.spec = network.layers
        self._formulas: dict[str, LayerFormulas] = {}  # derived on first use, per convention

    def formulas(self, convention: str = "column") -> LayerFormulas:
        """The :class:`LayerFormulas` of ``"column"`` (u = Wx + b) or ``"row"`` (u = xW + b)."""
        _check_convention(convention)
        if convention not in self._formulas:
            self._formulas[convention] = _derive(self.spec, convention)
        return self._formulas[convention]

    @property
    def delta(self) -> dict[int, MatrixExpr]:
        return self.formulas().delta_formulas

    @property
    def grad_W(self) -> dict[int, MatrixExpr]:
        return self.formulas().grad_W

    @property
    def grad_b(self) -> dict[int, MatrixExpr]:
        return self.formulas().grad_b

    @property
    def output_gradient(self) -> MatrixExpr | None:
        return self.formulas().output_gradient

    def latex(self, convention: str = "column") -> str:
        """The layer equations, the δ recursion and the gradients, one ``aligned`` block.

        >>> import symgrad as sg
        >>> print(matrix_form(sg.mlp([2, 1], activation="identity")).latex().splitlines()[4])
        \\delta^{(1)} &= \\nabla_{\\mathbf{x}^{(1)}} L = \\mathbf{x}^{(1)} - \\mathbf{y} \\\\
        """
        return hooks.formulas_latex(self.formulas(convention))

    def instantiate(self, convention: str = "column") -> Instance:
        """The formulas at the network's sizes in its scalar symbols (see :class:`Instance`).

        >>> import symgrad as sg
        >>> net = sg.mlp([1, 1], activation="identity")
        >>> matrix_form(net).instantiate().gradients
        {W1_1_1: x1*(u1_1 - y1), b1_1: u1_1 - y1}
        """
        _check_convention(convention)
        if len(self.network.params) > MAX_INSTANTIATE_PARAMS:
            sizes = "-".join(map(str, self.spec.sizes))
            raise ShapeError(
                f"instantiate() writes every entry out; network {sizes} has {len(self.network.params)} parameters "
                f"(more than {MAX_INSTANTIATE_PARAMS}); use the matrix formulas instead",
                token=sizes,
            )
        return _instantiate(self.formulas(convention), self.spec)

    def _repr_latex_(self) -> str:
        return hooks.display_latex(self)

    def _latex(self, printer=None) -> str:
        return self.latex()

    def __repr__(self) -> str:
        return f"<MatrixForm of {self.network.name!r}: {self.spec.n_layers} layers>"


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise SymgradError(f"unknown convention {convention!r} (use 'column' or 'row')", token=str(convention))


def _instantiate(F: LayerFormulas, spec: "LayerSpec") -> Instance:
    column = F.convention == "column"

    def vector(symbols) -> ImmutableMatrix:
        symbols = list(symbols)
        return ImmutableMatrix(len(symbols), 1, symbols) if column else ImmutableMatrix(1, len(symbols), symbols)

    sizes, L = spec.sizes, len(F.W)
    values: dict[MatrixSymbol, ImmutableMatrix] = {F.x[0]: vector(spec.inputs()), F.y: vector(spec.targets())}
    for l in range(1, L + 1):
        rows, cols = sizes[l], sizes[l - 1]
        W = ImmutableMatrix(rows, cols, lambda i, j: spec.weight(l, i + 1, j + 1))
        values[F.W[l]] = W if column else W.T
        if spec.bias:
            values[F.b[l]] = vector(spec.bias_symbol(l, i) for i in range(1, rows + 1))
        values[F.u[l]] = vector(real_symbol(names.pre_activation_name(l, i)) for i in range(1, rows + 1))
        if F.activations[l] == "identity":  # LayerSpec.expand names no x for an identity layer
            values[F.x[l]] = values[F.u[l]]
        else:
            values[F.x[l]] = vector(real_symbol(names.activation_name(l, i)) for i in range(1, rows + 1))
    if F.lse is not None:
        values[F.lse] = ImmutableMatrix([[real_symbol(names.lse_name(L))]])
    delta: dict[int, ImmutableMatrix] = {}
    for l in range(L, 0, -1):  # δ⁽ˡ⁾ needs δ⁽ˡ⁺¹⁾ written out first
        delta[l] = values[F.delta[l]] = _explicit(F.delta_formulas[l], values)
    grad_W = {l: _explicit(F.grad_W[l], values) for l in F.grad_W}
    grad_b = {l: _explicit(F.grad_b[l], values) for l in F.grad_b}
    gradients: dict[sympy.Symbol, sympy.Expr] = {}
    for l in range(1, L + 1):
        for i in range(1, sizes[l] + 1):
            for j in range(1, sizes[l - 1] + 1):
                gradients[spec.weight(l, i, j)] = grad_W[l][i - 1, j - 1] if column else grad_W[l][j - 1, i - 1]
        for i in range(1, sizes[l] + 1) if spec.bias else ():
            gradients[spec.bias_symbol(l, i)] = grad_b[l][i - 1, 0] if column else grad_b[l][0, i - 1]
    return Instance(F.convention, dict(sorted(delta.items())), grad_W, grad_b, gradients)


def _explicit(expr: MatrixExpr, values: dict[MatrixSymbol, ImmutableMatrix]) -> ImmutableMatrix:
    """``expr`` with its matrix symbols set to explicit ``values``, computed entry by entry.

    (sympy's ``as_explicit`` gives the same, several times slower: it canonicalises every
    intermediate product.)
    """
    if isinstance(expr, MatrixSymbol):
        return values[expr]
    if isinstance(expr, OneMatrix):
        return ImmutableMatrix.ones(*expr.shape)
    if isinstance(expr, Transpose):
        return _explicit(expr.arg, values).T
    args = [_explicit(a, values) if isinstance(a, MatrixExpr) else a for a in expr.args]
    if isinstance(expr, MatAdd):
        return ImmutableMatrix(sum(args[1:], args[0]))
    if isinstance(expr, MatMul):
        coeff, product = sympy.S.One, None
        for a in args:
            if isinstance(a, ImmutableMatrix):
                product = a if product is None else product * a
            else:
                coeff *= a
        return ImmutableMatrix(product if coeff == 1 else product.applyfunc(lambda e: coeff * e))
    if isinstance(expr, HadamardProduct):
        product = args[0]
        for a in args[1:]:
            product = product.multiply_elementwise(a)
        return ImmutableMatrix(product)
    if isinstance(expr, (HadamardPower, MatPow)):  # MatPow only of a 1×1 matrix here
        return args[0].applyfunc(lambda e: e ** expr.exp)
    if isinstance(expr, ElementwiseApplyFunction):
        return _explicit(expr.expr, values).applyfunc(expr.function)
    raise TypeError(f"cannot write {type(expr).__name__} out: {expr}")  # pragma: no cover


@hooks.provides
def matrix_form(network: "Network") -> MatrixForm:
    """The matrix form of a layered network's gradient (see :class:`MatrixForm`).

    Only networks built by :func:`symgrad.mlp` have layers; any other network is an error.

    >>> import symgrad as sg
    >>> matrix_form(sg.mlp([3, 4, 2])).delta[2]
    HadamardProduct(x2 - y, Lambda(_d, (1 - sigmoid(_d))*sigmoid(_d)).(u2))
    """
    spec = getattr(network, "layers", None)
    if spec is None:
        name = getattr(network, "name", type(network).__name__)
        raise SymgradError(
            f"matrix form needs a layered network (built by symgrad.mlp); network {name!r} has no layer description",
            token=str(name),
        )
    return MatrixForm(network)
