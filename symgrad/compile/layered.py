"""The layered backend: a layered (``mlp``) network's gradient as the δ recursion in matrix products.

The straight-line backend (:mod:`symgrad.compile.straight_line`) writes one statement per scalar
step, so its module (and numba's compile time) grows with the number of weights: a
784-256-10 network would be hundreds of thousands of statements. A layered network
needs none of that: its gradient is the δ recursion of ``symgrad.derive.matrix_form``,

    D⁽ᴸ⁾ = ∂L/∂U⁽ᴸ⁾,  D⁽ˡ⁻¹⁾ = D⁽ˡ⁾W⁽ˡ⁾ ⊙ f'(U⁽ˡ⁻¹⁾),  ∂L/∂W⁽ˡ⁾ = D⁽ˡ⁾ᵀX⁽ˡ⁻¹⁾,  ∂L/∂b⁽ˡ⁾ = Σ_rows D⁽ˡ⁾,

with one sample per row, so a batch is a matrix product per layer. The
backend (:data:`LAYERED`) renders ``templates/layered_module.py.j2``: code unrolled
over the layers (few) and never over the units, whose widths appear only as numbers
in slices. The module exposes what :class:`~symgrad.compile.gradfn.GradFn` expects
(``grad_kernel``, ``value_kernel``, ``batch_kernel``, ``PARAMS``, …), so the argument
checks, ``save`` and ``source`` work unchanged. The network's scalar steps are never
expanded.

The kernels look at their arguments only where a layer's sums U⁽ˡ⁾ are not finite: a
NaN parameter makes a column of its layer's U NaN, an input that is not finite a row of
U⁽¹⁾, and a target that is not finite the loss; where a U is not finite, the loss is
made NaN if a parameter is NaN or an input or target is not finite. So the loss is
finite only if the arguments are, and ``f.batch`` (``BLOCKS_CHECK_ARGUMENTS``) reads
neither the parameters nor the gradient again: a wide network's are megabytes.

``net.compile()`` takes this backend for networks built by :func:`symgrad.mlp` with
more than ``pipeline.LAYERED_MIN_PARAMS`` parameters; ``layered=True`` asks for it
at any size, ``layered=False`` forces the straight-line code.

>>> import tempfile, symgrad as sg
>>> net = sg.mlp([2, 1], activation="identity")   # u = W1_1_1 x1 + W1_1_2 x2 + b1_1
>>> f = net.compile(jit=False, cache_dir=tempfile.mkdtemp(), layered=True)
>>> loss, g = f([1.0, 2.0, 0.5], [1.0, -1.0], [0.5])  # u = -0.5, L = (u - y)²/2
>>> loss, g.tolist(), net._steps is None
(0.5, [-1.0, 1.0, -1.0], True)
"""

from __future__ import annotations

import re

from .._version import __version__
from ..model.functions import parameters_of, parse_kind
from ..model.layers import LayerSpec
from ..model.network import Network
from ..template_loader import snippet
from .backend import Backend, bind_block
from .printer import NumbaPrinter, helper_sources

__all__ = ["LAYERED", "NETWORK_TEMPLATE", "is_layered"]

#: The block that binds the generic module to one network.
NETWORK_TEMPLATE = "layered_network.py.j2"


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
    if net._params is not None:  # else the parameters are the spec's, not built yet
        # Compared by name, without building the spec's sympy symbols again (200k of them at 784-256-10).
        names = spec.param_names()
        if not (len(net.params) == len(names) and all(p.name == name for p, name in zip(net.params, names))):
            return False
    return all(act == "softmax" or getattr(parse_kind(act)[0].code, "array", None) for act in spec.activations)


def _context(net: Network, dtype: str, key: str, options: dict) -> dict:
    """The template's variables: the activations, the loss, the bias and the dtype, never
    the widths or the name (one module serves every network of these kinds)."""
    spec = net.layers
    acts, loss = spec.activations, spec.loss
    # The softmax output with a cross-entropy is computed fused (logsumexp(u)·Σy − Σ y·u), never as log(softmax).
    fused = loss == "softmax_cross_entropy" or (loss == "cross_entropy" and acts[-1] == "softmax")
    lit = NumbaPrinter({}, dtype).literal
    layers, helpers, array_helpers = [], set(), set()
    for l in range(1, spec.n_layers + 1):
        kind, last = acts[l - 1], l == spec.n_layers
        layer = {"l": l, "kind": kind, "last": last}
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
    if fused:
        helpers.add("logsumexp")
    if loss == "cross_entropy" and not fused and acts[-1] == "sigmoid":
        array_helpers.add("_softplus_array")  # the stable log σ(u) = −softplus(−u)
    return {
        "version": __version__,
        "key": key,
        "dtype": dtype,
        "activations": list(acts),
        "loss": loss,
        "bias": bool(spec.bias),
        "layers": layers,
        "fused": fused,
        "output_kind": acts[-1],
        "helpers": sorted(helpers),
        "helper_sources": helper_sources(array_helpers, lit),
        "lit": lit,
        "user_args": [("x", "N_INPUTS"), ("y", "N_TARGETS")],
        "batch_args": [("X", "N_INPUTS"), ("Y", "N_TARGETS")],
    }


def _identity(net: Network, options: dict) -> list[str]:
    # the kinds of the layers, never their widths or the network's name
    spec = net.layers
    return [repr((spec.activations, spec.loss, spec.bias))]


def _stem(net: Network) -> str:
    spec = net.layers
    return "layered_" + re.sub(r"\W+", "_", "-".join(spec.activations) + "_" + spec.loss).strip("_")[:60]


def _bind(module, net: Network):
    """The generic module bound to ``net``: a copy of its namespace with the network's
    widths and names and the kernels taking them (``templates/layered_network.py.j2``).
    ``STANDALONE_SOURCE`` is the module's text with that block at the end."""
    return bind_block(module, NETWORK_TEMPLATE, _stem(net), network_name=net.name, sizes=list(net.layers.sizes))


#: The layered backend (``backend="layered"``, or ``layered=True``).
LAYERED = Backend(
    name="layered",
    template="layered_module.py.j2",
    printer=NumbaPrinter,
    sources=("compile/layered.py", "compile/printer.py", "model/functions.py", "model/function_code.py"),
    templates=(NETWORK_TEMPLATE,),
    accepts=is_layered,
    identity=_identity,
    stem=_stem,
    context=_context,
    from_derivation=False,
    bind=_bind,
    required=("_layers", "_call_grad", "_call_value", "_block_kernel", "_sgd_kernel", "DTYPE"),
)
