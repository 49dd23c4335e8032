"""``Network``: a network, or any composite function, as a straight-line program.

Every builder lowers to one form: an ordered tuple of :class:`Step` (``name = expr``),
each referring only to parameters, inputs, targets and earlier steps, the last one
(or the one named as loss) being the scalar loss. Derivation, printing, code
generation and checking all read this one form.

Three builders:

* :meth:`Network.from_equations` reads one assignment per line, as a hand derivation
  writes the network (seed 002);
* :func:`mlp` declares a layered network by its sizes (seeds 001, 003, 004); it keeps
  the layer description and expands to scalar steps only when they are asked for;
* :meth:`Network.from_expr` takes a plain function of its parameters (seed 000).

>>> net = Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> net.grad("x1").factored
2*x2*(x1*x2 - 3)
"""

from __future__ import annotations

import hashlib
import io
import keyword
import re
import tokenize
import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, Mapping, Sequence

import sympy
from sympy.parsing.sympy_parser import auto_number, convert_xor, parse_expr, rationalize

from .. import hooks
from ..errors import (
    CycleError,
    LossError,
    ParseError,
    ShapeError,
    SymgradError,
    UnknownSymbolError,
    UnusedParameterWarning,
)
from . import functions as fn
from .canonical import product as canonical_product

__all__ = ["Network", "Step", "LayerSpec", "mlp", "real_symbol"]


def real_symbol(name: str) -> sympy.Symbol:
    """The symbol symgrad uses for ``name``: real, so |x|' is sign(x), not a complex formula."""
    return sympy.Symbol(name, real=True)


@dataclass(frozen=True)
class Step:
    """One assignment ``target = expr``; ``line`` is its line in the source text, if any."""

    target: sympy.Symbol
    expr: sympy.Expr
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.target} = {self.expr}"


# --------------------------------------------------------------------------- names


def _parse_names(spec, what: str) -> tuple[sympy.Symbol, ...]:
    """Declared names: ``"w1:11 b1 b2"`` (sympy's range syntax) or an iterable of names/symbols."""
    if spec is None:
        return ()
    if isinstance(spec, str):
        text = spec.replace(",", " ").strip()
        if not text:
            return ()
        try:
            made = sympy.symbols(text, seq=True)
        except Exception as exc:  # sympy raises ValueError/TypeError on bad ranges
            raise ParseError(f"cannot read the {what} list {spec!r}: {exc}", token=spec) from None
        names = [s.name for s in made]
    else:
        names = [s.name if isinstance(s, sympy.Symbol) else str(s) for s in spec]
    for name in names:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ParseError(f"{name!r} in the {what} list is not a valid name", token=name)
    return tuple(real_symbol(n) for n in names)


def _check_distinct(groups: Mapping[str, Sequence[sympy.Symbol]], functions: Mapping[str, object]) -> None:
    seen: dict[str, str] = {}
    for what, symbols in groups.items():
        for s in symbols:
            if s.name in seen:
                where = "twice among the " + what if seen[s.name] == what else f"both among the {seen[s.name]} and the {what}"
                raise CycleError(f"{s.name!r} is declared {where}", token=s.name)
            if s.name in functions:
                raise CycleError(f"{s.name!r} is declared among the {what} but is also a function name", token=s.name)
            seen[s.name] = what


def _function_table(functions: Mapping[str, str] | None) -> dict[str, type]:
    table = {name: fn.resolve(name) for name in fn.FUNCTION_NAMES}
    for name, kind in (functions or {}).items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ParseError(f"function name {name!r} is not a valid name", token=str(name))
        table[name] = fn.resolve(name, kind)
    return table


# --------------------------------------------------------------------------- equations

_ALLOWED_OPS = {"+", "-", "*", "/", "**", "^", "(", ")", ","}
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)(.*)$", re.S)


@dataclass(frozen=True)
class _Statement:
    target: str
    rhs: str
    line: int


def _split_statements(text: str) -> list[_Statement]:
    statements = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        code = raw.split("#", 1)[0]
        for part in code.split(";"):
            if not part.strip():
                continue
            m = _ASSIGNMENT.match(part)
            if not m:
                token = part.strip().split()[0] if part.strip() else part
                raise ParseError(
                    f"line {lineno}: expected 'name = expression', got {part.strip()!r}",
                    token=token,
                    line=lineno,
                )
            statements.append(_Statement(m.group(1), m.group(2).strip(), lineno))
    return statements


def _check_tokens(stmt: _Statement, known: Mapping[str, object], functions: Mapping[str, type]) -> None:
    """Reject anything but names, numbers and arithmetic before sympy sees the text."""
    if not stmt.rhs:
        raise ParseError(f"line {stmt.line}: nothing after '{stmt.target} ='", token=stmt.target, line=stmt.line)
    try:
        tokens = [
            t
            for t in tokenize.generate_tokens(io.StringIO(stmt.rhs).readline)
            if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)
        ]
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise ParseError(f"line {stmt.line}: cannot read {stmt.rhs!r}: {exc}", token=stmt.rhs, line=stmt.line) from None
    for i, tok in enumerate(tokens):
        nxt = tokens[i + 1].string if i + 1 < len(tokens) else None
        where = f"line {stmt.line} ({stmt.target} = {stmt.rhs})"
        if tok.type == tokenize.NAME:
            if tok.string in functions:
                if nxt != "(":
                    raise ParseError(f"{where}: function {tok.string!r} is used without an argument", token=tok.string, line=stmt.line)
            elif tok.string in known:
                if nxt == "(":
                    raise ParseError(f"{where}: {tok.string!r} is not a function (declare it with functions={{...}})", token=tok.string, line=stmt.line)
            else:
                raise UnknownSymbolError(
                    f"{where}: unknown name {tok.string!r}; it is not a parameter, input, target, step or function",
                    token=tok.string,
                    line=stmt.line,
                )
        elif tok.type == tokenize.NUMBER:
            if tok.string[-1:] in "jJ":
                raise ParseError(f"{where}: complex number {tok.string!r}", token=tok.string, line=stmt.line)
            if nxt is not None and tokens[i + 1].type == tokenize.NAME:
                raise ParseError(
                    f"{where}: write '{tok.string}*{nxt}' for a product (no implicit multiplication)",
                    token=tok.string + nxt,
                    line=stmt.line,
                )
        elif tok.type == tokenize.OP:
            if tok.string not in _ALLOWED_OPS:
                raise ParseError(f"{where}: {tok.string!r} is not allowed (only + - * / ** ^ and brackets)", token=tok.string, line=stmt.line)
        else:
            raise ParseError(f"{where}: unexpected {tok.string!r}", token=tok.string, line=stmt.line)


_PARSER_GLOBALS = {
    "Integer": sympy.Integer,
    "Float": sympy.Float,
    "Rational": sympy.Rational,
    "__builtins__": {},
}


def _parse_rhs(stmt: _Statement, namespace: Mapping[str, object]) -> sympy.Expr:
    # Tokens were checked already, so the namespace holds every name the text can
    # reach and the parser's globals nothing but number constructors.
    try:
        expr = parse_expr(
            stmt.rhs,
            local_dict=dict(namespace),
            global_dict=dict(_PARSER_GLOBALS),
            transformations=(auto_number, rationalize, convert_xor),
        )
    except SyntaxError as exc:
        raise ParseError(f"line {stmt.line}: syntax error in {stmt.rhs!r}", token=stmt.rhs, line=stmt.line) from None
    except (TypeError, ValueError) as exc:
        raise ParseError(f"line {stmt.line}: cannot build {stmt.rhs!r}: {exc}", token=stmt.rhs, line=stmt.line) from None
    if not isinstance(expr, sympy.Expr):
        raise LossError(
            f"line {stmt.line}: {stmt.target} = {stmt.rhs!r} is not a scalar expression (a tuple or a comparison?)",
            token=stmt.target,
            line=stmt.line,
        )
    return expr


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


# --------------------------------------------------------------------------- layered


@dataclass(frozen=True)
class LayerSpec:
    """A layered network by its layer description, kept so later stages can work at
    layer level; :meth:`expand` gives the scalar steps.

    Names: inputs ``x1..xn``, targets ``y1..ym``, pre-activations ``u{l}_{i}``,
    activations ``x{l}_{i}``, weights ``W{l}_{i}_{j}``, biases ``b{l}_{i}``, loss ``L``.
    """

    sizes: tuple[int, ...]
    activations: tuple[str, ...]
    loss: str
    bias: bool = True

    @property
    def n_layers(self) -> int:
        return len(self.sizes) - 1

    @staticmethod
    def weight_name(l: int, i: int, j: int) -> str:
        return f"W{l}_{i}_{j}"

    @staticmethod
    def bias_name(l: int, i: int) -> str:
        return f"b{l}_{i}"

    def weight(self, l: int, i: int, j: int) -> sympy.Symbol:
        return real_symbol(self.weight_name(l, i, j))

    def bias_symbol(self, l: int, i: int) -> sympy.Symbol:
        return real_symbol(self.bias_name(l, i))

    def param_names(self) -> tuple[str, ...]:
        """The parameters' names in gradient order: per layer ``W{l}`` row by row, then ``b{l}``.

        Names only, for code that must not build 200,000 sympy symbols to learn them.
        """
        out: list[str] = []
        for l in range(1, self.n_layers + 1):
            rows, cols = self.sizes[l], self.sizes[l - 1]
            out += [self.weight_name(l, i, j) for i in range(1, rows + 1) for j in range(1, cols + 1)]
            if self.bias:
                out += [self.bias_name(l, i) for i in range(1, rows + 1)]
        return tuple(out)

    def params(self) -> tuple[sympy.Symbol, ...]:
        return tuple(real_symbol(name) for name in self.param_names())

    def inputs(self) -> tuple[sympy.Symbol, ...]:
        return tuple(real_symbol(f"x{j}") for j in range(1, self.sizes[0] + 1))

    def targets(self) -> tuple[sympy.Symbol, ...]:
        return tuple(real_symbol(f"y{k}") for k in range(1, self.sizes[-1] + 1))

    def expand(self) -> tuple[Step, ...]:
        steps: list[Step] = []
        prev: list[sympy.Expr] = list(self.inputs())
        L = self.n_layers
        for l in range(1, L + 1):
            act = self.activations[l - 1]
            fused = l == L and self.loss == "softmax_cross_entropy"
            us = []
            for i in range(1, self.sizes[l] + 1):
                terms = [canonical_product(self.weight(l, i, j), x) for j, x in enumerate(prev, start=1)]
                if self.bias:
                    terms.append(self.bias_symbol(l, i))
                u = real_symbol(f"u{l}_{i}")
                steps.append(Step(u, sympy.Add(*terms)))
                us.append(u)
            if fused:
                lse = real_symbol(f"lse{l}")
                steps.append(Step(lse, fn.logsumexp(*us)))
                prev = [lse] + us  # consumed by the loss below
            elif act == "identity":
                prev = us
            elif act == "softmax":
                lse = real_symbol(f"lse{l}")
                steps.append(Step(lse, fn.logsumexp(*us)))
                prev = []
                for i, u in enumerate(us, start=1):
                    x = real_symbol(f"x{l}_{i}")
                    steps.append(Step(x, sympy.exp(u - lse)))
                    prev.append(x)
            else:
                f = fn.resolve(act)
                prev = []
                for i, u in enumerate(us, start=1):
                    x = real_symbol(f"x{l}_{i}")
                    steps.append(Step(x, f(u)))
                    prev.append(x)
        ys = self.targets()
        if self.loss == "mse":
            loss = sympy.Rational(1, 2) * sympy.Add(*[(o - y) ** 2 for o, y in zip(prev, ys)])
        elif self.loss == "mae":
            loss = sympy.Add(*[sympy.Abs(o - y) for o, y in zip(prev, ys)])
        elif self.loss == "cross_entropy":
            if self.activations[-1] == "softmax":
                loss = -sympy.Add(*[y * sympy.log(o) for o, y in zip(prev, ys)])
            else:
                loss = -sympy.Add(*[y * sympy.log(o) + (1 - y) * sympy.log(1 - o) for o, y in zip(prev, ys)])
        else:  # softmax_cross_entropy: −Σ y_k log softmax_k(u) = lse·Σy − Σ y_k u_k
            lse, us = prev[0], prev[1:]
            loss = lse * sympy.Add(*ys) - sympy.Add(*[y * u for u, y in zip(us, ys)])
        steps.append(Step(real_symbol("L"), loss))
        return tuple(steps)


_MLP_ACTIVATIONS = ("sigmoid", "tanh", "relu", "softplus", "identity", "softmax")


def mlp(sizes: Sequence[int], activation: str | Sequence[str] = "sigmoid", loss: str = "mse", bias: bool = True) -> "Network":
    """A fully connected layered network, u⁽ˡ⁾ = W⁽ˡ⁾x⁽ˡ⁻¹⁾ + b⁽ˡ⁾, x⁽ˡ⁾ = f(u⁽ˡ⁾).

    ``activation`` is one name for every layer or a list with one per layer
    (sigmoid, tanh, relu, softplus, identity; softmax for the output layer).
    ``loss`` is ``"mse"`` (½‖o − y‖², the seeds' convention), ``"mae"`` (Σ|o − y|,
    seed 001), ``"cross_entropy"`` or ``"softmax_cross_entropy"`` (softmax output
    fused with its cross-entropy). Parameters are ordered layer by layer: ``W{l}`` row by
    row (``W{l}_{i}_{j}``), then ``b{l}``.

    >>> net = mlp([3, 4, 2])
    >>> len(net.params), net.params[0], net.params[12]
    (26, W1_1_1, b1_1)
    """
    sizes = tuple(sizes)
    if len(sizes) < 2 or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in sizes):
        raise ShapeError(f"mlp sizes must be two or more positive integers, got {list(sizes)!r}", token=str(list(sizes)))
    n_layers = len(sizes) - 1
    if isinstance(activation, str):
        acts = (activation,) * n_layers
    else:
        acts = tuple(activation)
        if len(acts) != n_layers:
            raise ShapeError(
                f"mlp with sizes {list(sizes)} has {n_layers} layers but {len(acts)} activation(s) were given: {list(acts)}",
                token=str(list(acts)),
            )
    for l, a in enumerate(acts, start=1):
        if a not in _MLP_ACTIVATIONS:
            raise UnknownSymbolError(f"unknown activation {a!r} for layer {l} (known: {', '.join(_MLP_ACTIVATIONS)})", token=a)
        if a == "softmax" and l != n_layers:
            raise ShapeError(f"softmax is an output activation; layer {l} of {n_layers} is hidden", token=a)
    if loss not in fn.LOSSES:
        raise UnknownSymbolError(f"unknown loss {loss!r} (known: {', '.join(fn.LOSSES)})", token=loss)
    if loss == "softmax_cross_entropy":
        if isinstance(activation, str):
            acts = acts[:-1] + ("softmax",)
        elif acts[-1] not in ("softmax", "identity"):
            raise ShapeError(
                f"softmax_cross_entropy fuses the softmax into the loss; the output activation must be softmax or identity, not {acts[-1]!r}",
                token=acts[-1],
            )
        else:
            acts = acts[:-1] + ("softmax",)
    spec = LayerSpec(sizes, acts, loss, bool(bias))
    return Network(
        None,
        params=spec.params(),
        inputs=spec.inputs(),
        targets=spec.targets(),
        loss="L",
        name=f"mlp {'-'.join(map(str, sizes))} {'/'.join(acts)} {loss}",
        layers=spec,
    )


# --------------------------------------------------------------------------- Network


class Network:
    """A straight-line program ``name = expr`` ending in a scalar loss.

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
        params: Iterable[sympy.Symbol],
        inputs: Iterable[sympy.Symbol] = (),
        targets: Iterable[sympy.Symbol] = (),
        loss: str | sympy.Symbol | None = None,
        name: str = "network",
        layers: LayerSpec | None = None,
        functions: Mapping[str, type] | None = None,
        source: str | None = None,
    ):
        self.params = tuple(params)
        self.inputs = tuple(inputs)
        self.targets = tuple(targets)
        self.name = name
        self.layers = layers
        self.source = source
        self.functions = dict(functions or {})
        _check_distinct({"parameters": self.params, "inputs": self.inputs, "targets": self.targets}, {})
        if not self.params:
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
        if not isinstance(text, str):
            raise ParseError(f"equations must be text, got {type(text).__name__}")
        table = _function_table(functions)
        ps, xs, ys = _parse_names(params, "parameters"), _parse_names(inputs, "inputs"), _parse_names(targets, "targets")
        _check_distinct({"parameters": ps, "inputs": xs, "targets": ys}, table)
        statements = _split_statements(text)
        if not statements:
            raise LossError("the equations are empty: no 'name = expression' line found")
        declared = {s.name: s for s in ps + xs + ys}
        step_symbols: dict[str, sympy.Symbol] = {}
        first_line: dict[str, int] = {}
        for st in statements:
            if st.target in declared:
                raise CycleError(
                    f"line {st.line}: {st.target!r} is declared as a parameter, input or target and cannot be assigned",
                    token=st.target,
                    line=st.line,
                )
            if st.target in table:
                raise CycleError(f"line {st.line}: {st.target!r} is a function name and cannot be assigned", token=st.target, line=st.line)
            if st.target in first_line:
                raise CycleError(
                    f"line {st.line}: {st.target!r} is assigned again (first on line {first_line[st.target]})",
                    token=st.target,
                    line=st.line,
                )
            first_line[st.target] = st.line
            step_symbols[st.target] = real_symbol(st.target)
        namespace: dict[str, object] = {**declared, **step_symbols, **table}
        steps = []
        for st in statements:
            _check_tokens(st, {**declared, **step_symbols}, table)
            expr = _parse_rhs(st, namespace)
            if step_symbols[st.target] in expr.free_symbols:
                raise CycleError(f"line {st.line}: {st.target!r} is defined in terms of itself", token=st.target, line=st.line)
            steps.append(Step(step_symbols[st.target], expr, st.line))
        if loss is None:
            loss = _default_loss(steps)
        return cls(steps, params=ps, inputs=xs, targets=ys, loss=loss, name=name, functions=table, source=text)

    @classmethod
    def from_expr(cls, expr, params=None, inputs=None, targets=None, functions=None, name: str = "f") -> "Network":
        """A plain function of its parameters, as one step ``f = expr`` (seed 000).

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
                names = _names_in(expr)
                table = _function_table(functions)
                params = " ".join(sorted(n for n in names if n not in table))
            return cls.from_equations(f"{name} = {expr}", params=params, inputs=inputs, targets=targets, functions=functions, loss=name, name=name)
        expr = sympy.sympify(expr)
        if not isinstance(expr, sympy.Expr):
            raise LossError(f"the function must be a scalar expression, got {type(expr).__name__}")
        by_name = {s.name: real_symbol(s.name) for s in expr.free_symbols}
        expr = expr.xreplace({s: by_name[s.name] for s in expr.free_symbols})
        if params is None:
            params = sorted(by_name)
        ps, xs, ys = _parse_names(params, "parameters"), _parse_names(inputs, "inputs"), _parse_names(targets, "targets")
        unknown = {s.name for s in expr.free_symbols} - {s.name for s in ps + xs + ys}
        if unknown:
            tok = sorted(unknown)[0]
            raise UnknownSymbolError(f"unknown name {tok!r} in the function; declare it as a parameter, input or target", token=tok)
        return cls([Step(real_symbol(name), expr)], params=ps, inputs=xs, targets=ys, loss=name, name=name)

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

        >>> mlp([2, 1]).symbol("W1_1_2")
        W1_1_2
        """
        key = name.name if isinstance(name, sympy.Symbol) else str(name)
        table = self._symbols_by_name
        if key not in table and self.layers is not None:
            table.update({st.target.name: st.target for st in self.steps})
        if key not in table:
            raise UnknownSymbolError(f"{key!r} is not a name in network {self.name!r}", token=key)
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
        raise UnknownSymbolError(f"{key!r} {kind} of network {self.name!r} (parameters: {shown})", token=key)

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
        """A hash of the program (steps, declarations, order): equal networks, equal hashes."""
        h = hashlib.sha256()
        for group in (self.params, self.inputs, self.targets):
            h.update(("|".join(s.name for s in group) + "\n").encode())
        for st in self.steps:
            h.update(f"{st.target.name}={sympy.srepr(st.expr)}\n".encode())
        # srepr names a function but not what it stands for: g as a sigmoid and g as a
        # tanh must not share a hash.
        kinds = sorted({(type(f).__name__, str(fn.kind_of(type(f)))) for st in self.steps for f in st.expr.atoms(sympy.Function)})
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

    def compile(self, **options):
        """The compiled loss and gradient (a :class:`~symgrad.GradFn`; options as :func:`symgrad.compile_network`)."""
        return hooks.compile_network(self, **options)

    def matrix_form(self):
        """The layer-level (δ-recursion) gradient formulas of a layered network (:class:`~symgrad.MatrixForm`)."""
        return hooks.matrix_form(self)

    def __repr__(self) -> str:
        n_steps = len(self._steps) if self._steps is not None else "unexpanded"
        return f"<Network {self.name!r}: {len(self.params)} params, {len(self.inputs)} inputs, {len(self.targets)} targets, steps={n_steps}>"

    def __str__(self) -> str:
        return "\n".join(str(st) for st in self.steps)


def _names_in(text: str) -> set[str]:
    try:
        return {t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.NAME}
    except (tokenize.TokenError, IndentationError, SyntaxError) as exc:
        raise ParseError(f"cannot read {text!r}: {exc}", token=text) from None


def _default_loss(steps: list[Step]) -> str:
    """The last line, when nothing uses it; else the one step nothing uses (loss written first)."""
    used = set().union(*(st.expr.free_symbols for st in steps))
    sinks = [st for st in steps if st.target not in used]
    last = steps[-1]
    if last.target not in used:
        return last.target.name
    if len(sinks) == 1:
        return sinks[0].target.name
    names = ", ".join(st.target.name for st in sinks)
    raise LossError(f"cannot tell which step is the loss: {names} are not used by any other step; pass loss=", token=names)
