r"""A picture of the computation: ``net.draw(path=None, highlight=None)``.

The computational graph is drawn left to right, as the forward pass runs:
parameters (orange squares), inputs (blue circles) and targets (green diamonds) sit
just before the first step that uses them, then the steps (white boxes) and the loss
(a red box). ``highlight="w1"`` marks the chain-rule routes from w1 up to the loss, one
colour per route, as the derivation of ∂Loss/∂w1 sums them. A layered network
(:func:`symgrad.mlp`) is drawn as layers of units joined by their weights; layers wider
than :data:`MAX_UNITS_SHOWN` show their first and last units and say how many are left
out, and a graph with more than :data:`MAX_NODES` nodes draws one node for the
parameters of each step.

Only matplotlib is used (its object API: no pyplot, no global state); the SVG it saves
is the same bytes on every run.

>>> import symgrad as sg
>>> fig = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2").draw()
>>> type(fig).__name__, fig.svg().startswith("<?xml")
('ShownFigure', True)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sympy

from .. import hooks
from ..model.network import Network
from .latex import symbol_latex

__all__ = ["draw_network", "MAX_NODES", "MAX_UNITS_SHOWN"]

#: A layer with more units than this shows its first and last few only.
MAX_UNITS_SHOWN = 10
#: A graph with more nodes than this draws one node for the parameters of each step.
MAX_NODES = 60
#: Routes get one colour each up to this many; beyond, one colour marks them all.
MAX_ROUTE_COLOURS = 8

_COLOURS = {"param": "#fdd9b5", "input": "#cfe3f7", "target": "#d3efd0", "step": "#ffffff", "loss": "#f7c6c5"}
_EDGES = {"param": "#c46a13", "input": "#2a6ebb", "target": "#2e8b3a", "step": "#555555", "loss": "#b22222"}
_ROUTE_COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
_KIND_TITLES = {"param": "parameter", "input": "input", "target": "target", "step": "step", "loss": "loss"}


@dataclass
class _Graph:
    """Nodes (key → kind, label), edges (from, to) and each node's column and row."""

    kinds: dict = field(default_factory=dict)
    labels: dict = field(default_factory=dict)
    edges: list = field(default_factory=list)
    column: dict = field(default_factory=dict)
    row: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    column_titles: dict = field(default_factory=dict)

    def add(self, key, kind: str, label: str, column: int) -> None:
        self.kinds[key] = kind
        self.labels[key] = label
        self.column[key] = column


def _mathtext(latex: str) -> str:
    """symgrad's LaTeX in matplotlib's mathtext dialect."""
    text = re.sub(r"\\operatorname\{([^}]*)\}", r"\\mathrm{\1}", latex)
    return f"${text}$"


# --------------------------------------------------------------------------- the graph of steps


def _step_graph(net: Network) -> _Graph:
    g = _Graph()
    steps = net.steps
    known = set(net.params) | set(net.inputs) | set(net.targets) | {st.target for st in steps}
    column: dict = {}
    uses: dict = {}
    for st in steps:
        children = sorted(st.expr.free_symbols & known, key=lambda s: s.name)
        column[st.target] = 1 + max((column.get(c, 0) for c in children), default=0)
        for c in children:
            uses.setdefault(c, []).append(st.target)
    leaves = [s for s in (*net.inputs, *net.params, *net.targets) if s in uses]
    grouped = len(leaves) + len(steps) > MAX_NODES
    for s in leaves:
        kind = "param" if s in net.params else "input" if s in net.inputs else "target"
        if grouped and kind == "param":
            continue
        g.add(s, kind, _mathtext(symbol_latex(s)), min(column[u] for u in uses[s]) - 1)
        g.edges += [(s, u) for u in uses[s]]
    for st in steps:
        kind = "loss" if st.target == net.loss else "step"
        g.add(st.target, kind, _mathtext(symbol_latex(st.target)), column[st.target])
        if grouped:
            own = sorted((p for p in st.expr.free_symbols if p in net.params), key=lambda s: s.name)
            if own:
                key = ("params of", st.target)
                g.add(key, "param", f"{len(own)} param" + ("s" if len(own) > 1 else ""), column[st.target] - 1)
                g.edges.append((key, st.target))
        g.edges += [(c, st.target) for c in sorted(st.expr.free_symbols & set(column), key=lambda s: s.name)]
    if grouped:
        g.notes.append(f"{len(net.params)} parameters, drawn as one node per step")
    _order_rows(g, [*net.inputs, *net.params, *net.targets, *(st.target for st in steps)])
    return g


def _order_rows(g: _Graph, declared) -> None:
    """Rows within each column: declaration order, then a few barycentre sweeps (fewer crossings)."""
    rank = {k: i for i, k in enumerate(declared)}
    columns: dict = {}
    for key in g.kinds:
        columns.setdefault(g.column[key], []).append(key)
    for keys in columns.values():
        keys.sort(key=lambda k: rank.get(k, rank.get(k[1], 0) if isinstance(k, tuple) else 0))
    neighbours: dict = {k: [] for k in g.kinds}
    for a, b in g.edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    for sweep in range(4):
        order = sorted(columns) if sweep % 2 == 0 else sorted(columns, reverse=True)
        position = {k: i for keys in columns.values() for i, k in enumerate(keys)}
        for c in order:
            keys = columns[c]

            def centre(k, keys=keys):
                near = [position[n] / max(1, len(columns[g.column[n]]) - 1) for n in neighbours[k] if g.column[n] != c]
                return sum(near) / len(near) if near else position[k] / max(1, len(keys) - 1)

            keys.sort(key=lambda k: (round(centre(k), 6), position[k]))
            position.update({k: i for i, k in enumerate(keys)})
    for keys in columns.values():
        for i, k in enumerate(keys):
            g.row[k] = i - (len(keys) - 1) / 2


# --------------------------------------------------------------------------- layered networks


_UNIT = re.compile(r"^[ux](\d+)_(\d+)$")


def _shown_units(n: int, keep: set[int]) -> list[int | None]:
    """Unit numbers 1..n to draw (None: the gap), the first and last few and any in ``keep``."""
    if n <= MAX_UNITS_SHOWN:
        return list(range(1, n + 1))
    half = MAX_UNITS_SHOWN // 2 - 1
    shown = sorted(set(range(1, half + 1)) | set(range(n - half + 1, n + 1)) | keep)
    out: list[int | None] = []
    for i, u in enumerate(shown):
        if i and u != shown[i - 1] + 1:
            out.append(None)
        out.append(u)
    return out


def _layer_graph(net: Network, keep: dict[int, set[int]]) -> _Graph:
    """Layers of units left to right, the loss and its targets last; ``keep``: units a route needs shown."""
    spec = net.layers
    g = _Graph()
    sizes = spec.sizes
    last = len(sizes) - 1
    units: dict[int, list] = {}
    for l, n in enumerate(sizes):
        units[l] = _shown_units(n, keep.get(l, set()))
        hidden = n - sum(1 for u in units[l] if u is not None)
        for u in units[l]:
            if u is None:
                g.add(("gap", l), "gap", f"{hidden} more", l)
            else:
                label = f"x_{{{u}}}" if l == 0 else rf"x^{{({l})}}_{{{u}}}"
                g.add(("unit", l, u), "input" if l == 0 else "step", _mathtext(label), l)
        title = "inputs" if l == 0 else f"layer {l}\n{spec.activations[l - 1]}"
        g.column_titles[l] = title + ("" if n <= MAX_UNITS_SHOWN else f" ({n})")
    for l in range(1, last + 1):
        g.edges += [(("unit", l - 1, a), ("unit", l, b)) for b in units[l] for a in units[l - 1] if a is not None and b is not None]
    g.add("loss", "loss", _mathtext(symbol_latex(net.loss)), last + 2)
    g.column_titles[last + 2] = f"loss\n{spec.loss}"
    g.edges += [(("unit", last, b), "loss") for b in units[last] if b is not None]
    targets = _shown_units(sizes[-1], set())
    for k in targets:
        key = ("target", k) if k is not None else ("gap", "targets")
        g.add(key, "target" if k is not None else "gap", _mathtext(f"y_{{{k}}}") if k is not None else f"{sizes[-1] - len(targets) + 1} more", last + 1)
        g.column_titles[last + 1] = "targets"
        if k is not None:
            g.edges.append((key, "loss"))
    if spec.bias:
        g.notes.append(f"each unit of layers 1-{last} also has a bias")
    for l in range(last + 1):
        keys = [k for k in g.kinds if g.column[k] == l]
        for i, k in enumerate(keys):
            g.row[k] = i - (len(keys) - 1) / 2  # the first unit on top
    outputs = len(units[last])
    g.row["loss"] = 0.0
    for i, k in enumerate(k for k in g.kinds if g.column[k] == last + 1):  # below the output units
        g.row[k] = (outputs - 1) / 2 + 0.9 + i
    return g


def _unit_of(name: str, spec) -> tuple | str | None:
    """The drawn unit a route's node stands for: ('unit', l, i), the loss, or None (a normaliser)."""
    m = _UNIT.match(name)
    if m:
        return ("unit", int(m.group(1)), int(m.group(2)))
    if re.fullmatch(r"x\d+", name):
        return ("unit", 0, int(name[1:]))
    return "loss" if name == "L" else None


# --------------------------------------------------------------------------- routes


def _routes(net: Network, param: sympy.Symbol, layered: bool) -> tuple[list[list], int]:
    """The highlighted routes as lists of drawn node keys (parameter first), and their count."""
    d = net.grad(param)
    count = d.sweep.path_count(param)
    if count == 0:
        return [], 0
    if count > 64:  # too many to list: the edges on some route, as one route
        return [_reachable(net, d, layered)], count
    routes = []
    for path in d.paths:
        nodes = list(reversed(path.nodes))  # parameter first
        if not layered:
            routes.append(nodes)
            continue
        keys = []
        m = re.fullmatch(r"[A-Za-z]+(\d+)_(\d+)_(\d+)", param.name)
        if m:  # a weight is the edge from unit j of the layer below
            keys.append(("unit", int(m.group(1)) - 1, int(m.group(3))))
        for s in nodes[1:]:
            key = _unit_of(s.name, net.layers)
            if key is not None and (not keys or keys[-1] != key):
                keys.append(key)
        routes.append(keys)
    return routes, count


def _reachable(net: Network, d, layered: bool) -> list:
    """Every node downstream of the parameter, in step order (drawn as one route)."""
    sweep = d.sweep
    seen, frontier = [d.param], [d.param]
    while frontier:
        s = frontier.pop()
        for c, _ in sweep.consumers.get(s, []):
            if c not in seen:
                seen.append(c)
                frontier.append(c)
    if not layered:
        return seen
    keys = []
    for s in seen[1:]:
        key = _unit_of(s.name, net.layers)
        if key is not None and key not in keys:
            keys.append(key)
    return keys


# --------------------------------------------------------------------------- drawing


#: Half width and half height of each kind of node (data units), for where edges meet them.
_HALF = {"input": (0.24, 0.24), "target": (0.21, 0.21), "param": (0.22, 0.22), "step": (0.32, 0.23), "loss": (0.39, 0.23), "gap": (0.1, 0.3)}


def _reach(kind: str, ux: float, uy: float) -> float:
    """How far from a node's centre its border is along the unit direction (ux, uy)."""
    hw, hh = _HALF.get(kind, (0.25, 0.25))
    if kind in ("input", "target"):  # round, or a diamond: close enough to a circle for an arrow's end
        return hw
    return min(hw / abs(ux) if ux else float("inf"), hh / abs(uy) if uy else float("inf"))


def _draw(g: _Graph, routes: list[list], title: str, route_notes: list[str]):
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch, Patch, RegularPolygon
    from matplotlib.transforms import offset_copy

    from .figure import ShownFigure

    dx, dy, inch = 1.55, 0.62, 0.62  # column and row spacing (data units); inches per data unit
    pos = {k: (g.column[k] * dx, -g.row[k] * dy) for k in g.kinds}  # the first row on top
    xs = [p[0] for p in pos.values()]
    ys = [p[1] for p in pos.values()]
    x0, x1 = min(xs) - 0.5, max(xs) + 0.5
    y0, y1 = min(ys) - 0.42, max(ys) + 0.42 + (0.4 if g.column_titles else 0.0)
    notes = route_notes + g.notes
    top, bottom = 0.34, 0.34 + 0.17 * len(notes)  # title above; legend and notes below (inches)
    width, plot_height = (x1 - x0) * inch, (y1 - y0) * inch
    width = max(width, 5.2)
    height = plot_height + top + bottom
    fig = ShownFigure(figsize=(width, height))
    ax = fig.add_axes((0.0, bottom / height, 1.0, plot_height / height))
    ax.set_axis_off()
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    on_route = {k for r in routes for k in r}
    route_edges: dict = {}
    for i, r in enumerate(routes):
        for a, b in zip(r, r[1:]):
            route_edges.setdefault((a, b), []).append(i)
    patches = {}
    for k, kind in g.kinds.items():
        x, y = pos[k]
        face, edge = _COLOURS.get(kind, "#ffffff"), _EDGES.get(kind, "#999999")
        lw = 2.2 if k in on_route else 1.0
        if routes and k in on_route:
            edge = "#222222"
        if kind == "gap":
            ax.text(x, y, "⋮\n" + g.labels[k], ha="center", va="center", fontsize=7, color="#666666")
            continue
        if kind == "input":
            p = Circle((x, y), 0.24, fc=face, ec=edge, lw=lw)
        elif kind == "target":
            p = RegularPolygon((x, y), 4, radius=0.3, fc=face, ec=edge, lw=lw)
        elif kind == "param":
            p = FancyBboxPatch((x - 0.2, y - 0.2), 0.4, 0.4, boxstyle="round,pad=0.02", fc=face, ec=edge, lw=lw)
        else:
            w = 0.56 if kind == "step" else 0.7
            p = FancyBboxPatch((x - w / 2, y - 0.19), w, 0.38, boxstyle="round,pad=0.04", fc=face, ec=edge, lw=lw * (1.6 if kind == "loss" else 1.0))
        if routes and k not in on_route:
            p.set_alpha(0.45)
        ax.add_patch(p)
        patches[k] = p
        size = 9 if g.labels[k].startswith("$") else 6.5
        ax.text(x, y, g.labels[k], ha="center", va="center", fontsize=size, alpha=1.0 if not routes or k in on_route else 0.55, zorder=5)
    def ends(a, b):
        """The edge a → b from border to border of the two nodes (cheaper than clipping to the patches)."""
        (xa, ya), (xb, yb) = pos[a], pos[b]
        ux, uy = xb - xa, yb - ya
        length = max(1e-9, (ux * ux + uy * uy) ** 0.5)
        ux, uy = ux / length, uy / length
        ra, rb = _reach(g.kinds[a], ux, uy), _reach(g.kinds[b], ux, uy)
        return (xa + ra * ux, ya + ra * uy), (xb - rb * ux, yb - rb * uy), (-uy, ux)

    for a, b in g.edges:
        faint = bool(routes) and (a, b) not in route_edges
        start, end, _ = ends(a, b)
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=7, shrinkA=0, shrinkB=1,
                                     lw=0.7, color="#9a9a9a" if faint else "#555555", alpha=0.5 if faint else 0.9, zorder=1))
    for (a, b), which in route_edges.items():
        if a not in pos or b not in pos:
            continue
        start, end, (nx, ny) = ends(a, b)
        for j, i in enumerate(which):
            shift = (j - (len(which) - 1) / 2) * 2.4
            colour = _ROUTE_COLOURS[i % len(_ROUTE_COLOURS)] if len(routes) <= MAX_ROUTE_COLOURS else _ROUTE_COLOURS[0]
            t = offset_copy(ax.transData, fig=fig, x=nx * shift, y=ny * shift, units="points")
            ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=9, shrinkA=0, shrinkB=1, lw=2.0,
                                         color=colour, transform=t, zorder=3))
    for c, text in g.column_titles.items():
        ax.text(c * dx, max(ys) + 0.5, text, ha="center", va="bottom", fontsize=7, color="#444444")
    handles = [Patch(fc=_COLOURS[k], ec=_EDGES[k], label=_KIND_TITLES[k]) for k in ("param", "input", "target", "step", "loss") if k in g.kinds.values()]
    if len(routes) > 1 and len(routes) <= MAX_ROUTE_COLOURS:
        handles += [Line2D([], [], color=_ROUTE_COLOURS[i], lw=2, label=f"route {i + 1}") for i in range(len(routes))]
    fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, (0.06 + 0.17 * len(notes)) / height), fontsize=7, frameon=False,
               ncol=min(len(handles), 8), handlelength=1.2, columnspacing=0.9, borderaxespad=0.0)
    fig.text(0.5, 1 - 0.12 / height, title, fontsize=9, ha="center", va="top")
    if notes:
        fig.text(0.02, 0.04 / height, "\n".join(notes), fontsize=7, color="#333333", va="bottom", ha="left", linespacing=1.3)
    return fig


@hooks.provides
def draw_network(network: Network, path=None, highlight=None):
    """Draw ``network``'s computation (see the module's doc); save it to ``path`` (.svg, .png or .pdf)
    when given. ``highlight`` names a parameter whose chain-rule routes to the loss are marked.
    Returns the figure (a matplotlib ``Figure`` that notebooks show)."""
    layered = network.layers is not None
    routes: list[list] = []
    notes: list[str] = []
    title = f"{network.name}: the computation"
    if highlight is not None:
        param = network.parameter(highlight)
        routes, count = _routes(network, param, layered)
        title = f"routes from {param.name} to the loss ({count} route{'s' if count != 1 else ''})"
        if count > len(routes) or len(routes) > MAX_ROUTE_COLOURS:
            notes.append(f"{count} routes: every edge on one of them is marked")
        else:
            notes += [f"route {i + 1}: " + " → ".join(_plain(k) for k in r) for i, r in enumerate(routes)]
    if layered:
        keep: dict[int, set[int]] = {}
        for r in routes[:MAX_ROUTE_COLOURS]:
            for k in r:
                if isinstance(k, tuple) and k[0] == "unit":
                    keep.setdefault(k[1], set()).add(k[2])
        g = _layer_graph(network, keep)
    else:
        g = _step_graph(network)
        if any(isinstance(k, tuple) for k in g.kinds):  # parameters grouped: a route starts at its step
            routes = [[("params of", r[1])] + r[1:] if len(r) > 1 else r for r in routes]
    fig = _draw(g, routes, title, notes)
    if path is not None:
        from .figure import save_figure

        save_figure(fig, path)
    return fig


def _plain(key) -> str:
    if isinstance(key, sympy.Symbol):
        return key.name
    if isinstance(key, tuple) and key[0] == "unit":
        return f"x{key[2]}" if key[1] == 0 else f"unit {key[2]} of layer {key[1]}"
    if isinstance(key, tuple) and key[0] == "params of":
        return f"params of {key[1].name}"
    return str(key)
