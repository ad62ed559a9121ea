"""``qevo convert IN OUT``: between the qevo JSON/.npz formats, dimod BQM JSON, COO and qbsolv."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    from qevo_ir.cli.commands._common import add_reader_options
    from qevo_ir.formats import formats_help

    p = sub.add_parser(
        "convert",
        help="convert a Hamiltonian between file formats",
        description="Convert a Hamiltonian file. The input format is detected from the content; "
        "the output format comes from OUT's extension or --to.\n\n" + formats_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("file", metavar="IN")
    p.add_argument("output", metavar="OUT")
    p.add_argument("--from", dest="in_format", metavar="NAME", help="input format (skip detection)")
    p.add_argument("--to", dest="out_format", metavar="NAME", help="output format")
    p.add_argument(
        "--vartype", choices=["SPIN", "BINARY"], help="vartype of a COO input without a header"
    )
    add_reader_options(p)
    p.add_argument(
        "--drop-labels",
        action="store_true",
        help="allow writing a labelled problem to COO/qbsolv (labels become indices)",
    )
    p.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from qevo_ir.atomic import check_new
    from qevo_ir.formats import read_hamiltonian, write_hamiltonian

    check_new(args.output, args.force)
    ham = read_hamiltonian(
        args.file,
        format=args.in_format,
        vartype=args.vartype,
        index_base=args.index_base,
        gset_meaning=args.gset_meaning,
    )
    write_hamiltonian(
        ham, args.output, args.out_format, force=args.force, drop_labels=args.drop_labels
    )
    print(
        f"wrote {args.output} ({ham.num_variables} variables, {ham.num_interactions} interactions)"
    )
    return 0
