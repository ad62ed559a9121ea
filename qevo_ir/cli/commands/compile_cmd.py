"""``qevo compile FILE``: run a pipeline and write every target's artifacts plus report.json."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from qevo_ir.cli.commands._common import add_input_options, read_input
from qevo_ir.cli.output import emit_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "compile",
        help="compile a Hamiltonian to backend artifacts",
        description=(
            "Run a pipeline of passes and lower the result to one or more backends. Writes "
            "each artifact under a name saying what it holds (bqm.json, bqm.coo, qaoa.qasm, "
            "qaoa.qpy, qaoa.cirq.json, exact.json), the IRs (source.qevo.json, "
            "compiled.qevo.json) and report.json (source hash, pipeline, options, certified "
            "bounds, versions, variable table). Check them later with 'qevo verify OUTDIR'."
        ),
        epilog=(
            "pipeline syntax: steps 'name(key=value, ...)' joined by '|', e.g.\n"
            "  --pipeline 'sparsify(rel=1e-3) | precision(bits=5) | embed(topology=pegasus, m=6)'\n"
            "'qevo passes' lists every pass and its options."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="FILE")
    add_input_options(p)
    p.add_argument("--pipeline", "-p", default="", help="passes to run (default: none)")
    p.add_argument(
        "--target",
        "-t",
        default="exact",
        help="exact, dimod, qiskit, cirq, a comma-separated list, or all (default: exact)",
    )
    p.add_argument(
        "--layers",
        type=int,
        default=None,
        help="QAOA depth p (default 1, or the number of --gammas)",
    )
    p.add_argument("--gammas", type=_floats, help="bind QAOA cost angles, e.g. 0.1,0.2")
    p.add_argument("--betas", type=_floats, help="bind QAOA mixer angles")
    p.add_argument("-o", "--output", metavar="OUTDIR", required=True, help="output directory")
    p.add_argument("--force", action="store_true", help="overwrite an earlier compile in OUTDIR")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(run=run)


def _floats(text: str) -> list[float]:
    parts = text.split(",")
    try:
        if any(not x.strip() for x in parts):  # '' or '0.1,,0.2': an angle is missing
            raise ValueError
        return [float(x) for x in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers, got {text!r}"
        ) from None


def run(args: argparse.Namespace) -> int:
    from qevo_ir.compiler import check_energy_bound
    from qevo_ir.compiler import compile as compile_ir
    from qevo_ir.errors import ValidationError

    if (args.gammas is None) != (args.betas is None):
        raise ValidationError("--gammas and --betas go together")
    if args.gammas is not None and len(args.gammas) != len(args.betas):
        raise ValidationError("--gammas and --betas need the same number of angles")
    if args.gammas is not None and args.layers is not None and args.layers != len(args.gammas):
        raise ValidationError(
            f"--layers {args.layers} but {len(args.gammas)} angles in --gammas/--betas: give "
            "one angle pair per layer (or leave --layers out)"
        )
    if args.gammas is not None:
        layers = len(args.gammas)
    else:
        layers = 1 if args.layers is None else args.layers
    if layers < 1:
        raise ValidationError("--layers must be at least 1")
    from qevo_ir.cli.commands.solve_cmd import is_constrained_file, read_constrained

    if is_constrained_file(
        args
    ):  # a constrained model: lowered by penalize | quadratize unless given
        source: Any = read_constrained(args)
    else:
        source = read_input(args)
        check_energy_bound(source, args.file)
    compiled = compile_ir(
        source, args.pipeline, args.target, layers=layers, gammas=args.gammas, betas=args.betas
    )
    paths = compiled.write(args.output, force=args.force)
    if args.json:
        report = compiled.report
        report["written"] = [str(p) for p in paths]
        emit_json(report)
        return 0
    rep = compiled.report
    print(f"compiled {args.file} -> {args.output}")
    print(f"  pipeline   {rep['pipeline'] or '(none)'}")
    for entry in rep["passes"]:
        bound = "exact" if entry["exact"] else f"bound {entry['energy_bound']:.4g}"
        print(f"    {entry['name']:<12} {bound:<18} {entry['seconds'] * 1e3:8.2f} ms")
        for warning in (entry.get("details") or {}).get("warnings", []):
            print(f"qevo: warning: {entry['name']}: {warning}", file=sys.stderr)
    print(f"  targets    {', '.join(compiled.natives)}")
    for name, why in compiled.skipped.items():
        print(f"  skipped    {name}: {why}")
    for p in paths:
        print(f"  wrote      {p}")
    return 0
