"""The straight-line programs code generation prints.

A *gradient program* is the network's forward steps, then the reverse sweep's
adjoint steps (``bar_u1 = …``), then one entry ``g[k] = …`` per parameter.
It is built from the derived gradients, with two reductions on top of the sharing
the sweep already does:

* adjoints reuse forward values: the sweep writes σ'(u1) as ``g(u1)(1 − g(u1))``,
  and ``g(u1)`` is the step ``fhat1``, so the program reads ``fhat1(1 − fhat1)``;
* ``sympy.cse`` over the whole program finds what is still repeated; each
  temporary is placed just before its first use, so the program stays in order.

The gradient is *assigned* (``g[k] = …``, 0 for a parameter the loss does not
depend on), not added: a store compiles in about half the time of a load-add-store
in numba, which matters with thousands of parameters; the batched loop adds each
sample's gradient into its accumulator itself.

Before all that the network goes through :func:`symgrad.compile.stable.stabilize`, so that
the program differentiates the stable form of a log-sigmoid or a log-softmax.

A *value program* is the forward steps alone (for the loss without gradient).

Every expression of a program is bounded (:func:`_bounded`): a sum or product of more
than :data:`MAX_ARGS` terms becomes sums of at most that many, and an expression taller
than :data:`MAX_HEIGHT` gets its tall pieces named as temporaries. Printed code then
never nests deeper than that, however big the network (Python's own compiler recurses
on nested code and fails at a few thousand levels).

:func:`split` cuts a long program into parts, each compiled as its own function:
numba's compile time grows faster than linearly with a function's length, so
several bounded parts compile faster than one long function. Values a later part
needs travel through a work vector.

>>> from symgrad import Network
>>> net = Network.from_equations("u = w*x; o = sigmoid(u); L = (o - y)**2/2",
...                              params="w", inputs="x", targets="y")
>>> for st in gradient_program(net).statements:
...     print(st)
u = w*x
o = sigmoid(u)
t0 = o - y
L = t0**2/2
bar_o = t0
bar_u = bar_o*o*(1 - o)
g[0] = bar_u*x
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import sympy
from sympy.printing.str import StrPrinter

from ..model.network import Network
from .stable import stabilize

__all__ = ["Assign", "GradientEntry", "Layout", "Part", "Program", "compile_cost", "gradient_program", "split", "value_program"]


@dataclass(frozen=True)
class Assign:
    """``target = expr``. ``section`` says which stage it belongs to: "forward",
    "adjoint" or "gradient" (a common subexpression takes its first user's)."""

    target: sympy.Symbol
    expr: sympy.Expr
    section: str
    temporary: bool = False

    def __str__(self) -> str:
        return f"{self.target.name} = {_show(self.expr)}"


@dataclass(frozen=True)
class GradientEntry:
    """``g[index] = expr``: one parameter's derivative, for one sample."""

    index: int
    expr: sympy.Expr
    section: str = "gradient"

    def __str__(self) -> str:
        return f"g[{self.index}] = {_show(self.expr)}"


Statement = Assign | GradientEntry


@dataclass(frozen=True)
class Program:
    """Statements in evaluation order, and the symbol holding the loss when they are done.

    ``params``, ``inputs`` and ``targets`` are the leaves, read from the argument
    arrays; the ``g`` of a :class:`GradientEntry` is indexed in ``params`` order.
    """

    statements: tuple[Statement, ...]
    loss: sympy.Symbol
    params: tuple[sympy.Symbol, ...]
    inputs: tuple[sympy.Symbol, ...]
    targets: tuple[sympy.Symbol, ...]

    def op_count(self, sections: Iterable[str] | None = None) -> int:
        """Arithmetic operations and function calls (``sympy.count_ops``), optionally of some sections only.

        >>> from symgrad import Network
        >>> value_program(Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")).op_count()
        4
        """
        wanted = None if sections is None else set(sections)
        return sum(
            _ops(st) for st in self.statements if wanted is None or st.section in wanted
        )


def _ops(st: Statement) -> int:
    return sympy.count_ops(st.expr)


class _PlainNames(StrPrinter):
    """sympy's str, but adjoints and temporaries (Dummy symbols) without the leading ``_``."""

    def _print_Dummy(self, expr):
        return expr.name


def _show(expr: sympy.Expr) -> str:
    return _PlainNames().doprint(expr)


# --------------------------------------------------------------------------- building


def value_program(net: Network) -> Program:
    """The forward steps alone, common subexpressions shared, ending in the loss.

    >>> from symgrad import Network
    >>> net = Network.from_expr("exp(a*b) + (a*b - 1)**2", params="a b")
    >>> for st in value_program(net).statements:
    ...     print(st)
    t0 = a*b
    f = (t0 - 1)**2 + exp(t0)
    """
    code_net = stabilize(net)
    named = [Assign(st.target, st.expr, "forward") for st in code_net.steps]
    return Program(_bounded(_eliminate_common(named)), code_net.loss, net.params, net.inputs, net.targets)


def gradient_program(net: Network) -> Program:
    """Forward steps, adjoint steps and one gradient entry per parameter, in that order.

    >>> from symgrad import Network
    >>> program = gradient_program(Network.from_expr("a*b + a", params="a b"))
    >>> [str(st) for st in program.statements]
    ['f = a*b + a', 'g[0] = b + 1', 'g[1] = a']
    """
    code_net = stabilize(net)
    sweep = code_net.gradients().sweep  # the network's own, cached sweep when nothing was rewritten
    named: list[Statement] = [Assign(st.target, st.expr, "forward") for st in code_net.steps]
    forward_values = _forward_values(code_net)
    named += [Assign(bar, _reuse(expr, forward_values), "adjoint") for bar, expr in sweep.adjoint_steps]
    for index, p in enumerate(code_net.params):
        derivative = sweep.in_adjoints.get(p, sympy.S.Zero)
        named.append(GradientEntry(index, _reuse(derivative, forward_values)))
    return Program(_bounded(_eliminate_common(named)), code_net.loss, net.params, net.inputs, net.targets)


def _forward_values(net: Network) -> dict[sympy.Expr, sympy.Symbol]:
    """Each step's expression mapped to its symbol (the first one, if two steps are equal).

    A bare symbol or number is left out: replacing every ``w1`` by a step ``h = w1``
    would be correct but only obscure the program.
    """
    table: dict[sympy.Expr, sympy.Symbol] = {}
    for st in net.steps:
        if not st.expr.is_Atom:
            table.setdefault(st.expr, st.target)
    return table


def _reuse(expr: sympy.Expr, forward_values: dict[sympy.Expr, sympy.Symbol]) -> sympy.Expr:
    """Replace recomputations of forward steps by the steps' symbols.

    Repeated until nothing changes: once ``logsumexp(u1, u2)`` became ``lse``,
    ``exp(u1 − lse)`` matches the step ``x1 = exp(u1 − lse)``.
    """
    while True:
        replaced = expr.xreplace(forward_values)
        if replaced == expr:
            return replaced
        expr = replaced


def _eliminate_common(named: Sequence[Statement]) -> tuple[Statement, ...]:
    """Run ``sympy.cse`` over all statements and place each temporary before its first use.

    cse returns its temporaries as one block to evaluate first, but here they may use
    symbols that earlier statements assign (``bar_u1·w7`` needs ``bar_u1``). A temporary
    is a piece of some statement's expression, so everything it uses is assigned
    before that statement; placing it just before its first user is always valid.
    """
    temporaries = sympy.numbered_symbols("t", cls=sympy.Dummy)
    replacements, reduced = sympy.cse([st.expr for st in named], symbols=temporaries, order="none")
    definition = dict(replacements)
    rank = {t: i for i, (t, _) in enumerate(replacements)}
    placed: set[sympy.Symbol] = set()
    out: list[Statement] = []
    for st, expr in zip(named, reduced):
        needed = []
        stack = [s for s in expr.free_symbols if s in definition and s not in placed]
        while stack:
            t = stack.pop()
            if t in placed:
                continue
            placed.add(t)
            needed.append(t)
            stack.extend(s for s in definition[t].free_symbols if s in definition and s not in placed)
        # cse lists its temporaries so that each uses only earlier ones: keep that order.
        for t in sorted(needed, key=rank.__getitem__):
            out.append(Assign(t, definition[t], st.section, temporary=True))
        if isinstance(st, Assign):
            out.append(Assign(st.target, expr, st.section))
        else:
            out.append(GradientEntry(st.index, expr, st.section))
    return tuple(out)


#: The most terms a printed sum or product has (more are summed in pieces).
MAX_ARGS = 64
#: The tallest printed expression; taller ones have their pieces named as temporaries.
MAX_HEIGHT = 40


def _bounded(statements: Sequence[Statement], max_args: int = MAX_ARGS, max_height: int = MAX_HEIGHT) -> tuple[Statement, ...]:
    """Each statement with its expression bounded in width and height (see the module
    docstring), the temporaries that takes placed just before it. Iterative: no Python
    recursion, whatever the expression.

    >>> import sympy
    >>> ws = sympy.symbols("w0:10")
    >>> out = _bounded([Assign(sympy.Symbol("L"), sympy.Add(*ws), "forward")], max_args=4)
    >>> [len(st.expr.args) for st in out]
    [4, 4, 2, 3]
    """
    names = sympy.numbered_symbols("b", cls=sympy.Dummy)
    out: list[Statement] = []
    for st in statements:
        if _fits(st.expr, max_args, max_height):
            out.append(st)
            continue
        hoisted: list[Assign] = []

        def name(piece):
            t = next(names)
            hoisted.append(Assign(t, piece, st.section, temporary=True))
            return t

        expr = _rebuild(st.expr, max_args, max_height, name)
        out += hoisted
        out.append(Assign(st.target, expr, st.section, st.temporary) if isinstance(st, Assign) else GradientEntry(st.index, expr, st.section))
    return tuple(out)


def _fits(expr: sympy.Expr, max_args: int, max_height: int) -> bool:
    stack = [(expr, 1)]
    while stack:
        e, depth = stack.pop()
        if depth > max_height or ((e.is_Add or e.is_Mul) and len(e.args) > max_args):
            return False
        stack.extend((a, depth + 1) for a in e.args)
    return True


def _rebuild(expr: sympy.Expr, max_args: int, max_height: int, name) -> sympy.Expr:
    """``expr`` rebuilt bottom-up (an explicit stack): wide sums and products cut into
    named pieces, and the arguments of a node that would be too tall named."""
    done: dict[sympy.Expr, tuple[sympy.Expr, int]] = {}  # node -> (rebuilt, height)
    stack = [(expr, False)]
    while stack:
        e, visited = stack.pop()
        if e in done:
            continue
        if not e.args:
            done[e] = (e, 1)
            continue
        if not visited:
            stack.append((e, True))
            stack.extend((a, False) for a in e.args if a not in done)
            continue
        args = [done[a] for a in e.args]
        if 1 + max(h for _, h in args) > max_height:  # name the tall arguments
            args = [(name(a), 1) if h > 1 and isinstance(a, sympy.Expr) else (a, h) for a, h in args]  # never a condition
        new_args = [a for a, _ in args]
        height = 1 + max(h for _, h in args)
        if (e.is_Add or e.is_Mul) and len(new_args) > max_args:
            while len(new_args) > max_args:  # sums of at most max_args terms, named
                new_args = [name(e.func(*new_args[i:i + max_args])) for i in range(0, len(new_args), max_args)]
            height = 2
        rebuilt = e if all(a is b for a, b in zip(new_args, e.args)) and len(new_args) == len(e.args) else e.func(*new_args)
        done[e] = (rebuilt, height)
    return done[expr][0]


# --------------------------------------------------------------------------- splitting


@dataclass(frozen=True)
class Part:
    """A run of statements compiled as one function.

    ``leaves`` are the parameters, inputs and targets it reads from the argument
    arrays; ``loads`` the values earlier parts left in the work vector; ``stores``
    the values it leaves there for later parts (and for the caller, the loss).
    """

    statements: tuple[Statement, ...]
    leaves: tuple[sympy.Symbol, ...]
    loads: tuple[sympy.Symbol, ...] = ()
    stores: tuple[sympy.Symbol, ...] = ()


@dataclass(frozen=True)
class Layout:
    """A program cut into parts; ``slots`` gives each value passed between parts its
    place in the work vector (empty when there is a single part)."""

    parts: tuple[Part, ...]
    slots: dict[sympy.Symbol, int] = field(default_factory=dict)
    loss: sympy.Symbol | None = None

    @property
    def work_size(self) -> int:
        return len(self.slots)


def compile_cost(st: Statement, known: set) -> int:
    """What a statement adds to a function numba compiles, in units of one arithmetic operation.

    numba's compile time is about proportional to the instructions of its IR: the
    operations, one assignment per statement, a store into ``g`` (which costs about
    as much as two operations), and one array read for each value the function has
    not read yet (``known``: those it has).

    >>> import sympy
    >>> a, b = sympy.symbols("a b")
    >>> compile_cost(GradientEntry(0, a*b + 1), known=set()), compile_cost(Assign(a, b + 1, "forward"), known={b})
    (6, 2)
    """
    return sympy.count_ops(st.expr) + 1 + isinstance(st, GradientEntry) + len(st.expr.free_symbols - known)


def split(program: Program, max_ops: int | None) -> Layout:
    """Cut ``program`` into parts of at most about ``max_ops`` operations (``None``: one part).

    The cost of a statement is :func:`compile_cost`: its operations plus the
    assignments and array reads around them.

    >>> from symgrad import mlp
    >>> layout = split(gradient_program(mlp([3, 4, 2])), max_ops=60)
    >>> len(layout.parts) > 1, layout.loss in layout.slots
    (True, True)
    """
    statements = program.statements
    groups: list[list[Statement]] = [[]]
    cost, known = 0, set()
    for st in statements:
        ops = compile_cost(st, known)
        if max_ops is not None and groups[-1] and cost + ops > max_ops:
            groups.append([])
            cost, known = 0, set()
            ops = compile_cost(st, known)
        groups[-1].append(st)
        known |= st.expr.free_symbols
        cost += ops
    leaf_order = {s: i for i, s in enumerate(program.params + program.inputs + program.targets)}
    defined_in: dict[sympy.Symbol, int] = {}
    order: dict[sympy.Symbol, int] = {}
    for i, group in enumerate(groups):
        for st in group:
            if isinstance(st, Assign):
                defined_in[st.target] = i
                order[st.target] = len(order)
    crossing: set[sympy.Symbol] = set()
    leaves: list[set] = [set() for _ in groups]
    loads: list[set] = [set() for _ in groups]
    for i, group in enumerate(groups):
        for st in group:
            for s in st.expr.free_symbols:
                if s in leaf_order:
                    leaves[i].add(s)
                elif defined_in[s] < i:
                    loads[i].add(s)
                    crossing.add(s)
    if len(groups) > 1:
        crossing.add(program.loss)  # the caller reads it from the work vector
    slots = {s: k for k, s in enumerate(sorted(crossing, key=order.__getitem__))}
    parts = []
    for i, group in enumerate(groups):
        stores = sorted((s for s in crossing if defined_in[s] == i), key=order.__getitem__)
        parts.append(
            Part(
                tuple(group),
                tuple(sorted(leaves[i], key=leaf_order.__getitem__)),
                tuple(sorted(loads[i], key=order.__getitem__)),
                tuple(stores),
            )
        )
    return Layout(tuple(parts), slots, program.loss)
