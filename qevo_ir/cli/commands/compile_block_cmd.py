"""``qevo compile-block BLOCK.npz``: a model block to every backend artifact, per channel."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from qevo_ir.cli.commands._execution import (
    add_execution_options,
    engine,
    output_phase,
    time_left,
)


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "compile-block",
        help="compile a model block (.npz with weight and inputs), one problem per channel",
        description=(
            "Read a model block from an .npz holding 'weight' and 'inputs' (calibration data) and "
            "options ('kind': linear | integer | conv2d | prune, 'bits', 'scheme', 'encoding', "
            "'stride', 'padding', 'keep', 'scale'); build one Hamiltonian per output channel "
            "(AdaRound-style rounding for 'linear'), compile each to the targets into "
            "OUTDIR/channel_NNNN/ (each checkable with 'qevo verify'), and write "
            "OUTDIR/block_report.json with the classical baselines (round-to-nearest, greedy, "
            "and exact when small) on the block's reconstruction objective."
        ),
    )
    p.add_argument("file", metavar="BLOCK.npz")
    p.add_argument("--pipeline", "-p", default="", help="passes to run on every channel")
    p.add_argument("--target", "-t", default="all", help="targets (default: all that fit)")
    p.add_argument("--layers", type=int, default=1, help="QAOA depth p (default 1)")
    p.add_argument("--channels", help="only these channels, e.g. 0,3,5 (default: all)")
    p.add_argument("-o", "--output", metavar="OUTDIR", required=True, help="output directory")
    p.add_argument("--force", action="store_true", help="overwrite an earlier block compile")
    p.add_argument("--json", action="store_true", help="print the block report as JSON")
    add_execution_options(p, "compile the channels")
    p.set_defaults(run=run)


def _compile_channel(channel: int, ctx: Any) -> tuple[dict[str, Any], dict[str, bytes]]:
    """Compile one channel where the task runs; its files come back as bytes, so a remote
    worker needs no shared disk and the parent stages every file it publishes."""
    from qevo_ir.atomic import scratch_writes
    from qevo_ir.compiler import compile as compile_ir

    block, pipeline, target, layers = ctx.shared
    ham = block.hamiltonian(channel)
    entry: dict[str, Any] = {
        "channel": channel,
        "directory": f"channel_{channel:04d}",
        "num_variables": ham.num_variables,
        "num_interactions": ham.num_interactions,
    }
    if ham.num_variables == 0:
        entry["skipped"] = "every weight of this channel is clipped (no free variable)"
        return entry, {}
    compiled = compile_ir(ham, pipeline, target, layers=layers)
    # scratch: read back at once and deleted; the parent writes the published copies durably
    with scratch_writes(), tempfile.TemporaryDirectory(prefix=".qevo-channel-") as tmp:
        compiled.write(Path(tmp) / "out")
        files = {p.name: p.read_bytes() for p in sorted((Path(tmp) / "out").iterdir())}
    files.pop(".qevo.lock", None)
    entry["targets"] = list(compiled.natives)
    entry["skipped_targets"] = compiled.skipped
    return entry, files


def run(args: argparse.Namespace) -> int:
    from qevo_ir.atomic import OutputExists, atomic_write_bytes, atomic_write_text
    from qevo_ir.blocks.io import read_block_npz
    from qevo_ir.blocks.solve import compare_methods
    from qevo_ir.errors import ValidationError
    from qevo_ir.execution.engine import map_tasks

    out = Path(args.output)
    report_path = out / "block_report.json"
    if report_path.exists() and not args.force:
        raise OutputExists(f"{out}: already holds a block compile; pass --force to overwrite it")
    if args.layers < 1:
        raise ValidationError(f"--layers must be at least 1, got {args.layers}")
    block, options = read_block_npz(args.file)
    channels = list(range(block.num_channels))
    if args.channels is not None:
        parts = args.channels.split(",")
        try:
            if any(not c.strip() for c in parts):  # '' or '0,,3': a channel is missing
                raise ValueError
            channels = sorted({int(c) for c in parts})
        except ValueError:
            raise ValidationError(
                f"--channels: expected comma-separated channel numbers, got {args.channels!r}"
            ) from None
        bad = [c for c in channels if not 0 <= c < block.num_channels]
        if bad:
            raise ValidationError(
                f"--channels: {bad} out of range; the block has {block.num_channels} channels"
            )
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".qevo-block-", dir=out))
    entries: list[dict[str, Any]] = []
    try:
        with engine(args) as (executor, workers):
            done = map_tasks(
                _compile_channel,
                channels,
                executor=executor,
                workers=workers,
                shared=(block, args.pipeline, args.target, args.layers),
                timeout=time_left(args),
                desc="compiling channels",
                unit="channel",
                labels=[f"channel {c}" for c in channels],
            )
        for entry, files in done:
            if files:
                folder = staging / entry["directory"]
                folder.mkdir()
                for name, data in files.items():
                    atomic_write_bytes(folder / name, data)
            entries.append(entry)
        baselines = compare_methods(block, ("nearest", "greedy"))
        output_phase(args)
        report = {
            "format": "qevo-block-report",
            "version": 1,
            "file": os.fspath(args.file),
            "block": {**options, "class": type(block).__name__, "num_channels": block.num_channels},
            "pipeline": args.pipeline,
            "target": args.target,
            "objective": "reconstruction error ||X W^T - X What^T||^2 / N (energy = objective)",
            "baselines": baselines,
            "channels": entries,
        }
        atomic_write_text(staging / "block_report.json", json.dumps(report, indent=1) + "\n")
        # Publish: channel folders first, the report last.
        if args.force:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(report_path)
        for entry in entries:
            src = staging / entry["directory"]
            if not src.exists():
                continue
            dst = out / entry["directory"]
            if dst.exists():
                if not args.force:
                    raise OutputExists(f"{dst}: exists; pass --force to overwrite it")
                shutil.rmtree(dst)
            os.replace(src, dst)
        os.replace(staging / "block_report.json", report_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if args.json:
        print(json.dumps(report, indent=1))
        return 0
    print(f"compiled {args.file} ({type(block).__name__}, {block.num_channels} channels) -> {out}")
    for row in baselines:
        obj = row["objective"]
        print(
            f"  baseline {row['method']:<8} objective {obj!r}"
            if obj is not None
            else f"  baseline {row['method']:<8} {row['status']}"
        )
    compiled_count = sum(1 for e in entries if "targets" in e)
    print(f"  {compiled_count} channel(s) compiled, report {report_path}")
    return 0
