"""Roof duality's fixings: ours (certified) beside dwave-preprocessing's, for specs/passes.md.

    PYTHONPATH=.:backends python -m benchmarks.roof_persistencies [--skip-large]

1. Correctness on 1,200 small random problems (three seeds × 400; 1–10 spins, density 0.4;
   ``h, J`` integers in −3..3 on two thirds, Gaussian on one third), checked by enumeration:
   strong fixings that fail in some ground state, and weak fixings that no ground state has all
   of, for ``proved_fixings`` and for the library (``strict=True`` / ``strict=False``).
2. Time on random sparse Gaussian problems: ``proved_fixings`` with each engine beside the
   library call (conversion from the IR included on both sides), and whether the fixings agree.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.solvers.bounds import roof_duality
from qevo_ir.solvers.persistency import proved_fixings
from qevo_ir.vartypes import SPIN


def _small(rng: np.random.Generator, gaussian: bool) -> Hamiltonian:
    n = int(rng.integers(1, 11))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n) if rng.random() < 0.4]
    row = np.array([p[0] for p in pairs], dtype=np.int64)
    col = np.array([p[1] for p in pairs], dtype=np.int64)
    if gaussian:
        return Hamiltonian(rng.normal(size=n), row, col, rng.normal(size=len(pairs)), vartype=SPIN)
    h = rng.integers(-3, 4, n).astype(float)
    return Hamiltonian(h, row, col, rng.integers(-3, 4, len(pairs)).astype(float), vartype=SPIN)


def correctness() -> Counter[str]:
    counts: Counter[str] = Counter()
    for seed in range(3):
        rng = np.random.default_rng(seed)
        for trial in range(400):
            ham = _small(rng, gaussian=trial % 3 == 2)
            n = ham.num_variables
            states = np.array(list(itertools.product([-1, 1], repeat=n)), dtype=np.int8)
            e = ham.energies(states)
            ground = states[e <= e.min() + 1e-9 * max(1.0, ham.l1_norm())]
            runs: dict[str, tuple[Any, Any]] = {}
            ours = proved_fixings(ham)
            lib = roof_duality(ham, strict=True)
            runs["ours strong"] = (ours.indices, ours.values)
            runs["library strict=True"] = (lib.indices, lib.values)
            weak = proved_fixings(ham, strict=False)
            lib_weak = roof_duality(ham, strict=False)
            for name, (idx, val) in runs.items():
                counts[f"{name}: fixings"] += len(idx)
                counts[f"{name}: fixings failing in some ground state"] += sum(
                    int(not np.all(ground[:, i] == v))
                    for i, v in zip(idx.tolist(), val.tolist(), strict=True)
                )
            for name, (idx, val) in {
                "ours weak": (weak.indices, weak.values),
                "library strict=False": (lib_weak.indices, lib_weak.values),
            }.items():
                counts[f"{name}: fixings"] += len(idx)
                none_keeps = bool(len(idx)) and not np.any(np.all(ground[:, idx] == val, axis=1))
                counts[f"{name}: problems where no ground state has them all"] += int(none_keeps)
            mine = set(zip(ours.indices.tolist(), ours.values.tolist(), strict=True))
            theirs = set(zip(lib.indices.tolist(), lib.values.tolist(), strict=True))
            counts["ours strong not among the library's"] += len(mine - theirs)
    return counts


def _sparse(n: int, degree: float, seed: int) -> Hamiltonian:
    rng = np.random.default_rng(seed)
    i, j = rng.integers(0, n, size=(2, int(n * degree / 2)))
    keep = i != j
    pairs = np.unique(np.minimum(i, j)[keep] * n + np.maximum(i, j)[keep])
    row, col = pairs // n, pairs % n
    return Hamiltonian(rng.normal(size=n), row, col, rng.normal(size=row.size), vartype=SPIN)


def _median(fn: Callable[[], Any], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return float(np.median(runs))


def timing(skip_large: bool) -> None:
    cases = [(2000, 3.0, 7, 9), (20000, 3.0, 7, 5)]
    if not skip_large:
        cases.append((200000, 10.0, 1, 1))
    print("| problem | numba engine | scipy engine | library (from the IR) | same fixings |")
    print("|---|---:|---:|---:|---|")
    for n, degree, seed, repeat in cases:
        ham = _sparse(n, degree, seed)
        proved_fixings(ham)  # load the kernels
        fast = _median(lambda ham=ham: proved_fixings(ham, engine="numba"), repeat)
        slow = _median(lambda ham=ham: proved_fixings(ham, engine="scipy"), repeat)
        lib = _median(lambda ham=ham: roof_duality(ham), repeat)
        a, b = proved_fixings(ham), roof_duality(ham)
        same = np.array_equal(a.indices, b.indices) and np.array_equal(a.values, b.values)
        print(
            f"| n = {n}, mean degree {degree:g} | {fast * 1e3:.1f} ms | {slow * 1e3:.1f} ms | "
            f"{lib * 1e3:.1f} ms | {same} ({len(a.indices)} fixed) |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-large", action="store_true", help="skip the 10⁶-coupling case")
    args = parser.parse_args()
    for key, value in sorted(correctness().items()):
        print(f"{key}: {value}")
    timing(args.skip_large)


if __name__ == "__main__":
    main()
