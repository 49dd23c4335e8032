"""Spec files: a network (and optionally a sample point, data, training settings) in TOML.

A spec holds exactly one way of declaring the network, under ``[network]``:

* equations: ``equations = "..."`` (a multi-line TOML string) with ``params``, ``inputs``, ``targets``,
  ``functions`` (e.g. ``{ g = "sigmoid" }``) and optional ``loss``;
* layers: ``layers = [3, 4, 2]`` with ``activation``, ``loss`` and ``bias``;
* a plain function: ``expr = "(x1*x2 - 3)**2 + 1"`` with ``params``.

``[point]`` gives a sample point (``params`` as a list in parameter order or a
table by name, ``x``, ``y``); ``[data]`` (``X``, ``Y``) and ``[train]`` are read
by the training stage. Unknown keys are errors, so a typo never passes silently.

>>> import pathlib, tempfile
>>> path = pathlib.Path(tempfile.mkdtemp()) / "q.toml"
>>> _ = path.write_text('[network]\\nexpr = "(x1*x2 - 3)**2 + 1"\\nparams = "x1 x2"\\n[point]\\nparams = [1, 1]\\n')
>>> spec = load_spec(path)
>>> spec.network.params, spec.point.params
((x1, x2), array([1., 1.]))
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..errors import ShapeError, SpecError, SymgradError
from .layers import mlp
from .network import Network

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["Point", "Spec", "load_spec", "spec_from_dict"]

_TOP_KEYS = {"name", "description", "network", "point", "data", "train", "check", "verify"}
_EQUATION_KEYS = {"equations", "params", "inputs", "targets", "functions", "loss"}
_LAYER_KEYS = {"layers", "activation", "loss", "bias"}
_EXPR_KEYS = {"expr", "params", "inputs", "targets", "functions"}
_POINT_KEYS = {"params", "x", "y"}


@dataclass(frozen=True)
class Point:
    """A sample point: parameter values (in ``net.params`` order), inputs and targets."""

    params: np.ndarray
    x: np.ndarray
    y: np.ndarray


@dataclass
class Spec:
    """A loaded spec file."""

    name: str
    network: Network
    description: str = ""
    point: Point | None = None
    data: dict[str, np.ndarray] = field(default_factory=dict)
    train: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None


def load_spec(path: str | Path) -> Spec:
    """Read a TOML spec file; every problem is a :class:`SpecError` naming the file and key."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"spec file {str(path)!r} does not exist", token=str(path))
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{path}: not valid TOML: {exc}", token=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {exc}", token=str(path)) from None
    try:
        spec = spec_from_dict(raw, default_name=path.stem)
    except SymgradError as exc:
        file_line = _equations_file_line(path.read_text(encoding="utf-8"), exc.line)
        where = f"{path}:{file_line}" if file_line else str(path)
        raise type(exc)(f"{where}: {exc}", token=exc.token, line=exc.line) from None
    spec.path = path
    return spec


def _equations_file_line(text: str, equation_line: int | None) -> int | None:
    """The file line of line ``equation_line`` of the ``equations`` string, for editors."""
    if equation_line is None:
        return None
    for number, line in enumerate(text.splitlines(), start=1):
        m = re.match(r"\s*equations\s*=\s*(\"\"\"|\'\'\'|\"|\')(.*)$", line)
        if m:
            # TOML drops a newline right after an opening triple quote.
            starts_below = len(m.group(1)) == 3 and not m.group(2).strip()
            return number + equation_line - (0 if starts_below else 1)
    return None


def spec_from_dict(raw: Mapping[str, Any], default_name: str = "network") -> Spec:
    """Build a :class:`Spec` from an already-parsed TOML table."""
    _reject_unknown(raw, _TOP_KEYS, "top level")
    name = str(raw.get("name", default_name))
    if "network" not in raw or not isinstance(raw["network"], Mapping):
        raise SpecError("missing the [network] table", token="network")
    net = _network(raw["network"], name)
    point = _point(raw["point"], net) if "point" in raw else None
    data = {k: np.asarray(v, dtype=float) for k, v in dict(raw.get("data", {})).items()}
    extra = {k: dict(raw[k]) for k in ("check", "verify") if k in raw}
    return Spec(name, net, str(raw.get("description", "")), point, data, dict(raw.get("train", {})), extra)


def _reject_unknown(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise SpecError(f"unknown key {unknown[0]!r} in {where} (allowed: {', '.join(sorted(allowed))})", token=unknown[0])


def _network(table: Mapping[str, Any], name: str) -> Network:
    kinds = [k for k in ("equations", "layers", "expr") if k in table]
    if len(kinds) != 1:
        raise SpecError("[network] needs exactly one of 'equations', 'layers' or 'expr'" + (f", got {kinds}" if kinds else ""), token="network")
    kind = kinds[0]
    if kind == "equations":
        _reject_unknown(table, _EQUATION_KEYS, "[network]")
        if "params" not in table:
            raise SpecError("[network] with equations needs 'params'", token="params")
        return Network.from_equations(
            table["equations"],
            params=table["params"],
            inputs=table.get("inputs"),
            targets=table.get("targets"),
            functions=dict(table.get("functions", {})),
            loss=table.get("loss"),
            name=name,
        )
    if kind == "layers":
        _reject_unknown(table, _LAYER_KEYS, "[network]")
        net = mlp(list(table["layers"]), activation=table.get("activation", "sigmoid"), loss=table.get("loss", "mse"), bias=table.get("bias", True))
        net.name = name
        return net
    _reject_unknown(table, _EXPR_KEYS, "[network]")
    net = Network.from_expr(
        table["expr"],
        params=table.get("params"),
        inputs=table.get("inputs"),
        targets=table.get("targets"),
        functions=dict(table.get("functions", {})),
    )
    net.name = name
    return net


def _vector(values: Any, size: int, what: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ShapeError(f"[point] {what} must be a list of numbers, got {values!r}", token=what) from None
    if arr.shape != (size,):
        raise ShapeError(f"[point] {what} has shape {arr.shape}, expected ({size},)", token=what)
    return arr


def _point(table: Mapping[str, Any], net: Network) -> Point:
    _reject_unknown(table, _POINT_KEYS, "[point]")
    if "params" not in table:
        raise SpecError("[point] needs 'params'", token="params")
    raw = table["params"]
    if isinstance(raw, Mapping):
        names = [p.name for p in net.params]
        missing = [n for n in names if n not in raw]
        extra = sorted(set(raw) - set(names))
        if extra:
            raise SpecError(f"[point] params names {extra[0]!r}, which is not a parameter", token=extra[0])
        if missing:
            raise SpecError(f"[point] params lacks a value for {missing[0]!r}", token=missing[0])
        raw = [raw[n] for n in names]
    return Point(
        _vector(raw, len(net.params), "params"),
        _vector(table.get("x", []), len(net.inputs), "x"),
        _vector(table.get("y", []), len(net.targets), "y"),
    )
