"""net.draw: the computational graph, chain-rule routes marked, layered networks as layers.

Golden SVGs of seed 002's network, plain and with the routes of w1, live in
tests/golden/svg/ (regenerate with SYMGRAD_UPDATE_GOLDEN=1). They were made with the
matplotlib version in tests/golden/svg/MATPLOTLIB_VERSION; another version draws the
same picture with different path data, so there the byte comparison is skipped (saying
so) while every other test still runs.
"""

from __future__ import annotations

import os

import matplotlib
import pytest

import symgrad as sg
from conftest import GOLDEN, check_golden, seed_network
from symgrad.errors import SymgradError
from symgrad.present.draw import _routes, _step_graph
from symgrad.present.figure import figure_bytes

GOLDEN_VERSION = GOLDEN / "svg" / "MATPLOTLIB_VERSION"


def _golden_svg(name: str, svg: str) -> None:
    if os.environ.get("SYMGRAD_UPDATE_GOLDEN") == "1":
        GOLDEN_VERSION.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN_VERSION.write_text(matplotlib.__version__ + "\n")
    made_with = GOLDEN_VERSION.read_text().strip() if GOLDEN_VERSION.exists() else None
    if made_with not in (None, matplotlib.__version__) and os.environ.get("SYMGRAD_UPDATE_GOLDEN") != "1":
        pytest.skip(f"golden SVG drawn with matplotlib {made_with}, this is {matplotlib.__version__}: regenerate to compare bytes")
    check_golden(f"svg/{name}", svg)


def test_golden_svg_of_the_datawhale_network(datawhale):
    _golden_svg("datawhale_graph.svg", datawhale.draw().svg())


def test_golden_svg_of_the_routes_of_w1(datawhale):
    _golden_svg("datawhale_routes_w1.svg", datawhale.draw(highlight="w1").svg())


def test_svg_is_the_same_bytes_every_time(datawhale):
    a, b = datawhale.draw(highlight="w1").svg(), datawhale.draw(highlight="w1").svg()
    assert a == b
    assert "<dc:date>" not in a and "Matplotlib v" not in a


def test_node_kinds_and_columns(datawhale):
    g = _step_graph(datawhale)
    kinds = {s.name: g.kinds[s] for s in g.kinds}
    assert {kinds[n] for n in ("w1", "w10", "b1")} == {"param"}
    assert {kinds[n] for n in ("i1", "i2", "i3")} == {"input"}
    assert {kinds[n] for n in ("f1", "f2")} == {"target"}
    assert kinds["Loss"] == "loss" and kinds["u1"] == "step"
    column = {s.name: g.column[s] for s in g.column}
    # each leaf sits just before the first step that uses it; the loss is last
    assert column["w7"] == column["u1"] - 1 and column["f1"] == column["Loss"] - 1
    assert column["Loss"] == max(column.values())
    assert all(column[a.name] < column[b.name] for a, b in g.edges)  # drawn left to right


def test_w1_has_the_two_routes_of_the_chain_rule(datawhale):
    routes, count = _routes(datawhale, datawhale.symbol("w1"), layered=False)
    assert count == 2
    assert [[s.name for s in r] for r in routes] == [["w1", "u2", "h1", "u1", "fhat1", "Loss"], ["w1", "u2", "h1", "u3", "fhat2", "Loss"]]
    routes, count = _routes(datawhale, datawhale.symbol("w7"), layered=False)
    assert count == 1 and [s.name for s in routes[0]] == ["w7", "u1", "fhat1", "Loss"]


def test_highlight_marks_one_colour_per_route(datawhale):
    two = datawhale.draw(highlight="w1").svg()
    one = datawhale.draw(highlight="w7").svg()
    assert "#d62728" in two and "#1f77b4" in two  # route 1 and route 2
    assert "#d62728" in one and "#1f77b4" not in one


def test_layered_networks_are_drawn_as_layers_and_wide_ones_summarised():
    fig = sg.mlp([3, 4, 2]).draw(highlight="W1_2_3")
    texts = [t.get_text() for t in fig.texts + fig.axes[0].texts]
    assert any("layer 1" in t for t in texts) and any("route 2:" in t for t in texts)
    wide = sg.mlp([300, 12, 3]).draw(highlight="W1_5_200")
    texts = [t.get_text() for t in wide.texts + wide.axes[0].texts]
    assert any("(300)" in t for t in texts) and any("more" in t for t in texts)
    assert any("x_{200}" in t for t in texts)  # the unit a route starts from is kept in view
    assert len(wide.axes[0].patches) < 300  # not 3,600 weights


def test_large_graphs_group_the_parameters_of_each_step():
    terms = " + ".join(f"w{i}*x" for i in range(1, 80))
    net = sg.Network.from_equations(f"h = {terms}; L = (h - y)**2", params="w1:80", inputs="x", targets="y")
    g = _step_graph(net)
    assert sum(1 for k in g.kinds.values() if k == "param") == 1 and any("79 params" in label for label in g.labels.values())
    net.draw(highlight="w3")  # a route starts at its step's parameter node


def test_saves_svg_png_and_pdf(datawhale, tmp_path):
    for suffix, magic in ((".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF")):
        path = tmp_path / f"graph{suffix}"
        datawhale.draw(path)
        assert path.read_bytes().startswith(magic)
    fig = datawhale.draw()
    assert figure_bytes(fig, "pdf") == figure_bytes(fig, "pdf")


def test_draw_changes_no_global_matplotlib_state(datawhale):
    backend, params = matplotlib.get_backend(), dict(matplotlib.rcParams)
    datawhale.draw(highlight="w1").svg()
    assert matplotlib.get_backend() == backend and dict(matplotlib.rcParams) == params


def test_bad_requests_name_what_is_wrong(datawhale, tmp_path):
    with pytest.raises(SymgradError, match="w99"):
        datawhale.draw(highlight="w99")
    with pytest.raises(SymgradError, match="graph.gif"):
        datawhale.draw(tmp_path / "graph.gif")


def test_notebooks_show_the_figure_as_svg(quadratic):
    assert quadratic.draw()._repr_svg_().startswith("<?xml")
    assert seed_network("xor").draw(highlight="theta1_2_1").svg().count("<svg") == 1
