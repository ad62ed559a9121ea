"""``qevo verify OUTDIR``: re-check every artifact of a compile against its IR."""

from __future__ import annotations

import argparse
from typing import Any

from qevo_ir.cli.output import emit_json

EXIT_MISMATCH = 1


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "verify",
        help="re-check compiled artifacts against the IR",
        description=(
            "Read back every artifact in a 'qevo compile' output directory (in a worker process "
            "with memory and time limits) and check it against the compiled IR: BQM energies on "
            "every assignment (n <= 14, else sampled), QAOA phases and states against the fast "
            "path, exact.json re-derived. Exits 1 on any mismatch, naming it; 2 on bad input."
        ),
    )
    p.add_argument("directory", metavar="OUTDIR")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from qevo_ir.verify import verify_directory

    results = verify_directory(args.directory)
    ok = all(r.ok for r in results)
    if args.json:
        emit_json(
            {"directory": args.directory, "ok": ok, "checks": [r.to_dict() for r in results]},
            kind="qevo-verify",
        )
    else:
        for r in results:
            print(r.line())
        print("verified: every check passed" if ok else "verification FAILED")
    return 0 if ok else EXIT_MISMATCH
