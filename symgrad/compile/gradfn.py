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
import os
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import ShapeError, SymgradError

__all__ = ["GradFn"]

# How many names an error message lists before "...".
_SHOWN_NAMES = 6


class GradFn:
    """Loss and gradient of one network, compiled (``net.compile()``).

    * ``loss, grad = f(params, x, y)``: one sample; ``grad`` in ``net.params`` order;
      ``x``/``y`` are left out for a network without inputs/targets;
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

    def __init__(self, module, *, path: Path | None = None, jit: bool = True, backend=None):
        self._module = module
        #: the :class:`~symgrad.compile.backend.Backend` that generated the module (None for a module from elsewhere)
        self.backend = backend
        self.path = Path(path) if path is not None else None
        self.jit = jit
        self.dtype = np.dtype(module.DTYPE)
        self.network_name: str = module.NETWORK
        self.param_names: tuple[str, ...] = tuple(module.PARAMS)
        self.input_names: tuple[str, ...] = tuple(module.INPUTS)
        self.target_names: tuple[str, ...] = tuple(module.TARGETS)
        self._grad_kernel = module.grad_kernel
        self._value_kernel = module.value_kernel
        self._batch_kernel = getattr(module, "batch_kernel", None)
        self._grad_call = _Direct(module.grad_kernel, self.path, self.network_name)
        self._value_call = _Direct(module.value_kernel, self.path, self.network_name)
        self._param_shape = (len(self.param_names),)
        self._input_shape = (len(self.input_names),)
        self._target_shape = (len(self.target_names),)
        both = self.input_names and self.target_names
        self._sizes_xy = (len(self.param_names), len(self.input_names), len(self.target_names)) if both else None
        self._source: str | None = None

    # -- calls ------------------------------------------------------------------

    def __call__(self, params, x=None, y=None) -> tuple[float, np.ndarray]:
        """Loss and gradient for one sample."""
        dtype = self.dtype
        if (
            self._sizes_xy is not None  # a network with inputs and targets, and three ready arrays:
            and params.__class__ is x.__class__ is y.__class__ is np.ndarray  # the fast path, inlined
            and params.dtype is dtype and x.dtype is dtype and y.dtype is dtype
            and params.ndim == x.ndim == y.ndim == 1
            and (params.size, x.size, y.size) == self._sizes_xy
            and params.base is None and x.base is None and y.base is None
        ):
            args = (params, x, y)
        else:
            args = self._sample_args(params, x, y)
        grad = np.empty(self._param_shape, dtype)  # the kernel writes every entry
        loss = self._grad_call.call(*args, grad)
        if loss != loss:
            self._explain_nan(args)
        return float(loss), grad

    def value(self, params, x=None, y=None) -> float:
        """The loss alone for one sample."""
        args = self._sample_args(params, x, y)
        loss = self._value_call.call(*args)
        if loss != loss:
            self._explain_nan(args)
        return float(loss)

    def batch(self, params, X=None, Y=None, reduce: str = "mean") -> tuple[float, np.ndarray]:
        """Loss and gradient over the rows of ``X`` (inputs) and ``Y`` (targets), their
        mean (``reduce="mean"``) or sum (``"sum"``).

        For a network with a single input (or target) a 1-D array is one value per sample.
        """
        if reduce not in ("mean", "sum"):
            raise SymgradError(f"reduce must be 'mean' or 'sum', got {reduce!r}", token="reduce")
        if self._batch_kernel is None:
            raise SymgradError(
                f"network {self.network_name!r} has no inputs or targets, so there are no samples to batch over; "
                "call it with the parameters alone",
                token="batch",
            )
        p = self._params(params)
        if np.isnan(p).any():
            self._raise_nan_params(p)
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
        if columns[0].shape[0] == 0:
            raise ShapeError(f"{'X' if self.input_names else 'Y'} has no rows (no samples)", token="X" if self.input_names else "Y")
        with _numba_errors(self.path, self.network_name):
            loss, grad = self._batch_kernel(p, *columns, reduce == "mean", self._module._num_threads())
        if loss != loss:
            for name, array in zip(("X", "Y") if self.input_names else ("Y",), columns):
                if np.isnan(array).any():
                    row, col = np.argwhere(np.isnan(array))[0]
                    raise SymgradError(f"{name} contains NaN (row {row}, column {col})", token=name)
        return float(loss), grad

    # -- the generated module -------------------------------------------------------

    @property
    def module(self):
        """The generated module: its kernels (``grad_kernel(p, [x,] [y,] g) -> loss``,
        ``value_kernel``, ``batch_kernel``) can be called from other jitted code; they
        trust their arguments (contiguous arrays of ``dtype`` and the right lengths)."""
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
            try:
                self._source = Path(self._module.__file__).read_text(encoding="utf-8")
            except OSError as exc:
                raise SymgradError(f"the generated module {self._module.__file__} cannot be read: {exc}") from None
        return self._source

    def save(self, path: str | os.PathLike) -> Path:
        """Write the generated module to ``path``: a standalone module needing only numpy and numba.

        Import it and call ``loss_and_grad(params, x, y)``, ``value(...)`` or
        ``batch_loss_and_grad(params, X, Y)``; its docstring names the network and
        the parameter order.

        >>> import pathlib, tempfile, symgrad as sg
        >>> f = sg.Network.from_expr("(w - 1)**2", params="w").compile(jit=False, cache_dir=tempfile.mkdtemp())
        >>> path = f.save(pathlib.Path(tempfile.mkdtemp()) / "grad_w.py")
        >>> "Parameters (1): w" in path.read_text()
        True
        """
        target = Path(path)
        if target.is_dir():
            raise SymgradError(f"save needs a file name, and {target} is a directory", token=str(target))
        try:
            target.write_text(self.source, encoding="utf-8")
        except OSError as exc:
            raise SymgradError(f"cannot write {target}: {exc.strerror or exc}", token=str(target)) from None
        return target

    def cache_info(self) -> dict[str, dict[str, int]]:
        """Per compiled kernel, how many of its compilations numba loaded from its disk cache
        (``hits``) and how many it had to compile (``misses``); empty for ``jit=False``."""
        info = {}
        for name in ("grad_kernel", "value_kernel", "batch_kernel"):
            kernel = getattr(self._module, name, None)
            stats = getattr(kernel, "stats", None)
            if stats is not None:
                info[name] = {"hits": sum(stats.cache_hits.values()), "misses": sum(stats.cache_misses.values())}
        return info

    def __repr__(self) -> str:
        mode = "numba" if self.jit else "python"
        return f"<GradFn {self.network_name!r}: {len(self.param_names)} params, {self.dtype.name}, {mode}>"

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
        where = f" (module {self.path.name})" if self.path is not None else ""
        return f"GradFn of {self.network_name!r}: f({args}) -> (loss, grad), {count} parameter{'s' if count != 1 else ''} ({names}), {self.dtype.name}, {mode}{where}"

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(self.summary())}</code>"

    # -- checking arguments -------------------------------------------------------------

    def _sample_args(self, params, x, y) -> tuple:
        # The hot path of a single call. An argument that is already a 1-D array of the
        # right dtype and length that owns its memory (so is contiguous) passes five cheap
        # attribute checks (shape and strides would build tuples: twice the cost); any
        # other argument goes through the full conversion and check.
        dtype, n_params = self.dtype, self._param_shape[0]
        if not (params.__class__ is np.ndarray and params.dtype is dtype and params.ndim == 1 and params.size == n_params and params.base is None):
            params = self._params(params)
        if self.input_names:
            if not (x.__class__ is np.ndarray and x.dtype is dtype and x.ndim == 1 and x.size == self._input_shape[0] and x.base is None):
                x = self._vector(x, "x", self._input_shape, self.input_names, "inputs")
            if self.target_names:
                if not (y.__class__ is np.ndarray and y.dtype is dtype and y.ndim == 1 and y.size == self._target_shape[0] and y.base is None):
                    y = self._vector(y, "y", self._target_shape, self.target_names, "targets")
                return params, x, y
            self._no_extra(y, "y", "targets")
            return params, x
        self._no_extra(x, "x", "inputs")
        if self.target_names:
            if not (y.__class__ is np.ndarray and y.dtype is dtype and y.ndim == 1 and y.size == self._target_shape[0] and y.base is None):
                y = self._vector(y, "y", self._target_shape, self.target_names, "targets")
            return params, y
        self._no_extra(y, "y", "targets")
        return (params,)

    def _no_extra(self, value, name: str, what: str) -> None:
        if value is not None and np.size(value):
            raise ShapeError(f"{name}: network {self.network_name!r} has no {what}; call it without {name}", token=name)

    def _params(self, params) -> np.ndarray:
        return self._vector(params, "params", self._param_shape, self.param_names, "parameters")

    def _vector(self, value, name: str, shape: tuple[int], names, what: str) -> np.ndarray:
        if value is None:
            raise ShapeError(f"{name} is missing: network {self.network_name!r} needs its {shape[0]} {what} ({_listing(names)})", token=name)
        array = self._convert(value, name)
        if array.shape != shape:
            raise ShapeError(f"{name} must have shape {shape} ({_listing(names)}), got shape {array.shape}", token=name)
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

    def _explain_nan(self, args) -> None:
        """A NaN loss: if an argument holds a NaN, say which; otherwise the NaN is the formula's own."""
        if np.isnan(args[0]).any():
            self._raise_nan_params(args[0])
        present = [(name, labels) for name, labels in (("x", self.input_names), ("y", self.target_names)) if labels]
        for (name, labels), array in zip(present, args[1:]):
            if np.isnan(array).any():
                i = int(np.argmax(np.isnan(array)))
                raise SymgradError(f"{name} contains NaN (at index {i}, {labels[i]})", token=name)

    def _raise_nan_params(self, p: np.ndarray) -> None:
        bad = np.flatnonzero(np.isnan(p))
        shown = ", ".join(f"{self.param_names[i]} (index {i})" for i in bad[:_SHOWN_NAMES])
        more = f" and {len(bad) - _SHOWN_NAMES} more" if len(bad) > _SHOWN_NAMES else ""
        raise SymgradError(f"params contains NaN: {shown}{more}", token="params")


class _Direct:
    """Calls a kernel; once numba has compiled it, through its compiled entry point.

    A numba dispatcher works out the argument types on every call to pick the
    compiled version (about half the cost of a small gradient). GradFn hands the
    kernel only arrays of one dtype and layout, so after the first call it can call
    that version directly. The first call passes writeable arrays only, so that the
    one version compiled is the one every later (checked) call matches; read-only
    arrays are fine after that, since the kernels never write their inputs.
    """

    def __init__(self, kernel, path: Path | None, network: str):
        self.kernel = kernel
        self.path = path
        self.network = network
        self.call = self._first if hasattr(kernel, "overloads") else kernel

    def _first(self, *args):
        args = tuple(a if a.flags.writeable else a.copy() for a in args)
        with _numba_errors(self.path, self.network):
            result = self.kernel(*args)
        try:
            from numba import typeof

            self.call = self.kernel.overloads[tuple(typeof(a) for a in args)].entry_point
        except (ImportError, AttributeError, KeyError):  # pragma: no cover - numba internals moved
            self.call = self.kernel
        return result


@contextmanager
def _numba_errors(path: Path | None, network: str):
    """Turn a failure to compile into a SymgradError naming the network and the module:
    a numba traceback is never the user's to read.

    Besides numba's own errors, an ImportError raised while numba compiles is one too:
    numba imports optional libraries (SciPy's BLAS for ``np.dot``) only when it first
    compiles a call that needs them.
    """
    try:
        yield
    except Exception as exc:
        numba_errors = sys.modules.get("numba.core.errors")
        is_numba = numba_errors is not None and isinstance(exc, numba_errors.NumbaError)
        if not (is_numba or isinstance(exc, ImportError)):
            raise
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, ImportError):
            cause = f"numba needs a package that is missing ({first}); reinstall symgrad with pip to get its dependencies"
        else:
            cause = f"{first}. This is a symgrad bug"
        raise SymgradError(
            f"numba could not compile network {network!r} (generated module {path}): {cause}; "
            "compile(jit=False) runs the same code without numba",
            token=network,
        ) from exc


def _listing(names) -> str:
    if len(names) <= _SHOWN_NAMES:
        return ", ".join(names)
    return ", ".join(names[: _SHOWN_NAMES - 1]) + ", ..., " + names[-1]
