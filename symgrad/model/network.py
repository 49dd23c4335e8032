"""``Network``: a network, or any composite function, as an ordered list of steps.

Every builder lowers to one form: an ordered tuple of :class:`Step` (``name = expr``),
each referring only to parameters, inputs, targets and earlier steps, the last one
(or the one named as loss) being the scalar loss. Derivation, printing, code
generation and checking all read this one form.

Three builders:

* :meth:`Network.from_equations` reads one assignment per line, as a hand derivation
  writes the network (:mod:`symgrad.model.equations`);
* :func:`mlp` declares a layered network by its sizes (:mod:`symgrad.model.layers`); it keeps
  the layer description and expands to scalar steps only when they are asked for;
* :meth:`Network.from_expr` takes a plain function of its parameters.

>>> net = Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> net.grad("x1").factored
2*x2*(x1*x2 - 3)
"""

from __future__ import annotations

import hashlib
import warnings
from functools import cached_property
from typing import Iterable, Mapping, Protocol

import sympy

from .. import hooks
from ..errors import (
    CycleError,
    LossError,
    SymgradError,
    UnknownSymbolError,
    UnusedParameterWarning,
)
from . import functions as fn
from .equations import (
    check_distinct,
    declared_names,
    default_loss,
    function_table,
    names_in,
    range_notes,
    read_equations,
    with_range_note,
)
from .names import real_symbol
from .step import Step


class LayerDescription(Protocol):
    """What a network needs of its layer description (:class:`symgrad.LayerSpec` is one):
    the scalar steps it stands for, built on first use."""

    def expand(self) -> tuple[Step, ...]: ...

__all__ = ["Network", "Step"]


def _topological(steps: dict[sympy.Symbol, Step]) -> list[Step]:
    """Order the steps so each follows the steps it uses; a cycle is an error naming it."""
    order: list[Step] = []
    state: dict[sympy.Symbol, int] = {}  # 1 = on the stack, 2 = done
    for root in steps:
        if state.get(root) == 2:
            continue
        stack = [(root, iter(sorted(steps[root].expr.free_symbols & steps.keys(), key=str)))]
        state[root] = 1
        path = [root]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                state[node] = 2
                order.append(steps[node])
                continue
            if state.get(child) == 1:
                cycle = path[path.index(child):] + [child]
                lines = ", ".join(str(steps[s].line) for s in cycle[:-1] if steps[s].line)
                raise CycleError(
                    "cycle: " + " -> ".join(s.name for s in cycle) + (f" (lines {lines})" if lines else ""),
                    token=child.name,
                    line=steps[child].line,
                )
            if state.get(child) is None:
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(steps[child].expr.free_symbols & steps.keys(), key=str))))
    return order




class Network:
    """Ordered steps ``name = expr`` ending in a scalar loss.

    Build one with :meth:`from_equations`, :func:`mlp` or :meth:`from_expr`; the
    constructor takes already-built :class:`Step` objects (or ``(symbol, expr)`` pairs).

    >>> net = Network.from_equations("h = w1*x; L = (h - y)**2", params="w1", inputs="x", targets="y")
    >>> [str(s) for s in net.steps]
    ['h = w1*x', 'L = (h - y)**2']
    >>> net.grad("w1").factored
    2*x*(h - y)
    """

    def __init__(
        self,
        steps: Iterable[Step | tuple] | None,
        *,
        params: Iterable[sympy.Symbol] | None,
        inputs: Iterable[sympy.Symbol] = (),
        targets: Iterable[sympy.Symbol] = (),
        loss: str | sympy.Symbol | None = None,
        name: str = "network",
        layers: LayerDescription | None = None,
        functions: Mapping[str, type] | None = None,
        source: str | None = None,
        range_notes: Mapping[str, str] | None = None,
    ):
        # A layered network may leave its parameters to its layer description: 200,000
        # sympy symbols are built only when a formula needs them (see ``params``).
        if params is None and layers is None:
            raise SymgradError("a Network needs its parameters (or a layer description that has them)")
        self._params = None if params is None else tuple(params)
        # Why a name is missing when the declaration was a range that stopped short of it
        # (w1:8 is w1..w7): the note an error about that name carries.
        self.range_notes = dict(range_notes or {})
        self.inputs = tuple(inputs)
        self.targets = tuple(targets)
        self.name = name
        self.layers = layers
        self.source = source
        self.functions = dict(functions or {})
        if self._params is not None:  # a layer description's names are distinct by construction
            check_distinct({"parameters": self._params, "inputs": self.inputs, "targets": self.targets}, {})
        if not (self._params if self._params is not None else self.layers.param_names()):
            raise SymgradError("the network declares no parameters to differentiate with respect to")
        self._loss_name = loss.name if isinstance(loss, sympy.Symbol) else loss
        if steps is None:
            if layers is None:
                raise SymgradError("a Network needs steps or a layer description")
            self._steps = None
        else:
            self._steps = self._validate(tuple(s if isinstance(s, Step) else Step(*s) for s in steps))

    # -- builders -------------------------------------------------------------

    @classmethod
    def from_equations(
        cls,
        text: str,
        params,
        inputs=None,
        targets=None,
        functions: Mapping[str, str] | None = None,
        loss: str | None = None,
        name: str = "network",
    ) -> "Network":
        """Read a network written one assignment per line (``;`` also separates, ``#`` comments).

        ``params``, ``inputs`` and ``targets`` are names as sympy's ``symbols`` takes them
        (``"w1:11 b1 b2"`` is w1..w10, b1, b2). sigmoid, tanh, relu, softplus, exp, log, abs
        and sqrt are known; ``functions={"g": "sigmoid"}`` names one as the text does.
        Equations may come in any order; the loss is ``loss=`` or else the last line
        (the one step nothing else uses, when the text lists the loss first).

        >>> net = Network.from_equations('''
        ...     Loss = (fhat - f)**2 / 2
        ...     fhat = g(w*i + b)
        ... ''', params="w b", inputs="i", targets="f", functions={"g": "sigmoid"})
        >>> net.loss, net.grad("b").factored
        (Loss, (1 - g(b + i*w))*(-f + fhat)*g(b + i*w))
        """
        eq = read_equations(text, params, inputs, targets, functions)
        if loss is None:
            loss = default_loss(eq.steps)
        return cls(
            eq.steps, params=eq.params, inputs=eq.inputs, targets=eq.targets, loss=loss, name=name, functions=eq.functions, source=text,
            range_notes=eq.range_notes,
        )

    @classmethod
    def from_expr(cls, expr, params=None, inputs=None, targets=None, functions=None, name: str = "f") -> "Network":
        """A plain function of its parameters, as one step ``f = expr``.

        ``expr`` is text (same rules as equations) or a sympy expression; ``params``
        defaults to every free name, sorted.

        >>> net = Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
        >>> net.grad("x2").factored
        2*x1*(x1*x2 - 3)
        """
        if isinstance(expr, (sympy.MatrixBase, list, tuple)):
            raise LossError(f"the function must be scalar, got a {type(expr).__name__} of shape {sympy.Matrix(expr).shape}")
        if isinstance(expr, str):
            if params is None:
                names = names_in(expr)
                table = function_table(functions)
                params = " ".join(sorted(n for n in names if n not in table))
            return cls.from_equations(f"{name} = {expr}", params=params, inputs=inputs, targets=targets, functions=functions, loss=name, name=name)
        expr = sympy.sympify(expr)
        if not isinstance(expr, sympy.Expr):
            raise LossError(f"the function must be a scalar expression, got {type(expr).__name__}")
        by_name = {s.name: real_symbol(s.name) for s in expr.free_symbols}
        expr = expr.xreplace({s: by_name[s.name] for s in expr.free_symbols})
        if params is None:
            params = sorted(by_name)
        ps, xs, ys = declared_names(params, "parameters"), declared_names(inputs, "inputs"), declared_names(targets, "targets")
        unknown = {s.name for s in expr.free_symbols} - {s.name for s in ps + xs + ys}
        notes = range_notes(params, inputs, targets)
        if unknown:
            tok = sorted(unknown)[0]
            raise with_range_note(UnknownSymbolError(f"unknown name {tok!r} in the function; declare it as a parameter, input or target", token=tok), notes)
        return cls([Step(real_symbol(name), expr)], params=ps, inputs=xs, targets=ys, loss=name, name=name, range_notes=notes)

    # -- structure ------------------------------------------------------------

    def _validate(self, steps: tuple[Step, ...]) -> tuple[Step, ...]:
        if not steps:
            raise LossError("the network has no steps")
        by_target: dict[sympy.Symbol, Step] = {}
        for st in steps:
            if not isinstance(st.expr, sympy.Expr):
                raise LossError(f"step {st.target} is not a scalar expression", token=st.target.name, line=st.line)
            if st.target in by_target:
                raise CycleError(f"{st.target.name!r} is assigned twice", token=st.target.name, line=st.line)
            by_target[st.target] = st
        leaves = set(self.params) | set(self.inputs) | set(self.targets)
        for st in steps:
            if st.target in leaves:
                raise CycleError(f"{st.target.name!r} is a declared parameter, input or target and cannot be assigned", token=st.target.name, line=st.line)
            for s in st.expr.free_symbols:
                if s not in leaves and s not in by_target:
                    where = f" on line {st.line}" if st.line else ""
                    raise UnknownSymbolError(f"unknown name {s.name!r} in step {st.target.name}{where}", token=s.name, line=st.line)
        ordered = _topological(by_target)
        loss_name = self._loss_name or steps[-1].target.name
        loss = next((st.target for st in ordered if st.target.name == loss_name), None)
        if loss is None:
            raise LossError(f"the loss {loss_name!r} is not one of the steps ({', '.join(s.target.name for s in steps)})", token=loss_name)
        # Keep only what the loss needs, in an order where each step follows its inputs.
        needed = {loss}
        for st in reversed(ordered):
            if st.target in needed:
                needed |= st.expr.free_symbols & by_target.keys()
        kept = tuple(st for st in ordered if st.target in needed)
        self.loss = loss
        used = set().union(*(st.expr.free_symbols for st in kept))
        unused = [p.name for p in self.params if p not in used]
        if unused:
            warnings.warn(
                UnusedParameterWarning(f"the loss {loss.name} does not depend on parameter(s) {', '.join(unused)}; their gradient is 0"),
                stacklevel=3,
            )
        return kept

    @property
    def params(self) -> tuple[sympy.Symbol, ...]:
        """The parameters, in gradient order; a layered network builds their symbols on first use."""
        if self._params is None:
            self._params = tuple(self.layers.params())
        return self._params

    @property
    def n_params(self) -> int:
        """How many parameters (without building a layered network's symbols).

        >>> import symgrad as sg
        >>> net = sg.mlp([784, 256, 10])
        >>> net.n_params, net._params is None
        (203530, True)
        """
        return len(self._params) if self._params is not None else len(self.layers.param_names())

    @property
    def steps(self) -> tuple[Step, ...]:
        """The ordered steps; a layered network expands to them on first use."""
        if self._steps is None:
            self._steps = self._validate(self.layers.expand())
        return self._steps

    @property
    def loss(self) -> sympy.Symbol:
        if "loss" not in self.__dict__:
            self.steps  # validation sets it
        return self.__dict__["loss"]

    @loss.setter
    def loss(self, value: sympy.Symbol) -> None:
        self.__dict__["loss"] = value

    @cached_property
    def step_map(self) -> dict[sympy.Symbol, sympy.Expr]:
        """Each step's symbol mapped to its expression."""
        return {st.target: st.expr for st in self.steps}

    @cached_property
    def _symbols_by_name(self) -> dict[str, sympy.Symbol]:
        table = {s.name: s for s in self.params + self.inputs + self.targets}
        if self.layers is None or self._steps is not None:
            table.update({st.target.name: st.target for st in self.steps})
        return table

    def symbol(self, name: str | sympy.Symbol) -> sympy.Symbol:
        """Look a parameter, input, target or step up by name.

        >>> import symgrad as sg
        >>> sg.mlp([2, 1]).symbol("W1_1_2")
        W1_1_2
        """
        key = name.name if isinstance(name, sympy.Symbol) else str(name)
        table = self._symbols_by_name
        if key not in table and self.layers is not None:
            table.update({st.target.name: st.target for st in self.steps})
        if key not in table:
            raise with_range_note(UnknownSymbolError(f"{key!r} is not a name in network {self.name!r}", token=key), self.range_notes)
        return table[key]

    def parameter(self, name: str | sympy.Symbol) -> sympy.Symbol:
        """The parameter called ``name``; any other name is an error that lists the parameters."""
        key = name.name if isinstance(name, sympy.Symbol) else str(name)
        for p in self.params:
            if p.name == key:
                return p
        shown = ", ".join(p.name for p in self.params[:12]) + (", ..." if len(self.params) > 12 else "")
        kind = "is not a parameter"
        if any(s.name == key for s in self.inputs):
            kind = "is an input, not a parameter"
        elif any(s.name == key for s in self.targets):
            kind = "is a target, not a parameter"
        raise with_range_note(UnknownSymbolError(f"{key!r} {kind} of network {self.name!r} (parameters: {shown})", token=key), self.range_notes)

    @cached_property
    def substituted(self) -> dict[sympy.Symbol, sympy.Expr]:
        """Each step's symbol mapped to its expression in parameters, inputs and targets only."""
        full: dict[sympy.Symbol, sympy.Expr] = {}
        for st in self.steps:
            full[st.target] = st.expr.xreplace(full)
        return full

    @property
    def loss_expr(self) -> sympy.Expr:
        """The loss with every intermediate substituted (it can be big)."""
        return self.substituted[self.loss]

    @cached_property
    def fingerprint(self) -> str:
        """A hash of the network (steps, declarations, order): equal networks, equal hashes."""
        h = hashlib.sha256()
        for group in (self.params, self.inputs, self.targets):
            h.update(("|".join(s.name for s in group) + "\n").encode())
        for st in self.steps:
            h.update(f"{st.target.name}={sympy.srepr(st.expr)}\n".encode())
        # srepr names a function but not what it stands for: g as a sigmoid and g as a
        # tanh must not share a hash.
        kinds = sorted({(type(f).__name__, fn.kind_text(type(f))) for st in self.steps for f in st.expr.atoms(sympy.Function)})
        h.update(repr(kinds).encode())
        return h.hexdigest()

    # -- later stages, reached through symgrad.hooks so that imports flow one way --

    @cached_property
    def _sweep(self):
        return hooks.reverse_sweep(self)

    def grad(self, name: str | sympy.Symbol):
        """The :class:`~symgrad.Derivative` of the loss with respect to one parameter."""
        return hooks.derivative(self, self.parameter(name), self._sweep)

    def gradients(self):
        """Every parameter's derivative, in ``net.params`` order (:class:`~symgrad.Gradients`)."""
        return hooks.gradients(self, self._sweep)

    def hessian(self):
        """The exact Hessian of the loss, a sympy Matrix in ``net.params`` order, its entries
        in the named intermediates (a reverse sweep over the gradient program)."""
        return hooks.hessian(self, self._sweep)

    def compile(self, **options):
        """The compiled loss and gradient (a :class:`~symgrad.GradFn`; options as :func:`symgrad.compile_network`)."""
        return hooks.compile_network(self, **options)

    def matrix_form(self):
        """The layer-level (δ-recursion) gradient formulas of a layered network (:class:`~symgrad.MatrixForm`)."""
        return hooks.matrix_form(self)

    def draw(self, path=None, highlight=None):
        """A picture of the computation (a matplotlib Figure; saved to ``path``, .svg/.png/.pdf, when given);
        ``highlight="w1"`` marks the chain-rule routes from w1 to the loss (:mod:`symgrad.present.draw`)."""
        return hooks.draw_network(self, path, highlight)

    def _repr_latex_(self) -> str:
        return hooks.display_latex(self)

    def _latex(self, printer=None) -> str:
        # sympy.latex(net): the equations, as a notebook shows them.
        return hooks.display_latex(self).strip("$")

    def __repr__(self) -> str:
        n_steps = len(self._steps) if self._steps is not None else "unexpanded"
        return f"<Network {self.name!r}: {self.n_params} params, {len(self.inputs)} inputs, {len(self.targets)} targets, steps={n_steps}>"

    def __str__(self) -> str:
        return "\n".join(str(st) for st in self.steps)


