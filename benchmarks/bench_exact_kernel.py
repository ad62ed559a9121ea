"""Timings of the exhaustive Ising kernel (``qevo_exact._enumerate``).

Dense random problems (``h_i``, ``J_ij`` ~ N(0, 1), every pair coupled, fixed seed): ground
energy and degeneracy for n = 20, 24, 28, 30, with states per second (2**n / time), and at
n = 20 the time of ``dimod.ExactSolver().sample(bqm)`` plus taking the lowest energy.

    python benchmarks/bench_exact_kernel.py            # the table above
    python benchmarks/bench_exact_kernel.py --full     # plus h = 0, no pruning, degenerate
    python benchmarks/bench_exact_kernel.py --sizes 20 32 --repeat 5

Times are the best of ``--repeat`` runs (wall clock, after one warm-up run at n = 16).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np


def _load_kernel() -> ModuleType:
    try:
        import qevo_exact._enumerate as mod
    except ImportError:
        path = Path(__file__).resolve().parents[1] / "backends" / "qevo_exact" / "_enumerate.py"
        name = "_qevo_exact_enumerate_bench"
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None
        assert spec.loader is not None
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return mod


K = _load_kernel()


def dense_problem(
    n: int, seed: int = 0, field: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """``h``, ``row``, ``col``, ``J``, ``offset`` of a dense Gaussian problem."""
    rng = np.random.default_rng(seed)
    row, col = np.triu_indices(n, 1)
    h = rng.standard_normal(n) if field else np.zeros(n)
    return h, row.astype(np.int64), col.astype(np.int64), rng.standard_normal(row.size), 0.0


def best_of(repeat: int, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """Best wall-clock time of ``repeat`` calls ``fn(*args, **kwargs)``, and the last result."""
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        best = min(best, time.perf_counter() - t0)
    return best, out


def row_line(label: str, n: int, seconds: float, result: Any) -> str:
    ground = result.levels[0]
    rate = 2**n / seconds
    return (
        f"{label:<28s} n={n:2d}  {seconds * 1e3:10.2f} ms  {rate:10.3e} states/s  "
        f"E0={ground.energy:+.6f}  degeneracy={ground.count}"
    )


def bench_kernel(sizes: list[int], repeat: int, full: bool) -> None:
    print("kernel: dense Gaussian h and J, seed 0")
    zero = np.zeros(0, dtype=np.int64)
    for n in sizes:
        problem = dense_problem(n)
        reps = repeat if n <= 28 else max(1, min(repeat, 2))
        seconds, result = best_of(reps, K.enumerate_ising, *problem)
        print(row_line("enumerate_ising", n, seconds, result), flush=True)
        if not full:
            continue
        seconds, result = best_of(reps, K.enumerate_ising, *dense_problem(n, field=False))
        print(row_line("  h = 0 (mirror symmetry)", n, seconds, result), flush=True)
        if n <= 28:
            seconds, result = best_of(1, K._enumerate, *problem, prune=False)
            print(row_line("  no pruning (all energies)", n, seconds, result), flush=True)
            # Worst case for pruning: every state is a ground state.
            seconds, result = best_of(1, K.enumerate_ising, np.zeros(n), zero, zero, np.zeros(0))
            print(row_line("  all-zero (2**n ground st.)", n, seconds, result), flush=True)


def bench_dimod(n: int, repeat: int) -> None:
    try:
        import dimod
    except ImportError:
        print(f"dimod not installed: no comparison at n={n}")
        return
    h, row, col, J, off = dense_problem(n)
    bqm = dimod.BinaryQuadraticModel.from_ising(
        {i: float(h[i]) for i in range(n)},
        {(int(r), int(c)): float(j) for r, c, j in zip(row, col, J, strict=True)},
        off,
    )

    exact_solver: Any = dimod.ExactSolver  # untyped

    def run_dimod() -> float:
        return float(exact_solver().sample(bqm).record.energy.min())

    dimod_seconds, dimod_energy = best_of(max(1, min(repeat, 2)), run_dimod)
    ours_seconds, result = best_of(repeat, K.enumerate_ising, h, row, col, J, off)
    print(f"\ndimod {dimod.__version__} ExactSolver at n={n} (sample + lowest energy):")
    print(f"  dimod.ExactSolver     {dimod_seconds * 1e3:10.2f} ms  E0={dimod_energy:+.6f}")
    print(
        f"  enumerate_ising       {ours_seconds * 1e3:10.2f} ms  "
        f"E0={result.levels[0].energy:+.6f}  degeneracy={result.levels[0].count}"
    )
    print(f"  speed-up              {dimod_seconds / ours_seconds:10.1f} x")
    if abs(dimod_energy - result.levels[0].energy) > 1e-9 * max(1.0, abs(dimod_energy)):
        print("  MISMATCH between the ground energies!")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 24, 28, 30])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dimod-n", type=int, default=20)
    parser.add_argument("--no-dimod", action="store_true")
    parser.add_argument("--full", action="store_true", help="also h = 0, no pruning, degenerate")
    args = parser.parse_args(argv)

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"numpy {np.__version__}, {cpus} CPUs available, python {sys.version.split()[0]}")
    K.enumerate_ising(*dense_problem(16)[:4])  # warm-up
    bench_kernel(args.sizes, args.repeat, args.full)
    if not args.no_dimod:
        bench_dimod(args.dimod_n, args.repeat)


if __name__ == "__main__":
    main()
