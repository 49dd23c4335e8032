"""The symgrad command: derive, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import symgrad as sg
from conftest import EXAMPLES, ROOT, SEED_SPECS
from symgrad.cli import main
from symgrad.model.spec import load_spec


@pytest.mark.parametrize("seed", SEED_SPECS)
def test_derive_every_example(seed, capsys):
    assert main(["derive", str(EXAMPLES / f"{seed}.toml")]) == 0
    out = capsys.readouterr().out
    assert out.count(r"\frac{\partial") >= 2


def test_derive_one_param_chain(capsys):
    assert main(["derive", str(EXAMPLES / "datawhale.toml"), "--param", "w7", "--form", "chain"]) == 0
    out = capsys.readouterr().out
    assert r"\frac{d g}{d u_{1}}" in out and out.strip().endswith(r"\end{aligned}")


def test_unusable_input_exits_2_with_one_line(capsys, tmp_path):
    assert main(["derive", str(tmp_path / "missing.toml")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "missing.toml" in err and "does not exist" in err
    assert main(["derive", str(EXAMPLES / "datawhale.toml"), "--param", "w99"]) == 2
    assert "'w99'" in capsys.readouterr().err


def test_debug_shows_the_traceback(tmp_path):
    from symgrad.errors import SpecError

    with pytest.raises(SpecError):
        main(["--debug", "derive", str(tmp_path / "missing.toml")])


def test_console_entry_point_runs_as_a_module():
    done = subprocess.run([sys.executable, "-m", "symgrad.cli", "derive", "examples/quadratic.toml", "--param", "x2"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == r"\frac{\partial f}{\partial x_{2}} = 2 x_{1} \left(x_{1} x_{2} - 3\right)"


def test_help_has_an_example(capsys):
    with pytest.raises(SystemExit) as info:
        main(["derive", "--help"])
    assert info.value.code == 0 and "example:" in capsys.readouterr().out


# --------------------------------------------------------------------------- the other commands


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SYMGRAD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.mark.parametrize("command", ["derive", "report", "compile", "check", "verify", "train"])
def test_every_command_reports_a_missing_file(command, capsys, tmp_path):
    extra = ["--param", "w1", "--expr", "0"] if command == "verify" else []
    assert main([command, str(tmp_path / "nope.toml"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symgrad: error: ") and "nope.toml" in err and err.count("\n") == 1


def test_report_to_stdout_and_files(capsys, tmp_path):
    assert main(["report", str(EXAMPLES / "quadratic.toml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Gradients of quadratic") and "## Gradient check" in out
    for suffix, start in ((".md", "# Gradients"), (".tex", r"\documentclass"), (".html", "<!DOCTYPE html>")):
        path = tmp_path / f"r{suffix}"
        assert main(["report", str(EXAMPLES / "quadratic.toml"), "-o", str(path)]) == 0
        assert path.read_text().startswith(start)
        assert "check: OK" in capsys.readouterr().out
    assert main(["report", str(EXAMPLES / "quadratic.toml"), "-o", str(tmp_path / "r.rtf")]) == 2
    assert (tmp_path / "r_files" / "graph.pdf").exists() and (tmp_path / "r_files" / "graph.png").exists()


def test_report_as_pdf_says_in_one_line_when_pdflatex_is_missing(capsys, tmp_path, monkeypatch):
    import symgrad.present.report as report_module

    monkeypatch.setattr(report_module.shutil, "which", lambda name: None)
    assert main(["report", str(EXAMPLES / "quadratic.toml"), "--no-check", "-o", str(tmp_path / "r.pdf")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pdflatex is not installed" in err
    assert not (tmp_path / "r.pdf").exists()


def test_report_trains_when_asked(capsys, tmp_path):
    path = tmp_path / "r.html"
    assert main(["report", str(EXAMPLES / "quadratic.toml"), "--train", "--no-check", "--no-pictures", "-o", str(path)]) == 0
    text = path.read_text()
    assert "<h2 id=\"sg-training\">Training</h2>" in text and "batch descent, lr=0.01, 2 epochs" in text
    assert text.count("<svg") == 2  # the loss and the gradient norm; no data, no decision boundary
    assert main(["report", str(EXAMPLES / "datawhale.toml"), "--train", "--no-check", "-o", str(tmp_path / "d.html")]) == 2
    assert "[train]" in capsys.readouterr().err


def test_check_exit_codes(capsys, monkeypatch):
    assert main(["check", str(EXAMPLES / "mlp_3_4_2.toml")]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("OK")
    # A compiled gradient that is 1% off in one parameter must make the command fail.
    real_compile = sg.Network.compile

    def broken_compile(self, **options):
        f = real_compile(self, **options)

        def wrong(params, x=None, y=None):
            loss, g = f(params, x, y)
            g = g.copy()
            g[3] *= 1.01
            return loss, g

        return wrong

    monkeypatch.setattr(sg.Network, "compile", broken_compile)
    assert main(["check", str(EXAMPLES / "mlp_3_4_2.toml")]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[1].startswith("FAIL: 1 of 26 parameters disagree; worst W1_2_1")


def test_verify_exit_codes(capsys):
    spec = str(EXAMPLES / "datawhale.toml")
    assert main(["verify", spec, "--param", "w7", "--latex", r"(\hat{f}_1 - f_1) g(u_1)(1 - g(u_1)) h_1"]) == 0
    assert "HOLDS" in capsys.readouterr().out
    assert main(["verify", spec, "--param", "w7", "--latex", r"(\hat{f}_1 - f_1) g(u_1) h_1"]) == 1
    assert "REFUTED" in capsys.readouterr().out
    assert main(["verify", spec, "--param", "w7", "--latex", r"\frac{1}{2"]) == 2
    assert main(["verify", spec, "--param", "w7"]) == 2  # no claim at all
    quad = str(EXAMPLES / "quadratic.toml")
    assert main(["verify", quad, "--param", "x1", "--value", "-1.995136", "--at", "x1=1.04,x2=1.04"]) == 1
    assert "-3.990272" in capsys.readouterr().out
    assert main(["verify", quad, "--param", "x1", "--value", "-3.990272", "--at", "x1=1.04,x2=1.04"]) == 0
    assert main(["verify", quad, "--param", "x1", "--value", "-4", "--at", "x1=1.04;x2"]) == 2


def test_compile_exports_a_module(capsys, tmp_path):
    out = tmp_path / "grad_quadratic.py"
    assert main(["compile", str(EXAMPLES / "quadratic.toml"), "-o", str(out), "--no-jit"]) == 0
    text = capsys.readouterr().out
    assert "loss = 5" in text and "dL/dx1 = -4" in text
    assert out.exists() and "numba" in out.read_text()


def test_train_prints_a_summary_and_plots(capsys, tmp_path):
    png = tmp_path / "loss.png"
    assert main(["train", str(EXAMPLES / "quadratic.toml"), "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "loss 5 -> 4.36286" in out  # two steps from (1, 1), as seed 000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main(["train", str(EXAMPLES / "datawhale.toml")]) == 2  # no [train] settings
    assert "learning rate" in capsys.readouterr().err


def test_train_rejects_a_start_of_the_wrong_length(capsys, tmp_path):
    spec = tmp_path / "q.toml"
    spec.write_text('[network]\nexpr = "(x1*x2 - 3)**2 + 1"\nparams = "x1 x2"\n[train]\nlr = 0.01\nepochs = 1\nparams0 = [1.0]\n')
    assert main(["train", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "params0 has shape (1,), expected (2,)" in err


def test_verify_json_and_a_claim_that_names_its_parameter(capsys):
    spec = str(EXAMPLES / "datawhale.toml")
    claim = r"\frac{\partial Loss}{\partial w_7} = (\hat{f}_1 - f_1) g(u_1) h_1"
    assert main(["verify", spec, "--latex", claim, "--json"]) == 1  # the left side says w7
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["mistake"] == "wrong_factor" and data["param"] == "w7"
    assert set(data["counterexample"]["point"]) == {s.name for s in load_spec(spec).network.params} | {"i1", "i2", "i3", "f1", "f2"}
    assert main(["verify", spec, "--expr", "0"]) == 2  # Python syntax has no left side: --param is needed
    assert "--param" in capsys.readouterr().err


# --------------------------------------------------------------------------- conventions: --version, -m, global options


def test_version_and_python_dash_m_symgrad():
    done = subprocess.run([sys.executable, "-m", "symgrad", "--version"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == f"symgrad {sg.__version__}"
    done = subprocess.run([sys.executable, "-m", "symgrad", "derive", "examples/quadratic.toml", "--param", "x1", "--form", "text"],
                          cwd=ROOT, capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "∂f/∂x1 = 2 x2 (x1 x2 − 3)\n"


@pytest.mark.parametrize("argv", [
    ["--debug", "derive", "{missing}"],
    ["derive", "{missing}", "--debug"],
    ["derive", "--debug", "{missing}"],
])
def test_debug_is_allowed_before_or_after_the_command(argv, tmp_path):
    from symgrad.errors import SpecError

    with pytest.raises(SpecError):
        main([a.format(missing=tmp_path / "missing.toml") for a in argv])


def test_without_debug_an_error_is_one_line(capsys, tmp_path):
    assert main(["derive", str(tmp_path / "missing.toml")]) == 2
    assert capsys.readouterr().err.count("\n") == 1


# --------------------------------------------------------------------------- derive --form text


def test_derive_form_text_prints_the_unicode_form(capsys):
    assert main(["derive", str(EXAMPLES / "datawhale.toml"), "--param", "w7", "--form", "text"]) == 0
    assert capsys.readouterr().out == "∂Loss/∂w7 = (f̂1 − f1) · g(u1)(1 − g(u1)) · h1\n"
    assert main(["derive", str(EXAMPLES / "datawhale.toml"), "--form", "text"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "# datawhale: 12 parameters, 8 steps" and "# h1 = g(u2)" in lines
    derivatives = [line for line in lines if line.startswith("∂")]
    assert len(derivatives) == 12
    assert derivatives[0] == "∂Loss/∂w1 = [(f̂1 − f1) · g(u1)(1 − g(u1)) · w7 + (f̂2 − f2) · g(u3)(1 − g(u3)) · w9] · g(u2)(1 − g(u2)) · i1"
    assert not any("\\" in line for line in lines)  # no LaTeX in the text form


def test_derive_form_delta_prints_named_adjoints(capsys):
    assert main(["derive", str(EXAMPLES / "datawhale.toml"), "--param", "w1", "--form", "delta"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("\\begin{aligned}\n\\frac{\\partial \\mathrm{Loss}}{\\partial w_{1}} &= \\delta_{u_{2}} \\cdot i_{1}")
    assert main(["derive", str(EXAMPLES / "datawhale.toml"), "--param", "w1", "--form", "text-delta"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "∂Loss/∂w1 = δ_u2 · i1",
        "δ_u1 = (f̂1 − f1) · g(u1)(1 − g(u1))",
        "δ_u3 = (f̂2 − f2) · g(u3)(1 − g(u3))",
        "δ_u2 = [δ_u1 · w7 + δ_u3 · w9] · g(u2)(1 − g(u2))",
    ]
    doc = _json_of(["derive", str(EXAMPLES / "datawhale.toml"), "--param", "w1", "--form", "text-delta", "--json"], capsys, "symgrad-derive-1")
    assert doc["derivatives"][0]["latex"] == out.rstrip("\n")


# --------------------------------------------------------------------------- --json and its schema (docs/json.md)


def _schema(name: str) -> dict:
    import json

    return json.loads((ROOT / "docs" / "schemas" / f"{name}.json").read_text(encoding="utf-8"))


def _json_of(argv, capsys, schema: str, exit_code: int = 0) -> dict:
    """Run the command, check its exit code and that it printed one document valid under ``schema``."""
    import json

    jsonschema = pytest.importorskip("jsonschema")
    assert main(argv) == exit_code
    out = capsys.readouterr().out
    doc = json.loads(out)  # one document: anything else printed would fail here
    validator = jsonschema.Draft202012Validator(_schema(schema))
    errors = sorted(validator.iter_errors(doc), key=str)
    assert not errors, errors[0].message
    return doc


def test_the_schemas_are_valid_and_documented():
    jsonschema = pytest.importorskip("jsonschema")
    doc = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")
    for name in ("symgrad-derive-1", "symgrad-check-1", "symgrad-verdict-1"):
        schema = _schema(name)
        jsonschema.Draft202012Validator.check_schema(schema)
        assert f'"schema": "{schema["$id"]}"' in doc
        fields = schema["required"] if "derivatives" not in schema["required"] else schema["required"] + schema["properties"]["derivatives"]["items"]["required"]
        for field in fields:
            assert f"`{field}`" in doc or f"`  {field}`" in doc or f", `{field}`" in doc, f"{name}: field {field!r} is not documented in docs/json.md"


def test_derive_json(capsys):
    import sympy

    spec = str(EXAMPLES / "datawhale.toml")
    doc = _json_of(["derive", spec, "--json"], capsys, "symgrad-derive-1")
    assert doc["schema"] == "symgrad-derive/1" and doc["spec"] == "datawhale" and doc["loss"] == "Loss"
    assert [d["param"] for d in doc["derivatives"]] == doc["params"] == [p.name for p in sg.load_spec(spec).network.params]
    w7 = doc["derivatives"][6]
    assert w7["text"] == "∂Loss/∂w7 = (f̂1 − f1) · g(u1)(1 − g(u1)) · h1" and w7["routes"] == 1
    net = sg.load_spec(spec).network
    g = sympy.Function("g")
    names = {s.name: s for s in net.params + net.inputs + net.targets + tuple(st.target for st in net.steps)}
    assert sympy.sympify(w7["expression"], locals={**names, "g": g}) == net.grad("w7").factored.replace(lambda e: e.func.__name__ == "g", lambda e: g(*e.args))
    assert doc["derivatives"][0]["routes"] == 2
    chain = _json_of(["derive", spec, "--param", "w1", "--form", "chain", "--json"], capsys, "symgrad-derive-1")
    assert len(chain["derivatives"]) == 1 and chain["derivatives"][0]["latex"].startswith(r"\begin{aligned}")
    # The error path prints no JSON: one line on stderr, exit 2.
    assert main(["derive", spec, "--param", "w99", "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "'w99'" in captured.err


def test_check_json(capsys, monkeypatch):
    doc = _json_of(["check", str(EXAMPLES / "quadratic.toml"), "--json"], capsys, "symgrad-check-1")
    assert doc["ok"] and doc["headline"] == "OK: all 2 parameters agree"
    assert doc["points"] == [{"params": [1.0, 1.0], "x": [], "y": [], "loss": 5.0}]  # the spec's [point]
    assert [r["param"] for r in doc["rows"]] == ["x1", "x2"] and doc["columns"] == ["symbolic", "backprop", "finite_diff"]
    real_compile = sg.Network.compile

    def broken_compile(self, **options):
        f = real_compile(self, **options)
        return lambda params, x=None, y=None: (f(params, x, y)[0], f(params, x, y)[1] * [1.0, 1.01])

    monkeypatch.setattr(sg.Network, "compile", broken_compile)
    bad = _json_of(["check", str(EXAMPLES / "quadratic.toml"), "--json", "--seed", "0"], capsys, "symgrad-check-1", exit_code=1)
    assert not bad["ok"] and bad["headline"].startswith("FAIL: 1 of 2 parameters disagree; worst x2")
    x2 = bad["rows"][1]
    assert not x2["ok"] and x2["column"] == "symbolic" and x2["score"] > 1 and x2["suspects"] == ["symbolic"]


def test_verify_json(capsys):
    quad = str(EXAMPLES / "quadratic.toml")
    doc = _json_of(["verify", quad, "--param", "x1", "--value", "-1.995136", "--at", "x1=1.04,x2=1.04", "--json"], capsys, "symgrad-verdict-1", 1)
    assert (doc["verdict"], doc["mistake"], doc["param"], doc["loss"]) == ("refuted", "constant_factor", "x1", "f")
    assert doc["counterexample"] == {"point": {"x1": 1.04, "x2": 1.04}, "claimed": -1.995136, "true": pytest.approx(-3.990272)}
    assert "factor 2" in doc["diagnosis"] and doc["expected"] == "2*x2*(x1*x2 - 3)"
    spec = str(EXAMPLES / "datawhale.toml")
    derivation = r"\frac{\partial Loss}{\partial w_7} = \frac{\partial Loss}{\partial \hat{f}_1} \frac{\partial \hat{f}_1}{\partial w_7} = (\hat{f}_1 - f_1) g(u_1) h_1"
    doc = _json_of(["verify", spec, "--param", "w7", "--latex", derivation, "--json"], capsys, "symgrad-verdict-1", 1)
    assert doc["verdict"] == "refuted" and [line["verdict"] for line in doc["lines"]] == ["holds", "refuted"]
    assert doc["lines"][1]["counterexample"] is not None and doc["lines"][1]["lines"] == []


# --------------------------------------------------------------------------- report's hint on a terminal


def test_report_without_output_hints_at_o_on_a_terminal(capsys, monkeypatch):
    spec = str(EXAMPLES / "quadratic.toml")
    assert main(["report", spec, "--no-check"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# ") and captured.err == ""  # piped: the Markdown alone
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    assert main(["report", spec, "--no-check"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("# ")
    assert captured.err.count("\n") == 1 and "-o report.html" in captured.err


def test_verify_json_of_a_derivation_with_indices_and_definitions(capsys, tmp_path):
    spec = str(EXAMPLES / "mlp_3_4_2.toml")
    claim = r"\delta^{(2)}_i = (\hat y_i - y_i) f'(z^{(2)}_i) \\ \frac{\partial L}{\partial w^{(2)}_{ij}} = \delta^{(2)}_i a^{(1)}_i"
    doc = _json_of(["verify", spec, "--latex", claim, "--json"], capsys, "symgrad-verdict-1", 1)
    assert [line["scope"] for line in doc["lines"]] == ["for i = 1, 2", "for all 8 (i, j)"]
    assert doc["lines"][1]["counterexample"]["where"] == "(i, j) = (1, 2)"
    assert doc["definitions"][0]["matches"] is True and doc["lines"][0]["verdict"] == "holds"  # δ: checked against the error term


# --------------------------------------------------------------------------- bad spec values: exit 2, one line


_MLP = '[network]\nlayers = [2, 1]\nactivation = "identity"\n'
_DATA = "[data]\nX = [[0.0, 1.0], [1.0, 0.0]]\nY = [[1.0], [0.0]]\n"
_TRAIN = "[train]\nlr = 0.1\nepochs = 2\n"


@pytest.mark.parametrize(
    "command, text, key",
    [
        ("derive", "[network]\nlayers = 5\n", "layers"),
        ("derive", "[network]\nlayers = [2, 1]\nactivation = 5\n", "activation"),
        ("derive", "[network]\nlayers = [2, 1]\nloss = []\n", "loss"),
        ("derive", '[network]\nlayers = [2, 1]\nbias = "false"\n', "bias"),
        ("derive", '[network]\nequations = "L = w*w"\nparams = 5\n', "params"),
        ("derive", '[network]\nequations = "L = g(w)"\nparams = "w"\nfunctions = "sigmoid"\n', "functions"),
        ("derive", '[network]\nequations = "L = w*w"\nparams = "w"\nloss = []\n', "loss"),
        ("derive", '[network]\nexpr = 5\nparams = "w"\n', "expr"),
        ("derive", '[network]\nequations = "L = 10**10**10*w1"\nparams = "w1"\n', "10**10**10"),
        ("derive", '[network]\nequations = "L = w0"\nparams = "w0:100000000"\n', "w0:100000000"),
        ("train", _MLP + "[data]\nX = [[0.0, 1.0], [1.0]]\nY = [[1.0], [0.0]]\n" + _TRAIN, "X"),
        ("train", _MLP + '[data]\nX = "abc"\nY = [[1.0], [0.0]]\n' + _TRAIN, "X"),
        ("train", _MLP + "[data]\nX = [[0.0, 1.0], [1.0, 0.0]]\n" + _TRAIN, "Y"),
        ("train", _MLP + _DATA + "Z = 1\n" + _TRAIN, "Z"),
        ("train", _MLP + _DATA + '[train]\nlr = "abc"\nepochs = 2\n', "lr"),
        ("train", _MLP + _DATA + '[train]\nlr = 0.1\nepochs = "ten"\n', "epochs"),
        ("train", _MLP + _DATA + "[train]\nlr = 0.1\nepochs = 2.7\n", "epochs"),
        ("train", _MLP + _DATA + '[train]\nlr = 0.1\nepochs = 2\nparams0 = ["a", "b", "c"]\n', "params0"),
        ("train", _MLP + _DATA + "[train]\nlr = 0.1\nepochs = 2\nseed = -1\n", "seed"),
        ("train", _MLP + _DATA + '[train]\nlr = 0.1\nepochs = 2\nmomentum = 0.9\n', "momentum"),
        ("check", '[network]\nexpr = "x1**2"\nparams = "x1"\n[check]\nseed = -1\n', "seed"),
        ("check", '[network]\nexpr = "x1**2"\nparams = "x1"\n[check]\nseed = "abc"\n', "seed"),
        ("check", '[network]\nexpr = "x1**2"\nparams = "x1"\n[check]\nrtol = "x"\n', "rtol"),
    ],
)
def test_a_bad_spec_value_exits_2_with_one_line_naming_it(command, text, key, capsys, tmp_path):
    spec = tmp_path / "bad.toml"
    spec.write_text(text)
    assert main([command, str(spec)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symgrad: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert key in err and "bad.toml" in err


def test_a_bad_data_table_stops_train_but_not_derive(capsys, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(_MLP + '[data]\nX = "abc"\n' + _TRAIN)
    assert main(["derive", str(spec)]) == 0
    assert main(["check", str(spec), "--points", "1"]) == 0
    capsys.readouterr()
    assert main(["train", str(spec)]) == 2
    assert "[data] X" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["check", "train", "report"])
def test_a_negative_seed_on_the_command_line_exits_2(command, capsys, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(_MLP + _DATA + _TRAIN)
    assert main([command, str(spec), "--seed", "-1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "seed" in err and "-1" in err


def test_train_plot_to_an_unknown_format_exits_2(capsys, tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text(_MLP + _DATA + _TRAIN)
    assert main(["train", str(spec), "--plot", str(tmp_path / "loss.xyz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "loss.xyz" in err and ".png" in err
