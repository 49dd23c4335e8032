"""``GradFn``: a network's compiled loss and gradient, with its inputs checked.

A ``GradFn`` wraps one generated module (:mod:`symgrad.compile.pipeline`) and knows
the backend that generated it. Everything a caller
can get wrong — a wrong length or shape, a list instead of an array, integers,
strings, complex numbers, a NaN parameter — is caught here, in Python, and
reported as a :class:`~symgrad.errors.SymgradError` that names the argument and
the expected shape. The kernels only ever see contiguous arrays of the module's
dtype, so numba never raises a typing error and never compiles a second version
for an odd dtype or memory layout.

>>> import tempfile, symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> f = net.compile(jit=False, cache_dir=tempfile.mkdtemp())
>>> f([1.0, 1.0])
(5.0, array([-4., -4.]))
>>> f([1.0, 1.0, 1.0])
Traceback (most recent call last):
...
symgrad.errors.ShapeError: params must have shape (2,) (x1, x2), got shape (3,)
"""

from __future__ import annotations

import html
import inspect
import itertools
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from functools import cached_property, partial
from pathlib import Path

import numpy as np

from ..derive.second import hvp_network
from ..errors import ShapeError, SymgradError
from .blas import blas_threads
from .c_export import write_c
from .cache import drop_numba_cache, numba_errors
from .cache import raised_by_numba_cache as _raised_by_numba_cache
from .distributed import dask_batch, is_dask_array
from .interop import to_jax, to_torch
from .placement import cores_for_helpers, keep_to

try:  # the one-sample call in C (csrc/_symgrad_fastcall.c), built by pip where a C compiler is found
    from _symgrad_fastcall import FastCall as _CallBase
    from _symgrad_fastcall import inherit_vectorcall as _inherit_vectorcall
except ImportError:  # pragma: no cover - depends on the install
    _CallBase = object

__all__ = ["GradFn"]

# How many names an error message lists before "...".
_SHOWN_NAMES = 6


class _CallSignature:
    """``f.__signature__``: the signature of ``f(...)``, which the C base class has not got.
    On the class itself it is None, so that ``inspect.signature(GradFn)`` still shows
    the constructor."""

    def __init__(self, method):
        self._method = method

    def __get__(self, instance, owner=None):
        if instance is None:
            return None
        return inspect.signature(self._method.__get__(instance, owner))


class GradFn(_CallBase):
    """Loss and gradient of one network, compiled (``net.compile()``).

    * ``loss, grad = f(params, x, y)``: one sample; ``grad`` in ``net.params`` order;
      ``x``/``y`` are left out for a network without inputs/targets. A gradient array
      that nothing references any more (a weak reference does not count) may be handed
      out again by a later call; ``out=`` gives the call an array of your own. A small
      network's straight-line code, and a layered network's matrix code, run their first
      calls as plain Python, and numba compiles them on the call after them
      (``net.compile(jit_after=...)``);
    * ``loss, grad = f.batch(params, X, Y, reduce="mean")``: over the rows of X and Y
      (``"sum"`` adds them), in one parallel loop;
    * ``f.value(params, x, y)``: the loss alone;
    * ``f.source``: the generated module's text; ``f.save(path)`` writes it as a
      standalone module that needs only numpy and numba.

    >>> import tempfile, symgrad as sg
    >>> net = sg.Network.from_equations("u = w*x + b; L = (u - y)**2/2",
    ...                                 params="w b", inputs="x", targets="y")
    >>> f = net.compile(jit=False, cache_dir=tempfile.mkdtemp())
    >>> f.value([2.0, 1.0], [3.0], [5.0])
    2.0
    >>> loss, g = f.batch([2.0, 1.0], [[3.0], [0.0]], [[5.0], [1.0]], reduce="sum")
    >>> loss, g.tolist()
    (2.0, [6.0, 2.0])
    """

    def __init__(
        self, module, *, path: Path | None = None, jit: bool = True, backend=None, network=None, plain_module=None, jit_after: int = 0,
        asked_jit_after: int | None = None,
    ):
        self._module = module
        #: the network compiled (None for a module loaded from elsewhere): what hvp, the C
        #: export and the interop functions derive from
        self.network = network
        self._hvp = None
        #: the :class:`~symgrad.compile.backend.Backend` that generated the module (None for a module from elsewhere)
        self.backend = backend
        self.path = Path(path) if path is not None else None
        self.jit = jit
        self.dtype = np.dtype(module.DTYPE)
        self.network_name: str = module.NETWORK
        self.input_names: tuple[str, ...] = tuple(module.INPUTS)
        self.target_names: tuple[str, ...] = tuple(module.TARGETS)
        self._grad_kernel = module.grad_kernel
        self._value_kernel = module.value_kernel
        self._block_kernel = getattr(module, "block_kernel", None)
        #: rows per block of f.batch (0: all rows in one block, for kernels that are parallel inside)
        self._block_rows = getattr(module, "BLOCK_ROWS", _BLOCK_ROWS)
        #: whether the block kernel calls BLAS (its thread count is then set, see compile/blas.py)
        self._calls_blas = bool(getattr(module, "CALLS_BLAS", False)) and jit
        #: whether the block kernel takes a last argument, a factor for its gradient: the
        #: mean's 1/n then scales a few numbers inside instead of the whole gradient after
        self._scales_blocks = bool(getattr(module, "SCALES_BLOCKS", False))
        #: whether the block kernel's loss is not finite whenever a parameter is NaN or an
        #: input or target is not finite (then a finite loss needs no look at p or the gradient)
        self._blocks_check_arguments = bool(getattr(module, "BLOCKS_CHECK_ARGUMENTS", False))
        self._blocks_ran = False  # whether a batch block has run (so the block kernel is compiled)
        self._n_params = int(module.N_PARAMS)  # not len(PARAMS): a layered module makes its names when asked
        self._param_shape = (self._n_params,)
        self._input_shape = (len(self.input_names),)
        self._target_shape = (len(self.target_names),)
        # The fast path: the call kernels compiled for one signature only (arrays of the
        # module's dtype, C-contiguous, writeable), so that numba's dispatcher checks the
        # argument types itself, in C, and raises TypeError for anything else. Sizes, NaN
        # and infinite inputs are checked inside (a NaN loss then sends the call to the
        # checks here). Compiled (or loaded from numba's cache) on first use: the first call, or
        # the one after the plain Python calls below.
        compiled = jit and hasattr(_dispatcher(module.call_grad), "overloads")
        # The first jit_after calls (of f and f.value) run plain_module, the same generated
        # code as plain Python, on checked arguments: numba's first compile in a process
        # takes longer than a thousand such calls, so a few calls never wait for it.
        self._plain_module = plain_module if compiled and jit_after > 0 else None
        self._plain_calls_left = jit_after if self._plain_module is not None else 0
        # net.compile's jit_after as given (None: each backend's default), for f.hvp's own
        # function: a layered network's default (plain NumPy calls) would be a tape's slowest.
        self._asked_jit_after = asked_jit_after
        if compiled and self._plain_module is None:
            self._use_compiled_calls()
        else:
            self._call_grad = self._call_value = _checked_only
            # Plain Python kernels compute in NumPy scalars: their overflow and division
            # warnings are the compiled code's silent inf and NaN.
            self._quiet = _quiet_numpy
        # Gradients are rows of a slab allocated now and then: handing out the next row
        # costs a third of a fresh np.empty (each row is still its own array).
        self._slab_rows = max(1, _SLAB_VALUES // max(1, self._n_params))
        self._rows = iter(())  # empty: the first call makes the first slab
        # The C call keeps two gradient arrays of its own and hands one out again once
        # nothing else references it (csrc/_symgrad_fastcall.c); this makes them.
        self._new_gradient = partial(np.empty, self._n_params, self.dtype)
        # f.batch keeps two float64 gradient arrays the same way (see _batch_gradient).
        self._batch_gradients: list[np.ndarray] = []
        self._batch_gradients_lock = threading.Lock()
        self._source: str | None = None

    @cached_property
    def param_names(self) -> tuple[str, ...]:
        """The parameters' names, in gradient order (built on first use: a layered
        module makes them only when asked, 200k strings at 784-256-10)."""
        return tuple(self._module.PARAMS)

    def _first_call(self, which: str):
        def first(*args):
            kernel = self._module.call_grad if which == "grad" else self._module.call_value
            self._guarded(_compile_signed, _dispatcher(kernel), self.path, self.network_name)
            if which == "grad":
                self._call_grad = kernel
            else:
                self._call_value = kernel
            return kernel(*args)

        return first

    def _new_rows(self) -> np.ndarray:
        rows = iter(np.empty((self._slab_rows, self._n_params), self.dtype))
        self._rows = rows
        return next(rows)

    # -- calls ------------------------------------------------------------------

    def _call(self, params, x=None, y=None, out=None) -> tuple[float, np.ndarray]:
        """Loss and gradient for one sample; ``out``, a 1-D array of the dtype and length of
        the gradient, receives it instead of a new array (and is returned).

        This is ``f(...)``: with the C extension built, its base class runs the ordinary
        call in C (the try block below, with a kept gradient array where one is free) and
        calls this method for everything else (a NaN loss, arguments to check); without
        it, this method is ``__call__``.
        """
        # The hot path is the try block: the next row of the gradient slab (or out), and
        # the call kernel through numba's dispatcher, which checks the argument types itself.
        try:
            grad = next(self._rows) if out is None else out  # the kernel writes every entry
            loss = self._call_grad(params, x, y, grad)
        except StopIteration:  # the slab is used up: a new one, and the call again
            return self._call_again(params, x, y, self._new_rows())
        except TypeError:  # not ready arrays (or a plain Python call): convert and check them
            return self._call_checked(params, x, y, self._out(out) if out is not None else grad)
        except Exception:
            with numba_errors(self.path, self.network_name):
                raise
        if loss != loss:  # NaN: a bad argument, or the formula's own
            self._explain_nan(params, x, y, out)
        return loss, grad  # numba returns the loss as a Python float

    if _CallBase is object:
        __call__ = _call
    else:  # inspect.signature(f), help(f) and IPython's f? show the call's parameters
        __signature__ = _CallSignature(_call)

    def _call_again(self, params, x, y, grad) -> tuple[float, np.ndarray]:
        try:
            loss = self._call_grad(params, x, y, grad)
        except TypeError:
            return self._call_checked(params, x, y, grad)
        except Exception:
            with numba_errors(self.path, self.network_name):
                raise
        if loss != loss:
            self._explain_nan(params, x, y)
        return loss, grad

    def _out(self, out) -> np.ndarray:
        if not (isinstance(out, np.ndarray) and out.dtype == self.dtype and out.shape == self._param_shape
                and out.flags.c_contiguous and out.flags.writeable):
            shape = getattr(out, "shape", None)
            raise ShapeError(
                f"out must be a writeable contiguous {self.dtype.name} array of shape {self._param_shape}, got "
                + (f"{out.dtype} of shape {shape}" if isinstance(out, np.ndarray) else type(out).__name__),
                token="out",
            )
        return out

    def _call_checked(self, params, x, y, grad) -> tuple[float, np.ndarray]:
        """The slow path: arguments converted and checked, then the kernel."""
        args = self._sample_args(params, x, y)
        loss = self._guarded(self._kernel_call, "grad", args, grad)
        if loss != loss:
            self._explain_nan(params, x, y)
        return float(loss), grad

    def value(self, params, x=None, y=None) -> float:
        """The loss alone for one sample."""
        try:
            loss = self._call_value(params, x, y)
        except TypeError:
            args = self._sample_args(params, x, y)
            loss = self._guarded(self._kernel_call, "value", args)
        except Exception:
            with numba_errors(self.path, self.network_name):
                raise
        if loss != loss:
            self._explain_nan(params, x, y)
        return float(loss)

    def _guarded(self, run, *args):
        """``run(*args)`` with NumPy's warnings off for plain Python kernels, and once more
        after dropping a corrupt numba cache of the module (numba then compiles anew)."""
        with self._quiet():
            try:
                return run(*args)
            except Exception as exc:
                if self.path is None or not _raised_by_numba_cache(exc):
                    raise
                drop_numba_cache(self.path, exc)
            return run(*args)

    def _kernel_call(self, which: str, args: tuple, *out):
        """The call kernel on checked arguments (x, y None where the network has none)."""
        full = list(args[:1]) + [None, None]
        present = [i for i, labels in ((1, self.input_names), (2, self.target_names)) if labels]
        for i, a in zip(present, args[1:]):
            full[i] = a
        plain = self._plain_module if self.jit else self._module
        if plain is not None:
            if self.jit:
                self._count_plain_call()
            kernel = plain.call_grad if which == "grad" else plain.call_value
        else:  # the compiled call kernel, through the fast path's (now checked) entry
            kernel = self._call_grad if which == "grad" else self._call_value
        with numba_errors(self.path, self.network_name):
            return kernel(*full, *out)

    def _count_plain_call(self) -> None:
        """One of the first calls ran as plain Python; after the last of them, calls go to
        the compiled kernels."""
        self._plain_calls_left -= 1
        if self._plain_calls_left <= 0 and self._plain_module is not None:
            self._plain_module = None
            self._use_compiled_calls()

    def _use_compiled_calls(self) -> None:
        """Calls go to the compiled call kernels (numba compiles each, or loads it from its
        cache, on its first call)."""
        self._call_grad = self._first_call("grad")
        self._call_value = self._first_call("value")
        self._quiet = nullcontext

    def batch(self, params, X=None, Y=None, reduce: str = "mean") -> tuple[float, np.ndarray]:
        """Loss and gradient over the rows of ``X`` (inputs) and ``Y`` (targets), their
        mean (``reduce="mean"``) or sum (``"sum"``).

        For a network with a single input (or target) a 1-D array is one value per sample.
        The rows are cut into blocks run on up to :func:`batch_threads` threads and added
        up in block order, so the result does not depend on the thread count.
        """
        if reduce not in ("mean", "sum"):
            raise SymgradError(f"reduce must be 'mean' or 'sum', got {reduce!r}", token="reduce")
        if is_dask_array(X) or is_dask_array(Y):  # chunks run on the Dask workers
            return dask_batch(self, self._batch_params(params), X, Y, reduce)
        if self._block_kernel is None:
            raise SymgradError(
                f"network {self.network_name!r} has no inputs or targets, so there are no samples to batch over; "
                "call it with the parameters alone",
                token="batch",
            )
        # A NaN parameter is looked for after the blocks ran (below, or by a layered kernel
        # itself): on a wide network a pass over p before the kernel, from memory, cost 2%
        # of a batch.
        p = self._params(params)
        columns = []
        if self.input_names:
            columns.append(self._matrix(X, "X", self.input_names, "inputs"))
        elif X is not None and np.size(X):
            raise ShapeError(f"X: network {self.network_name!r} has no inputs; leave X out", token="X")
        if self.target_names:
            columns.append(self._matrix(Y, "Y", self.target_names, "targets"))
        elif Y is not None and np.size(Y):
            raise ShapeError(f"Y: network {self.network_name!r} has no targets; leave Y out", token="Y")
        if len(columns) == 2 and columns[0].shape[0] != columns[1].shape[0]:
            raise ShapeError(f"Y has {columns[1].shape[0]} rows but X has {columns[0].shape[0]}; one row per sample", token="Y")
        n = columns[0].shape[0]
        if n == 0:
            raise ShapeError(f"{'X' if self.input_names else 'Y'} has no rows (no samples)", token="X" if self.input_names else "Y")
        scaled = reduce == "mean" and self._scales_blocks
        loss, sums = self._guarded(self._run_blocks, p, columns, n, (1.0 / n,) if scaled else ())
        if self._blocks_check_arguments:
            # The kernel looked at p, X and Y where its own sums were not finite; a wide
            # network's p and gradient are megabytes, and reading them again cost 5% of a batch.
            fine = np.isfinite(loss)
        else:
            # Two sums, over arrays the kernel has just read and written: a NaN entry makes
            # its sum NaN, an infinite one makes it infinite or NaN (an overflow merely takes
            # the slow path, and warns no one). Not one np.dot(g, p): NumPy's BLAS may run it
            # on threads that, on a busy machine, wait milliseconds for each other.
            with np.errstate(all="ignore"):
                fine = np.isfinite(loss) and np.isfinite(np.sum(sums)) and not np.isnan(np.sum(p))
        if not fine:
            self._explain_batch(p, loss, sums, columns)
        if reduce == "mean":
            loss = loss / n
            if not scaled:
                # In place, without a copy: a wide network's gradient is megabytes, and each
                # new array of that size costs the page faults of fresh memory.
                sums /= n
        return float(loss), sums.astype(self.dtype, copy=False)

    def _run_blocks(self, p, columns, n: int, scale: tuple) -> tuple[float, np.ndarray]:
        """The loss and gradient summed over all rows: blocks of rows on the batch threads
        (``scale``: the gradient's factor, for a kernel that takes one, or nothing).

        Each block writes a gradient of its own, and these are added up in block order,
        so the sum does not depend on which thread ran which block. A wide network's
        blocks run in waves of at most :data:`_WAVE_BYTES` of such gradients, each wave
        added into the sum before the next starts: a batch of 60,000 rows of a 784-256-10
        network would otherwise hold 59 gradients of 1.6 MB at once.
        """
        size = self._block_rows or n
        starts = list(range(0, n, size))
        gradient = self._batch_gradient()
        losses = np.empty(len(starts))
        if len(starts) == 1:
            rows = gradient[None, :]  # one block writes straight into the gradient
        else:
            # Not zeroed: every block kernel writes the whole of its row (zeroing a wide
            # network's gradient is a pass over megabytes).
            wave = max(2 * batch_threads(), _WAVE_BYTES // (8 * max(1, self._n_params)))
            rows = np.empty((min(wave, len(starts)), self._n_params))
        with numba_errors(self.path, self.network_name), blas_threads() if self._calls_blas else nullcontext():
            for at in range(0, len(starts), len(rows)):
                in_wave = starts[at:at + len(rows)]
                self._run_wave(p, columns, n, size, in_wave, rows, losses[at:at + len(rows)], scale)
                if len(starts) == 1:
                    break  # the one block wrote straight into the gradient
                if at == 0:
                    np.sum(rows[:len(in_wave)], axis=0, out=gradient)
                else:
                    for row in rows[:len(in_wave)]:  # in block order, as np.sum adds rows
                        gradient += row
        return float(np.sum(losses)), gradient

    def _run_wave(self, p, columns, n: int, size: int, starts: list, rows: np.ndarray, losses: np.ndarray, scale: tuple) -> None:
        """The blocks beginning at ``starts`` on the batch threads: block i's loss into
        losses[i], its gradient into rows[i]."""
        kernel = self._block_kernel
        first = 0
        if not self._blocks_ran:
            # A GradFn's first batch runs its first block alone, in this thread: it compiles
            # (or loads) the kernel once. Later batches hand out every block, so that two
            # blocks run on two threads.
            losses[0] = kernel(p, *columns, starts[0], min(starts[0] + size, n), rows[0], *scale)
            self._blocks_ran, first = True, 1
        threads = min(batch_threads(), len(starts) - first)
        if threads >= 2 and self.jit:
            blocks = itertools.count(first)
            # The helper threads keep off this thread's core: two batch threads on
            # one core, beside another busy process, are no faster than one.
            helpers_cores = cores_for_helpers()

            def work(cores=None):
                keep_to(cores)
                for b in blocks:  # next() on a count is atomic: each block runs once
                    if b >= len(starts):
                        return
                    losses[b] = kernel(p, *columns, starts[b], min(starts[b] + size, n), rows[b], *scale)

            pending = [_pool().submit(work, helpers_cores) for _ in range(threads - 1)]
            work()
            for job in pending:
                job.result()
        else:
            for b in range(first, len(starts)):
                losses[b] = kernel(p, *columns, starts[b], min(starts[b] + size, n), rows[b], *scale)

    def _batch_gradient(self) -> np.ndarray:
        """A float64 array for a batch's gradient: one of the two kept ones that nothing else
        references any more (the gradient handed out with an earlier batch, since dropped:
        no one can see it written again), else a new one, kept while fewer than two are.

        A wide network's gradient is megabytes, and fresh memory costs its page faults
        (about 400 at 784-256-10) whenever work in between has given the heap back to
        the system, as NumPy's own large temporaries do.
        """
        with self._batch_gradients_lock:  # two threads never take the same array
            for i in range(len(self._batch_gradients)):
                if _references(self._batch_gradients, i) == _KEPT_ONLY:
                    return self._batch_gradients[i]
            gradient = np.empty(self._n_params)
            if len(self._batch_gradients) < 2:
                self._batch_gradients.append(gradient)
            return gradient

    # -- the generated module -------------------------------------------------------

    @property
    def module(self):
        """The generated module: its kernels (``grad_kernel(p, [x,] [y,] g) -> loss``,
        ``value_kernel``, ``block_kernel(p, X, Y, start, stop, acc) -> loss``) can be
        called from other jitted code; they trust their arguments (contiguous arrays of
        ``dtype`` and the right lengths)."""
        return self._module

    @property
    def source(self) -> str:
        """The generated module's text.

        >>> import tempfile, symgrad as sg
        >>> f = sg.Network.from_expr("(w - 1)**2", params="w").compile(jit=False, cache_dir=tempfile.mkdtemp())
        >>> [line.strip() for line in f.source.splitlines() if line.strip().startswith("g[0] =")]
        ['g[0] = 2.0*_t0']
        """
        if self._source is None:
            standalone = getattr(self._module, "STANDALONE_SOURCE", None)  # a generic module bound to this network
            if standalone is not None:
                self._source = standalone
                return standalone
            try:
                self._source = Path(self._module.__file__).read_text(encoding="utf-8")
            except OSError as exc:
                raise SymgradError(f"the generated module {self._module.__file__} cannot be read: {exc}") from None
        return self._source

    def save(self, path: str | os.PathLike) -> Path:
        """Write the generated module to ``path``: a standalone module needing only numpy and numba.

        Import it and call ``loss_and_grad(params, x, y)``, ``value(...)`` or
        ``batch_loss_and_grad(params, X, Y)``; its docstring names the network and
        the parameter order. A path ending in ``.c`` writes C99 source instead, with its
        header beside it (``grad.c`` and ``grad.h``: :mod:`symgrad.compile.c_export`).

        >>> import pathlib, tempfile, symgrad as sg
        >>> f = sg.Network.from_expr("(w - 1)**2", params="w").compile(jit=False, cache_dir=tempfile.mkdtemp())
        >>> path = f.save(pathlib.Path(tempfile.mkdtemp()) / "grad_w.py")
        >>> "Parameters (1): w" in path.read_text()
        True
        """
        target = Path(path)
        if target.is_dir():
            raise SymgradError(f"save needs a file name, and {target} is a directory", token=str(target))
        if target.suffix == ".c":
            return write_c(self._compiled_network("save C source"), target)[0]
        try:
            target.write_text(self.source, encoding="utf-8")
        except OSError as exc:
            raise SymgradError(f"cannot write {target}: {exc.strerror or exc}", token=str(target)) from None
        return target

    def hvp(self, params, v, x=None, y=None) -> np.ndarray:
        """The Hessian-vector product H·v at one sample (1-D ``x``, ``y``) or the mean over
        rows (2-D): the compiled gradient of Σ v_p ∂Loss/∂p (reverse over the gradient
        program; no Hessian is formed), compiled on first use like the gradient.

        >>> import tempfile, symgrad as sg
        >>> f = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2").compile(jit=False, cache_dir=tempfile.mkdtemp())
        >>> f.hvp([1.0, 1.0], [1.0, 0.0]).tolist()   # the first column of [[2, -2], [-2, 2]]
        [2.0, -2.0]
        """
        if self._hvp is None:
            net = self._compiled_network("compute Hessian-vector products")
            directions = hvp_network(net, net.gradients().sweep)
            self._hvp = directions.compile(
                jit=self.jit, dtype=self.dtype, cache_dir=self.path.parent if self.path else None, jit_after=self._asked_jit_after
            )
        rows = next((np.shape(a)[0] for a in (x, y) if a is not None and np.ndim(a) == 2), None)
        if rows is None:  # one sample: v rides along as extra inputs, after x
            n = self._input_shape[0]
            xv = np.empty(n + self._n_params, self.dtype)
            try:
                xv[n:] = v
                if n:
                    xv[:n] = x
            except (ValueError, TypeError):  # the full checks say what is wrong
                v = self._vector(v, "v", self._param_shape, "param_names", "parameters")
                xv = np.concatenate([self._vector(x, "x", self._input_shape, "input_names", "inputs"), v]) if n else v
            return self._hvp(params, xv, y)[1]
        v = self._vector(v, "v", self._param_shape, "param_names", "parameters")
        X = np.zeros((rows, 0)) if x is None else self._matrix(x, "X", self.input_names, "inputs")
        return self._hvp.batch(params, np.hstack([X, np.broadcast_to(v, (rows, len(v)))]), y)[1]

    def to_torch(self):
        """``loss(params, x=None, y=None)`` as a differentiable PyTorch function whose backward
        is this compiled gradient (:func:`symgrad.compile.interop.to_torch`)."""
        return to_torch(self)

    def to_jax(self):
        """``loss(params, x=None, y=None)`` as a JAX function with a ``custom_vjp`` whose
        backward is this compiled gradient (:func:`symgrad.compile.interop.to_jax`)."""
        return to_jax(self)

    def _compiled_network(self, purpose: str):
        if self.network is None:
            raise SymgradError(f"this compiled function was loaded without its network; compile the network to {purpose}", token="network")
        return self.network

    def cache_info(self) -> dict[str, dict[str, int]]:
        """Per compiled kernel, how many of its compilations numba loaded from its disk cache
        (``hits``) and how many it had to compile (``misses``); empty for ``jit=False``."""
        info = {}
        for name in ("call_grad", "call_value", "block_kernel"):
            kernel = getattr(self._module, name, None)
            stats = getattr(_dispatcher(kernel), "stats", None)
            if stats is not None:
                info[name] = {"hits": sum(stats.cache_hits.values()), "misses": sum(stats.cache_misses.values())}
        return info

    def __copy__(self) -> GradFn:
        """Another GradFn of the same generated module (its compiled kernels are shared;
        its gradient arrays are its own)."""
        return type(self)(
            self._module, path=self.path, jit=self.jit, backend=self.backend, network=self.network,
            plain_module=self._plain_module, jit_after=self._plain_calls_left, asked_jit_after=self._asked_jit_after,
        )

    def __repr__(self) -> str:
        mode = "numba" if self.jit else "python"
        return f"<GradFn {self.network_name!r}: {self._n_params} params, {self.dtype.name}, {mode}>"

    def summary(self) -> str:
        """One line: the network, what the function takes and returns, and where its code lives.

        >>> import tempfile, symgrad as sg
        >>> f = sg.Network.from_expr("(w - 1)**2", params="w").compile(jit=False, cache_dir=tempfile.mkdtemp())
        >>> print(f.summary().split(" (module")[0])
        GradFn of 'f': f(params) -> (loss, grad), 1 parameter (w), float64, plain Python
        """
        names = ", ".join(self.param_names[:_SHOWN_NAMES]) + (", …" if len(self.param_names) > _SHOWN_NAMES else "")
        args = ", ".join(["params"] + (["x"] if self.input_names else []) + (["y"] if self.target_names else []))
        count = len(self.param_names)
        mode = "numba" if self.jit else "plain Python"
        if self._plain_module is not None:
            mode += f", its next {self._plain_calls_left} call{'s' if self._plain_calls_left != 1 else ''} plain Python"
        where = f" (module {self.path.name})" if self.path is not None else ""
        return f"GradFn of {self.network_name!r}: f({args}) -> (loss, grad), {count} parameter{'s' if count != 1 else ''} ({names}), {self.dtype.name}, {mode}{where}"

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(self.summary())}</code>"

    # -- checking arguments -------------------------------------------------------------

    def _sample_args(self, params, x, y) -> tuple:
        """The arguments of one sample checked and converted: contiguous, writeable arrays
        of the module's dtype and the right lengths (the slow path: anything that is not
        such an array already, or whose call returned NaN)."""
        params = self._params(params)
        present = []
        if self.input_names:
            present.append(self._vector(x, "x", self._input_shape, "input_names", "inputs"))
        else:
            self._no_extra(x, "x", "inputs")
        if self.target_names:
            present.append(self._vector(y, "y", self._target_shape, "target_names", "targets"))
        else:
            self._no_extra(y, "y", "targets")
        return (params, *present)

    def _no_extra(self, value, name: str, what: str) -> None:
        if value is not None and np.size(value):
            raise ShapeError(f"{name}: network {self.network_name!r} has no {what}; call it without {name}", token=name)

    def _batch_params(self, params) -> np.ndarray:
        """The parameters of a batch, converted; a NaN among them is named."""
        p = self._params(params)
        if np.isnan(np.sum(p)) and np.isnan(p).any():  # the sum first: no array of flags for a large p
            self._raise_nan_params(p)
        return p

    def _params(self, params) -> np.ndarray:
        return self._vector(params, "params", self._param_shape, "param_names", "parameters")

    def _vector(self, value, name: str, shape: tuple[int], labels: str, what: str) -> np.ndarray:
        """``value`` as a 1-D array of ``shape``; ``labels`` names the attribute holding the
        entries' names, read only for an error message (a wide network's are many)."""
        if value is None:
            raise ShapeError(
                f"{name} is missing: network {self.network_name!r} needs its {shape[0]} {what} ({_listing(getattr(self, labels))})", token=name
            )
        array = self._convert(value, name)
        if array.shape != shape:
            raise ShapeError(f"{name} must have shape {shape} ({_listing(getattr(self, labels))}), got shape {array.shape}", token=name)
        return array

    def _matrix(self, value, name: str, names, what: str) -> np.ndarray:
        if value is None:
            raise ShapeError(f"{name} is missing: one row per sample of the {len(names)} {what} ({_listing(names)})", token=name)
        array = self._convert(value, name)
        if array.ndim == 1 and len(names) == 1:
            array = array.reshape(-1, 1)  # one value per sample
        if array.ndim != 2 or array.shape[1] != len(names):
            raise ShapeError(
                f"{name} must have shape (n, {len(names)}), one row per sample of the {what} ({_listing(names)}), got shape {array.shape}",
                token=name,
            )
        return np.ascontiguousarray(array)

    def _convert(self, value, name: str) -> np.ndarray:
        try:
            raw = np.asarray(value)
        except (TypeError, ValueError) as exc:  # ragged nested lists
            raise ShapeError(f"{name} is not a rectangular array of numbers: {exc}", token=name) from None
        if np.iscomplexobj(raw):
            raise SymgradError(f"{name} holds complex numbers; the generated code is real", token=name)
        if raw.dtype.kind not in "biufO":  # text, bytes, dates: never read as numbers
            raise SymgradError(f"{name} must hold numbers, got {raw.dtype} values", token=name)
        try:
            array = raw.astype(self.dtype, casting="unsafe", copy=False)
        except (TypeError, ValueError) as exc:
            raise SymgradError(f"{name} must hold numbers: {exc}", token=name) from None
        # Copy a strided, misaligned or read-only array: numba compiles anew for each kind.
        if not (array.flags.c_contiguous and array.flags.behaved):
            array = np.array(array, dtype=self.dtype, order="C")
        return array

    def _explain_nan(self, params, x, y, out=None) -> None:
        """A NaN loss: a wrong shape, a NaN parameter, a NaN or infinite input or target is
        named; otherwise the NaN is the formula's own."""
        if out is not None:
            self._out(out)
        args = self._sample_args(params, x, y)
        if np.isnan(args[0]).any():
            self._raise_nan_params(args[0])
        present = [(name, labels) for name, labels in (("x", self.input_names), ("y", self.target_names)) if labels]
        for (name, labels), array in zip(present, args[1:]):
            bad = ~np.isfinite(array)
            if bad.any():
                i = int(np.argmax(bad))
                raise SymgradError(f"{name} contains {_shown(array[i])} (at index {i}, {labels[i]}); inputs and targets must be finite", token=name)

    def _explain_batch(self, p, loss: float, sums: np.ndarray, columns) -> None:
        """A batch whose parameters, loss or gradient are not all finite: a NaN parameter is
        named, and so is a NaN or infinite entry of X or Y behind a loss or gradient that
        is not finite; otherwise the values are the formula's own."""
        if np.isnan(p).any():
            self._raise_nan_params(p)
        if np.isfinite(loss) and np.isfinite(sums).all():
            return
        for name, array in zip(("X", "Y") if self.input_names else ("Y",), columns):
            bad = ~np.isfinite(array)
            if bad.any():
                row, col = np.argwhere(bad)[0]
                raise SymgradError(
                    f"{name} contains {_shown(array[row, col])} (row {row}, column {col}); inputs and targets must be finite", token=name
                )

    def _raise_nan_params(self, p: np.ndarray) -> None:
        bad = np.flatnonzero(np.isnan(p))
        shown = ", ".join(f"{self.param_names[i]} (index {i})" for i in bad[:_SHOWN_NAMES])
        more = f" and {len(bad) - _SHOWN_NAMES} more" if len(bad) > _SHOWN_NAMES else ""
        raise SymgradError(f"params contains NaN: {shown}{more}", token="params")


if _CallBase is not object:
    # f(...) without an argument tuple or, for out=, a dict (Python 3.12 does this itself for
    # a subclass that does not define __call__; 3.11 needs telling).
    _inherit_vectorcall(GradFn)

def _references(items: list, i: int) -> int:
    """How many references items[i] has, counted as _KEPT_ONLY was: the same count for an
    object that only the list holds, whatever the Python version's counting."""
    return sys.getrefcount(items[i])


#: _references of an object only its list holds.
_KEPT_ONLY = _references([object()], 0)

#: How many values a slab of gradients holds (see GradFn._call).
_SLAB_VALUES = 4096


def _dispatcher(kernel):
    """The numba dispatcher behind a kernel (a generic module's kernels are bound to a
    network by small Python functions that name theirs ``dispatcher``)."""
    return getattr(kernel, "dispatcher", kernel)


def _checked_only(*args):
    """The fast path's kernel while calls run as plain Python: its TypeError sends every
    call to the checked path (GradFn._call_checked)."""
    raise TypeError("plain Python kernels take checked arguments only")


def _compile_signed(kernel, path, network) -> None:
    """Compile a call kernel for its one signature (or load it from numba's cache), and no other."""
    if not kernel.signatures:
        with numba_errors(path, network):
            kernel.compile(kernel.symgrad_signature)
    kernel.disable_compile()


#: The most memory (bytes) the per-block gradients of one wave of ``f.batch`` take.
_WAVE_BYTES = 64 * 2**20

#: Rows per block of ``f.batch``: enough work per block that the call and the thread
#: hand-off cost nothing (a few microseconds against milliseconds), small enough that
#: blocks spread evenly over threads that another process is slowing down.
_BLOCK_ROWS = 8192

_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def batch_threads() -> int:
    """How many threads ``f.batch`` runs on: ``$SYMGRAD_NUM_THREADS``, else the cores this
    process may use.

    The threads are plain Python threads running the compiled block kernel, which
    releases the GIL; blocks are handed out one at a time, so a thread slowed down by
    another process simply takes fewer blocks, and the helper threads keep off the
    calling thread's core (:mod:`symgrad.compile.placement`): two threads are never
    slower than one.
    (numba's own parallel loops split the work evenly up front and spin-wait for the
    slowest thread, which on a loaded machine made two threads slower than one.)

    >>> batch_threads() >= 1
    True
    """
    wanted = os.environ.get("SYMGRAD_NUM_THREADS", "")
    if wanted.strip().isdigit() and int(wanted) >= 1:
        return int(wanted)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL._max_workers < batch_threads() - 1:
            _POOL = ThreadPoolExecutor(max_workers=max(1, batch_threads() - 1), thread_name_prefix="symgrad-batch")
        return _POOL


@contextmanager
def _quiet_numpy():
    with np.errstate(all="ignore"):
        yield


def _shown(value) -> str:
    return "NaN" if value != value else str(float(value))  # inf, -inf


def _listing(names) -> str:
    if len(names) <= _SHOWN_NAMES:
        return ", ".join(names)
    return ", ".join(names[: _SHOWN_NAMES - 1]) + ", ..., " + names[-1]
