r"""The cache of generated modules: where they live, how they are written and imported.

Generated code is written to real files, because numba's ``cache=True`` keeps machine
code next to a source file. A module's file name carries a hash of everything its code
depends on (the backend decides what), so a changed network or a changed generator
never reuses stale code, and a second process finds both the module and numba's cache
and compiles nothing.

The directory is ``cache_dir=`` if given, else ``$SYMGRAD_CACHE_DIR``, else
``$XDG_CACHE_HOME/symgrad``, else ``~/.cache/symgrad``.

The cache heals itself: a module whose ``symgrad key:`` line does not match its file
name, or that fails to import (truncated, empty, binary, no kernels), is written again
once, with a :class:`CacheWarning` naming the file; numba's cache files of a module
that numba cannot read are dropped (numba then compiles anew), with the same warning.

>>> import tempfile
>>> path = cache_directory(tempfile.mkdtemp()) / "symgrad_doc_0123.py"
>>> write_atomically(path, "# symgrad key: 0123\nANSWER = 42")
>>> load_module(path, jit=False, required=("ANSWER",)).ANSWER
42
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import tempfile
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

from ..errors import SymgradError

__all__ = [
    "CacheWarning", "cache_directory", "drop_numba_cache", "key_of", "load_module", "numba_errors", "raised_by_numba_cache",
    "write_atomically",
]

#: What every generated module defines; a module without them is broken.
REQUIRED_NAMES = ("grad_kernel", "value_kernel", "call_grad", "call_value", "DTYPE", "PARAMS", "INPUTS", "TARGETS", "NETWORK")


class CacheWarning(UserWarning):
    """A cached file was broken and has been replaced (the message names it)."""


def cache_directory(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where generated modules go: ``cache_dir``, ``$SYMGRAD_CACHE_DIR``, or a per-user cache.

    >>> import os
    >>> cache_directory("/tmp/sg-doc") == Path("/tmp/sg-doc")
    True
    """
    if cache_dir is None:
        cache_dir = os.environ.get("SYMGRAD_CACHE_DIR") or None
    if cache_dir is None:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        cache_dir = os.path.join(base, "symgrad")
    return Path(cache_dir)


def key_of(path: Path) -> str:
    """The hash a module's file name ends with (the module records it as its ``symgrad key``)."""
    return path.stem.rsplit("_", 1)[-1]


def write_atomically(path: Path, text: str) -> None:
    """Write through a temporary file, so that a concurrent process never imports half a file.

    The file is linked into place only if it is still missing: when two processes
    generate the same module, the second must not replace the first's file, whose
    modification time numba's cache index already recorded.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp_", suffix=".py")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process wrote the same module first
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        raise SymgradError(
            f"cannot write the generated module to {path.parent}: {exc.strerror or exc}; "
            "set SYMGRAD_CACHE_DIR or pass cache_dir= to a writable directory",
            token=str(path.parent),
        ) from None


def load_module(path: Path, *, jit: bool, regenerate: Callable[[], str] | None = None, required=REQUIRED_NAMES):
    r"""Import the module at ``path``; with ``jit=False`` as plain Python (the template reads
    ``_SYMGRAD_JIT`` before it would import numba).

    A module that is broken (see the module docstring) is written again with
    ``regenerate()`` and imported once more; without ``regenerate`` it is an error.

    >>> import tempfile, warnings
    >>> path = cache_directory(tempfile.mkdtemp()) / "symgrad_doc_0123.py"
    >>> write_atomically(path, "truncated = (")
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     module = load_module(path, jit=False, regenerate=lambda: "# symgrad key: 0123\nANSWER = 42", required=("ANSWER",))
    >>> module.ANSWER, "symgrad_doc_0123.py" in str(caught[0].message)
    (42, True)
    """
    # One import at a time in a process: a module sits in sys.modules while it runs, and
    # a second thread (Dask workers run blocks in threads) must not take it half-made.
    with _LOADING:
        return _load(path, jit, regenerate, required)


def _load(path: Path, jit: bool, regenerate: Callable[[], str] | None, required) -> object:
    try:
        return _import(path, jit, required)
    except _Broken as broken:
        if regenerate is None:
            raise SymgradError(f"the generated module {path} is broken ({broken}); delete it to generate it again", token=str(path)) from None
        warnings.warn(CacheWarning(f"the cached module {path} was broken ({broken}); it has been generated again"), stacklevel=4)
        for stale in [path, *_numba_cache_files(path)]:
            try:
                stale.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise SymgradError(f"cannot replace the broken cached module {stale}: {exc.strerror or exc}", token=str(stale)) from None
        write_atomically(path, regenerate())
    try:
        return _import(path, jit, required)
    except _Broken as broken:
        raise SymgradError(f"the generated module {path} cannot be loaded even after generating it again: {broken}", token=str(path)) from None


_LOADING = threading.RLock()


class _Broken(Exception):
    """What is wrong with a cached module, in a few words."""


def _import(path: Path, jit: bool, required) -> object:
    name = path.stem if jit else f"{path.stem}_nojit"
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) == str(path):
        return loaded
    _check_key(path)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module._SYMGRAD_JIT = jit
    sys.modules[name] = module
    try:
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            if not raised_by_numba_cache(exc):
                raise
            drop_numba_cache(path, exc)  # numba's machine code for it was unreadable: compile anew
            spec.loader.exec_module(module)
    except ImportError as exc:
        del sys.modules[name]
        if exc.name in ("numba", "numpy", "scipy") or "scipy" in str(exc):
            raise SymgradError(f"cannot load the generated module {path.name}: {exc} (jit=False needs no numba)") from None
        raise _Broken(f"{type(exc).__name__}: {exc}") from None
    except (SyntaxError, ValueError, TypeError, NameError, AttributeError, UnicodeDecodeError) as exc:
        del sys.modules[name]
        raise _Broken(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
    except BaseException:
        del sys.modules[name]
        raise
    missing = [n for n in required if not hasattr(module, n)]
    if missing:
        del sys.modules[name]
        raise _Broken(f"it defines no {', '.join(missing)}")
    return module


def _check_key(path: Path) -> None:
    """The ``symgrad key:`` line a module records must be its file name's (a file that was
    replaced or cut short has another, or none)."""
    try:
        head = path.read_bytes()
    except OSError as exc:
        raise SymgradError(f"cannot read the generated module {path}: {exc.strerror or exc}", token=str(path)) from None
    found = re.search(rb"symgrad key: (\w*)", head)
    if found is None:
        raise _Broken("it records no symgrad key")
    if found.group(1).decode() != key_of(path):
        raise _Broken(f"it records the key {found.group(1).decode()!r}, not its file name's {key_of(path)!r}")


def _numba_cache_files(path: Path) -> list[Path]:
    """numba's index (.nbi) and machine code (.nbc) files of the module at ``path``."""
    folder = path.parent / "__pycache__"
    if not folder.is_dir():
        return []
    return [f for f in folder.glob(f"{path.stem}.*") if f.suffix in (".nbi", ".nbc")]


def raised_by_numba_cache(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while numba read its cache files (a corrupt .nbi/.nbc
    raises UnpicklingError, EOFError, ValueError … from there)."""
    marker = os.path.join("numba", "core", "caching.py")
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith(marker):
            return True
        tb = tb.tb_next
    return False


def drop_numba_cache(path: Path, exc: BaseException) -> None:
    """Delete numba's cache files of the module at ``path`` after they failed to load
    (``exc``), with a :class:`CacheWarning` naming them; numba compiles anew."""
    dropped = _numba_cache_files(path)
    for f in dropped:
        try:
            f.unlink()
        except OSError:
            pass
    names = ", ".join(f.name for f in dropped[:3]) + (" …" if len(dropped) > 3 else "")
    warnings.warn(
        CacheWarning(f"numba's cache of {path.name} could not be read ({type(exc).__name__}); dropped {names or 'nothing'} and compiled again"),
        stacklevel=4,
    )


@contextmanager
def numba_errors(path: Path | None, network: str):
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
