"""The tape backend: a network's gradient program as arrays, run by one compiled loop.

numba's compile time of generated straight-line code grows faster than its length (a
32-32-2 network's 4,600 lines take tens of seconds). Here nothing network-specific is
compiled at all: the gradient program (:func:`symgrad.compile.program.gradient_program`,
the same statements the straight-line backend prints) becomes a *tape*, arrays of op
codes, operand slots and constants, and ``templates/tape_module.py.j2`` is a loop that
runs any tape, compiled once per machine and dtype and cached. A network is then ready
as soon as its tape is built (derivation and common subexpressions: linear in its size).
Each op's code comes from the functions table, as in every other backend.

Op k reads the slots ``A[k]``, ``B[k]`` (and ``C[k]``, a condition) and writes slot
``first + k``; slots ``0 .. first-1`` hold the parameters, inputs, targets and constants.

>>> import tempfile, symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> f = net.compile(jit=False, cache_dir=tempfile.mkdtemp(), backend="tape")
>>> f([1.0, 1.0]), f.backend.name
((5.0, array([-4., -4.])), 'tape')
"""

from __future__ import annotations

import base64

import numpy as np
import sympy

from .._version import __version__
from ..errors import SymgradError
from ..model.functions import FUNCTIONS, logsumexp, parameters_of, row_of
from ..model.network import Network
from ..template_loader import snippet
from .backend import Backend, bind_block
from .printer import NumbaPrinter, helper_sources
from .program import Assign, gradient_program

__all__ = ["TAPE", "NETWORK_TEMPLATE", "build_tape"]

NETWORK_TEMPLATE = "tape_network.py.j2"

_RELATIONS = {
    sympy.StrictLessThan: "<", sympy.LessThan: "<=", sympy.StrictGreaterThan: ">",
    sympy.GreaterThan: ">=", sympy.Equality: "==", sympy.Unequality: "!=",
}
_RELATION_OPS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne"}


def _op_table(lit) -> list[tuple[str, str]]:
    """(name, code) of every op, ``a``/``b`` its operands (``v[C[k]]`` a condition): the
    arithmetic, then each row of the functions table in its stable scalar form."""
    one, zero = lit(1), lit(0)
    ops = [
        ("add", "a + b"), ("mul", "a * b"), ("sub", "a - b"), ("div", "a / b"), ("neg", "-a"),
        ("square", "a * a"), ("pow", "a ** b"), ("max", "max(a, b)"), ("min", "min(a, b)"),
        ("logsumexp2", "_logsumexp2(a, b)"), ("select", "a if v[C[k]] != 0 else b"),
        ("and", f"{one} if (a != 0 and b != 0) else {zero}"), ("or", f"{one} if (a != 0 or b != 0) else {zero}"),
        ("not", f"{one} if a == 0 else {zero}"),
    ]
    ops += [(name, f"{one} if a {symbol} b else {zero}") for symbol, name in _RELATION_OPS.items()]
    for row in _coded_rows():
        constant = {name: "b" for name in parameters_of(row.builtin)}  # a row's one constant is operand b
        ops.append((row.name, snippet(row.code.scalar).render(x="a", args=["a", "b"], lit=lit, **constant)))
    return ops


def _coded_rows() -> list:
    """The table's built-in rows with code of their own and at most one constant (a user's
    function, defined by an expression, runs as that expression instead)."""
    return [
        row for name, row in FUNCTIONS.items()
        if name != "identity" and row.code is not None and row.definition is None and len(parameters_of(row.builtin)) <= 1
    ]


_OP: dict[str, int] = {}  # op name -> code, filled at first use (the table may gain rows at import)


def _op_codes() -> dict[str, int]:
    if not _OP:
        _OP.update({name: k for k, (name, _) in enumerate(_op_table(lambda v: repr(float(v))))})
    return _OP


def _context(net: Network, dtype: str, key: str, options: dict) -> dict:
    """The interpreter's variables: the op table, and nothing of any network."""
    lit = NumbaPrinter({}, dtype).literal
    ops = _op_table(lit)
    helpers = {h for row in _coded_rows() for h in row.code.helpers}
    logsumexp2 = (
        "@_jit\ndef _logsumexp2(a, b):\n"
        '    """log(e^a + e^b), shifted by the larger so that neither overflows."""\n'
        "    m = max(a, b)\n"
        "    if np.isinf(m):\n"
        "        return m\n"
        "    return m + np.log(np.exp(a - m) + np.exp(b - m))"
    )
    return {
        "version": __version__,
        "key": key,
        "dtype": dtype,
        "ops": [{"name": name, "code": code} for name, code in ops],
        "op_names": [name for name, _ in ops],
        "helper_sources": helper_sources(helpers, lit) + [logsumexp2],
        "user_args": [("x", "N_INPUTS"), ("y", "N_TARGETS")],
        "batch_args": [("X", "N_INPUTS"), ("Y", "N_TARGETS")],
    }


# --------------------------------------------------------------------------- building a tape


class _Tape:
    """A tape being written: ops refer to operands as ("leaf", i), ("const", j) or ("op", k),
    numbered into slots when it is done."""

    def __init__(self, n_leaves: int):
        self.n_leaves = n_leaves
        self.ops: list[tuple[int, tuple, tuple, tuple]] = []
        self.consts: list[float] = []
        self.const_ids: dict[float, int] = {}

    def const(self, value) -> tuple:
        value = float(value)
        key = value if value == value else "nan"
        if key not in self.const_ids:
            self.const_ids[key] = len(self.consts)
            self.consts.append(value)
        return ("const", self.const_ids[key])

    def op(self, name: str, a: tuple, b: tuple | None = None, c: tuple | None = None) -> tuple:
        self.ops.append((_op_codes()[name], a, b if b is not None else a, c if c is not None else a))
        return ("op", len(self.ops) - 1)

    def fold(self, name: str, operands: list[tuple]) -> tuple:
        out = operands[0]
        for operand in operands[1:]:
            out = self.op(name, out, operand)
        return out

    def slot(self, operand: tuple) -> int:
        kind, i = operand
        if kind == "leaf":
            return i
        if kind == "const":
            return self.n_leaves + i
        return self.n_leaves + len(self.consts) + i


def build_tape(net: Network) -> dict:
    """``net``'s gradient program as a tape: arrays (base64 text, for the network's block)
    of op codes, operand slots, constants, the gradient's slots, and its sizes.

    >>> import symgrad as sg
    >>> tape = build_tape(sg.Network.from_expr("(w - 1)**2", params="w"))
    >>> sorted(tape), tape["n_ops"]
    (['a', 'b', 'c', 'consts', 'grad', 'meta', 'n_ops', 'ops'], 3)
    """
    program = gradient_program(net)
    leaves = program.params + program.inputs + program.targets
    tape = _Tape(len(leaves))
    known: dict[sympy.Expr, tuple] = {s: ("leaf", i) for i, s in enumerate(leaves)}
    grad: dict[int, tuple] = {}
    loss_ops = None
    for st in program.statements:
        operand = _emit(st.expr, tape, known)
        if isinstance(st, Assign):
            known[st.target] = operand
            if st.target == program.loss:
                loss_ops = len(tape.ops)
        else:
            grad[st.index] = operand
    zero = tape.const(0.0)
    loss = known[program.loss]
    arrays = {
        "ops": np.array([op for op, _, _, _ in tape.ops], np.int32),
        "a": np.array([tape.slot(a) for _, a, _, _ in tape.ops], np.int32),
        "b": np.array([tape.slot(b) for _, _, b, _ in tape.ops], np.int32),
        "c": np.array([tape.slot(c) for _, _, _, c in tape.ops], np.int32),
        "consts": np.array(tape.consts, np.float64),
        "grad": np.array([tape.slot(grad.get(k, zero)) for k in range(len(program.params))], np.int32),
        "meta": np.array([len(program.params), len(program.inputs), len(program.targets), len(tape.consts), len(tape.ops),
                          tape.slot(loss), loss_ops if loss_ops is not None else len(tape.ops)], np.int64),
    }
    out = {name: base64.b64encode(array.tobytes()).decode("ascii") for name, array in arrays.items()}
    out["n_ops"] = len(tape.ops)
    return out


def _emit(expr: sympy.Expr, tape: _Tape, known: dict) -> tuple:
    """The operand holding ``expr``'s value, writing the ops it needs (iteratively: no
    Python recursion, whatever the expression)."""
    stack = [(expr, False)]
    while stack:
        e, visited = stack.pop()
        if e in known:
            continue
        if e.is_Number or isinstance(e, (sympy.NumberSymbol, sympy.logic.boolalg.BooleanAtom)):
            known[e] = _constant(e, tape)
            continue
        if e.is_Symbol:
            raise SymgradError(f"the tape backend found no value for the symbol {e}", token=str(e))
        if not visited:
            stack.append((e, True))
            stack.extend((a, False) for a in _operands(e) if a not in known)
            continue
        known[e] = _node(e, tape, known)
    return known[expr]


def _constant(e, tape: _Tape) -> tuple:
    if isinstance(e, sympy.logic.boolalg.BooleanAtom):
        return tape.const(1.0 if e else 0.0)
    if e in (sympy.zoo, sympy.I) or not e.is_real:
        raise SymgradError(f"the tape backend cannot run the number {e}", token=str(e))
    NumbaPrinter({}).literal(e)  # a finite number beyond float64 is an error naming it
    return tape.const(float(e))


def _operands(e) -> list:
    if isinstance(e, sympy.Piecewise):
        return [x for pair in e.args for x in pair]
    if e.is_Pow:
        if e.exp.is_Integer and e.exp < 0:
            return [e.base ** -e.exp]
        return [e.base, e.exp] if not (e.exp.is_Integer or e.exp == sympy.S.Half) else [e.base]
    if e.is_Mul:  # as _node reads it: a numerator, and a denominator of positive powers
        coeff, rest = e.as_coeff_Mul()
        out = []
        for factor in sympy.Mul.make_args(rest):
            negative = factor.is_Pow and factor.exp.is_Number and factor.exp.is_extended_negative
            out.append(factor.base ** -factor.exp if negative else factor)
        return out
    return list(e.args)


def _node(e, tape: _Tape, known: dict) -> tuple:
    if e.is_Add:
        return tape.fold("add", [known[a] for a in e.args])
    if e.is_Mul:
        coeff, rest = e.as_coeff_Mul()
        top, bottom = [], []
        for factor in sympy.Mul.make_args(rest):
            if factor.is_Pow and factor.exp.is_Number and factor.exp.is_extended_negative:
                bottom.append(known[factor.base ** -factor.exp])
            else:
                top.append(known[factor])
        out = tape.fold("mul", top) if top else tape.const(1.0)
        if bottom:
            out = tape.op("div", out, tape.fold("mul", bottom))
        if coeff == -1:
            return tape.op("neg", out)
        return out if coeff == 1 else tape.op("mul", _constant(coeff, tape), out)
    if e.is_Pow:
        base, exp = known[e.base], e.exp
        if exp == sympy.S.Half:
            return tape.op("sqrt", base)
        if exp.is_Integer and exp < 0:
            return tape.op("div", tape.const(1.0), known[e.base ** -exp])
        if exp == 1:
            return base
        if exp == 2:
            return tape.op("square", base)
        if exp.is_Integer and exp <= 4:
            return tape.fold("mul", [base] * int(exp))
        return tape.op("pow", base, tape.const(exp) if exp.is_Integer else known[exp])
    if isinstance(e, logsumexp):
        return tape.fold("logsumexp2", [known[a] for a in e.args])
    if isinstance(e, (sympy.Max, sympy.Min)):
        return tape.fold("max" if isinstance(e, sympy.Max) else "min", [known[a] for a in e.args])
    if isinstance(e, sympy.Piecewise):
        out = tape.const(np.nan)  # no branch taken: NaN, as the straight-line code
        for value, condition in reversed(e.args):
            out = known[value] if condition == sympy.true else tape.op("select", known[value], out, known[condition])
        return out
    if type(e) in _RELATIONS:
        return tape.op(_RELATION_OPS[_RELATIONS[type(e)]], known[e.args[0]], known[e.args[1]])
    if isinstance(e, (sympy.And, sympy.Or)):
        return tape.fold("and" if isinstance(e, sympy.And) else "or", [known[a] for a in e.args])
    if isinstance(e, sympy.Not):
        return tape.op("not", known[e.args[0]])
    row = row_of(type(e)) if isinstance(e, sympy.Function) else None
    if row is not None and row.code is None:  # a function defined by an expression: run that
        return _emit(row.expand(e.args[0]), tape, known)
    if row is None or row.name not in _op_codes():
        raise SymgradError(f"the tape backend cannot run {type(e).__name__}: {e}", token=type(e).__name__)
    a = known[e.args[0]]
    constants = parameters_of(type(e))
    if constants:
        b = tape.const(next(iter(constants.values())))
    else:
        b = known[e.args[1]] if len(e.args) > 1 else (tape.const(0.5) if row.name == "step" else a)
    return tape.op(row.name, a, b)


# --------------------------------------------------------------------------- binding


_TAPES: dict[tuple, dict] = {}


def _bind(module, net: Network):
    """The interpreter bound to ``net``: a copy of its namespace with the network's names,
    tape and kernels (``templates/tape_network.py.j2``). The tape of a network is built
    once per process (``STANDALONE_SOURCE`` is the module's text with the block at the end)."""
    key = (net.fingerprint, tuple(s.name for s in net.params))
    if key not in _TAPES:
        _TAPES[key] = build_tape(net)
    batch = (["X"] if net.inputs else []) + (["Y"] if net.targets else [])
    return bind_block(
        module, NETWORK_TEMPLATE, net.fingerprint[:12], network_name=net.name, params=[s.name for s in net.params],
        inputs=[s.name for s in net.inputs], targets=[s.name for s in net.targets], tape=_TAPES[key], batch=batch,
    )


#: The tape backend (``backend="tape"``).
TAPE = Backend(
    name="tape",
    template="tape_module.py.j2",
    printer=NumbaPrinter,
    sources=("compile/tape.py", "compile/printer.py", "model/functions.py", "model/function_code.py"),
    accepts=lambda net: True,
    identity=lambda net, options: [],  # one interpreter for every network
    stem=lambda net: "tape",
    context=_context,
    bind=_bind,
    required=("_run", "_call_grad", "_call_value", "_block_kernel", "_sgd_kernel", "DTYPE"),
    templates=(NETWORK_TEMPLATE,),
)
