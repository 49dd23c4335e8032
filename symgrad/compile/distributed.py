"""Batches on Dask: ``f.batch(params, X, Y)`` with Dask arrays runs each chunk on the workers.

Each block of rows runs the compiled batch kernel there and returns its *sums* (loss,
gradient, rows); Dask adds the blocks' sums and the mean is taken once at the end, so
the result equals the in-memory one up to the order of the additions. The compiled
function travels to the workers as its generated source, which each worker writes to
its own cache (named by the same key) and imports: nothing but symgrad and the source
needs to be on a worker, so the same code runs on a laptop's LocalCluster or a real
cluster. Dask is optional and imported here only.

>>> import dask.array as da, numpy as np, symgrad as sg           # doctest: +SKIP
>>> f = sg.mlp([3, 4, 2]).compile()                              # doctest: +SKIP
>>> X = da.random.uniform(size=(1_000_000, 3), chunks=(100_000, 3))   # doctest: +SKIP
>>> Y = da.random.uniform(size=(1_000_000, 2), chunks=(100_000, 2))   # doctest: +SKIP
>>> loss, g = f.batch(np.zeros(26), X, Y)                         # doctest: +SKIP
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass

import numpy as np

from ..errors import ShapeError, SymgradError
from .cache import cache_directory, load_module, write_atomically

__all__ = ["RemoteKernel", "dask_batch", "is_dask_array"]


def is_dask_array(value) -> bool:
    """Whether ``value`` is a Dask array (without importing Dask when it is not loaded)."""
    module = sys.modules.get("dask.array")
    return module is not None and isinstance(value, module.Array)


@dataclass(frozen=True)
class RemoteKernel:
    """A compiled function as it travels to a worker: its generated module's text."""

    source: str
    file_name: str
    jit: bool

    def load(self):
        """The module, written to this machine's cache (once) and imported."""
        path = cache_directory() / self.file_name
        if not path.exists():
            write_atomically(path, self.source)
        return load_module(path, jit=self.jit, regenerate=lambda: self.source)

    def block_sums(self, params: np.ndarray, X: np.ndarray | None, Y: np.ndarray | None) -> tuple[float, np.ndarray, int]:
        """(Σ loss, Σ gradient, rows) over one block of rows."""
        module = self.load()
        columns = [np.ascontiguousarray(a, dtype=module.DTYPE) for a in (X, Y) if a is not None]
        rows = columns[0].shape[0]
        if rows == 0:
            return 0.0, np.zeros(len(params)), 0
        sums = np.zeros(len(params))  # the kernel adds each row's gradient into these, in float64
        loss = module.block_kernel(np.ascontiguousarray(params, dtype=module.DTYPE), *columns, 0, rows, sums)
        return float(loss), sums, rows


def remote_kernel(f) -> RemoteKernel:
    """The :class:`RemoteKernel` of a compiled function ``f`` (a ``GradFn``): its standalone
    source, under the name its cache key gives it (the cache checks the two agree)."""
    source = f.source
    match = re.search(r"symgrad key: (\w+)", source)
    if match is None:
        raise SymgradError(f"the module of {f.network_name!r} records no symgrad key; it cannot travel to Dask workers", token="key")
    return RemoteKernel(source, f"symgrad_remote_{match.group(1)}.py", bool(f.jit))


def dask_batch(f, params: np.ndarray, X, Y, reduce: str = "mean") -> tuple[float, np.ndarray]:
    """(loss, gradient) of a compiled ``f`` over the rows of Dask arrays ``X`` and ``Y``
    (either may be None for a network without inputs or targets), computed with the
    current Dask scheduler (a ``distributed.Client``'s cluster, if one is active)."""
    import dask
    import dask.array as da

    if reduce not in ("mean", "sum"):
        raise SymgradError(f"reduce must be 'mean' or 'sum', got {reduce!r}", token="reduce")
    present = [(name, a, width) for name, a, width in (("X", X, len(f.input_names)), ("Y", Y, len(f.target_names))) if width]
    arrays = []
    for name, array, width in present:
        if array is None:
            raise ShapeError(f"{name} is missing: the network has {width} of them per row", token=name)
        array = array if is_dask_array(array) else da.from_array(np.asarray(array))
        if array.ndim == 1 and width == 1:
            array = array.reshape((-1, 1))
        if array.ndim != 2 or array.shape[1] != width:
            raise ShapeError(f"{name} must have shape (n, {width}), one row per sample, got shape {array.shape}", token=name)
        arrays.append(array.rechunk({1: -1}))  # a block holds whole rows
    if len(arrays) == 2:
        if arrays[0].shape[0] != arrays[1].shape[0]:
            raise ShapeError(f"Y has {arrays[1].shape[0]} rows but X has {arrays[0].shape[0]}; one row per sample", token="Y")
        arrays[1] = arrays[1].rechunk({0: arrays[0].chunks[0]})  # the same rows in each block
    if not arrays or arrays[0].shape[0] == 0:
        raise ShapeError("the data has no rows (no samples)", token="X")
    kernel = remote_kernel(f)
    p = np.asarray(params, dtype=np.float64)
    blocks = [block.ravel() for block in (a.to_delayed() for a in arrays)]
    by_name = {name: i for i, (name, _, _) in enumerate(present)}
    parts = []
    for k in range(len(blocks[0])):
        x = blocks[by_name["X"]][k] if "X" in by_name else None
        y = blocks[by_name["Y"]][k] if "Y" in by_name else None
        parts.append(dask.delayed(kernel.block_sums)(p, x, y))
    (sums,) = dask.compute(dask.delayed(_add)(parts))
    loss, grad, rows = sums
    if loss != loss:
        raise SymgradError("the loss over the Dask data is NaN: the parameters hold NaN, or a block of X or Y a value that is not finite", token="X")
    if reduce == "mean":
        return loss / rows, grad / rows
    return loss, grad


def _add(parts: list[tuple[float, np.ndarray, int]]) -> tuple[float, np.ndarray, int]:
    loss = sum(part[0] for part in parts)
    grad = np.sum([part[1] for part in parts], axis=0)
    return loss, grad, sum(part[2] for part in parts)
