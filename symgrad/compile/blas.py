"""How many threads BLAS may use while a layered network's batch runs.

The layered kernel's matrix products are numba's ``np.dot``, which calls SciPy's
OpenBLAS. Measured on a 2-core machine with another process keeping a core busy, that
OpenBLAS on two threads made a 784-256-10 batch 1.3× *slower* than on one (its threads
spin-wait for each other; on an idle machine two are faster), while symgrad's own
batch threads (blocks of rows handed out one at a time) are never slower than one. So
during a layered batch SciPy's BLAS runs on ``$SYMGRAD_BLAS_THREADS`` threads, 1 by
default, and the parallelism is symgrad's. NumPy's own BLAS, where it is a library of
its own (as in the wheels on PyPI), keeps its count. Without ``threadpoolctl`` the
count is left as it is.

>>> with blas_threads():
...     pass
"""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

__all__ = ["blas_threads", "wanted_blas_threads"]

_CONTROLLER = None
_LOCK = threading.Lock()


def wanted_blas_threads() -> int:
    """``$SYMGRAD_BLAS_THREADS`` if it is a positive integer, else 1."""
    wanted = os.environ.get("SYMGRAD_BLAS_THREADS", "").strip()
    return int(wanted) if wanted.isdigit() and int(wanted) >= 1 else 1


def blas_threads():
    """A context in which the loaded BLAS libraries use :func:`wanted_blas_threads` threads."""
    controller = _controller()
    if controller is None:
        return contextlib.nullcontext()
    wanted = wanted_blas_threads()
    # Setting a count, even the one a library already has, costs a 784-256-10 batch 2-4%
    # (OpenBLAS puts its idle threads to sleep); reading it costs nothing measurable.
    if all(lib.num_threads == wanted for lib in controller.lib_controllers):
        return contextlib.nullcontext()
    return controller.limit(limits=wanted)


def _controller():
    global _CONTROLLER
    with _LOCK:
        if _CONTROLLER is None:
            try:
                import scipy.linalg.cython_blas  # noqa: F401 - the library numba's np.dot calls, loaded before the scan
                from threadpoolctl import ThreadpoolController
            except ImportError:
                _CONTROLLER = False
            else:
                # Scanning the loaded libraries takes milliseconds: once per process.
                every_blas = ThreadpoolController().select(user_api="blas")
                _CONTROLLER = _scipys_own(every_blas) or every_blas
        return _CONTROLLER or None


def _scipys_own(controller):
    """The libraries of ``controller`` that SciPy ships in its own package (a wheel's
    ``scipy.libs``), or None: numba's ``np.dot`` calls SciPy's BLAS, so NumPy's own
    library is left to the user, and a second count set and put back per batch is
    saved. A SciPy that uses a library shared with NumPy (a system or conda build)
    gives None, and then every BLAS library is limited."""
    import scipy

    home = Path(scipy.__file__).resolve().parent
    places = (home, home.parent / "scipy.libs")
    own = [lib.filepath for lib in controller.lib_controllers if any(Path(lib.filepath).resolve().is_relative_to(place) for place in places)]
    return controller.select(filepath=own) if own else None
