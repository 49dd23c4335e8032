"""The three-way gradient check, and its report.

At a few random points (away from kinks), three independent computations of the
gradient must agree: the *symbolic* one (the derived formulas, compiled by
``net.compile(jit=False)``), the *numeric backprop* of :mod:`symgrad.crosscheck.backprop`, and
*finite differences* of the loss. A fourth column, ``grad=``, is anyone's own gradient
code, checked against the others. Every column is compared with the numeric backprop,
which is exact up to rounding and shares no code with the symbolic path.

Default tolerances (``|value − backprop| ≤ atol + rtol·|backprop|``):

* symbolic and user columns: ``rtol=1e-8, atol=1e-10``. Two float64 evaluations of
  the same derivative in different operation orders agree to ~1e-15 relative; 1e-8
  leaves seven orders of magnitude for cancellation inside sums, while a real mistake
  (a dropped factor, a wrong sign, a 1% slip) is off by 1e-2 or more.
* finite differences, the loosest leg: ``fd_rtol=1e-5``, ``fd_atol=1e-6·max(1, |L|)``.
  With steps ε^(1/3)·max(1, |θ|) the error is ≈ 6e-12·|f'''| (truncation) plus
  ≈ 4e-11·|L| (rounding, hence the loss in the absolute term); the tolerance keeps
  a factor of 10⁴ or more for curved losses, and still catches a 1% error in any
  component larger than 1e-4.

>>> import symgrad as sg
>>> net = sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2")
>>> rep = check(net, seed=0)
>>> rep.ok, [r.param for r in rep.rows]
(True, ['x1', 'x2'])
>>> bad = check(net, grad=lambda p, x, y: (None, [2 * p[1] * (p[0] * p[1] - 3), p[0]]), seed=0)
>>> bad.ok, bad.worst.param, bad.exit_code
(False, 'x2', 1)
"""

from __future__ import annotations

import html
import inspect
import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import ShapeError, SpecError, SymgradError
from .backprop import as_arrays, forward, numeric_loss
from .finite_diff import central_difference, directional_derivative, step_sizes
from .second_order import check_second_order

__all__ = ["CheckReport", "CheckRow", "DirectionalRow", "check", "check_spec"]

RTOL, ATOL = 1e-8, 1e-10
FD_RTOL, FD_ATOL = 1e-5, 1e-6
#: Random points are resampled until every kink argument (relu, abs, …) is this far from 0,
#: so that finite-difference steps (at most ~7e-4 with Richardson) never cross a kink.
KINK_MARGIN = 1e-2
#: Above this many parameters, finite differences go along random directions instead.
FD_MAX_PARAMS = 300

_OPTION_KEYS = {"points", "directions", "seed", "richardson", "rtol", "atol", "fd_rtol", "fd_atol", "kink_margin"}

_LEG_TITLES = {"user": "user", "symbolic": "symbolic", "backprop": "backprop", "finite_diff": "finite diff"}


@dataclass(frozen=True)
class CheckRow:
    """One parameter's values at the point where its columns disagree most (the first point if none do).

    ``abs_err``/``rel_err`` are the largest disagreement with the backprop column and
    ``leg`` the column it comes from; ``score`` is that error over its tolerance (> 1 fails);
    ``suspects`` names the column(s) most likely wrong (``backprop`` itself when every
    other column agrees against it).
    """

    param: str
    symbolic: float | None
    backprop: float
    finite_diff: float | None
    user: float | None
    abs_err: float
    rel_err: float
    ok: bool
    leg: str
    point: int
    score: float
    suspects: tuple[str, ...] = ()


@dataclass(frozen=True)
class DirectionalRow:
    """A finite-difference derivative along a random unit direction, against ``g·v`` of each column."""

    point: int
    finite_diff: float
    values: dict
    tolerance: float

    @property
    def ok(self) -> bool:
        return all(abs(v - self.finite_diff) <= self.tolerance for v in self.values.values())


@dataclass
class CheckReport:
    """The result of :func:`check`: ``ok``, one :class:`CheckRow` per parameter (``rows``, in
    ``net.params`` order), the points used, and notes. ``str()`` is a table, worst first."""

    network: str
    rows: list[CheckRow]
    points: list[dict]
    legs: tuple[str, ...]
    symbolic_method: str
    tolerances: dict
    directional: list[DirectionalRow] = field(default_factory=list)
    loss_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows) and all(d.ok for d in self.directional) and not self.loss_errors

    @property
    def exit_code(self) -> int:
        """0 when every column agrees, 1 otherwise (what ``symgrad check`` exits with)."""
        return 0 if self.ok else 1

    @property
    def failed(self) -> list[CheckRow]:
        return sorted((r for r in self.rows if not r.ok), key=lambda r: -r.score)

    @property
    def worst(self) -> CheckRow:
        """The row furthest outside its tolerance (or closest to it, when all pass)."""
        return max(self.rows, key=lambda r: r.score)

    def _headline(self) -> str:
        if self.ok:
            return f"OK: all {len(self.rows)} parameters agree"
        parts = []
        if self.failed:
            w = self.failed[0]
            parts.append(
                f"{len(self.failed)} of {len(self.rows)} parameters disagree; worst {w.param}: "
                f"{_LEG_TITLES[w.leg]} differs from backprop by {w.abs_err:.3g} ({w.rel_err:.3g} relative) at point {w.point}"
                + (f"; suspect: {' or '.join(_LEG_TITLES[s] for s in w.suspects)}" if w.suspects else "")
            )
        bad_dirs = [d for d in self.directional if not d.ok]
        if bad_dirs:
            parts.append(f"{len(bad_dirs)} of {len(self.directional)} directional finite differences disagree")
        parts += self.loss_errors
        return "FAIL: " + "; ".join(parts)

    def _columns(self) -> list[str]:
        return [leg for leg in ("user", "symbolic", "backprop", "finite_diff") if leg in self.legs]

    def table(self, max_rows: int | None = None) -> str:
        """The report as text; ``max_rows`` limits the rows shown (worst first)."""
        cols = self._columns()
        rows = sorted(self.rows, key=lambda r: -r.score)
        width = max([5] + [len(r.param) for r in rows])
        head = f"{'':4} {'param':<{width}}" + "".join(f" {_LEG_TITLES[c]:>17}" for c in cols) + f" {'abs err':>9} {'rel err':>9}"
        lines = [
            f"gradient check of {self.network!r}: {len(self.rows)} parameters, {len(self.points)} point(s), symbolic = {self.symbolic_method}",
            self._headline(),
            head,
        ]
        shown = rows if max_rows is None else rows[:max_rows]
        for r in shown:
            cells = "".join(f" {_fmt(getattr(r, c)):>17}" for c in cols)
            lines.append(f"{'ok' if r.ok else 'FAIL':<4} {r.param:<{width}}{cells} {r.abs_err:9.2e} {r.rel_err:9.2e}")
        if len(shown) < len(rows):
            lines.append(f"... {len(rows) - len(shown)} more rows (all within tolerance)" if all(r.ok for r in rows[len(shown):]) else f"... {len(rows) - len(shown)} more rows")
        for d in self.directional:
            vals = ", ".join(f"{_LEG_TITLES[k]} {v:.9g}" for k, v in d.values.items())
            lines.append(f"{'ok' if d.ok else 'FAIL':<4} direction at point {d.point}: finite diff {d.finite_diff:.9g} vs {vals}")
        t = self.tolerances
        lines.append(
            f"tolerance: |column - backprop| <= {t['atol']:g} + {t['rtol']:g}*|backprop| (user, symbolic); "
            f"<= {t['fd_atol']:g}*max(1, |L|) + {t['fd_rtol']:g}*|backprop| (finite differences)"
        )
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table(max_rows=40)

    def to_dict(self) -> dict:
        """The report as plain data (what ``symgrad check --json`` prints; the schema is in
        ``docs/json.md``). Rows come in ``net.params`` order; a value that was not computed,
        or is not finite, is None.

        >>> import symgrad as sg
        >>> d = check(sg.Network.from_expr("(x1*x2 - 3)**2 + 1", params="x1 x2"), seed=0).to_dict()
        >>> d["ok"], d["columns"], [r["param"] for r in d["rows"]]
        (True, ['symbolic', 'backprop', 'finite_diff'], ['x1', 'x2'])
        """
        rows = [
            {
                "param": r.param,
                "ok": r.ok,
                **{c: _number(getattr(r, c)) for c in ("user", "symbolic", "backprop", "finite_diff")},
                "abs_err": _number(r.abs_err),
                "rel_err": _number(r.rel_err),
                "column": r.leg or None,
                "point": r.point,
                "score": _number(r.score),
                "suspects": list(r.suspects),
            }
            for r in self.rows
        ]
        return {
            "ok": self.ok,
            "network": self.network,
            "headline": self._headline(),
            "columns": list(self.legs),
            "symbolic_method": self.symbolic_method,
            "tolerances": {k: float(v) for k, v in self.tolerances.items()},
            "points": [
                {"params": _numbers(p["params"]), "x": _numbers(p["x"]), "y": _numbers(p["y"]), "loss": _number(p["loss"])}
                for p in self.points
            ],
            "rows": rows,
            "directional": [
                {"point": d.point, "ok": d.ok, "finite_diff": _number(d.finite_diff), "values": {k: _number(v) for k, v in d.values.items()},
                 "tolerance": _number(d.tolerance)}
                for d in self.directional
            ],
            "loss_errors": list(self.loss_errors),
            "notes": list(self.notes),
        }

    def _repr_html_(self) -> str:
        cols = self._columns()
        esc = html.escape
        head = "".join(f"<th>{esc(_LEG_TITLES[c])}</th>" for c in cols)
        body = []
        for r in sorted(self.rows, key=lambda r: -r.score):
            style = "" if r.ok else ' style="background:#fdd"'
            cells = "".join(f"<td>{esc(_fmt(getattr(r, c)))}</td>" for c in cols)
            body.append(f"<tr{style}><td>{'ok' if r.ok else '<b>FAIL</b>'}</td><td>{esc(r.param)}</td>{cells}<td>{r.abs_err:.2e}</td><td>{r.rel_err:.2e}</td></tr>")
        notes = "".join(f"<p>{esc(n)}</p>" for n in self.loss_errors + self.notes)
        return (
            f"<p><b>gradient check of {esc(self.network)}</b> ({len(self.points)} point(s), symbolic = {esc(self.symbolic_method)}): "
            f"{esc(self._headline())}</p><table><tr><th></th><th>param</th>{head}<th>abs err</th><th>rel err</th></tr>"
            + "".join(body)
            + f"</table>{notes}"
        )


def _number(v) -> float | None:
    """A JSON number: None for a value not computed or not finite (JSON has no NaN)."""
    return None if v is None or not math.isfinite(v) else float(v)


def _numbers(values) -> list:
    return [_number(v) for v in np.asarray(values, dtype=float).ravel()]


def _fmt(v) -> str:
    return "-" if v is None else f"{v:.10g}"


# --------------------------------------------------------------------------- the columns


def _symbolic_column(net, symbolic, notes):
    """The symbolic column's callable ``(θ, x, y) -> (loss, grad)`` and a description of it.

    The symbolic gradient is evaluated one way: the generated module, run as plain Python
    (``jit=False``) or compiled (``"jit"``). ``"lambdify"``, an earlier evaluator, is the
    same as ``"compiled"``.
    """
    if symbolic is None:
        return None, "not computed"
    if symbolic not in ("auto", "compiled", "jit", "lambdify"):
        raise SymgradError(f"symbolic must be 'auto', 'compiled', 'jit', 'lambdify' or None, not {symbolic!r}", token=str(symbolic))
    jit = symbolic == "jit"
    f = net.compile(jit=jit, jit_after=0)  # with numba: the compiled kernel, from the first call

    def call(theta, x, y):
        return f(theta, x if net.inputs else None, y if net.targets else None)

    backend = getattr(f, "backend", None)  # None: a compile that returned some other callable
    if backend is not None and not backend.from_derivation:
        # Too wide for straight-line code: say plainly what this column then is.
        notes.append(
            "the symbolic column runs the loop-based (delta-recursion) kernel of this wide layered "
            "network, not code printed from the symbolic derivation; finite differences are the independent leg"
        )
        return call, f"compiled {backend.name} kernel (jit={jit})"
    return call, f"compiled (jit={jit})"


def _user_column(net, grad):
    P = len(net.params)

    def call(theta, x, y):
        out = grad(theta.copy(), x.copy() if net.inputs else None, y.copy() if net.targets else None)
        loss = None
        if isinstance(out, (tuple, list)) and len(out) == 2 and (out[0] is None or np.ndim(out[0]) == 0) and np.size(out[1]) == P:
            loss, out = out
        g = np.asarray(out, dtype=np.float64)
        if g.size != P or max(g.shape, default=P) != P:
            raise ShapeError(
                f"grad= returned an array of shape {g.shape}; expected ({P},), one value per parameter in net.params order", token="grad"
            )
        return (None if loss is None else float(loss)), g.reshape(P)

    return call


def _sample(net, params, x, y, count, rng, margin, notes):
    """The points: given values where given, random elsewhere, resampled away from kinks and overflow."""
    given = [v is not None or not syms for v, syms in ((params, net.params), (x, net.inputs), (y, net.targets))]
    if all(given):
        count = 1
    points = []
    for k in range(count):
        for _ in range(1000):
            theta = rng.uniform(-1, 1, len(net.params)) if params is None else params
            xs = rng.uniform(-1, 1, len(net.inputs)) if x is None else x
            ys = rng.uniform(0, 1, len(net.targets)) if y is None else y
            theta, xs, ys = as_arrays(net, theta, xs, ys)
            f = forward(net, theta, xs, ys)
            with np.errstate(all="ignore"):
                loss, g = f.loss, f.backward()
            finite = math.isfinite(loss) and np.all(np.isfinite(g))
            if all(given):
                if not finite:
                    raise SymgradError(f"the loss or its gradient is not finite at the given point (loss = {loss})", token="params")
                where, gap = f.nearest_kink
                if gap < margin:
                    notes.append(f"the given point is {gap:.2g} from the kink of {where}; finite differences may disagree there")
            if all(given) or (finite and f.kink_distance >= margin):
                points.append(dict(params=theta, x=xs, y=ys, loss=loss, backprop=g))
                break
        else:
            raise SymgradError(f"found no point where the loss is finite and {margin:g} away from every kink in 1000 tries", token=net.name)
    return points


# --------------------------------------------------------------------------- comparing


def _refine(pt, f, theta, t) -> None:
    """Central differences where they miss their tolerance, taken again to fourth order.

    Where a sigmoid or a cross-entropy saturates, the loss curves sharply and a central
    difference errs by h²·f‴/6 well beyond its tolerance, though every other column
    agrees (a 4-3-3-2 network at weights × 60: 4e-5 relative). Richardson extrapolation
    at the same step, (4·D(h/2) − D(h))/3, cancels that term; the refined value replaces
    the first one. A real mistake in a column (1% off) is as far from either estimate.
    """
    fd, ref = pt["finite_diff"], pt["backprop"]
    missed = np.nonzero(~(np.abs(fd - ref) <= _tolerances("finite_diff", ref, pt["loss"], t)))[0]
    if len(missed):
        steps = step_sizes(theta)
        for i in missed:
            e = np.zeros_like(theta)
            e[i] = 1.0
            fd[i] = directional_derivative(f, theta, e, richardson=True, step=steps[i])


def _tolerances(leg, ref, loss, t):
    if leg == "finite_diff":
        return t["fd_atol"] * max(1.0, abs(loss)) + t["fd_rtol"] * np.abs(ref)
    return t["atol"] + t["rtol"] * np.abs(ref)


def _score(err, tol) -> float:
    """Error over tolerance: above 1 fails; a NaN (a column that gave NaN) fails too."""
    if err <= tol:
        return float(err / tol) if tol > 0 else 0.0
    return float(err / tol) if tol > 0 and math.isfinite(err) else math.inf


def _rows(net, points, legs, t):
    """One row per parameter, at the point and column where it is furthest outside its tolerance."""
    rows = []
    for i, p in enumerate(net.params):
        best = None
        for k, pt in enumerate(points):
            ref = pt["backprop"][i]
            scores = {
                leg: _score(abs(pt[leg][i] - ref), _tolerances(leg, ref, pt["loss"], t))
                for leg in legs
                if leg != "backprop" and pt.get(leg) is not None
            }
            leg = max(scores, key=scores.get, default="")
            score = scores.get(leg, 0.0)
            if best is None or score > best[0]:
                best = (score, k, leg, scores)
        score, k, leg, scores = best
        pt = points[k]
        value = {c: (float(pt[c][i]) if pt.get(c) is not None else None) for c in ("symbolic", "backprop", "finite_diff", "user")}
        err = abs(value[leg] - value["backprop"]) if leg else 0.0
        scale = max(abs(value[leg]), abs(value["backprop"])) if leg else 0.0
        rows.append(
            CheckRow(
                param=p.name,
                **value,
                abs_err=err,
                rel_err=err / scale if scale else 0.0,
                ok=score <= 1.0,
                leg=leg,
                point=k,
                score=score,
                suspects=_suspects(value, scores, pt["loss"], t),
            )
        )
    return rows


def _suspects(value, scores, loss, t):
    """The columns most likely wrong, by who agrees with whom.

    A column that disagrees with backprop is the suspect when some other column sides
    with backprop against it; when the only other witness is too loose to tell (finite
    differences within their tolerance of both), backprop is suspected too; and when
    every other column disagrees with backprop but they agree among themselves, backprop
    alone is the suspect.
    """

    def agree(a, b):
        loose = "finite_diff" in (a, b)
        scale = max(abs(value[a]), abs(value[b]))
        tol = t["fd_atol"] * max(1.0, abs(loss)) + t["fd_rtol"] * scale if loose else t["atol"] + t["rtol"] * scale
        return abs(value[a] - value[b]) <= tol

    bad = [leg for leg, s in scores.items() if s > 1.0]
    if len(scores) >= 2 and len(bad) == len(scores) and all(agree(a, b) for a in bad for b in bad):
        return ("backprop",)
    out = []
    for leg in bad:
        witnesses = [w for w in scores if w not in bad]
        out += [leg] if any(not agree(w, leg) for w in witnesses) else [leg, "backprop"]
    return tuple(dict.fromkeys(out))


def _check_options(**options) -> None:
    """Counts are positive integers, the seed a non-negative integer (or None), tolerances
    non-negative numbers: anything else names the option (and its [check] key in a spec)."""
    for key, value in options.items():
        if key in ("points", "directions"):
            ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 1
            want = "a positive integer"
        elif key == "seed":
            ok = value is None or (isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= 0)
            want = "a non-negative integer (or None)"
        elif key == "richardson":
            ok, want = isinstance(value, (bool, np.bool_)), "True or False"
        else:
            ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
            want = "a non-negative number"
        if not ok:
            raise SymgradError(f"{key} must be {want}, not {type(value).__name__} {value!r}", token=key)


def check(
    net,
    grad=None,
    params=None,
    x=None,
    y=None,
    points: int = 3,
    rtol: float = RTOL,
    atol: float = ATOL,
    seed=None,
    *,
    fd_rtol: float = FD_RTOL,
    fd_atol: float = FD_ATOL,
    symbolic: str | None = "auto",
    fd: str | None = "auto",
    richardson: bool = False,
    directions: int = 8,
    kink_margin: float = KINK_MARGIN,
    order: int = 1,
) -> CheckReport:
    """Compare the symbolic gradient, the numeric backprop, finite differences and ``grad`` (if given).

    ``grad`` is any callable ``(params, x, y) -> (loss, grad)`` (or just ``grad``; ``loss``
    may be None), receiving 1-D float64 arrays (``x``/``y`` None when the network has none).
    ``params``, ``x``, ``y`` fix those values; what is not given is drawn at random at each
    of ``points`` points (parameters and inputs uniform in [−1, 1], targets in [0, 1]),
    resampled until every kink is ``kink_margin`` away. ``symbolic``: ``"auto"`` or ``"compiled"``
    (the generated module run without numba, ``net.compile(jit=False)``), ``"jit"`` (with
    numba) or None (``"lambdify"`` is kept as another name for ``"compiled"``). ``fd``: ``"full"`` (one central difference per parameter),
    ``"directional"`` (``directions`` random directions per point), ``"auto"`` (full up to
    300 parameters) or None. Tolerances: see the module docstring. ``order=2`` checks
    second derivatives instead (:func:`symgrad.crosscheck.second_order.check_second_order`).

    >>> import symgrad as sg
    >>> rep = check(sg.mlp([2, 2, 1], activation="relu"), seed=1)
    >>> rep.ok, len(rep.rows), rep.rows[0].param
    (True, 9, 'W1_1_1')
    """
    if order == 2:  # the Hessian-vector product against finite differences of the numeric gradient
        return check_second_order(net, points=points, seed=seed)
    if order != 1:
        raise SymgradError(f"order must be 1 (gradients) or 2 (Hessian-vector products), not {order!r}", token=str(order))
    if fd not in ("auto", "full", "directional", None):
        raise SymgradError(f"fd must be 'auto', 'full', 'directional' or None, not {fd!r}", token=str(fd))
    _check_options(points=points, directions=directions, seed=seed, rtol=rtol, atol=atol, fd_rtol=fd_rtol, fd_atol=fd_atol,
                   kink_margin=kink_margin, richardson=richardson)
    rng = np.random.default_rng(seed)
    notes: list[str] = []
    tol = dict(rtol=rtol, atol=atol, fd_rtol=fd_rtol, fd_atol=fd_atol)
    pts = _sample(net, params, x, y, points, rng, kink_margin, notes)
    sym, method = _symbolic_column(net, symbolic, notes)
    user = _user_column(net, grad) if grad is not None else None
    if fd == "auto":
        fd = "full" if len(net.params) <= FD_MAX_PARAMS else "directional"
    legs = tuple(leg for leg, on in (("user", user), ("symbolic", sym), ("backprop", True), ("finite_diff", fd == "full")) if on)
    loss_errors, directional = [], []
    for k, pt in enumerate(pts):
        theta, xs, ys = pt["params"], pt["x"], pt["y"]
        for leg, column in (("symbolic", sym), ("user", user)):
            if column is None:
                continue
            loss, g = column(theta, xs, ys)
            pt[leg] = g
            if loss is not None and not abs(loss - pt["loss"]) <= atol + rtol * abs(pt["loss"]):
                loss_errors.append(f"{_LEG_TITLES[leg]} loss {loss:.10g} differs from backprop's {pt['loss']:.10g} at point {k}")

        def f(t):
            return numeric_loss(net, t, xs, ys)

        if fd == "full":
            pt["finite_diff"] = central_difference(f, theta, richardson=richardson)
            if not richardson:
                _refine(pt, f, theta, tol)
        elif fd == "directional":
            columns = [c for c in ("user", "symbolic", "backprop") if pt.get(c) is not None]
            tol_dir = fd_atol * max(1.0, abs(pt["loss"])) + fd_rtol * float(np.linalg.norm(pt["backprop"]))
            for _ in range(directions):
                v = rng.standard_normal(len(theta))
                v /= np.linalg.norm(v)
                d = directional_derivative(f, theta, v, richardson=richardson)
                directional.append(DirectionalRow(k, float(d), {c: float(pt[c] @ v) for c in columns}, tol_dir))
    return CheckReport(
        network=net.name,
        rows=_rows(net, pts, legs, tol),
        points=[{key: pt[key] for key in ("params", "x", "y", "loss")} for pt in pts],
        legs=legs,
        symbolic_method=method,
        tolerances=tol,
        directional=directional,
        loss_errors=loss_errors,
        notes=notes,
    )


def check_spec(spec, **overrides) -> CheckReport:
    """Check the network of a loaded spec file (:func:`symgrad.model.spec.load_spec`).

    The spec's ``[check]`` table holds :func:`check`'s keyword arguments (``points = 5``,
    ``seed = 0``, ``rtol = 1e-9``...), a key check does not know being a SpecError;
    ``overrides`` take precedence. Without ``params`` there, the spec's ``[point]`` (if any)
    is the point checked. ``symgrad check SPEC`` prints the report and exits with
    ``report.exit_code``.

    >>> from symgrad.model.spec import spec_from_dict
    >>> spec = spec_from_dict({"network": {"expr": "(x1*x2 - 3)**2 + 1", "params": "x1 x2"},
    ...                        "check": {"points": 2, "seed": 0}})
    >>> rep = check_spec(spec)
    >>> rep.ok, len(rep.points), rep.exit_code
    (True, 2, 0)
    """
    options = dict(spec.extra.get("check", {}))
    known = sorted(set(inspect.signature(check).parameters) - {"net", "grad"})
    unknown = sorted(set(options) - set(known))
    where = f"{spec.path}: " if getattr(spec, "path", None) else ""
    if unknown:
        raise SpecError(f"{where}[check] has an unknown key {unknown[0]!r} (known: {', '.join(known)})", token=unknown[0])
    try:
        _check_options(**{k: v for k, v in options.items() if k in _OPTION_KEYS})
    except SymgradError as exc:
        raise SpecError(f"{where}[check] {exc}", token=exc.token) from None
    options.update(overrides)
    net, point = spec.network, spec.point
    if point is not None and options.get("params") is None:
        options.update(params=point.params, x=point.x if net.inputs else None, y=point.y if net.targets else None)
    return check(net, **options)
