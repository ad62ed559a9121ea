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
        "coo, qubo, gset)",
    )
    p.add_argument(
        "--vartype",
        choices=["SPIN", "BINARY"],
        help="vartype of a COO file that has no '# vartype=' header",
    )
    add_reader_options(p)


def add_reader_options(p: argparse.ArgumentParser) -> None:
    """``--index-base`` (COO) and ``--gset-meaning`` (G-set)."""
    p.add_argument(
        "--index-base",
        type=int,
        choices=[0, 1],
        help="COO: 1 for 1-based indices (a file without index 0 is refused unless this is given)",
    )
    p.add_argument(
        "--gset-meaning",
        choices=["maxcut", "qubo"],
        default="maxcut",
        help="G-set/rudy files: maxcut (default: SPIN, energy = -cut weight) or qubo "
        "(BINARY, E = sum of w x_i x_j)",
    )


def read_input(args: argparse.Namespace) -> Hamiltonian:
    from qevo_ir.formats import read_hamiltonian

    return read_hamiltonian(
        args.file,
        format=args.in_format,
        vartype=args.vartype,
        index_base=args.index_base,
        gset_meaning=args.gset_meaning,
    )


def json_label(label: object) -> object:
    return [json_label(x) for x in label] if isinstance(label, tuple) else label
