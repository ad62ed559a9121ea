"""Command line of the benchmark harness: pick the mode and workloads, run, print, write files.

``python -m benchmarks [--quick | --micro] [--only NAME ...] [--out DIR]`` prints the Markdown
table and writes ``bench.json`` and ``bench.md`` into ``--out``. ``qevo bench`` calls
:func:`main` with the same arguments.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from benchmarks.harness import MODES, Context, Mode, Report, Row, machine_info
from benchmarks.workloads import WORKLOADS, load
from qevo_ir.atomic import atomic_write_text

__all__ = ["build_parser", "main", "run_workloads"]

DEFAULT_REPEAT = {"micro": 1, "quick": 3, "full": 5}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="qevo_ir beside its peers: medians, speed-ups and targets.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--quick", action="store_const", const="quick", dest="mode", help="CI size, < 60 s"
    )
    mode.add_argument(
        "--micro", action="store_const", const="micro", dest="mode", help="smoke test, seconds"
    )
    mode.add_argument("--mode", choices=MODES, dest="mode", help="micro, quick or full (default)")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=list(WORKLOADS),
        metavar="NAME",
        help=f"run only these workloads: {', '.join(WORKLOADS)}",
    )
    parser.add_argument("--repeat", type=int, help="timed runs per measurement (median)")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("bench-results"),
        help="directory for bench.json and bench.md (default: ./bench-results)",
    )
    parser.add_argument("--no-write", action="store_true", help="print only, write no files")
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    return parser


def run_workloads(ctx: Context, names: list[str]) -> Report:
    """Run ``names`` in order; a workload that raises is reported under ``errors``."""
    start = time.perf_counter()
    rows: list[Row] = []
    errors: dict[str, str] = {}
    for name in names:
        if ctx.verbose:
            print(f"== {name}: {WORKLOADS[name]}", file=sys.stderr, flush=True)
        try:
            rows += load(name)(ctx)
        except Exception as exc:  # a broken peer must not hide the other workloads
            errors[name] = f"{type(exc).__name__}: {exc}"
            if ctx.verbose:
                traceback.print_exc()
    return Report(ctx.mode, rows, machine_info(), time.perf_counter() - start, errors)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks; returns 0, or 1 when a workload failed with an error."""
    args = build_parser().parse_args(argv)
    mode: Mode = args.mode or "full"
    repeat = args.repeat if args.repeat else DEFAULT_REPEAT[mode]
    ctx = Context(mode=mode, repeat=repeat, seed=args.seed, verbose=not args.quiet)
    names = list(args.only) if args.only else list(WORKLOADS)
    report = run_workloads(ctx, names)
    markdown = report.to_markdown()
    text = report.dumps()
    print(text if args.json else markdown, end="")
    if not args.no_write:
        out: Path = args.out
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "bench.json", text)
        atomic_write_text(out / "bench.md", markdown)
        if ctx.verbose:
            print(f"wrote {out / 'bench.json'} and {out / 'bench.md'}", file=sys.stderr)
    return 1 if report.errors else 0
