"""Bounded work: how long verify takes to reach a verdict or an error, per claim.

Run: python benchmarks/verify_budget.py [--repeat 3]

For a set of claims (the examples' derivations as printed, textbook notations, generic-
index and matrix formulas, slips that need a diagnosis, hostile inputs such as
10^{10^{10}} and a thousand nested braces), prints the median wall time of each verdict
over --repeat runs in this process, the slowest, and the machine's load. The target
(issue 13): every claim a verdict or an error within 2 s with the default budget (the
symbolic proof is given what is left of 1.8 s; refused inputs stop before evaluation).
Not an assertion: a shared machine's load shows in the numbers, so the load is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import symgrad as sg  # noqa: E402
from symgrad.errors import SymgradError  # noqa: E402
from symgrad.model.spec import load_spec  # noqa: E402


def claims():
    datawhale = load_spec(ROOT / "examples" / "datawhale.toml").network
    mlp = load_spec(ROOT / "examples" / "mlp_3_4_2.toml").network
    deep = load_spec(ROOT / "examples" / "deep_4_layer.toml").network
    quad = load_spec(ROOT / "examples" / "quadratic.toml").network
    notes = (ROOT / "examples" / "datawhale_derivations.md").read_text(encoding="utf-8")
    yield "datawhale w1 chain (symgrad's)", lambda: sg.verify(datawhale, "w1", datawhale.grad("w1").latex("chain"))
    yield "datawhale w6 misbracketed", lambda: sg.verify(datawhale, "w6", r"\{(\hat{f}_1 - f_1) \times [g(u_1) \times (1 - g(u_1)) \times w_8 + (\hat{f}_2 - f_2)] \times [g(u_3) \times (1 - g(u_3))] \times w_{10}\} \times i_3")
    yield "datawhale document", lambda: sg.verify_document(datawhale, notes)
    yield "bare superscripts", lambda: sg.verify(mlp, None, r"\frac{\partial L}{\partial w^2_{12}} = (a^2_1 - y_1) \sigma'(z^2_1) a^1_2")
    yield "generic (i, j), 12 values", lambda: sg.verify(mlp, None, r"\frac{\partial L}{\partial w^{(1)}_{ij}} = \left(\sum_k w^{(2)}_{ki} \delta^{(2)}_k\right) f'(u^{(1)}_i) x_j")
    yield "generic (l, j, k) on 4 layers", lambda: sg.verify(deep, None, r"\delta^{(l)}_j = \left(\sum_k w^{(l+1)}_{kj} \delta^{(l+1)}_k\right) f'(u^{(l)}_j) \\ \frac{\partial L}{\partial w^{(l)}_{jk}} = \delta^{(l)}_j a^{(l-1)}_k")
    yield "matrix δ recursion, slip", lambda: sg.verify(deep, None, r"\delta^{(l)} = W^{(l+1)} \delta^{(l+1)} \odot f'(u^{(l)})")
    yield "matrix form, row convention", lambda: sg.verify(deep, None, deep.matrix_form().latex("row"))
    yield "10^{10^{10}} x_2", lambda: sg.verify(quad, "x1", r"10^{10^{10}} x_2")
    yield "10**10**10*x2", lambda: sg.verify(quad, "x1", "10**10**10*x2")
    yield "1000 nested braces", lambda: sg.verify(quad, "x1", "{" * 1000 + "x_2" + "}" * 1000)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average {load:.2f} on {os.cpu_count()} cores; median of {args.repeat} runs")
    worst = 0.0
    for name, run in claims():
        times, outcome = [], ""
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            try:
                result = run()
                outcome = "holds" if result.ok else "refuted"
            except SymgradError as error:
                outcome = f"error: {str(error)[:50]}"
            times.append(time.perf_counter() - t0)
        median = statistics.median(times)
        worst = max(worst, max(times))
        print(f"  {median:6.3f} s  {name:32}  {outcome}")
    print(f"slowest single run: {worst:.3f} s (target: under 2 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
