"""Compiled gradients of layered (``mlp``) networks: the δ recursion as matrix products.

The straight-line generator (``symgrad.compile.codegen``) writes one statement per scalar
step, so its module (and numba's compile time) grows with the number of weights: a
784-256-10 network would be hundreds of thousands of statements. A layered network
needs none of that: its gradient is the δ recursion of ``symgrad.derive.matrix_form``,

    D⁽ᴸ⁾ = ∂L/∂U⁽ᴸ⁾,  D⁽ˡ⁻¹⁾ = D⁽ˡ⁾W⁽ˡ⁾ ⊙ f'(U⁽ˡ⁻¹⁾),  ∂L/∂W⁽ˡ⁾ = D⁽ˡ⁾ᵀX⁽ˡ⁻¹⁾,  ∂L/∂b⁽ˡ⁾ = Σ_rows D⁽ˡ⁾,

with one sample per row, so a batch is a matrix product per layer. This module
renders ``templates/layered_module.py.j2``: code unrolled over the layers (few)
and never over the units, whose widths appear only as numbers in slices. The
module exposes what :class:`~symgrad.compile.gradfn.GradFn` expects (``grad_kernel``,
``value_kernel``, ``batch_kernel``, ``PARAMS``, …), so the argument checks, ``save``
and ``source`` work unchanged. The network's scalar steps are never expanded.

``net.compile()`` takes this path for networks built by :func:`symgrad.mlp` with more
than ``codegen.LAYERED_MIN_PARAMS`` parameters; ``layered=True`` asks for it at any
size, ``layered=False`` forces the straight-line code.

>>> import tempfile, symgrad as sg
>>> net = sg.mlp([2, 1], activation="identity")   # u = W1_1_1 x1 + W1_1_2 x2 + b1_1
>>> f = net.compile(jit=False, cache_dir=tempfile.mkdtemp(), layered=True)
>>> loss, g = f([1.0, 2.0, 0.5], [1.0, -1.0], [0.5])  # u = -0.5, L = (u - y)²/2
>>> loss, g.tolist(), net._steps is None
(0.5, [-1.0, 1.0, -1.0], True)
"""

from __future__ import annotations

import hashlib
import os
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from .._version import __version__
from ..errors import SymgradError
from ..model.functions import parameters_of, parse_kind
from ..model.layers import LayerSpec
from ..model.network import Network
from ..template_loader import code_environment, snippet, template_text
from .cache import cache_directory, key_of, load_module, write_atomically
from .gradfn import GradFn
from .printer import NumbaPrinter, dtype_name, helper_sources

__all__ = ["LAYERED_TEMPLATE", "compile_layered", "generate_layered_source", "is_layered", "layered_module_path"]

LAYERED_TEMPLATE = "layered_module.py.j2"


def is_layered(net: Network) -> bool:
    """Whether ``net`` can take the loop (matrix) code path: built by ``mlp``, with the
    parameters in the layer order the generated code slices them in, and every
    activation with array code (a user's function defined by an expression has none).

    >>> import symgrad as sg
    >>> is_layered(sg.mlp([2, 2])), is_layered(sg.Network.from_expr("(w - 1)**2", params="w"))
    (True, False)
    """
    spec = net.layers
    if not isinstance(spec, LayerSpec):
        return False
    # Compared by name, without building the spec's sympy symbols again (200k of them at 784-256-10).
    names = spec.param_names()
    if not (len(net.params) == len(names) and all(p.name == name for p, name in zip(net.params, names))):
        return False
    return all(act == "softmax" or getattr(parse_kind(act)[0].code, "array", None) for act in spec.activations)


@lru_cache(maxsize=16)
def compile_layered(net: Network, *, jit: bool = True, dtype=np.float64, cache_dir: str | os.PathLike | None = None) -> GradFn:
    """The compiled loss and gradient of a layered network (what ``net.compile()`` returns for ``mlp``).

    Same calls as every :class:`~symgrad.compile.gradfn.GradFn`; ``jit=False`` imports the same
    module as plain Python (NumPy matrix products: fast enough for wide networks too).

    >>> import tempfile, symgrad as sg
    >>> net = sg.mlp([3, 4, 2], activation="sigmoid", loss="mse")
    >>> f = compile_layered(net, jit=False, cache_dir=tempfile.mkdtemp())
    >>> params = [0.1] * len(net.params)
    >>> loss, g = f(params, [1.0, 2.0, 3.0], [0.0, 1.0])
    >>> bool(abs(loss - sg.numeric_backprop(net, params, [1.0, 2.0, 3.0], [0.0, 1.0])[0]) < 1e-15)
    True
    """
    if not is_layered(net):
        raise SymgradError(
            f"network {net.name!r} is not a layered (mlp) network in layer parameter order with array code for every "
            "activation (a function defined by an expression has none); compile it with layered=False",
            token="layered",
        )
    path = layered_module_path(net, dtype=dtype, cache_dir=cache_dir)
    if not path.exists():
        write_atomically(path, generate_layered_source(net, dtype=dtype, key=key_of(path)))
    return GradFn(load_module(path, jit=bool(jit)), path=path, jit=bool(jit))


def layered_module_path(net: Network, *, dtype=np.float64, cache_dir=None) -> Path:
    """The file a layered network's module is (or will be) written to: a hash of the layer
    description (sizes, activations, loss, bias), the name, the symgrad version, the
    generator's own source and the dtype — never of the (unexpanded) steps.

    >>> import symgrad as sg
    >>> a = layered_module_path(sg.mlp([2, 3, 1]), cache_dir="/c")
    >>> b = layered_module_path(sg.mlp([2, 3, 1], activation="tanh"), cache_dir="/c")
    >>> a.parent == Path("/c"), a.name == b.name, a.name.startswith("symgrad_layered_")
    (True, False, True)
    """
    spec = net.layers
    dtype = dtype_name(dtype)
    h = hashlib.sha256()
    for item in (
        repr((spec.sizes, spec.activations, spec.loss, spec.bias)),
        net.name,
        __version__,
        _generator_digest(),
        dtype,
    ):
        h.update(item.encode())
        h.update(b"\0")
    stem = re.sub(r"\W+", "_", "-".join(map(str, spec.sizes)) + "_" + spec.loss).strip("_")[:40]
    return cache_directory(cache_dir) / f"symgrad_layered_{stem}_{dtype}_{h.hexdigest()[:20]}.py"


@lru_cache(maxsize=1)
def _generator_digest() -> str:
    """A hash of the template and of the modules that shape the code (this one, the
    printer, the cache, the functions table's code snippets): a changed generator never
    reuses old files."""
    h = hashlib.sha256(template_text(LAYERED_TEMPLATE).encode())
    package = Path(__file__).parent.parent
    for name in ("compile/layered_codegen.py", "compile/printer.py", "compile/cache.py", "model/functions.py"):
        h.update((package / name).read_bytes())
    return h.hexdigest()


def generate_layered_source(net: Network, *, dtype=np.float64, key: str = "") -> str:
    """The text of a layered network's generated module (what :func:`compile_layered` writes).

    Its length depends on the number of layers, not on their widths:

    >>> import symgrad as sg
    >>> small = generate_layered_source(sg.mlp([8, 8, 2]))
    >>> wide = generate_layered_source(sg.mlp([64, 64, 2]))
    >>> small.count("\\n") == wide.count("\\n")
    True
    >>> print([line.strip() for line in small.splitlines() if "U1 = " in line][0])
    U1 = np.dot(X0, W1.T) + b1
    """
    spec = net.layers
    dtype = dtype_name(dtype)
    acts, loss = spec.activations, spec.loss
    # The softmax output with a cross-entropy is computed fused (logsumexp(u)·Σy − Σ y·u), never as log(softmax).
    fused = loss == "softmax_cross_entropy" or (loss == "cross_entropy" and acts[-1] == "softmax")
    lit = NumbaPrinter({}, dtype).literal
    layers, at, helpers, array_helpers = [], 0, set(), set()
    for l in range(1, spec.n_layers + 1):
        rows, cols = spec.sizes[l], spec.sizes[l - 1]
        w_end = at + rows * cols
        b_end = w_end + (rows if spec.bias else 0)
        kind, last = acts[l - 1], l == spec.n_layers
        layer = {"l": l, "rows": rows, "cols": cols, "w_at": at, "w_end": w_end, "b_end": b_end, "kind": kind, "last": last}
        if kind == "softmax":  # the one vector activation: the template writes it out
            layer.update(apply=f"_softmax_rows(U{l})", slope=None)
            if not (last and fused):
                helpers |= {"softmax", "logsumexp"}
        else:
            row, constants = parse_kind(kind)
            code = row.code
            constants = constants or parameters_of(row.builtin)
            names = {"U": f"U{l}", "A": f"X{l}", "lit": lit, **{name: lit(value) for name, value in constants.items()}}
            layer.update(apply=snippet(code.array).render(**names), slope=snippet(code.array_slope).render(**names))
            array_helpers |= set(code.array_helpers)
        layers.append(layer)
        at = b_end
    if fused:
        helpers.add("logsumexp")
    if loss == "cross_entropy" and not fused and acts[-1] == "sigmoid":
        array_helpers.add("_softplus_array")  # the stable log σ(u) = −softplus(−u)
    context = {
        "network_name": net.name,
        "version": __version__,
        "key": key,
        "dtype": dtype,
        "sizes": list(spec.sizes),
        "activations": list(acts),
        "loss": loss,
        "bias": bool(spec.bias),
        "n_params": at,
        "layers": layers,
        "fused": fused,
        "output_kind": acts[-1],
        "helpers": sorted(helpers),
        "helper_sources": helper_sources(array_helpers, lit),
        "lit": lit,
    }
    return code_environment().get_template(LAYERED_TEMPLATE).render(context)
