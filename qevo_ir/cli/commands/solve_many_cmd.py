"""``qevo solve-many PATHS... -o OUTDIR``: solve a batch of problem files, one result each."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from qevo_ir.cli.commands._common import json_label
from qevo_ir.cli.commands._execution import (
    add_execution_options,
    engine,
    output_phase,
    time_left,
)
from qevo_ir.cli.output import table

SUMMARY_NAME = "summary.json"
RESULT_SUFFIX = ".result.json"


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "solve-many",
        help="solve a batch of problem files (or folders of them), one result file each",
        description=(
            "Solve every problem file given (a folder stands for the problem files directly in "
            "it) with one backend, on this process, a local pool (--workers) or a Dask cluster "
            "(--scheduler; the files must be readable by the workers). Writes "
            "OUTDIR/<file>.result.json for each problem (atomically) and OUTDIR/summary.json "
            "last. Problem i is seeded from --seed and i, so the results do not depend on the "
            "workers. Exit 2 if any problem failed or ran past --timeout (the others are kept)."
        ),
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="problem files or folders")
    p.add_argument("-o", "--output", metavar="OUTDIR", required=True, help="output directory")
    p.add_argument("--backend", "-b", default="sa", help="solver (default: sa)")
    p.add_argument("--pipeline", default=None, help="passes to run first on every problem")
    p.add_argument("--num-reads", type=int, help="samples to draw (dimod samplers)")
    p.add_argument("--seed", type=int, help="batch seed (problem i gets a seed derived from it)")
    p.add_argument("--show", type=int, default=5, help="samples kept per result (default 5)")
    p.add_argument("--force", action="store_true", help="overwrite earlier results")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_execution_options(p, "solve the problems")
    p.set_defaults(run=run)


def problem_files(paths: list[str]) -> list[str]:
    """The files named, folders expanded to the problem files in them (sorted)."""
    from qevo_ir.errors import ValidationError
    from qevo_ir.formats.detect import format_for_path

    files: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            # every entry with a problem file's name, regular or not: a FIFO or a link to a
            # device gets an error row in the summary instead of vanishing from it
            found = sorted(
                os.fspath(f) for f in path.iterdir() if format_for_path(f) and not f.is_dir()
            )
            if not found:
                raise ValidationError(f"{raw}: the folder holds no problem file")
            files.extend(found)
        elif path.exists():
            files.append(raw)
        else:
            raise ValidationError(f"{raw}: no such file or folder")
    names: dict[str, str] = {}
    for f in files:
        name = Path(f).name
        if name in names:
            raise ValidationError(f"{names[name]} and {f} would write the same result {name}")
        names[name] = f
    return files


def _solve_file(path: str, ctx: Any) -> dict[str, Any]:
    """One problem: its result document, or an error record (the batch goes on)."""
    from qevo_ir.compiler import check_energy_bound, solve
    from qevo_ir.errors import QevoError
    from qevo_ir.formats import read_hamiltonian

    backend, pipeline, options, show = ctx.shared
    opts = dict(options)
    if ctx.seed is not None:
        opts["seed"] = ctx.seed
    start = time.perf_counter()
    try:
        ham = read_hamiltonian(path)
        check_energy_bound(ham, path)
        result = solve(ham, backend, pipeline=pipeline, progress=False, **opts)
    except (QevoError, OSError, MemoryError) as exc:
        return {"file": path, "status": "error", "error": " ".join(str(exc).split())}
    info = {k: v for k, v in result.info.items() if k != "progress"}
    return {
        "format": "qevo-solve-result",
        "version": 1,
        "file": path,
        "status": "ok",
        "backend": backend,
        "num_variables": ham.num_variables,
        "vartype": ham.vartype.value,
        "labels": [json_label(x) for x in ham.labels],
        "best_energy": result.best_energy if len(result) else None,
        "samples": [
            {"energy": float(e), "num_occurrences": int(c), "assignment": list(map(int, s))}
            for s, e, c in zip(
                result.samples[: max(show, 1)],
                result.energies,
                result.num_occurrences,
                strict=False,
            )
        ],
        "info": info,
        "seconds": time.perf_counter() - start,
    }


def _check_arguments(args: argparse.Namespace) -> None:
    """What every problem would fail on is refused once, before any output exists: an unknown
    backend, a pipeline that does not parse, a non-positive --num-reads, a negative --show."""
    from qevo_ir.errors import ValidationError
    from qevo_ir.passes.pipeline import Pipeline
    from qevo_ir.plugins import available_backends
    from qevo_ir.solver_catalogue import resolve_solver

    resolve_solver(args.backend, available_backends())
    if args.pipeline:
        Pipeline.parse(args.pipeline)
    if args.num_reads is not None and args.num_reads < 1:
        raise ValidationError(f"--num-reads must be at least 1, got {args.num_reads}")
    if args.show < 0:
        raise ValidationError(f"--show must be 0 or more, got {args.show}")


def run(args: argparse.Namespace) -> int:
    from qevo_ir.atomic import OutputExists, atomic_write_text, check_output_path
    from qevo_ir.compiler import SOLVERS
    from qevo_ir.errors import DeadlineExceeded
    from qevo_ir.execution.engine import describe_executor, map_tasks
    from qevo_ir.execution.seeds import fresh_seed

    files = problem_files(args.paths)
    out = Path(args.output)
    targets = [out / (Path(f).name + RESULT_SUFFIX) for f in files]
    _check_arguments(args)
    for t in [*targets, out / SUMMARY_NAME]:  # links, FIFOs, folders: refused before any work
        check_output_path(t)
    if not args.force:
        clash = [os.fspath(t) for t in [*targets, out / SUMMARY_NAME] if os.path.lexists(t)]
        if clash:
            raise OutputExists(f"{clash[0]}: output exists; pass --force to overwrite it")
    takes_seed = SOLVERS.get(args.backend, (args.backend, {}))[0] != "exact"
    seed = (args.seed if args.seed is not None else fresh_seed()) if takes_seed else None
    options = {"num_reads": args.num_reads} if args.num_reads is not None else {}
    start = time.perf_counter()
    timed_out = False
    with engine(args) as (executor, workers):
        name = describe_executor(executor, workers)
        try:
            docs: list[dict[str, Any] | None] = list(
                map_tasks(
                    _solve_file,
                    files,
                    executor=executor,
                    workers=workers,
                    shared=(args.backend, args.pipeline, options, args.show),
                    seed=seed,
                    timeout=time_left(args),
                    desc=f"solving ({args.backend})",
                    unit="problem",
                    labels=files,
                )
            )
        except DeadlineExceeded as exc:
            timed_out = True
            docs = [exc.completed.get(i) for i in range(len(files))]  # type: ignore[misc]
    output_phase(args)
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    for f, target, doc in zip(files, targets, docs, strict=True):
        row: dict[str, Any] = {"file": f}
        if doc is None:
            row["status"] = "timeout"
        elif doc["status"] != "ok":
            row.update(status="error", error=doc["error"])
        else:
            atomic_write_text(target, json.dumps(doc, indent=1, allow_nan=False) + "\n")
            row.update(
                status="ok",
                result=target.name,
                num_variables=doc["num_variables"],
                best_energy=doc["best_energy"],
                seconds=doc["seconds"],
                cut_short=bool(doc["info"].get("cut_short", False)),
            )
        rows.append(row)
    counts = {s: sum(r["status"] == s for r in rows) for s in ("ok", "error", "timeout")}
    summary = {
        "format": "qevo-solve-many-summary",
        "version": 1,
        "backend": args.backend,
        "pipeline": args.pipeline,
        "seed": seed,
        "engine": name,
        "problems": rows,
        "counts": counts,
        "seconds": time.perf_counter() - start,
    }
    atomic_write_text(out / SUMMARY_NAME, json.dumps(summary, indent=1, allow_nan=False) + "\n")
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print(
            table(
                [
                    (r["file"], r["status"], r.get("num_variables", ""), r.get("best_energy", ""))
                    for r in rows
                ],
                ["file", "status", "variables", "best energy"],
            )
        )
        print(f"{counts['ok']} of {len(rows)} solved ({name}) -> {out / SUMMARY_NAME}")
    if counts["ok"] == len(rows):
        return 0
    what = []
    if counts["error"]:
        first = next(r for r in rows if r["status"] == "error")
        reason = first["error"]
        if not reason.startswith(f"{first['file']}: "):
            reason = f"{first['file']}: {reason}"
        what.append(f"{counts['error']} failed (first: {reason})")
    if timed_out:
        what.append(f"{counts['timeout']} not finished at the --timeout")
    print(f"qevo: error: {'; '.join(what)}; see {out / SUMMARY_NAME}", file=sys.stderr)
    return 2
