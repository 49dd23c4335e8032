"""Compiled gradients: network → straight-line program → Python module → numba.

``compile_network`` (what ``net.compile()`` calls) takes the derived gradients as a
straight-line program (``symgrad.compile.program``: forward steps, adjoint steps, one
gradient entry per parameter, common subexpressions shared), prints each expression
with a nopython-safe sympy printer (``symgrad.compile.printer``), renders a whole module
from the Jinja2 template ``templates/grad_module.py.j2`` and writes it to a real
file in the cache directory, because numba's ``cache=True`` keeps machine code
next to a source file. The file's name carries a hash of the program, the symgrad
version, the code generator itself and the options, so a changed network (or a
changed generator) never reuses stale code, and a second process finds both the
module and numba's cache and compiles nothing.

The cache directory is ``cache_dir=`` if given, else ``$SYMGRAD_CACHE_DIR``, else
``$XDG_CACHE_HOME/symgrad``, else ``~/.cache/symgrad``.

Long programs are cut into parts of about ``part_ops`` operations, each its own
jitted function (numba's compile time grows faster than linearly with a function's
length); values cross parts through a small work vector.

>>> import tempfile, symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> f = net.compile(jit=False, cache_dir=tempfile.mkdtemp())
>>> f([1.0, 1.0])
(5.0, array([-4., -4.]))
"""

from __future__ import annotations

import hashlib
import os
import re
import textwrap
from functools import lru_cache
from pathlib import Path

import numpy as np
import sympy

from .. import hooks
from .._version import __version__
from ..errors import SymgradError
from ..model.functions import kind_text
from ..model.network import Network
from ..template_loader import code_environment, template_text
from .cache import cache_directory, key_of, load_module, write_atomically
from .gradfn import GradFn
from .layered_codegen import compile_layered, is_layered
from .printer import Identifiers, NumbaPrinter, dtype_name, helper_sources
from .program import (
    GradientEntry,
    Layout,
    Program,
    gradient_program,
    split,
    value_program,
)

__all__ = ["DEFAULT_PART_OPS", "cache_directory", "compile_network", "generate_source", "module_path"]

#: The most a jitted function holds before a program is cut into parts, in units of
#: :func:`symgrad.compile.program.compile_cost` (operations, assignments, stores, array reads).
#: numba's compile time per unit grows with the function (about u**1.35 here), and each
#: part costs its own reloads and call. Cold compiles of the single-sample gradient,
#: CPU seconds (numba 0.68, this project's 2-core machine): mlp 16-16-2 (2,076 units)
#: 11 s in one function, worse split finer; 32-32-2 (7,180) 60 s whole, 48 s in 3 parts;
#: 48-48-2 (15,356) 210 s whole, 125 s in 6 parts.
DEFAULT_PART_OPS = 3000

#: Layered networks above this many parameters take the matrix (loop) code path. Its
#: cold compile is a flat ~25 s here whatever the widths, while straight-line code
#: compiles in 1-3 s for seed-sized networks but ~11 s at 306 and ~50 s at 1,122
#: parameters, and runs faster per call when small.
LAYERED_MIN_PARAMS = 500

TEMPLATE = "grad_module.py.j2"

_SECTION_TITLES = {
    "forward": "forward pass: the network's steps",
    "adjoint": "reverse sweep: bar_s = dLoss/ds, from the adjoints of the steps that use s",
    "gradient": "gradient: g[k] = dLoss/dp for the k-th parameter p",
}

# The docstring of a generated module lists at most this many steps.
_MAX_LISTED_STEPS = 40

# The modules whose code shapes a generated module: a change in any of them must not reuse old files.
_SOURCE_FILES = (
    "compile/codegen.py", "compile/program.py", "compile/printer.py", "compile/stable.py", "compile/cache.py",
    "derive/sweep.py", "model/canonical.py", "model/functions.py", "model/network.py",
)


@hooks.provides
def compile_network(
    net: Network,
    *,
    jit: bool = True,
    dtype=np.float64,
    cache_dir: str | os.PathLike | None = None,
    part_ops: int | None = None,
    layered: bool | None = None,
    **future,
) -> GradFn:
    """The compiled loss-and-gradient function of ``net`` (what ``net.compile()`` returns).

    ``jit=False`` imports the same generated module as plain Python, without numba:
    slow to run but instant to build (for tests over many networks). ``dtype`` is
    ``np.float64`` or ``np.float32``. ``part_ops`` bounds the operations per jitted
    function (default :data:`DEFAULT_PART_OPS`; 0 never splits).

    A layered network (:func:`symgrad.mlp`) with more than :data:`LAYERED_MIN_PARAMS`
    parameters compiles to matrix products instead (:mod:`symgrad.compile.layered_codegen`: the
    code does not grow with the layer widths and its steps are never expanded);
    ``layered=False`` forces the straight-line code, ``layered=True`` the matrix code
    (an error for other networks). Giving
    ``part_ops``, an option of the straight-line code only, also selects it.

    >>> import tempfile, symgrad as sg
    >>> net = sg.Network.from_equations("u = w*x + b; L = (u - y)**2/2",
    ...                                 params="w b", inputs="x", targets="y")
    >>> f = compile_network(net, jit=False, cache_dir=tempfile.mkdtemp())
    >>> loss, g = f([2.0, 1.0], [3.0], [5.0])
    >>> loss, g.tolist()
    (2.0, [6.0, 2.0])
    """
    if future:
        raise SymgradError(
            f"unknown compile option(s): {', '.join(sorted(future))} "
            "(known: jit, dtype, cache_dir, part_ops, layered)",
            token=sorted(future)[0],
        )
    if not isinstance(net, Network):
        raise SymgradError(f"compile_network needs a symgrad Network, got {type(net).__name__}")
    if layered or (layered is None and part_ops is None and len(net.params) > LAYERED_MIN_PARAMS):
        if layered or is_layered(net):
            return compile_layered(net, jit=jit, dtype=dtype, cache_dir=cache_dir)
    path = module_path(net, dtype=dtype, cache_dir=cache_dir, part_ops=part_ops)
    if not path.exists():
        write_atomically(path, generate_source(net, dtype=dtype, part_ops=part_ops, key=key_of(path)))
    return GradFn(load_module(path, jit=bool(jit)), path=path, jit=bool(jit))


# --------------------------------------------------------------------------- the cache


def module_path(net: Network, *, dtype=np.float64, cache_dir=None, part_ops: int | None = None) -> Path:
    """The file ``net``'s generated module is (or will be) written to.

    Its name is the network's name and a hash of everything the code depends on:
    the program (``net.fingerprint``), what each named function stands for, the
    symgrad version, the code generator's own source and the options.

    >>> import symgrad as sg
    >>> a = sg.Network.from_expr("(w - 1)**2", params="w")
    >>> b = sg.Network.from_expr("(w - 2)**2", params="w")
    >>> module_path(a, cache_dir="/c").name == module_path(b, cache_dir="/c").name
    False
    """
    dtype = dtype_name(dtype)
    h = hashlib.sha256()
    for item in (
        net.fingerprint,
        _function_kinds(net),
        __version__,
        _generator_digest(),
        dtype,
        str(_part_ops(part_ops)),
    ):
        h.update(item.encode())
        h.update(b"\0")
    stem = re.sub(r"\W+", "_", net.name).strip("_")[:40] or "network"
    return cache_directory(cache_dir) / f"symgrad_{stem}_{dtype}_{h.hexdigest()[:20]}.py"


def _function_kinds(net: Network) -> str:
    """Which activation each function name stands for: the fingerprint has the names only
    (a ``g`` that is a sigmoid and a ``g`` that is a tanh print alike)."""
    kinds = set()
    for st in net.steps:
        for call in st.expr.atoms(sympy.Function):
            kinds.add(f"{type(call).__name__}:{kind_text(type(call))}")
    return ",".join(sorted(kinds))


@lru_cache(maxsize=1)
def _generator_digest() -> str:
    """A hash of the template and of the modules that shape the generated code."""
    h = hashlib.sha256(template_text(TEMPLATE).encode())
    here = Path(__file__).parent.parent  # the symgrad package
    for name in _SOURCE_FILES:
        path = here / name
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()


# --------------------------------------------------------------------------- generation


def generate_source(net: Network, *, dtype=np.float64, part_ops: int | None = None, key: str = "") -> str:
    """The text of ``net``'s generated module (what :func:`compile_network` writes).

    >>> import symgrad as sg
    >>> src = generate_source(sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2"))
    >>> body = src[src.index("def _grad_sample"):]
    >>> print(body[:body.index("return f")].strip())
    def _grad_sample(p, g):
        \"\"\"Write one sample's gradient into g and return its loss.\"\"\"
        x1 = p[0]
        x2 = p[1]
        # forward pass: the network's steps
        _t0 = x1*x2 - 3.0
        f = _t0*_t0 + 1.0
        # gradient: g[k] = dLoss/dp for the k-th parameter p
        _t1 = 2.0*_t0
        g[0] = _t1*x2
        g[1] = _t1*x1
    """
    dtype = dtype_name(dtype)
    limit = _part_ops(part_ops)
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
    user_args = ([("x", "N_INPUTS")] if net.inputs else []) + ([("y", "N_TARGETS")] if net.targets else [])
    batch_args = ([("X", "N_INPUTS")] if net.inputs else []) + ([("Y", "N_TARGETS")] if net.targets else [])
    context = {
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
        "helper_sources": helper_sources(printer.helpers, printer.literal),
        "logsumexp_arities": sorted(printer.logsumexp_arities),
        "section_titles": _SECTION_TITLES,
        "lit": printer.literal,
    }
    return code_environment().get_template(TEMPLATE).render(context)


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
                "code": printer.code(st.expr),
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


# --------------------------------------------------------------------------- templates


