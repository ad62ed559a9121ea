"""Arguments several commands share: input format hints."""

from __future__ import annotations

import argparse

from qevo_ir.hamiltonian import Hamiltonian


def add_input_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        dest="in_format",
        metavar="NAME",
        help="input format, when detection is not wanted (qevo-json, qevo-npz, dimod-json, "
        "coo, qubo)",
    )
    p.add_argument(
        "--vartype",
        choices=["SPIN", "BINARY"],
        help="vartype of a COO file that has no '# vartype=' header",
    )


def read_input(args: argparse.Namespace) -> Hamiltonian:
    from qevo_ir.formats import read_hamiltonian

    return read_hamiltonian(args.file, format=args.in_format, vartype=args.vartype)


def json_label(label: object) -> object:
    return [json_label(x) for x in label] if isinstance(label, tuple) else label
