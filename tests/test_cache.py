"""The cache of generated modules (symgrad.compile.cache): keys checked on load, broken
files generated again with a warning naming them, numba's unreadable cache dropped."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import symgrad as sg
from conftest import ROOT, seed_network
from symgrad.compile import pipeline
from symgrad.compile.cache import CacheWarning, cache_directory, key_of, load_module, write_atomically
from symgrad.errors import SymgradError

P = np.array([0.15, -0.20, 0.25, 0.30, -0.35, 0.40, 0.45, -0.50, 0.55, 0.60, 0.10, -0.10])
X = np.array([1.0, 0.5, -0.3])
Y = np.array([0.2, 0.9])


def _fresh(net, cache_dir):
    """The module file of ``net`` as compile writes it, and the numbers it gives."""
    f = net.compile(jit=False, cache_dir=cache_dir)
    return f.path, f(P, X, Y) if net.inputs else f(P[: len(net.params)])


def _forget(path):
    # A later process: nothing of this module is imported yet.
    for name in (path.stem, f"{path.stem}_nojit"):
        sys.modules.pop(name, None)


BROKEN = {
    "truncated": lambda text: text[: len(text) // 2],
    "empty": lambda text: "",
    "binary": lambda text: "\x00\x93\xff garbage \x00",
    "without kernels": lambda text: '"""symgrad key: {key}"""\nNETWORK = "stub"\n',
    "another key": lambda text: text.replace("symgrad key: ", "symgrad key: 0"),
}


@pytest.mark.parametrize("damage", BROKEN, ids=str)
def test_a_broken_module_is_generated_again_with_a_warning(damage, tmp_path):
    net = seed_network("datawhale")
    path, expected = _fresh(net, tmp_path)
    text = path.read_text(encoding="utf-8")
    path.write_bytes(BROKEN[damage](text).replace("{key}", key_of(path)).encode("utf-8", "surrogateescape"))
    _forget(path)
    with pytest.warns(CacheWarning, match=path.name):
        f = net.compile(jit=False, cache_dir=tmp_path)
    loss, g = f(P, X, Y)
    assert loss == expected[0] and np.array_equal(g, expected[1])
    assert path.read_text(encoding="utf-8") == text  # healed: the same module again


def test_a_module_loaded_without_a_way_to_regenerate_it_is_an_error(tmp_path):
    path, _ = _fresh(seed_network("quadratic"), tmp_path)
    path.write_text("truncated = (", encoding="utf-8")
    _forget(path)
    with pytest.raises(SymgradError, match=f"{path.name}.*broken.*no symgrad key"):
        load_module(path, jit=False)


def test_the_key_is_checked_on_load(tmp_path):
    net = seed_network("quadratic")
    path, _ = _fresh(net, tmp_path)
    other = path.with_name(path.name.replace(key_of(path), "0" * len(key_of(path))))
    other.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(SymgradError, match="records the key"):
        load_module(other, jit=False)


_RUN = """
import json, warnings
import numpy as np
import symgrad as sg
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    f = sg.Network.from_expr("(x1*x2 - 3)**2 + sigmoid(x1)", params="x1 x2").compile()
    loss, g = f([0.1, 2.0])
print(json.dumps({"loss": loss, "warnings": [str(w.message) for w in caught], "info": f.cache_info()}))
"""


def _run_in_a_new_process(cache_dir: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), SYMGRAD_CACHE_DIR=str(cache_dir))
    out = subprocess.run([sys.executable, "-c", _RUN], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def compiled_in_a_new_process(tmp_path_factory):
    """A cache directory in which a new process compiled _RUN's kernel, and what it printed
    (one compile shared by the tests below, which damage copies of it)."""
    cache_dir = tmp_path_factory.mktemp("compiled")
    return cache_dir, _run_in_a_new_process(cache_dir)


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".nbi", ".nbc"])
def test_a_corrupt_numba_cache_is_dropped_and_compiled_again(suffix, compiled_in_a_new_process, tmp_path):
    compiled, first = compiled_in_a_new_process
    # copy2 keeps the modification times numba's index records, so the copy loads as the
    # original would (a copy that did not would be compiled again, with no warning to see).
    shutil.copytree(compiled, tmp_path, dirs_exist_ok=True)
    damaged = sorted((tmp_path / "__pycache__").glob(f"*call_grad*{suffix}"))
    assert damaged
    for path in damaged:
        path.write_bytes(b"\x80\x04garbage, not a pickle")
    second = _run_in_a_new_process(tmp_path)
    assert second["loss"] == first["loss"]
    assert any("numba's cache" in w and "could not be read" in w for w in second["warnings"]), second["warnings"]
    third = _run_in_a_new_process(tmp_path)  # compiled again and cached again: loaded, no warning
    assert third["loss"] == first["loss"] and not third["warnings"]
    assert third["info"]["call_grad"] == {"hits": 1, "misses": 0}


def test_a_broken_module_heals_in_the_batch_and_value_paths_too(tmp_path):
    net = seed_network("datawhale")
    path, _ = _fresh(net, tmp_path)
    path.write_text("", encoding="utf-8")
    _forget(path)
    with pytest.warns(CacheWarning):
        f = net.compile(jit=False, cache_dir=tmp_path)
    assert f.value(P, X, Y) == pytest.approx(sg.numeric_backprop(net, P, X, Y)[0], rel=1e-14)
    loss, g = f.batch(P, np.tile(X, (3, 1)), np.tile(Y, (3, 1)))
    assert loss == pytest.approx(f(P, X, Y)[0], rel=1e-14)


def test_threads_loading_one_module_at_once_all_get_it_whole(tmp_path):
    # Dask runs blocks in threads, and each loads the kernel's module: while one thread
    # runs the module, another must wait for it, not take the half-made module.
    import threading
    import time

    path = cache_directory(str(tmp_path)) / "symgrad_slow_0abc.py"
    write_atomically(path, "# symgrad key: 0abc\nimport time\ntime.sleep(0.3)\nANSWER = 42\n")
    got = []

    def load():
        got.append(getattr(load_module(path, jit=False, required=("ANSWER",)), "ANSWER", None))

    threads = [threading.Thread(target=load) for _ in range(4)]
    for t in threads:
        t.start()
        time.sleep(0.02)
    for t in threads:
        t.join()
    assert got == [42, 42, 42, 42]


@pytest.mark.parametrize("backend_name", ["straight-line", "tape", "layered"])
def test_a_change_to_the_helpers_code_changes_the_key(backend_name, monkeypatch):
    # The helpers (model/function_code.py) are text in every generated module: a module
    # generated before they changed must not be found again under the same key.
    backend = pipeline.BACKENDS[backend_name]
    pipeline._generator_digest.cache_clear()
    before = pipeline._generator_digest(backend)
    read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda path: read_bytes(path) + (b"#" if path.name == "function_code.py" else b""))
    pipeline._generator_digest.cache_clear()
    try:
        assert pipeline._generator_digest(backend) != before
    finally:
        monkeypatch.undo()
        pipeline._generator_digest.cache_clear()
