"""What a code generation backend is: a small object naming its template and printer.

:func:`symgrad.compile.pipeline.compile_network` turns a network into a module in one
way for every backend (hash → cache file → render → import → :class:`GradFn`); a
backend says only what differs: which template it renders, which printer writes its
numbers and expressions, what of the network its code depends on (the key), and the
template's context. This is the shape of SymForce's ``CodegenConfig``: configuration,
not a pipeline of its own.

>>> from symgrad.compile.straight_line import STRAIGHT_LINE
>>> from symgrad.compile.layered import LAYERED
>>> (STRAIGHT_LINE.name, STRAIGHT_LINE.template), (LAYERED.name, LAYERED.template)
(('straight-line', 'grad_module.py.j2'), ('layered', 'layered_module.py.j2'))
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..template_loader import code_environment

__all__ = ["Backend", "RUNTIME_TEMPLATE", "bind_block"]

#: The template every module template imports: JIT preamble, argument checks, plain entry points, helpers.
RUNTIME_TEMPLATE = "runtime.py.j2"


@dataclass(frozen=True)
class Backend:
    """One way of generating a network's module.

    * ``name``: what :attr:`GradFn.backend` reports (``"straight-line"``, ``"layered"`` …);
    * ``template``: the Jinja2 module template it renders; ``printer``: the sympy printer
      class writing its expressions and literals;
    * ``sources``: the package modules whose code shapes its output (with the templates,
      they make the generator digest in every key: a changed generator never reuses a file);
    * ``accepts(net)``: whether it can compile ``net``;
    * ``identity(net, options)``: the strings of ``net`` (and options) its code depends on;
    * ``stem(net)``: the readable part of the module's file name;
    * ``context(net, dtype, key, options)``: the template's variables;
    * ``from_derivation``: whether its code is printed from the symbolic derivation (the
      cross-check says so when it is not);
    * ``bind(module, net)``: for a backend whose module is generic (compiled once for many
      networks), the module bound to one network's data; None when the module is the network's;
    * ``required``: the names a loaded module must define (else the cache regenerates it);
    * ``templates``: further templates its code depends on.
    """

    name: str
    template: str
    printer: type
    sources: tuple[str, ...]
    accepts: Callable
    identity: Callable
    stem: Callable
    context: Callable
    from_derivation: bool = True
    bind: Callable | None = None
    required: tuple[str, ...] = ("grad_kernel", "value_kernel", "call_grad", "call_value", "DTYPE", "PARAMS", "INPUTS", "TARGETS", "NETWORK")
    templates: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"<Backend {self.name} ({self.template})>"


def bind_block(module, template: str, suffix: str, **context) -> types.ModuleType:
    """A generic module (compiled once for many networks) bound to one network: a copy of
    its namespace in which the network's block (``template`` rendered with ``context``:
    its names, sizes or tape, and kernels taking them) has run. ``STANDALONE_SOURCE`` is
    the module's text with the block at the end, a module that needs no symgrad."""
    block = code_environment().get_template(template).render(**context)
    bound = types.ModuleType(f"{module.__name__}_for_{suffix}")
    bound.__dict__.update({k: v for k, v in vars(module).items() if k not in ("__name__", "__spec__", "__loader__")})
    exec(compile(block, f"<{template}: {context.get('network_name', suffix)}>", "exec"), bound.__dict__)
    bound.STANDALONE_SOURCE = Path(module.__file__).read_text(encoding="utf-8").rstrip("\n") + "\n\n\n" + block
    return bound
