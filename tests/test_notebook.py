"""examples/tour.ipynb runs headless (nbclient + ipykernel) and every object shows itself richly.

The notebook is stored with its outputs, so that it reads as a tour without running it. After
an intended change, store fresh outputs with ``SYMGRAD_UPDATE_GOLDEN=1 python -m pytest
tests/test_notebook.py`` and review the diff.
"""

from __future__ import annotations

import os

import pytest

from conftest import EXAMPLES

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

TOUR = EXAMPLES / "tour.ipynb"

# The rich output each code cell must show, by the first line of its source.
EXPECTED = {
    "import numpy as np": "text/latex",  # the network's equations
    'd = net.grad("w1")': "text/latex",
    "net.gradients()": "text/latex",
    "layered.matrix_form()": "text/latex",
    "params = np.array": "text/html",  # the GradFn's one-line summary
    "sg.check(net, seed=0)": "text/html",
    'sg.verify(net, "w1"': "text/html",
    'sg.verify_value(quad': "text/html",
    "rng = np.random.default_rng(0)": "image/png",  # the loss curve
    "sg.report(quad, check=False)": "text/html",
}


def _run(tmp_path):
    nb = nbformat.read(TOUR, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", record_timing=False, resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return nb


@pytest.mark.slow  # a kernel starts, and the tour compiles one gradient with numba
def test_the_tour_runs_and_every_object_displays_richly(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", os.environ.get("SYMGRAD_CACHE_DIR", str(tmp_path / "cache")))
    nb = _run(tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    for first_line, mime in EXPECTED.items():
        cell = next(c for c in code if c.source.startswith(first_line))
        shown = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert shown and mime in shown[-1]["data"], (first_line, [list(o.get("data", {})) for o in cell.outputs])
    printed = "".join(o.get("text", "") for c in code for o in c.outputs if o.output_type == "stream")
    assert "∂Loss/∂w1 = [(f̂1 − f1) · g(u1)(1 − g(u1)) · w7" in printed and "loss 0.1354499346" in printed
    report = next(c for c in code if c.source.startswith("sg.report")).outputs[-1]["data"]["text/html"]
    assert report.startswith('<div class="symgrad-report">') and "<body" not in report
    stored = nbformat.read(TOUR, as_version=4)
    if os.environ.get("SYMGRAD_UPDATE_GOLDEN"):
        nbformat.write(nb, TOUR)
        return
    # The stored outputs are today's: the same equations and printed text.
    for new, old in zip(code, [c for c in stored.cells if c.cell_type == "code"]):
        for key in ("text/latex",):
            assert [o.get("data", {}).get(key) for o in new.outputs] == [o.get("data", {}).get(key) for o in old.outputs], new.source[:40]
        assert [o.get("text") for o in new.outputs if o.output_type == "stream"] == [o.get("text") for o in old.outputs if o.output_type == "stream"]
