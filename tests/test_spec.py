"""Spec files: every shipped example loads; bad specs name the key or file."""

from __future__ import annotations

import pytest

from conftest import EXAMPLES, SEED_SPECS
from symgrad.errors import ParseError, ShapeError, SpecError, UnknownSymbolError
from symgrad.model.spec import load_spec


@pytest.mark.parametrize("seed", SEED_SPECS)
def test_shipped_examples_load(seed):
    spec = load_spec(EXAMPLES / f"{seed}.toml")
    assert spec.name == seed and spec.description
    if spec.point is not None:
        assert spec.point.params.shape == (len(spec.network.params),)
        assert spec.point.x.shape == (len(spec.network.inputs),)


def test_point_by_name_follows_parameter_order():
    spec = load_spec(EXAMPLES / "datawhale.toml")
    assert spec.point.params[6] == 0.45 and spec.point.params[-1] == -0.10  # w7, b2


def test_xor_data_table():
    spec = load_spec(EXAMPLES / "xor.toml")
    assert spec.data["X"].shape == (4, 2) and spec.data["Y"].tolist() == [[0.0], [1.0], [1.0], [0.0]]
    assert spec.train["lr"] == 0.02


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "text, error, token",
    [
        ('[network]\nexpr = "x**2"\nparams = "x"\ncolour = 1\n', SpecError, "colour"),
        ('[netwrk]\nexpr = "x**2"\n', SpecError, "netwrk"),
        ('name = "n"\n', SpecError, "network"),
        ('[network]\nlayers = [2, 1]\nexpr = "x"\n', SpecError, "network"),
        ('[network]\nequations = "L = w*x"\ninputs = "x"\n', SpecError, "params"),
        ('[network]\nexpr = "x**2"\n[point]\nparams = [1, 2]\n', ShapeError, "params"),
        ('[network]\nexpr = "x**2"\n[point]\nparams = {z = 1}\n', SpecError, "z"),
        ('[network]\nexpr = "x*y"\nparams = "x y"\n[point]\nparams = {x = 1}\n', SpecError, "y"),
        ('[network]\nexpr = "x**2"\n[point]\nparams = ["a"]\n', ShapeError, "params"),
        ('[network]\nlayers = [2, 1]\nactivation = "swish"\n', UnknownSymbolError, "swish"),
        ('[network]\nequations = "L = w*q"\nparams = "w"\n', UnknownSymbolError, "q"),
    ],
)
def test_bad_specs(tmp_path, text, error, token):
    path = write(tmp_path, text)
    with pytest.raises(error) as info:
        load_spec(path)
    assert info.value.token == token and token in str(info.value)
    assert str(path) in str(info.value)


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nope.toml")
    with pytest.raises(SpecError, match="not valid TOML.*line 2"):
        load_spec(write(tmp_path, '[network]\nexpr = "x\n'))


def test_error_line_refers_to_the_equation_line(tmp_path):
    with pytest.raises(ParseError) as info:
        load_spec(write(tmp_path, '[network]\nequations = """\nh = w*x\nL = (h\n"""\nparams = "w"\ninputs = "x"\n'))
    assert info.value.line == 2  # TOML drops the newline after the opening quotes
    assert "s.toml:4: line 2" in str(info.value)  # and the file line, for editors


# --------------------------------------------------------------------------- every table checked, lazily


@pytest.mark.parametrize(
    "text, error, key",
    [
        ('[network]\nlayers = 5\n', ShapeError, "layers"),
        ('[network]\nlayers = [2, 1]\nactivation = 5\n', SpecError, "activation"),
        ('[network]\nlayers = [2, 1]\nloss = []\n', SpecError, "loss"),
        ('[network]\nlayers = [2, 1]\nbias = "false"\n', SpecError, "bias"),
        ('[network]\nequations = "L = w*w"\nparams = 5\n', SpecError, "params"),
        ('[network]\nequations = "L = g(w)"\nparams = "w"\nfunctions = "sigmoid"\n', SpecError, "functions"),
        ('[network]\nexpr = "w**2"\nparams = "w"\n[point]\nparams = [nan]\n', ShapeError, "params"),
        ('name = 5\n[network]\nexpr = "w**2"\n', SpecError, "name"),
        ('[network]\nexpr = "w**2"\n[point]\nparams = [true]\n', ShapeError, "params"),
    ],
)
def test_bad_network_and_point_values_when_loaded(tmp_path, text, error, key):
    path = write(tmp_path, text)
    with pytest.raises(error) as info:
        load_spec(path)
    assert info.value.token == key and str(path) in str(info.value)


_LAYERS = '[network]\nlayers = [2, 1]\nactivation = "identity"\n'


@pytest.mark.parametrize(
    "table, attribute, error, key",
    [
        ("[data]\nX = [[0.0, 1.0], [1.0]]\nY = [[1.0], [0.0]]\n", "data", ShapeError, "X"),
        ('[data]\nX = "abc"\nY = [[1.0]]\n', "data", ShapeError, "X"),
        ("[data]\nX = [[0.0, 1.0]]\n", "data", SpecError, "Y"),
        ("[data]\nX = [[0.0, 1.0]]\nY = [[1.0], [2.0]]\n", "data", ShapeError, "Y"),
        ("[data]\nX = [[0.0, nan]]\nY = [[1.0]]\n", "data", ShapeError, "X"),
        ("[data]\nX = [[0.0, 1.0]]\nY = [[1.0]]\nW = 1\n", "data", SpecError, "W"),
        ('[train]\nlr = "abc"\n', "train", SpecError, "lr"),
        ("[train]\nlr = -0.1\n", "train", SpecError, "lr"),
        ('[train]\nepochs = "ten"\n', "train", SpecError, "epochs"),
        ("[train]\nepochs = 2.7\n", "train", SpecError, "epochs"),
        ("[train]\nepochs = true\n", "train", SpecError, "epochs"),
        ('[train]\nparams0 = ["a", "b", "c"]\n', "train", ShapeError, "params0"),
        ("[train]\nparams0 = [1.0]\n", "train", ShapeError, "params0"),
        ('[train]\nmode = "newton"\n', "train", SpecError, "mode"),
        ("[train]\nseed = -1\n", "train", SpecError, "seed"),
        ("[train]\nlearning_rate = 0.1\n", "train", SpecError, "learning_rate"),
        ("check = 5\n", "extra", SpecError, "check"),
    ],
)
def test_a_bad_table_is_an_error_when_a_command_reads_it(tmp_path, table, attribute, error, key):
    path = write(tmp_path, table + _LAYERS if not table.startswith("[") else _LAYERS + table)
    spec = load_spec(path)  # derive, which reads none of these tables, is not stopped
    assert spec.network.params
    with pytest.raises(error) as info:
        getattr(spec, attribute)
    assert info.value.token == key and str(path) in str(info.value)


def test_good_tables_are_read_as_before(tmp_path):
    spec = load_spec(write(tmp_path, _LAYERS + "[data]\nX = [[0, 1], [1, 0]]\nY = [1, 0]\n[train]\nlr = 1\nepochs = 3\nseed = 2\n"))
    assert spec.data["Y"].shape == (2, 1) and spec.train == {"lr": 1.0, "epochs": 3, "seed": 2}
    assert load_spec(write(tmp_path, '[network]\nexpr = "w**2"\nparams = "w"\n', "p.toml")).data == {}
