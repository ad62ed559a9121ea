"""``qevo example [NAME] [-o PATH]``: write a small example problem, so the quickstart has a file.

The examples are built by code (nothing is downloaded, nothing depends on the checkout): the
format of the written file comes from the extension of ``PATH`` (``.json``, ``.npz``,
``.bqm.json``, ``.coo``, ``.qubo``, ``.gset``), as for ``qevo convert``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

__all__ = ["EXAMPLES", "add_parser", "example_hamiltonian"]


def _ring10() -> Any:
    from qevo_ir.cli.commands.demo_cmd import demo_hamiltonian

    return demo_hamiltonian()


def _petersen() -> Any:
    """Max-cut of the Petersen graph as Ising: E = Σ_(ij) (s_i s_j - 1)/2 = -cut (max cut 12)."""
    import numpy as np

    from qevo_ir.hamiltonian import Hamiltonian

    outer = [(i, (i + 1) % 5) for i in range(5)]
    spokes = [(i, i + 5) for i in range(5)]
    inner = [(5 + i, 5 + (i + 2) % 5) for i in range(5)]
    edges = np.array(sorted(tuple(sorted(e)) for e in outer + spokes + inner))
    w = np.full(len(edges), 0.5)
    return Hamiltonian(np.zeros(10), edges[:, 0], edges[:, 1], w, -0.5 * len(edges), vartype="SPIN")


#: name -> (what it is, builder, default file name)
EXAMPLES: dict[str, tuple[str, Callable[[], Any], str]] = {
    "ring10": (
        "the 'qevo demo' problem: a frustrated 10-spin ring with next-nearest couplings and "
        "small fields, labels s0..s9 (SPIN)",
        _ring10,
        "ring10.qevo.json",
    ),
    "petersen": (
        "max-cut of the Petersen graph (10 vertices, 15 edges) as Ising, energy = -cut; "
        "ground energy -12",
        _petersen,
        "petersen.gset",
    ),
}


def example_hamiltonian(name: str) -> Any:
    """The example Hamiltonian called ``name`` (case-insensitive)."""
    from qevo_ir.advice import match_name, unknown_name
    from qevo_ir.errors import ValidationError

    key = match_name(name, EXAMPLES)
    if key is None:
        raise ValidationError(unknown_name("example", name, EXAMPLES))
    return EXAMPLES[key][1]()


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "example",
        help="write a small example problem file (for the quickstart)",
        description="Write an example Hamiltonian to PATH (format from the extension, as for "
        "'qevo convert'). Without NAME, list the examples.\n\n"
        + "\n".join(f"  {k:<10} {v[0]}" for k, v in EXAMPLES.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("name", metavar="NAME", nargs="?", help="example to write")
    p.add_argument("-o", "--output", metavar="PATH", help="file to write (default: NAME's file)")
    p.add_argument(
        "--drop-labels",
        action="store_true",
        help="allow writing a labelled example to an index-only format (COO, qbsolv, gset)",
    )
    p.add_argument("--force", action="store_true", help="overwrite PATH if it exists")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from qevo_ir.atomic import check_new
    from qevo_ir.formats import write_hamiltonian

    if args.name is None:
        for key, (what, _, default) in EXAMPLES.items():
            print(f"{key:<10} {default:<18} {what}")
        return 0
    ham = example_hamiltonian(args.name)
    key = next(k for k in EXAMPLES if k.casefold() == args.name.casefold())
    out = args.output or EXAMPLES[key][2]
    check_new(out, args.force)
    write_hamiltonian(ham, out, force=args.force, drop_labels=args.drop_labels)
    print(f"wrote {out} ({ham.num_variables} variables, {ham.num_interactions} interactions)")
    return 0
