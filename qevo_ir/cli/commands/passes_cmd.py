"""``qevo passes``: every registered pass, its types and options."""

from __future__ import annotations

import argparse
from typing import Any

from qevo_ir.cli.output import emit_json


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "passes",
        help="list compiler passes and their options",
        description="List every compiler pass with its input/output types, "
        "whether it is exact, and its options with defaults.",
    )
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from qevo_ir.passes.pipeline import list_passes

    passes = list_passes()
    if args.json:
        emit_json({"passes": passes}, kind="qevo-passes")
        return 0
    for info in passes:
        kind = "exact" if info.get("exact") else "lossy, certified bound"
        print(f"{info['name']}  ({info.get('input_type')} -> {info.get('output_type')}, {kind})")
        if info.get("summary") or info.get("doc"):
            print(f"    {info.get('summary') or info.get('doc')}")
        for opt in info.get("options", []):
            print(f"    {opt.get('name')}: {opt.get('type')} = {opt.get('default')!r}")
    return 0
