"""The compile pipeline: network → backend → cached module → :class:`GradFn`.

``compile_network`` (what ``net.compile()`` calls) reads top to bottom:

1. choose a backend (:class:`~symgrad.compile.backend.Backend`): straight-line code
   (:mod:`symgrad.compile.straight_line`) or the δ recursion of a wide layered network
   (:mod:`symgrad.compile.layered`);
2. name the module: a hash of what the backend's code depends on, the symgrad version,
   the generator's own source (templates and modules) and the dtype
   (:func:`module_path`);
3. render the backend's template into that file unless it is there, import it
   (:mod:`symgrad.compile.cache`: atomic writes, numba's cache next to the file);
4. wrap it in a :class:`~symgrad.compile.gradfn.GradFn` that knows its backend.

>>> import tempfile, symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> f = compile_network(net, jit=False, cache_dir=tempfile.mkdtemp())
>>> f([1.0, 1.0]), f.backend.name
((5.0, array([-4., -4.])), 'straight-line')
"""

from __future__ import annotations

import hashlib
import operator
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from .. import hooks
from .._version import __version__
from ..errors import SymgradError
from ..model.network import Network
from ..template_loader import code_environment, template_text
from .backend import RUNTIME_TEMPLATE, Backend
from .cache import cache_directory, key_of, load_module, numba_errors, write_atomically
from .gradfn import GradFn
from .layered import LAYERED
from .printer import dtype_name
from .straight_line import STRAIGHT_LINE
from .tape import TAPE

__all__ = ["BACKENDS", "JIT_AFTER", "LAYERED_MIN_PARAMS", "compile_network", "generate_source", "module_path"]

#: The backends by name (``net.compile(backend=...)``).
BACKENDS: dict[str, Backend] = {b.name: b for b in (STRAIGHT_LINE, LAYERED, TAPE)}

#: Layered networks above this many parameters take the layered backend. Its cold
#: compile is a flat ~25 s here whatever the widths, while straight-line code
#: compiles in 1-3 s for seed-sized networks but ~11 s at 306 and ~50 s at 1,122
#: parameters, and runs faster per call when small.
LAYERED_MIN_PARAMS = 500

#: Other networks above this many parameters run on the tape when compiled with numba,
#: unless their straight-line module is already compiled in numba's cache: the tape
#: interpreter is compiled once per machine, so such a network is ready as soon as its
#: tape is built, where its straight-line code would take numba seconds to minutes.
#: At or below it the straight-line code, fastest to run, compiles in a few seconds.
STRAIGHT_LINE_MAX_PARAMS = 64

#: How many calls of ``f`` (and ``f.value``) run a network's own module as plain Python
#: before numba compiles it (``net.compile(jit_after=...)``; ``$SYMGRAD_JIT_AFTER``).
#: A first compile in a process takes numba about 0.5 s before it reads the module (its
#: registries, SciPy's BLAS) and the module's code as much again: 20,000-40,000 plain calls
#: of a seed-sized network. A thousand take 2-5% of that, and a user who needs only a few
#: gradients (a check, a plot, a report) gets them at once. A layered module, loaded from
#: numba's cache, still waits for numba's own start (0.5-0.7 s on a slow machine), while
#: its plain calls are NumPy's matrix products: 0.1-0.2 ms on a small network, and about
#: 1.3x the compiled call on a wide one (784-256-10), where the products are the work.
JIT_AFTER = 1000

_OPTIONS = ("jit", "dtype", "cache_dir", "part_ops", "layered", "backend", "jit_after")


@hooks.provides
def compile_network(
    net: Network,
    *,
    jit: bool = True,
    dtype=np.float64,
    cache_dir: str | os.PathLike | None = None,
    part_ops: int | None = None,
    layered: bool | None = None,
    backend: str | None = None,
    jit_after: int | None = None,
    **future,
) -> GradFn:
    """The compiled loss-and-gradient function of ``net`` (what ``net.compile()`` returns).

    ``jit=False`` imports the same generated module as plain Python, without numba:
    slow to run but instant to build (for tests over many networks). ``dtype`` is
    ``np.float64`` or ``np.float32``. ``part_ops`` bounds the operations per jitted
    function of straight-line code (default
    :data:`~symgrad.compile.straight_line.DEFAULT_PART_OPS`; 0 never splits).

    A layered network (:func:`symgrad.mlp`) with more than :data:`LAYERED_MIN_PARAMS`
    parameters compiles to matrix products instead (the layered backend: the code does
    not grow with the layer widths and its steps are never expanded); ``layered=False``
    forces the straight-line code, ``layered=True`` the matrix code (an error for other
    networks). Giving ``part_ops``, an option of the straight-line code only, also
    selects it. ``backend=`` names a backend of :data:`BACKENDS` outright.

    With numba, the first ``jit_after`` calls of ``f`` and ``f.value`` run the generated
    module as plain Python (the same code; the same numbers to rounding) and the next call
    compiles it, so that a few gradients never wait for numba. The default is
    ``$SYMGRAD_JIT_AFTER`` if set, else :data:`JIT_AFTER` for the layered backend and for
    the straight-line code of a network of up to :data:`STRAIGHT_LINE_MAX_PARAMS`
    parameters, and 0 for the rest (the tape's interpreter, and large straight-line code,
    run slowly as plain Python). 0 compiles on the first call. ``f.batch`` is compiled on
    its first call.

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
            f"unknown compile option(s): {', '.join(sorted(future))} (known: {', '.join(_OPTIONS)})",
            token=sorted(future)[0],
        )
    if not isinstance(net, Network):
        raise SymgradError(f"compile_network needs a symgrad Network, got {type(net).__name__}")
    chosen = choose_backend(net, layered=layered, part_ops=part_ops, backend=backend, jit=bool(jit), cache_dir=cache_dir, dtype=dtype)
    plain_calls = _plain_calls(jit_after, chosen, net)  # checked with jit=False too, where every call is plain
    if not jit:
        plain_calls = 0
    options = {"part_ops": part_ops}
    path = module_path(net, backend=chosen, dtype=dtype, cache_dir=cache_dir, **options)

    def generate() -> str:
        return generate_source(net, backend=chosen, dtype=dtype, key=key_of(path), **options)

    if not path.exists():
        write_atomically(path, generate())

    def load(as_jit: bool):
        with numba_errors(path, net.name):
            module = load_module(path, jit=as_jit, regenerate=generate, required=chosen.required)  # a broken file is generated again
        if chosen.bind is not None:  # a generic module (one for many networks) bound to this one
            module = chosen.bind(module, net)
        return module

    return GradFn(
        load(bool(jit)), path=path, jit=bool(jit), backend=chosen, network=net,
        plain_module=load(False) if plain_calls else None, jit_after=plain_calls, asked_jit_after=jit_after,
    )


def _plain_calls(jit_after, backend: Backend, net: Network) -> int:
    """How many first calls run as plain Python (see :func:`compile_network`)."""
    source = "jit_after"
    if jit_after is None:
        setting = os.environ.get("SYMGRAD_JIT_AFTER", "").strip()
        if not setting:
            # A plain straight-line call takes 20-40 µs up to 64 parameters, then about 0.3 µs
            # more a parameter. A larger network gets straight-line code only when numba
            # compiled it before (or when asked), and a thousand calls would cost what loading
            # it costs. A plain layered call is NumPy's matrix products, whatever the widths.
            small_straight_line = backend is STRAIGHT_LINE and net.n_params <= STRAIGHT_LINE_MAX_PARAMS
            return JIT_AFTER if small_straight_line or backend is LAYERED else 0
        jit_after, source = setting, "$SYMGRAD_JIT_AFTER"
        if setting.isdigit():
            jit_after = int(setting)
    try:
        calls = None if isinstance(jit_after, bool) else operator.index(jit_after)
    except TypeError:
        calls = None
    if calls is None or calls < 0:
        raise SymgradError(f"{source} must be a whole number of calls, 0 or more, got {jit_after!r}", token="jit_after")
    return calls


def choose_backend(
    net: Network, *, layered: bool | None = None, part_ops: int | None = None, backend: str | None = None,
    jit: bool = True, cache_dir=None, dtype=np.float64,
) -> Backend:
    """The backend ``net`` compiles with, from the options (see :func:`compile_network`):
    ``backend=`` if given; the layered backend for a wide ``mlp`` (or ``layered=True``);
    with numba, the tape for a network above :data:`STRAIGHT_LINE_MAX_PARAMS` parameters
    whose straight-line code numba has not compiled before; else the straight-line code.

    >>> import symgrad as sg
    >>> [choose_backend(sg.mlp(s), cache_dir="/nonexistent").name for s in ([30, 20, 2], [3, 4, 2], [8, 8, 2])]
    ['layered', 'straight-line', 'tape']
    >>> choose_backend(sg.mlp([8, 8, 2]), jit=False).name
    'straight-line'
    """
    if backend is not None:
        if backend not in BACKENDS:
            raise SymgradError(f"unknown backend {backend!r} (known: {', '.join(BACKENDS)})", token=str(backend))
        chosen = BACKENDS[backend]
    elif layered or (layered is None and part_ops is None and net.n_params > LAYERED_MIN_PARAMS and LAYERED.accepts(net)):
        chosen = LAYERED
    elif (
        jit and layered is None and part_ops is None and net.n_params > STRAIGHT_LINE_MAX_PARAMS
        and not _compiled_before(module_path(net, backend=STRAIGHT_LINE, dtype=dtype, cache_dir=cache_dir))
    ):
        chosen = TAPE
    else:
        chosen = STRAIGHT_LINE
    if not chosen.accepts(net):
        raise SymgradError(
            f"network {net.name!r} cannot be compiled by the {chosen.name} backend"
            + (
                "; it is not a layered (mlp) network in layer parameter order with array code for every activation "
                "(a function defined by an expression has none): compile it with layered=False"
                if chosen is LAYERED else ""
            ),
            token="layered" if chosen is LAYERED else chosen.name,
        )
    return chosen


def _compiled_before(path: Path) -> bool:
    """Whether numba's cache holds machine code of the module at ``path`` (its index files)."""
    folder = path.parent / "__pycache__"
    return folder.is_dir() and any(folder.glob(f"{path.stem}.call_grad-*.nbi"))


def module_path(net: Network, *, backend: Backend | None = None, dtype=np.float64, cache_dir=None, **options) -> Path:
    """The file ``net``'s generated module is (or will be) written to.

    Its name is the backend's stem and a hash of everything the code depends on: what
    the backend reads of the network, the symgrad version, the generator's own source
    and the dtype.

    >>> import symgrad as sg
    >>> a = sg.Network.from_expr("(w - 1)**2", params="w")
    >>> b = sg.Network.from_expr("(w - 2)**2", params="w")
    >>> module_path(a, cache_dir="/c").name == module_path(b, cache_dir="/c").name
    False
    """
    backend = backend or choose_backend(net)
    dtype = dtype_name(dtype)
    h = hashlib.sha256()
    for item in (*backend.identity(net, options), __version__, _generator_digest(backend), dtype):
        h.update(item.encode())
        h.update(b"\0")
    return cache_directory(cache_dir) / f"symgrad_{backend.stem(net)}_{dtype}_{h.hexdigest()[:20]}.py"


def generate_source(net: Network, *, backend: Backend | None = None, dtype=np.float64, key: str = "", **options) -> str:
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
    backend = backend or choose_backend(net)
    context = backend.context(net, dtype_name(dtype), key, options)
    return code_environment().get_template(backend.template).render(context)


@lru_cache(maxsize=None)
def _generator_digest(backend: Backend) -> str:
    """A hash of the backend's templates and of the modules that shape its code."""
    h = hashlib.sha256()
    for name in (backend.template, RUNTIME_TEMPLATE, *backend.templates):
        h.update(template_text(name).encode())
    package = Path(__file__).parent.parent  # the symgrad package
    for name in backend.sources + ("compile/cache.py",):
        path = package / name
        if path.exists():
            h.update(path.read_bytes())
    return h.hexdigest()
