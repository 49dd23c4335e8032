r"""The cache of generated modules: where they live, how they are written and imported.

Generated code is written to real files, because numba's ``cache=True`` keeps machine
code next to a source file. A module's file name carries a hash of everything its code
depends on (the backend decides what), so a changed network or a changed generator
never reuses stale code, and a second process finds both the module and numba's cache
and compiles nothing.

The directory is ``cache_dir=`` if given, else ``$SYMGRAD_CACHE_DIR``, else
``$XDG_CACHE_HOME/symgrad``, else ``~/.cache/symgrad``.

>>> import tempfile
>>> path = cache_directory(tempfile.mkdtemp()) / "symgrad_doc_0123.py"
>>> write_atomically(path, "ANSWER = 42")
>>> load_module(path, jit=False).ANSWER
42
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from pathlib import Path

from ..errors import SymgradError

__all__ = ["cache_directory", "key_of", "load_module", "write_atomically"]


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


def load_module(path: Path, *, jit: bool):
    """Import the module at ``path``; with ``jit=False`` as plain Python (the template reads
    ``_SYMGRAD_JIT`` before it would import numba)."""
    name = path.stem if jit else f"{path.stem}_nojit"
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) == str(path):
        return loaded
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    module._SYMGRAD_JIT = jit
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except ImportError as exc:
        del sys.modules[name]
        raise SymgradError(f"cannot load the generated module {path.name}: {exc} (jit=False needs no numba)") from None
    except BaseException:
        del sys.modules[name]
        raise
    return module
