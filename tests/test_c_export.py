"""C99 export (symgrad.compile.c_export): compiled by the system C compiler and run."""

from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np
import pytest

import symgrad as sg
from conftest import seed_network
from symgrad.compile.c_export import c_prefix, c_source, write_c

CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
needs_cc = pytest.mark.skipif(CC is None, reason="no C compiler on this machine")


def _build(net, tmp_path):
    source, header = write_c(net, tmp_path / "grad.c")
    library = tmp_path / "libgrad.so"
    proc = subprocess.run(
        [CC, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", "-shared", "-fPIC", str(source), "-o", str(library), "-lm"],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    lib = ctypes.CDLL(str(library))
    prefix = c_prefix(net)
    grad = getattr(lib, f"{prefix}_grad")
    value = getattr(lib, f"{prefix}_value")
    pointer = ctypes.POINTER(ctypes.c_double)
    grad.restype = value.restype = ctypes.c_double
    grad.argtypes = [pointer] * 4
    value.argtypes = [pointer] * 3

    def call(params, x, y):
        arrays = [np.ascontiguousarray(a, dtype=np.float64) for a in (params, x, y)]
        g = np.empty(len(net.params))
        ptrs = [a.ctypes.data_as(pointer) if a.size else None for a in arrays]
        loss = grad(*ptrs, g.ctypes.data_as(pointer))
        assert value(*ptrs) == pytest.approx(loss, rel=1e-15, abs=1e-300)
        return loss, g

    return call, header


@needs_cc
@pytest.mark.parametrize("name", ["datawhale", "quadratic", "xor", "mlp_3_4_2", "blog_2_3_2_l1", "deep_4_layer"])
def test_every_example_compiles_with_warnings_as_errors_and_matches_backprop(name, tmp_path):
    net = seed_network(name)
    call, header = _build(net, tmp_path)
    assert f"_N_PARAMS {len(net.params)}" in header.read_text()
    rng = np.random.default_rng(2)
    for _ in range(3):
        params = rng.uniform(-1, 1, len(net.params))
        x, y = rng.uniform(-1, 1, len(net.inputs)), rng.uniform(0.1, 0.9, len(net.targets))
        loss, g = call(params, x, y)
        ref_loss, ref = sg.numeric_backprop(net, params, x, y)
        assert loss == pytest.approx(ref_loss, rel=1e-13)
        np.testing.assert_allclose(g, ref, rtol=1e-10, atol=1e-13)


@needs_cc
def test_every_function_of_the_table_in_c(tmp_path):
    text = "; ".join(f"h{k} = {kind}(u)" for k, kind in enumerate(["sigmoid", "tanh", "relu", "softplus", "leaky_relu", "elu", "gelu",
                                                                       "gelu_tanh", "silu", "softsign", "exp", "abs", "sin", "cos"]))
    net = sg.Network.from_equations(
        f"u = w*x + b; {text}; s = h0 + h1 + h2 + h3 + h4 + h5 + h6 + h7 + h8 + h9 + h10/10 + h11 + h12 + h13 + swish(u) + log(1 + u*u) + sqrt(1 + u*u); L = (s - y)**2/2",
        params="w b", inputs="x", targets="y", functions={"swish": "x*sigmoid(x)"}, name="all functions",
    )
    call, _ = _build(net, tmp_path)
    for params, x in (([0.7, -0.3], [1.2]), ([30.0, 1.0], [1.0]), ([30.0, -1.0], [-1.0])):  # saturated on both sides
        loss, g = call(params, x, [0.3])
        ref_loss, ref = sg.numeric_backprop(net, params, x, [0.3])
        assert np.isfinite(loss) and loss == pytest.approx(ref_loss, rel=1e-12)
        np.testing.assert_allclose(g, ref, rtol=1e-9, atol=1e-12)


def test_the_source_names_the_network_and_declares_what_it_defines():
    header, source = c_source(seed_network("datawhale"), "datawhale.h")
    assert '#include "datawhale.h"' in source and "#include <math.h>" in source
    assert "double symgrad_datawhale_grad(const double *p, const double *x, const double *y, double *g);" in header
    assert "static double sg_sigmoid(double z)" in source and "sg_softplus" not in source  # only the helpers used


def test_a_c_keyword_as_a_name_is_renamed():
    net = sg.Network.from_equations("double = w*x; L = (double - y)**2", params="w", inputs="x", targets="y", name="k")
    _, source = c_source(net)
    assert "const double double_ = " in source
