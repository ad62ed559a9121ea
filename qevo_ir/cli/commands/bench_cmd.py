"""``qevo bench``: run the side-by-side benchmarks in ``benchmarks/`` (a source checkout)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from qevo_ir.errors import QevoError


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="run the benchmarks against the peers (source checkout)",
        description="Run benchmarks/ (the same as 'python -m benchmarks'): each workload beside "
        "the peer a user would otherwise pick, medians and ratios, JSON and a Markdown table. "
        "Peers install with: pip install -e '.[bench]'. Arguments after 'bench' go to the "
        "harness; 'qevo bench -- --help' lists them.",
    )
    p.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the benchmark harness")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import qevo_ir

    root = Path(qevo_ir.__file__).resolve().parent.parent
    if not (root / "benchmarks" / "__main__.py").is_file():
        raise QevoError(
            "the benchmarks live in the source checkout (benchmarks/); clone the repository and "
            "install it with pip install -e '.[bench]'"
        )
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    from benchmarks.run import main as bench_main

    forwarded = [a for a in args.args if a != "--"]
    return int(bench_main(forwarded) or 0)
