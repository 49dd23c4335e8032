"""The symgrad command: derive, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from symgrad.cli import main

from conftest import EXAMPLES, ROOT, SEED_SPECS


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
