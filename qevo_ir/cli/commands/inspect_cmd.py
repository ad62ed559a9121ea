"""``qevo inspect FILE``: sizes, vartype, density, coefficient ranges and dynamic range."""

from __future__ import annotations

import argparse
from typing import Any

from qevo_ir.cli.commands._common import add_input_options, read_input
from qevo_ir.cli.output import emit_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "inspect",
        help="describe a Hamiltonian file",
        description="Print the size, vartype, density, coefficient ranges and dynamic range "
        "(bits) of a Hamiltonian file in any supported format.",
    )
    p.add_argument("file", metavar="FILE")
    add_input_options(p)
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from qevo_ir.cli.commands.solve_cmd import is_constrained_file
    from qevo_ir.formats import detect_format
    from qevo_ir.report import dynamic_range_bits
    from qevo_ir.stats import describe

    if is_constrained_file(args):
        return _inspect_ommx(args)
    ham = read_input(args)
    info = {"file": args.file, "file_format": args.in_format or detect_format(args.file)}
    info.update(describe(ham))
    # stats.describe divides max|c| by min|c|, which overflows to inf for ratios past DBL_MAX
    # (and inf is not JSON); the difference of logs in qevo_ir.report cannot overflow.
    info["dynamic_range_bits"] = dynamic_range_bits(ham.linear, ham.quad)
    if args.json:
        emit_json(info, kind="qevo-inspect")
        return 0
    lin, quad = info["linear"], info["quadratic"]
    print(f"{args.file}  ({info['file_format']})")
    print(f"  vartype            {info['vartype']}")
    print(f"  variables          {info['num_variables']}")
    print(f"  interactions       {info['num_interactions']}  (density {info['density']:.4g})")
    print(f"  offset             {info['offset']!r}")
    print(f"  linear range       [{lin['min']}, {lin['max']}]")
    print(f"  quadratic range    [{quad['min']}, {quad['max']}]")
    print(f"  dynamic range      {info['dynamic_range_bits']:.2f} bits")
    deg = info["degree"]
    print(
        f"  degree             max {deg['max']}, mean {deg['mean']:.3g}, isolated {deg['isolated']}"
    )
    print(f"  components         {info['connected_components']}")
    print(f"  content hash       {info['content_hash'][:16]}…")
    return 0


def _inspect_ommx(args: argparse.Namespace) -> int:
    """An OMMX file: the constrained model's resources (variables and constraints by kind)."""
    from qevo_ir.cli.commands.solve_cmd import read_constrained

    model = read_constrained(args)
    fmt = "qplib" if str(args.file).lower().endswith(".qplib") else "ommx"
    info = {"file": args.file, "file_format": args.in_format or fmt, **model.resources()}
    info["content_hash"] = model.content_hash()
    if args.json:
        emit_json(info, kind="qevo-inspect")
        return 0
    print(f"{args.file}  ({info['file_format']})")
    for key in ("sense", "variables", "variables_by_kind", "constraints", "constraints_by_kind"):
        print(f"  {key.replace('_', ' '):<18} {info[key]}")
    print(f"  objective degree   {info['degree']} ({info['objective_terms']} terms)")
    print(f"  content hash       {info['content_hash'][:16]}…")
    return 0
