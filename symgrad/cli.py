"""The ``symgrad`` command.

Exit codes: 0 ok, 1 a check or verification failed, 2 unusable input (an error is
printed as one line; ``--debug`` shows the traceback).

>>> main(["derive", "examples/quadratic.toml", "--param", "x1"])
\\frac{\\partial f}{\\partial x_{1}} = 2 x_{2} \\left(x_{1} x_{2} - 3\\right)
0
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .errors import SymgradError
from .latex import expr_latex, symbol_latex
from .spec import load_spec

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2

_DERIVE_EXAMPLE = """example:
  symgrad derive examples/datawhale.toml --param w1 --form chain
"""


def _cmd_derive(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    net = spec.network
    params = [net.parameter(args.param)] if args.param else list(net.params)
    grads = net.gradients()
    loss = symbol_latex(net.loss)
    if not args.param:
        print(f"% {spec.name}: {len(net.params)} parameters, {len(net.steps)} steps")
        for st in net.steps:
            print(f"% {symbol_latex(st.target)} = {expr_latex(st.expr)}")
    for p in params:
        body = grads[p.name].latex(args.form)
        if args.form == "chain":
            print(body)
        else:
            print(rf"\frac{{\partial {loss}}}{{\partial {symbol_latex(p)}}} = {body}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symgrad",
        description="Exact, readable, verified and fast gradients of symbolically declared networks.",
    )
    parser.add_argument("--debug", action="store_true", help="show the full traceback on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    derive = sub.add_parser(
        "derive",
        help="print each parameter's derivative as LaTeX",
        epilog=_DERIVE_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    derive.add_argument("spec", help="a TOML spec file (see examples/)")
    derive.add_argument("--param", help="only this parameter (default: all)")
    derive.add_argument("--form", choices=("factored", "expanded", "chain"), default="factored", help="how to write each derivative")
    derive.set_defaults(run=_cmd_derive)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # the reader (e.g. `| head`) went away: not an error
        sys.stdout = None
        return EXIT_OK
    except SymgradError as exc:
        if args.debug:
            raise
        print(f"symgrad: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
