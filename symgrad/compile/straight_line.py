"""The straight-line backend: a network's gradient as one statement per scalar step.

The derived gradients become a straight-line program (:mod:`symgrad.compile.program`:
forward steps, adjoint steps, one gradient entry per parameter, common subexpressions
shared), each expression is printed by :class:`~symgrad.compile.printer.NumbaPrinter`
and the module is rendered from ``templates/grad_module.py.j2``. Fastest to run for
small networks; numba's compile time grows with the statement count, so long programs
are cut into parts of about ``part_ops`` operations, each its own jitted function;
values cross parts through a small work vector.

:func:`symgrad.compile.pipeline.compile_network` runs it; this module only says what
the template gets (:data:`STRAIGHT_LINE`, a :class:`~symgrad.compile.backend.Backend`).

>>> import tempfile, symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> f = net.compile(jit=False, cache_dir=tempfile.mkdtemp(), backend="straight-line")
>>> f([1.0, 1.0]), f.backend.name
((5.0, array([-4., -4.])), 'straight-line')
"""

from __future__ import annotations

import re
import textwrap

import sympy

from .._version import __version__
from ..errors import SymgradError
from ..model.functions import kind_text
from ..model.network import Network
from .backend import Backend
from .printer import Identifiers, NumbaPrinter, helper_sources
from .program import GradientEntry, Layout, Program, gradient_program, split, value_program

__all__ = ["DEFAULT_PART_OPS", "STRAIGHT_LINE"]

#: The most a jitted function holds before a program is cut into parts, in units of
#: :func:`symgrad.compile.program.compile_cost` (operations, assignments, stores, array reads).
#: numba's compile time per unit grows with the function (about u**1.35 here), and each
#: part costs its own reloads and call. Cold compiles of the single-sample gradient,
#: CPU seconds (numba 0.68, this project's 2-core machine): mlp 16-16-2 (2,076 units)
#: 11 s in one function, worse split finer; 32-32-2 (7,180) 60 s whole, 48 s in 3 parts;
#: 48-48-2 (15,356) 210 s whole, 125 s in 6 parts.
DEFAULT_PART_OPS = 3000

_SECTION_TITLES = {
    "forward": "forward pass: the network's steps",
    "adjoint": "reverse sweep: bar_s = dLoss/ds, from the adjoints of the steps that use s",
    "gradient": "gradient: g[k] = dLoss/dp for the k-th parameter p",
}

# The docstring of a generated module lists at most this many steps.
_MAX_LISTED_STEPS = 40

# --------------------------------------------------------------------------- generation


def _context(net: Network, dtype: str, key: str, options: dict) -> dict:
    """The template's variables: every routine printed, the helpers it needs."""
    limit = _part_ops(options.get("part_ops"))
    leaves = Identifiers()
    names: dict[sympy.Symbol, str] = {}
    for s in net.params + net.inputs + net.targets:
        names[s] = leaves.take(s.name)
    printer = NumbaPrinter(names, dtype)

    sample_args = ["p"] + (["x"] if net.inputs else []) + (["y"] if net.targets else [])
    value = value_program(net)
    grad = gradient_program(net)
    value_routine = _routine(
        "_value_sample", value, split(value, limit), sample_args, names, leaves, printer,
        doc="Return the loss of one sample.", driver=False,  # value_kernel runs the parts itself
    )
    grad_routine = _routine(
        "_grad_sample", grad, split(grad, limit), sample_args + ["g"], names, leaves, printer,
        doc="Write one sample's gradient into g and return its loss.", driver=True,  # for batch_kernel
    )
    guard = ", ".join(["p", "x" if net.inputs else "None", "y" if net.targets else "None"])
    user_args = ([("x", "N_INPUTS")] if net.inputs else []) + ([("y", "N_TARGETS")] if net.targets else [])
    batch_args = ([("X", "N_INPUTS")] if net.inputs else []) + ([("Y", "N_TARGETS")] if net.targets else [])
    return {
        "network_name": net.name,
        "version": __version__,
        "key": key,
        "dtype": dtype,
        "params": [s.name for s in net.params],
        "inputs": [s.name for s in net.inputs],
        "targets": [s.name for s in net.targets],
        "network_steps": _listed_steps(net),
        "sample_args": sample_args,
        "user_args": user_args,
        "batch_args": batch_args,
        "value_routine": value_routine,
        "grad_routine": grad_routine,
        "block": _block(grad_routine),
        "guard": guard,
        "helper_sources": helper_sources(printer.helpers, printer.literal),
        "logsumexp_arities": sorted(printer.logsumexp_arities),
        "section_titles": _SECTION_TITLES,
        "lit": printer.literal,
    }


def _routine(name, program: Program, layout: Layout, args, names, leaves: Identifiers, printer, doc, driver) -> dict:
    """The template's view of one program: its parts, with every expression printed.

    ``driver``: whether a program in parts also gets one function that runs them all.
    """
    ids = leaves.copy()  # each function has its own locals; temporaries count from _t0 again
    local = dict(names)
    for st in program.statements:
        if not isinstance(st, GradientEntry):
            local[st.target] = ids.fresh("_t") if st.temporary else ids.take(st.target.name)
    printer.names = local  # one printer for the whole module collects the helpers it needs
    arrays = {}
    arrays.update({s: ("p", i) for i, s in enumerate(program.params)})
    arrays.update({s: ("x", i) for i, s in enumerate(program.inputs)})
    arrays.update({s: ("y", i) for i, s in enumerate(program.targets)})
    parts = []
    for k, part in enumerate(layout.parts):
        statements = [
            {
                "section": st.section,
                "target": f"g[{st.index}]" if isinstance(st, GradientEntry) else local[st.target],
                # a constant alone is a NumPy scalar, so that plain Python divides by it as numba does
                "code": printer.scalar(st.expr) if st.expr.is_Number else printer.code(st.expr),
            }
            for st in part.statements
        ]
        parts.append(
            {
                "name": f"{name}_part{k + 1}",
                "leaves": [{"name": local[s], "array": arrays[s][0], "index": arrays[s][1]} for s in part.leaves],
                "loads": [{"name": local[s], "slot": layout.slots[s]} for s in part.loads],
                "stores": [{"name": local[s], "slot": layout.slots[s]} for s in part.stores],
                "statements": statements,
            }
        )
    return {
        "name": name,
        "args": list(args),
        "doc": doc,
        "driver": driver,
        "parts": parts,
        "loss": local[program.loss],
        "work_size": layout.work_size,
        "loss_slot": layout.slots.get(program.loss, 0),
    }


def _block(routine: dict) -> dict | None:
    """The batch loop's view of a one-part gradient routine: parameters read once before
    the loop, inputs and targets read from row i, each ``g[k] = e`` turned into a sum
    ``_ak += e`` over the rows. None for a routine in parts (the loop then calls it)."""
    if len(routine["parts"]) != 1:
        return None
    part = routine["parts"][0]
    rows = {"x": "X", "y": "Y"}
    gradient, statements = [], []
    for st in part["statements"]:
        if st["target"].startswith("g["):
            k = int(st["target"][2:-1])
            if st["code"] not in ("0.0", "np.float32(0.0)", "np.float64(0.0)"):
                gradient.append((k, st["code"]))
        else:
            statements.append(st)
    return {
        "params": [leaf for leaf in part["leaves"] if leaf["array"] == "p"],
        "rows": [dict(leaf, array=rows[leaf["array"]]) for leaf in part["leaves"] if leaf["array"] != "p"],
        "statements": statements,
        "gradient": gradient,
        "sums": sorted({k for k, _ in gradient}),
        "loss": routine["loss"],
    }


def _listed_steps(net: Network) -> list[str]:
    lines = [str(st) for st in net.steps]
    if len(lines) > _MAX_LISTED_STEPS:
        head = lines[: _MAX_LISTED_STEPS - 5]
        lines = head + [f"... ({len(lines) - len(head) - 5} more steps) ..."] + lines[-5:]
    wrapped = []
    for line in lines:
        wrapped += textwrap.wrap(line, width=84, subsequent_indent="    ", break_long_words=False) or [line]
    return wrapped


def _part_ops(part_ops: int | None) -> int | None:
    if part_ops is None:
        return DEFAULT_PART_OPS
    if isinstance(part_ops, bool) or not isinstance(part_ops, int) or part_ops < 0:
        raise SymgradError(f"part_ops must be a non-negative integer (0: never split), got {part_ops!r}", token="part_ops")
    return part_ops or None


def _function_kinds(net: Network) -> str:
    """Which function each function name stands for: the fingerprint has the names only
    (a ``g`` that is a sigmoid and a ``g`` that is a tanh print alike)."""
    kinds = set()
    for st in net.steps:
        for call in st.expr.atoms(sympy.Function):
            kinds.add(f"{type(call).__name__}:{kind_text(type(call))}")
    return ",".join(sorted(kinds))


def _identity(net: Network, options: dict) -> list[str]:
    # the steps (net.fingerprint), what each named function stands for, the split size
    return [net.fingerprint, _function_kinds(net), str(_part_ops(options.get("part_ops")))]


def _stem(net: Network) -> str:
    return re.sub(r"\W+", "_", net.name).strip("_")[:40] or "network"


#: The straight-line backend (``backend="straight-line"``).
STRAIGHT_LINE = Backend(
    name="straight-line",
    template="grad_module.py.j2",
    printer=NumbaPrinter,
    sources=(
        "compile/straight_line.py", "compile/program.py", "compile/printer.py", "compile/stable.py",
        "derive/sweep.py", "model/canonical.py", "model/functions.py", "model/function_code.py", "model/network.py",
    ),
    accepts=lambda net: True,
    identity=_identity,
    stem=_stem,
    context=_context,
)
