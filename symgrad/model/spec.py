"""Spec files: a network (and optionally a sample point, data, training settings) in TOML.

A spec holds exactly one way of declaring the network, under ``[network]``:

* equations: ``equations = "..."`` (a multi-line TOML string) with ``params``, ``inputs``, ``targets``,
  ``functions`` (e.g. ``{ g = "sigmoid" }``) and optional ``loss``;
* layers: ``layers = [3, 4, 2]`` with ``activation``, ``loss`` and ``bias``;
* a plain function: ``expr = "(x1*x2 - 3)**2 + 1"`` with ``params``.

``[point]`` gives a sample point (``params`` as a list in parameter order or a
table by name, ``x``, ``y``); ``[data]`` (``X``, ``Y``) and ``[train]`` (``lr``,
``epochs``, ``mode``, ``seed``, ``params0``) are read by the training stage, ``[check]``
by the check. Unknown keys are errors, and so are values of the wrong type
(``bias = "false"``, ``epochs = 2.7``), so a typo never passes silently. The tables a
command reads are checked when it reads them: a bad ``[data]`` stops ``train``, not ``derive``.

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
from functools import cached_property
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
_DATA_KEYS = {"X", "Y"}
_TRAIN_KEYS = {"lr", "epochs", "mode", "seed", "params0"}


@dataclass(frozen=True)
class Point:
    """A sample point: parameter values (in ``net.params`` order), inputs and targets."""

    params: np.ndarray
    x: np.ndarray
    y: np.ndarray


@dataclass
class Spec:
    """A loaded spec file.

    ``[network]`` and ``[point]`` are read and checked when the file is loaded; ``[data]``,
    ``[train]``, ``[check]`` and ``[verify]`` (``tables``) when a command first reads
    them (``spec.data``, ``spec.train``, ``spec.extra``), so that a bad ``[data]`` table
    stops ``train`` but not ``derive``. A bad key or value is a SpecError (ShapeError for
    a shape) naming the file, the table and the key.
    """

    name: str
    network: Network
    description: str = ""
    point: Point | None = None
    tables: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @cached_property
    def data(self) -> dict[str, np.ndarray]:
        """``[data]``: ``X`` (n, inputs) and ``Y`` (n, targets) as float arrays; {} when absent."""
        return self._read("data", _data)

    @cached_property
    def train(self) -> dict[str, Any]:
        """``[train]``: ``lr``, ``epochs``, ``mode``, ``seed``, ``params0`` (each checked when given)."""
        return self._read("train", _train)

    @cached_property
    def extra(self) -> dict[str, dict]:
        """The ``[check]`` and ``[verify]`` tables as given (their stages check their keys)."""
        return {k: self._read(k, lambda table, net: dict(_table(table, k))) for k in ("check", "verify") if k in self.tables}

    def _read(self, key: str, reader) -> Any:
        if key not in self.tables:
            return {}
        try:
            return reader(self.tables[key], self.network)
        except SymgradError as exc:
            raise _in_file(exc, self.path) from None


def _in_file(exc: SymgradError, path: Path | None, file_line: int | None = None) -> SymgradError:
    """``exc`` with the file (and line) it comes from in front of its message."""
    if path is None:
        return exc
    where = f"{path}:{file_line}" if file_line else str(path)
    return type(exc)(f"{where}: {exc}", token=exc.token, line=exc.line)


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
        raise _in_file(exc, path, _equations_file_line(path.read_text(encoding="utf-8"), exc.line)) from None
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
    name = _text(raw.get("name", default_name), "name", "the top level")
    description = _text(raw.get("description", ""), "description", "the top level")
    if "network" not in raw or not isinstance(raw["network"], Mapping):
        raise SpecError("missing the [network] table", token="network")
    net = _network(raw["network"], name)
    point = _point(_table(raw["point"], "point"), net) if "point" in raw else None
    tables = {k: raw[k] for k in ("data", "train", "check", "verify") if k in raw}
    return Spec(name, net, description, point, tables)


def _reject_unknown(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise SpecError(f"unknown key {unknown[0]!r} in {where} (allowed: {', '.join(sorted(allowed))})", token=unknown[0])


def _table(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise SpecError(f"[{key}] must be a table, not {type(value).__name__} {value!r}", token=key)
    return value


def _text(value: Any, key: str, where: str) -> str:
    if not isinstance(value, str):
        raise SpecError(f"{key} in {where} must be a string, not {type(value).__name__} {value!r}", token=key)
    return value


def _names(table: Mapping[str, Any], key: str) -> Any:
    """A declaration: text ("w1:3 b") or a list of names; anything else names the key."""
    value = table.get(key)
    if value is None or isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return value
    raise SpecError(f'[network] {key} must be names as text ("w1:3 b") or a list of strings, not {type(value).__name__} {value!r}', token=key)


def _functions(table: Mapping[str, Any]) -> dict[str, str]:
    value = table.get("functions", {})
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise SpecError(f'[network] functions must be a table of names, such as {{ g = "sigmoid" }}, not {value!r}', token="functions")
    return dict(value)


def _network(table: Mapping[str, Any], name: str) -> Network:
    kinds = [k for k in ("equations", "layers", "expr") if k in table]
    if len(kinds) != 1:
        raise SpecError("[network] needs exactly one of 'equations', 'layers' or 'expr'" + (f", got {kinds}" if kinds else ""), token="network")
    kind = kinds[0]
    if kind == "equations":
        _reject_unknown(table, _EQUATION_KEYS, "[network]")
        if "params" not in table:
            raise SpecError("[network] with equations needs 'params'", token="params")
        loss = table.get("loss")
        if loss is not None:
            _text(loss, "loss", "[network]")
        return Network.from_equations(
            _text(table["equations"], "equations", "[network]"),
            params=_names(table, "params"),
            inputs=_names(table, "inputs"),
            targets=_names(table, "targets"),
            functions=_functions(table),
            loss=loss,
            name=name,
        )
    if kind == "layers":
        _reject_unknown(table, _LAYER_KEYS, "[network]")
        sizes = table["layers"]
        if not isinstance(sizes, list):
            raise ShapeError(f"[network] layers must be a list of sizes such as [3, 4, 2], not {type(sizes).__name__} {sizes!r}", token="layers")
        activation = table.get("activation", "sigmoid")
        if not (isinstance(activation, str) or (isinstance(activation, list) and all(isinstance(a, str) for a in activation))):
            raise SpecError(f"[network] activation must be a name or a list of names, not {activation!r}", token="activation")
        bias = table.get("bias", True)
        if not isinstance(bias, bool):
            raise SpecError(f"[network] bias must be true or false, not {type(bias).__name__} {bias!r}", token="bias")
        net = mlp(sizes, activation=activation, loss=_text(table.get("loss", "mse"), "loss", "[network]"), bias=bias)
        net.name = name
        return net
    _reject_unknown(table, _EXPR_KEYS, "[network]")
    net = Network.from_expr(
        _text(table["expr"], "expr", "[network]"),
        params=_names(table, "params"),
        inputs=_names(table, "inputs"),
        targets=_names(table, "targets"),
        functions=_functions(table),
    )
    net.name = name
    return net


# --------------------------------------------------------------------------- the tables read by commands


def _matrix(value: Any, key: str, columns: int, what: str) -> np.ndarray:
    """``[data] key`` as an (n, columns) float array of finite numbers; one column may be a flat list."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        reason = "rows of different lengths" if "inhomogeneous" in str(exc) else str(exc)
        raise ShapeError(f"[data] {key} must be rows of numbers, one per sample ({reason})", token=key) from None
    if arr.ndim == 1 and columns == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != columns or arr.shape[0] == 0:
        raise ShapeError(f"[data] {key} has shape {arr.shape}, expected (n, {columns}): one row per sample, one column per {what}", token=key)
    bad = np.argwhere(~np.isfinite(arr))
    if len(bad):
        i, j = bad[0]
        raise ShapeError(f"[data] {key} row {i + 1}, column {j + 1} is {arr[i, j]}, not a finite number", token=key)
    return arr


def _data(value: Any, net: Network) -> dict[str, np.ndarray]:
    table = _table(value, "data")
    _reject_unknown(table, _DATA_KEYS, "[data]")
    out = {key: _matrix(table[key], key, len(symbols), what) for key, symbols, what in (("X", net.inputs, "input"), ("Y", net.targets, "target")) if key in table}
    if "X" not in table and net.inputs:
        raise SpecError(f"[data] needs X: network {net.name!r} has {len(net.inputs)} inputs", token="X")
    if "Y" not in table and net.targets:
        raise SpecError(f"[data] needs Y: network {net.name!r} has {len(net.targets)} targets", token="Y")
    rows = {key: len(arr) for key, arr in out.items()}
    if len(set(rows.values())) > 1:
        raise ShapeError(f"[data] X has {rows['X']} rows but Y has {rows['Y']}: one row each per sample", token="Y")
    if out:
        n = next(iter(rows.values()))
        out.setdefault("X", np.zeros((n, 0)))
        out.setdefault("Y", np.zeros((n, 0)))
    return out


def _number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"[train] {key} must be a number, not {type(value).__name__} {value!r}", token=key)
    return float(value)


def _integer(value: Any, key: str, where: str, least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        kind = "a positive" if least == 1 else "a non-negative"
        raise SpecError(f"{where} {key} must be {kind} integer, not {type(value).__name__} {value!r}", token=key)
    return value


def _train(value: Any, net: Network) -> dict[str, Any]:
    table = dict(_table(value, "train"))
    _reject_unknown(table, _TRAIN_KEYS, "[train]")
    if "lr" in table:
        lr = _number(table["lr"], "lr")
        if not (np.isfinite(lr) and lr > 0):
            raise SpecError(f"[train] lr must be a positive number, not {table['lr']!r}", token="lr")
        table["lr"] = lr
    if "epochs" in table:
        _integer(table["epochs"], "epochs", "[train]", 0)
    if "seed" in table:
        _integer(table["seed"], "seed", "[train]", 0)
    if "mode" in table and table["mode"] not in ("sgd", "batch"):
        raise SpecError(f"[train] mode must be \"sgd\" or \"batch\", not {table['mode']!r}", token="mode")
    if "params0" in table:
        table["params0"] = _vector(table["params0"], len(net.params), "params0", "[train]")
    return table


def _vector(values: Any, size: int, what: str, table: str = "[point]") -> np.ndarray:
    if isinstance(values, (str, bool)) or (isinstance(values, list) and any(isinstance(v, (str, bool)) for v in values)):
        raise ShapeError(f"{table} {what} must be a list of numbers, got {values!r}", token=what)
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ShapeError(f"{table} {what} must be a list of numbers, got {values!r}", token=what) from None
    if arr.shape != (size,):
        raise ShapeError(f"{table} {what} has shape {arr.shape}, expected ({size},)", token=what)
    if not np.all(np.isfinite(arr)):
        raise ShapeError(f"{table} {what} holds {arr[~np.isfinite(arr)][0]}, not a finite number", token=what)
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
