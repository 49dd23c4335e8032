"""What a notebook shows: the rich displays of every public object, sympy.latex() on the
objects that hold expressions, and plots that leave matplotlib's global state alone."""

from __future__ import annotations

import re

import numpy as np
import pytest
import sympy

import symgrad as sg
from symgrad.present.display import MAX_ROWS
from symgrad.present.latex import partial_latex


def _balanced(latex: str) -> bool:
    depth = 0
    for ch in latex:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0 and latex.count(r"\left") == latex.count(r"\right")


# --------------------------------------------------------------------------- network, derivative, gradients, matrix form


def test_network_shows_its_equations(datawhale):
    shown = datawhale._repr_latex_()
    assert shown.startswith("$$\\begin{aligned}\n") and shown.endswith("\n\\end{aligned}$$") and _balanced(shown)
    rows = shown.split("\n")[1:-1]
    assert len(rows) == len(datawhale.steps)
    assert rows[0] == r"u_{2} &= i_{1} w_{1} + i_{2} w_{2} + i_{3} w_{3} \\"
    assert rows[-1].startswith(r"\mathrm{Loss} &= ")
    assert sympy.latex(datawhale) == shown.strip("$")


def test_a_long_network_is_cut_and_a_wide_layered_one_shows_its_layers():
    text = "\n".join(f"h{k} = h{k - 1}*w" for k in range(1, 60)) + "\nL = h59**2"
    chain = sg.Network.from_equations("h0 = w*x\n" + text, params="w", inputs="x")
    shown = chain._repr_latex_()
    assert shown.count(" &= ") == MAX_ROWS and rf"\text{{({61 - MAX_ROWS} more steps)}}" in shown
    wide = sg.mlp([30, 20, 2])
    shown = wide._repr_latex_()
    assert wide._steps is None  # shown without expanding 700 scalar steps
    assert r"\mathbf{u}^{(1)} &= W^{(1)} \mathbf{x}^{(0)} + \mathbf{b}^{(1)}" in shown and r"\delta" not in shown
    assert shown.count(" &= ") == 5  # two layers of u and x, then the loss


def test_derivative_display_and_sympy_latex(datawhale):
    d = datawhale.grad("w7")
    assert d._repr_latex_() == rf"$$\frac{{\partial \mathrm{{Loss}}}}{{\partial w_{{7}}}} = {d.latex()}$$"
    assert sympy.latex(d) == d.latex()  # sympy would otherwise pick its own Derivative printer, by class name
    assert print_of(d) == "∂Loss/∂w7 = (f̂1 − f1) · g(u1)(1 − g(u1)) · h1\n"


def print_of(obj) -> str:
    import io
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        print(obj)
    return buffer.getvalue()


def test_gradients_show_a_table(datawhale):
    grads = datawhale.gradients()
    shown = grads._repr_latex_()
    rows = shown.split("\n")[1:-1]
    assert len(rows) == len(grads) and _balanced(shown)
    for row, d in zip(rows, grads):
        assert row.removesuffix(r" \\") == f"{partial_latex(datawhale.loss, d.param)} &= {d.latex()}"
    assert sympy.latex(grads) == shown.strip("$")
    wide = sg.mlp([10, 8, 2]).gradients()
    assert wide._repr_latex_().count(" &= ") == MAX_ROWS and f"({len(wide) - MAX_ROWS} more parameters)" in wide._repr_latex_()


def test_matrix_form_display():
    mf = sg.mlp([3, 4, 2]).matrix_form()
    assert mf._repr_latex_() == f"$${mf.latex()}$$"
    assert sympy.latex(mf) == mf.latex()


# --------------------------------------------------------------------------- check, verify, compile, train


def test_check_report_shows_a_table_with_failures_marked(quadratic):
    rep = sg.check(quadratic, grad=lambda p, x, y: (None, [2 * p[1] * (p[0] * p[1] - 3), p[0]]), seed=0)
    shown = rep._repr_html_()
    assert "<table>" in shown and shown.count("<tr") == 1 + len(rep.rows)
    assert shown.count("<b>FAIL</b>") == 1 and 'style="background:#fdd"' in shown
    assert "gradient check of quadratic" in shown and "<html" not in shown


def test_verdict_shows_verdict_counterexample_diagnosis_and_correct_form(datawhale):
    refuted = sg.verify(datawhale, "w7", r"(\hat{f}_1 - f_1) g(u_1) h_1")
    shown = refuted._repr_html_()
    assert shown.startswith('<div class="symgrad-verdict">') and "REFUTED" in shown
    for row in ("claim", "counterexample", "diagnosis", "correct"):
        assert f">{row}</th>" in shown
    assert str(refuted.counterexample).split(":")[0] in shown
    assert r"\(\frac{\partial \mathrm{Loss}}{\partial w_{7}} = " + refuted.expected_latex.replace("<", "&lt;") + r"\)" in shown
    assert "<script" not in shown
    holds = sg.verify(datawhale, "w7", r"(\hat{f}_1 - f_1) g(u_1)(1 - g(u_1)) h_1")
    shown = holds._repr_html_()
    assert "HOLDS" in shown and ">counterexample</th>" not in shown and ">correct</th>" in shown
    assert sympy.latex(holds) == rf"\frac{{\partial \mathrm{{Loss}}}}{{\partial w_{{7}}}} = {holds.expected_latex}"


def test_a_derivation_verdict_shows_each_line(datawhale):
    text = r"\frac{\partial Loss}{\partial w_7} = \frac{\partial Loss}{\partial \hat{f}_1} \frac{\partial \hat{f}_1}{\partial w_7} = (\hat{f}_1 - f_1) g(u_1) h_1"
    v = sg.verify(datawhale, "w7", text)
    shown = v._repr_html_()
    assert ">line 1</th>" in shown and ">line 2</th>" in shown and "REFUTED" in shown and ">diagnosis</th>" in shown


def test_gradfn_shows_a_one_line_summary(tmp_path):
    f = sg.Network.from_equations("u = w*x + b; L = (u - y)**2/2", params="w b", inputs="x", targets="y").compile(jit=False, cache_dir=tmp_path)
    shown = f._repr_html_()
    assert shown.startswith("<code>") and shown.endswith("</code>") and "\n" not in shown
    assert "f(params, x, y) -&gt; (loss, grad), 2 parameters (w, b), float64, plain Python (module symgrad_" in shown


def test_history_shows_its_loss_curve_and_plot_leaves_the_backend_alone(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    quad = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
    hist = sg.gradient_descent(quad, [1.0, 1.0], None, lr=0.01, epochs=20, grad=lambda p: sg.numeric_backprop(quad, p, None, None))
    before = matplotlib.get_backend()
    try:
        matplotlib.use("svg")  # a session's own choice of backend, which plotting must not change
        png = hist._repr_png_()
        fig = hist.plot(tmp_path / "loss.png")
        assert matplotlib.get_backend() == "svg"
        import matplotlib.pyplot as plt

        assert plt.get_fignums() == []  # nothing registered with pyplot's global figure list
    finally:
        matplotlib.use(before)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and (tmp_path / "loss.png").read_bytes().startswith(b"\x89PNG")
    assert fig.axes[0].get_ylabel() == "loss" and np.allclose(fig.axes[0].lines[0].get_ydata(), hist.loss)
    assert len(fig.axes[0].lines[0].get_ydata()) == 21


def test_report_shows_a_fragment(quadratic):
    shown = sg.report(quadratic, check=False)._repr_html_()
    assert shown.startswith('<div class="symgrad-report">') and not re.search(r"(?m)^\s*body\s*\{", shown)
