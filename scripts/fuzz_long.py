"""The long fuzz run: every target of ``tests/fuzz/test_fuzz_targets.py`` for a time budget each.

Usage::

    python scripts/fuzz_long.py --seconds 60              # every target, 60 s each
    python scripts/fuzz_long.py --seconds 600 --target qevo-npz --target detect
    python scripts/fuzz_long.py --seconds 60 --json fuzz.json

Hypothesis has no time budget of its own, so each target runs in batches of fresh, randomised
examples until its budget is spent. A failure (an exception that is not a ``QevoError``, or a read
taking longer than the targets' deadline) is shrunk by Hypothesis, printed, and counted; the run
goes on with the next batch. Exit status 1 when any target failed. The targets file is loaded by
path, so this needs no ``tests`` package.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TARGETS_FILE = ROOT / "tests" / "fuzz" / "test_fuzz_targets.py"
BATCH = 500


def load_targets() -> Any:
    """The fuzz targets module, imported from its path."""
    for entry in (str(ROOT), str(ROOT / "backends")):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    spec = importlib.util.spec_from_file_location("qevo_fuzz_targets", TARGETS_FILE)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {TARGETS_FILE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def fuzz(module: Any, name: str, seconds: float) -> dict[str, Any]:
    """Run target ``name`` for ``seconds``; returns the counts."""
    target = module.TARGETS[name]
    start = time.monotonic()
    examples = batches = 0
    failures: list[str] = []
    while time.monotonic() - start < seconds:
        batches += 1
        try:
            examples += module.run_target(target, BATCH, derandomize=False)
        except Exception as exc:  # a finding: print it, count it, keep fuzzing
            text = "".join(traceback.format_exception(exc))
            failures.append(f"{type(exc).__name__}: {exc}")
            print(f"[{name}] FAILURE\n{text}", file=sys.stderr, flush=True)
    return {
        "target": name,
        "seconds": round(time.monotonic() - start, 1),
        "examples": examples,
        "batches": batches,
        "failures": len(failures),
        "failure_messages": failures,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0, help="budget per target (60)")
    parser.add_argument(
        "--target", action="append", help="run only this target (repeatable); default: all"
    )
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    module = load_targets()
    names = args.target or sorted(module.TARGETS)
    unknown = sorted(set(names) - set(module.TARGETS))
    if unknown:
        parser.error(f"unknown target {unknown[0]!r}; targets: {', '.join(sorted(module.TARGETS))}")
    results = []
    for name in names:
        print(f"fuzzing {name} for {args.seconds:g} s ...", flush=True)
        res = fuzz(module, name, args.seconds)
        results.append(res)
        print(
            f"  {name}: {res['examples']} examples in {res['seconds']} s, "
            f"{res['failures']} failures",
            flush=True,
        )
    width = max(len(r["target"]) for r in results)
    print(f"\n{'target':<{width}}  {'seconds':>8}  {'examples':>9}  {'failures':>8}")
    for r in results:
        print(f"{r['target']:<{width}}  {r['seconds']:>8}  {r['examples']:>9}  {r['failures']:>8}")
    if args.json is not None:
        from qevo_ir.atomic import atomic_write_text

        atomic_write_text(args.json, json.dumps(results, indent=1) + "\n")
    return 1 if any(r["failures"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
