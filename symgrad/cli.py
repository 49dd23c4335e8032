"""The ``symgrad`` command: derive, report, compile, check, verify and train, each on a TOML spec.

Exit codes: 0 ok, 1 a check or verification failed, 2 unusable input (an error is
printed as one line; ``--debug`` shows the traceback).

>>> main(["derive", "examples/quadratic.toml", "--param", "x1"])
\\frac{\\partial f}{\\partial x_{1}} = 2 x_{2} \\left(x_{1} x_{2} - 3\\right)
0
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

import numpy as np

from ._version import __version__
from .deep import call_deep
from .errors import SymgradError
from .model.spec import Spec, load_spec
from .present.latex import expr_latex, partial_latex, symbol_latex
from .present.text import expr_text, name_text

__all__ = ["main", "build_parser"]

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2


# --------------------------------------------------------------------------- commands


#: The "schema" of each --json document (docs/json.md); the number changes when a field
#: changes meaning or goes away, not when one is added.
JSON_SCHEMAS = {"derive": "symgrad-derive/1", "check": "symgrad-check/1", "verify": "symgrad-verdict/1",
                "verify --document": "symgrad-document/1"}


def _print_json(command: str, spec: Spec, document: dict) -> None:
    print(json.dumps({"schema": JSON_SCHEMAS[command], "spec": spec.name, **document}, ensure_ascii=False, indent=2))


def _cmd_derive(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    net = spec.network
    params = [net.parameter(args.param)] if args.param else list(net.params)
    grads = net.gradients()
    if args.json:
        _print_json("derive", spec, {
            "network": net.name,
            "loss": net.loss.name,
            "params": [p.name for p in net.params],
            "form": args.form,
            "derivatives": [grads[p.name].to_dict(args.form) for p in params],
        })
        return EXIT_OK
    text = args.form in ("text", "text-delta")
    if not args.param:
        comment = "#" if text else "%"
        print(f"{comment} {spec.name}: {len(net.params)} parameters, {len(net.steps)} steps")
        for st in net.steps:
            if text:
                print(f"{comment} {name_text(st.target.name)} = {expr_text(st.expr)}")
            else:
                print(f"{comment} {symbol_latex(st.target)} = {expr_latex(st.expr)}")
    for p in params:
        if text:
            print(grads[p.name].text("delta" if args.form == "text-delta" else "factored"))
            continue
        body = grads[p.name].latex(args.form)
        if args.form in ("chain", "delta"):
            print(body)
        else:
            print(f"{partial_latex(net.loss, p)} = {body}")
    return EXIT_OK


def _check(spec: Spec, args: argparse.Namespace):
    from .crosscheck.check import check_spec

    # The spec's [check] table and [point] apply unless the command line overrides them;
    # the command checks the numba kernel itself unless the spec asks otherwise.
    overrides = {k: v for k, v in (("points", args.points), ("seed", args.seed)) if v is not None}
    if "symbolic" not in spec.extra.get("check", {}):
        overrides["symbolic"] = "jit"
    return check_spec(spec, **overrides)


def _cmd_report(args: argparse.Namespace) -> int:
    from .present.report import Report, format_for_path

    spec = load_spec(args.spec)
    fmt = format_for_path(args.output) if args.output else args.format
    history = _train(spec, args) if args.train else None
    rep = None if args.no_check else _check(spec, args)
    report = Report(spec.network, check_report=rep, title=f"Gradients of {spec.name}", description=spec.description,
                    pictures=not args.no_pictures, history=history, data=_data(spec))
    if args.output:
        report.save(args.output)
        print(f"wrote {args.output} ({fmt}, {len(spec.network.params)} parameters)" + ("" if rep is None else f"; check: {'OK' if rep.ok else 'FAILED'}"))
    else:
        print(report.render(fmt), end="")
        if sys.stdout.isatty():
            print("symgrad: that was the report as Markdown; write a file with -o report.html (or .pdf, .tex, .md)", file=sys.stderr)
    return EXIT_OK if rep is None or rep.ok else EXIT_FAILED


def _cmd_compile(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    net = spec.network
    dtype = np.float32 if args.dtype == "float32" else np.float64
    f = net.compile(dtype=dtype, jit=not args.no_jit, jit_after=0)  # with numba: compiled now, and in numba's cache
    print(f"compiled {spec.name}: {len(net.params)} parameters ({', '.join(p.name for p in net.params[:8])}{', ...' if len(net.params) > 8 else ''})")
    if args.output:
        path = f.save(args.output)
        print(f"wrote {path} (needs only numpy and numba)")
    if spec.point is not None:
        point = spec.point
        loss, g = f(point.params, point.x if net.inputs else None, point.y if net.targets else None)
        print(f"at the spec's point: loss = {loss:.12g}")
        for p, v in zip(net.params, g):
            print(f"  dL/d{p.name} = {v:.12g}")
    return EXIT_OK


def _cmd_check(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    rep = _check(spec, args)
    if args.json:
        _print_json("check", spec, rep.to_dict())
    else:
        print(rep)
    return rep.exit_code


def _parse_at(text: str | None) -> dict[str, float]:
    if not text:
        return {}
    out = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep:
            raise SymgradError(f"--at expects name=value pairs separated by commas, got {item!r}", token=item)
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise SymgradError(f"--at: {value!r} is not a number (for {name.strip()!r})", token=value) from None
    return out


def _cmd_verify(args: argparse.Namespace) -> int:
    from .verification.document import verify_document
    from .verification.verify import verify, verify_value

    spec = load_spec(args.spec)
    net = spec.network
    claims = [c for c in (args.latex, args.expr, args.value, args.document) if c is not None]
    if len(claims) != 1:
        raise SymgradError("give exactly one of --latex, --expr, --value or --document", token="--latex")
    if args.document is not None:
        report = verify_document(net, Path(args.document).read_text(encoding="utf-8"))
        if args.json:
            _print_json("verify --document", spec, report.to_dict())
        else:
            print(report)
        return report.exit_code
    if args.param is None and args.latex is None:
        raise SymgradError("--expr and --value need --param, the parameter they are the derivative of", token="--param")
    if args.value is not None:
        # Passed as written: "4.50" claims three significant digits, "4.5" two.
        verdict = verify_value(net, args.param, args.value, at=_parse_at(args.at))
    else:
        kind = "latex" if args.latex is not None else "python"
        verdict = verify(net, args.param, args.latex if args.latex is not None else args.expr, kind=kind)
    if args.json:
        _print_json("verify", spec, verdict.to_dict())
    else:
        print(verdict)
    return verdict.exit_code


def _initial_params(spec: Spec, seed: int | None) -> np.ndarray:
    train = spec.train
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise SymgradError(f"the seed must be a non-negative integer, not {seed!r}", token=str(seed))
    if "params0" in train:
        p0 = np.asarray(train["params0"], dtype=float)
        if p0.shape != (len(spec.network.params),):
            raise SymgradError(f"[train] params0 has shape {p0.shape}, expected ({len(spec.network.params)},)", token="params0")
        return p0
    if seed is None and spec.point is not None:
        return spec.point.params.copy()
    rng = np.random.default_rng(seed)
    return rng.uniform(-1.0, 1.0, size=len(spec.network.params))


def _data(spec: Spec):
    return (spec.data["X"], spec.data["Y"]) if spec.data else None


def _train(spec: Spec, args: argparse.Namespace):
    """Gradient descent as the spec's [train] table says, the command line overriding it."""
    from .train import gradient_descent

    train = spec.train
    seed = getattr(args, "seed", None)
    seed = seed if seed is not None else train.get("seed")
    lr = getattr(args, "lr", None) or train.get("lr")
    epochs = getattr(args, "epochs", None)
    epochs = epochs if epochs is not None else train.get("epochs")
    if lr is None or epochs is None:
        raise SymgradError("training needs a learning rate and a number of epochs ([train] lr, epochs or --lr, --epochs)", token="train")
    mode = getattr(args, "mode", None) or train.get("mode", "batch")
    return gradient_descent(spec.network, _initial_params(spec, seed), _data(spec), lr=float(lr), epochs=int(epochs), mode=mode, seed=seed)


def _cmd_train(args: argparse.Namespace) -> int:
    spec = load_spec(args.spec)
    net = spec.network
    hist = _train(spec, args)
    print(hist.summary())
    for p, v in zip(net.params, hist.final_params):
        print(f"  {p.name} = {v:.10g}")
    if args.plot:
        hist.plot(args.plot, title=f"{spec.name}: {hist.mode} descent, lr={hist.lr:g}")
        print(f"wrote {args.plot}")
    return EXIT_OK


# --------------------------------------------------------------------------- parser


def _global_options(parser: argparse.ArgumentParser, default) -> None:
    """The options every command takes, before or after its name."""
    parser.add_argument("--debug", action="store_true", default=default, help="show the full traceback on errors")


def _add(sub, name: str, help: str, example: str, run, *, json_output: bool = False) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=help, epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("spec", help="a TOML spec file (see examples/)")
    # SUPPRESS: an option left out after the command keeps the value given before it.
    _global_options(p, argparse.SUPPRESS)
    if json_output:
        p.add_argument("--json", action="store_true", help="print one JSON document instead (schema: docs/json.md)")
    p.set_defaults(run=run)
    return p


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="symgrad",
        description="Exact, readable, verified and fast gradients of symbolically declared networks.",
    )
    parser.add_argument("--version", action="version", version=f"symgrad {__version__}")
    _global_options(parser, False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = _add(sub, "derive", "print each parameter's derivative as LaTeX", "symgrad derive examples/datawhale.toml --param w1 --form chain", _cmd_derive, json_output=True)
    p.add_argument("--param", help="only this parameter (default: all)")
    p.add_argument("--form", choices=("factored", "expanded", "chain", "delta", "text", "text-delta"), default="factored",
                   help="how to write each derivative: LaTeX factored, expanded, as a chain-rule derivation or with named adjoints δ (delta), or Unicode text (text-delta: with named adjoints)")

    p = _add(sub, "report", "derive, compile and check, and write it up (HTML, LaTeX, PDF or Markdown)", "symgrad report examples/datawhale.toml -o datawhale.html", _cmd_report)
    p.add_argument("-o", "--output", help="write to this file; .html, .tex, .pdf (runs pdflatex) or .md picks the format; "
                   ".tex and .md put their pictures in NAME_files/ (default: Markdown on stdout, without pictures)")
    p.add_argument("--format", choices=("md", "tex", "html"), default="md", help="format when writing to stdout")
    p.add_argument("--no-check", action="store_true", help="leave the gradient check out")
    p.add_argument("--points", type=int, help="random points for the check (default 3)")
    p.add_argument("--seed", type=int, help="random seed for the check's points (and, with --train, the initial parameters)")
    p.add_argument("--no-pictures", action="store_true", help="leave out the pictures of the network and its routes")
    p.add_argument("--train", action="store_true", help="train as the spec's [train] says and add the loss curve, the gradient norm "
                   "and, for 2 inputs and 1 target, the decision boundary")
    p.add_argument("--epochs", type=int, help="with --train: epochs (default: [train] epochs)")

    p = _add(sub, "compile", "compile the gradient with numba; export a standalone module", "symgrad compile examples/datawhale.toml -o grad_datawhale.py", _cmd_compile)
    p.add_argument("-o", "--output", help="write a standalone module (numpy + numba only) to this path")
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--no-jit", action="store_true", help="plain Python instead of numba (debugging)")

    p = _add(sub, "check", "compare symbolic, numeric backprop and finite-difference gradients", "symgrad check examples/mlp_3_4_2.toml --points 5", _cmd_check, json_output=True)
    p.add_argument("--points", type=int, help="how many random points (default 3; the spec's [point] is used when given)")
    p.add_argument("--seed", type=int, help="random seed for the points")

    p = _add(sub, "verify", "verify a hand derivation (LaTeX or Python syntax), a hand-computed value, or every derivation in a document",
             "symgrad verify examples/datawhale.toml --param w7 --latex '(\\hat{f}_1 - f_1) g(u_1)(1 - g(u_1)) h_1'\n"
             "  symgrad verify examples/datawhale.toml --document examples/datawhale_derivations.md", _cmd_verify, json_output=True)
    p.add_argument("--param", help="the parameter the claim differentiates by (a LaTeX claim may say it on its left side)")
    p.add_argument("--latex", help="the claimed derivative, as LaTeX")
    p.add_argument("--expr", help="the claimed derivative, in Python syntax")
    p.add_argument("--value", help="a claimed number (with --at)")
    p.add_argument("--at", help="the point of --value, as name=value,name=value")
    p.add_argument("--document", help="a Markdown or LaTeX file: check every derivation of the loss in it, line by line")

    p = _add(sub, "train", "gradient descent on the spec's data, with an optional loss plot", "symgrad train examples/xor.toml --seed 1 --epochs 20000 --plot loss.png", _cmd_train)
    p.add_argument("--lr", type=float, help="learning rate (default: [train] lr)")
    p.add_argument("--epochs", type=int, help="epochs (default: [train] epochs)")
    p.add_argument("--mode", choices=("sgd", "batch"), help="per-sample or whole-batch updates (default: [train] mode)")
    p.add_argument("--seed", type=int, help="seed for random initial parameters (default: the spec's [point] params)")
    p.add_argument("--plot", help="save the loss curve to this PNG")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        # In a worker with a large stack: a network thousands of steps deep prints and
        # derives without meeting Python's recursion limit part-way through the output.
        return call_deep(args.run, args)
    except BrokenPipeError:  # the reader (e.g. `| head`) went away: not an error
        sys.stdout = None
        return EXIT_OK
    except SymgradError as exc:
        if args.debug:
            raise
        print(f"symgrad: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except OSError as exc:  # an output file that cannot be written
        if args.debug:
            raise
        print(f"symgrad: error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
