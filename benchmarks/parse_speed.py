"""Parsing time: symgrad's arithmetic reader vs sympy's parse_expr (what it replaced).

Run: python benchmarks/parse_speed.py [--repeats 5]

For sums of n terms ``w0*x + w1*x + …`` (and a product of n factors), prints the
median time of each reader, measured interleaved in the same process, their ratio, and
the machine's load. parse_expr is quadratic in n (each ``a + b`` re-flattens the sum
so far) and recurses into Python's limit near 3,000 terms; the reader is linear.
Target (issue 15): the reader's time grows linearly (4x the terms, about 4x the time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sympy  # noqa: E402
from sympy.core.cache import clear_cache  # noqa: E402
from sympy.parsing.sympy_parser import auto_number, convert_xor, parse_expr, rationalize  # noqa: E402

from symgrad.model.equations import function_table, parse_expression  # noqa: E402
from symgrad.model.names import real_symbol  # noqa: E402

_TABLE = function_table(None)


def _python_reading(text: str, names: dict):
    namespace = {"Integer": sympy.Integer, "Float": sympy.Float, "Rational": sympy.Rational, "__builtins__": {}}
    return parse_expr(text, local_dict={**names, **_TABLE}, global_dict=namespace, transformations=(auto_number, rationalize, convert_xor))


def _timed(run) -> float:
    clear_cache()  # sympy caches built expressions: each run starts cold, as a first reading does
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(f"load average: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    names = {f"w{i}": real_symbol(f"w{i}") for i in range(12_000)} | {"x": real_symbol("x")}
    print(f"{'text':<22} {'reader (s)':>11} {'parse_expr (s)':>15} {'ratio':>7}")
    for kind, n in [("sum", 250), ("sum", 1000), ("sum", 2000), ("sum", 4000), ("sum", 12000), ("product", 500), ("product", 4000)]:
        text = (" + ".join(f"w{i}*x" for i in range(n))) if kind == "sum" else "*".join(f"w{i}" for i in range(n))
        ours, theirs = [], []
        for _ in range(args.repeats):  # interleaved, so that the machine's load falls on both alike
            ours.append(_timed(lambda: parse_expression(text, names, _TABLE, where="bench")))
            if n <= (2000 if kind == "sum" else 500):
                theirs.append(_timed(lambda: _python_reading(text, names)))
        a = statistics.median(ours)
        b = statistics.median(theirs) if theirs else float("nan")
        other = f"{b:15.3f} {b / a:7.1f}" if theirs else f"{'(recursion)':>15} {'':>7}"
        print(f"{kind + ' of ' + str(n):<22} {a:11.3f} {other}")


if __name__ == "__main__":
    main()
