"""Worker process of ``qevo verify``: reads one artifact with its vendor SDK and checks it.

Run as ``python -m qevo_ir._verify_worker`` with a JSON task on stdin; prints one JSON line.
It first lowers its own address-space limit to the task's ``memory`` (a process may always
lower its limit, so this works under any ``ulimit -v``) and disables core dumps; the parent
adds the time limit. A vendor reader that blows up is contained here.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _limit(memory: int) -> None:
    import resource

    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        memory = min(memory, hard)
    resource.setrlimit(resource.RLIMIT_AS, (memory, hard))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _check(task: dict[str, Any]) -> tuple[bool, str]:
    import numpy as np

    from qevo_ir.formats import read_hamiltonian
    from qevo_ir.formats.qevo_poly import read_ir
    from qevo_ir.hamiltonian import Hamiltonian
    from qevo_ir.verify import (
        check_energy_by_label,
        check_energy_lowering,
        check_exact_solution,
        check_qaoa_lowering,
        check_source_tie,
    )

    max_bytes = int(task.get("max_bytes", 256 << 20))
    rng = np.random.default_rng(20261123)
    ir = read_ir(task["ir"], max_bytes=max_bytes)
    if task["kind"] != "qaoa" and not isinstance(ir, Hamiltonian):
        return False, (
            "the compiled IR is a k-local polynomial, which only QAOA circuits take; this "
            "artifact needs a quadratic IR"
        )
    if task["kind"] == "tie":
        assert isinstance(ir, Hamiltonian)
        source = read_hamiltonian(task["source"], max_bytes=max_bytes)
        if source.content_hash() != task["source_hash"]:
            return False, (
                "source.qevo.json is not the source the report names (its content hash differs "
                "from report.json's source.hash)"
            )
        target = (
            read_hamiltonian(task["embedded"], max_bytes=max_bytes) if task["embedded"] else None
        )
        return check_source_tie(source, ir, target, task["pipeline"], task["claimed"], rng)

    from qevo_ir.plugins import get_backend

    backend = get_backend(task["backend"])
    native = backend.read_artifact(Path(task["artifact"]))  # type: ignore[attr-defined]
    if task["kind"] == "energies":
        assert isinstance(ir, Hamiltonian)
        if hasattr(native, "variables") and hasattr(native, "energies"):
            return check_energy_by_label(native, ir, rng)
        return check_energy_lowering(backend, native, ir, rng)
    if task["kind"] == "exact":
        assert isinstance(ir, Hamiltonian)
        return check_exact_solution(native, ir)
    opts = task.get("options", {})
    bound = None
    if opts.get("gammas"):
        bound = (list(opts["gammas"]), list(opts["betas"]))
    return check_qaoa_lowering(
        backend, native, ir, rng, bound=bound, layers=int(opts.get("layers", 1))
    )


def main() -> int:
    job = json.loads(sys.stdin.read())
    _limit(int(job.get("memory", 4 << 30)))
    for task in job["tasks"]:
        spent = False
        try:
            ok, detail = _check(task)
        except MemoryError:
            ok, detail = False, "cannot be read back within the reader's memory limit"
            spent = True
        except RecursionError:
            ok, detail = False, "cannot be read back: it nests too deeply"
        except Exception as exc:  # any failure of a reader is a verification failure
            ok, detail = False, f"cannot be read back: {type(exc).__name__}: {exc}"
        line = json.dumps({"ok": bool(ok), "detail": " ".join(str(detail).split())[:2000]})
        print(line, flush=True)
        if spent:  # the heap may stay fragmented: a fresh process takes the other tasks
            return RESTART
    return 0


#: Exit status asking the parent for a fresh reader for the remaining tasks (no task failed).
RESTART = 75


if __name__ == "__main__":
    sys.exit(main())
