"""Benchmark of :mod:`qevo_ir.qaoa` against qiskit-aer and cirq (standalone script).

Run from the repository root::

    PYTHONPATH=. python benchmarks/bench_qaoa_fast.py            # full run
    PYTHONPATH=. python benchmarks/bench_qaoa_fast.py --quick    # skip n = 24 and cirq

Prints, with the median (and best) of several repeats:

* ``cost_diagonal`` at n = 20 for a dense (190 couplings) and a 3-regular (30 couplings) model;
* ``qaoa_expectation`` for n = 16, 20, 24 and p = 1..5, for each available engine;
* at n = 20, p = 3: qiskit-aer statevector (transpile excluded: the transpiled circuit is
  reused and only ``run().result()`` is timed) and ``cirq.Simulator().simulate``, with ratios;
* ``optimize_angles`` at n = 20, p = 3.
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from qevo_ir.qaoa import (
    cost_diagonal,
    numba_available,
    optimize_angles,
    qaoa_expectation,
    resolve_engine,
)

Model = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def timeit(fn: Callable[[], Any], repeats: int, warmup: int = 1) -> tuple[float, float]:
    """(median, best) wall time in seconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times)


def fmt(seconds: float) -> str:
    return f"{seconds * 1e3:9.3f} ms"


def dense_model(n: int, rng: np.random.Generator) -> Model:
    pairs = list(itertools.combinations(range(n), 2))
    row = np.array([a for a, _ in pairs])
    col = np.array([b for _, b in pairs])
    return rng.normal(size=n), row, col, rng.normal(size=len(pairs))


def regular3_model(n: int, rng: np.random.Generator) -> Model:
    """Random 3-regular graph (ring + random perfect matching of chords), random weights."""
    while True:
        perm = rng.permutation(n)
        chords = {tuple(sorted((int(perm[2 * i]), int(perm[2 * i + 1])))) for i in range(n // 2)}
        ring = {tuple(sorted((i, (i + 1) % n))) for i in range(n)}
        if not chords & ring:
            break
    edges = sorted(ring | chords)
    row = np.array([a for a, _ in edges])
    col = np.array([b for _, b in edges])
    return rng.normal(size=n), row, col, rng.normal(size=len(edges))


def angles(p: int) -> tuple[np.ndarray, np.ndarray]:
    ramp = (np.arange(p) + 0.5) / p
    return 0.4 * ramp, 0.6 * (1.0 - ramp) + 0.1


def aer_time(model: Model, gammas: np.ndarray, betas: np.ndarray, repeats: int) -> float | None:
    try:
        from qiskit import QuantumCircuit, transpile
        from qiskit_aer import AerSimulator
    except ImportError:
        return None
    h, row, col, J = model
    n = h.size
    qc = QuantumCircuit(n)
    qc.h(range(n))
    for g, b in zip(gammas, betas, strict=True):
        for i in range(n):
            qc.rz(-2.0 * g * h[i], i)  # exp(-i g h_i s_i) with s_i = -z_i
        for r, c, j in zip(row, col, J, strict=True):
            qc.rzz(2.0 * g * j, int(r), int(c))
        qc.rx(2.0 * b, range(n))
    qc.save_statevector()
    sim = AerSimulator(method="statevector")
    tqc = transpile(qc, sim)
    med, _ = timeit(lambda: sim.run(tqc).result(), repeats)
    return med


def cirq_time(model: Model, gammas: np.ndarray, betas: np.ndarray, repeats: int) -> float | None:
    try:
        import cirq
    except ImportError:
        return None
    h, row, col, J = model
    n = h.size
    q = cirq.LineQubit.range(n)
    ops: list[Any] = [cirq.H.on_each(*q)]
    for g, b in zip(gammas, betas, strict=True):
        ops += [cirq.rz(-2.0 * g * h[i]).on(q[i]) for i in range(n)]
        # ZZ**t = exp(-i π t/2 ZZ) up to global phase: t = 2 g J / π gives exp(-i g J ZZ).
        ops += [
            (cirq.ZZ ** (2.0 * g * j / np.pi)).on(q[int(r)], q[int(c)])
            for r, c, j in zip(row, col, J, strict=True)
        ]
        ops += [cirq.rx(2.0 * b).on(qq) for qq in q]
    circuit = cirq.Circuit(ops)
    sim = cirq.Simulator(dtype=np.complex128)
    med, _ = timeit(lambda: sim.simulate(circuit), repeats, warmup=0)
    return med


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="skip n = 24 and cirq")
    args = parser.parse_args()

    rng = np.random.default_rng(2024)
    engines = ["numpy"] + (["numba"] if numba_available() else [])
    print(f"python {platform.python_version()}, numpy {np.__version__}, cpus {os.cpu_count()}")
    print(f"engines: {engines}; auto engine at n = 20: {resolve_engine('auto', 20)}")
    if "numba" in engines:
        import numba

        print(f"numba {numba.__version__}, threads {numba.get_num_threads()}")
    # Compile/warm the numba kernels outside any timing.
    warm = cost_diagonal(np.ones(12), [0], [1], [1.0])
    for eng in engines:
        qaoa_expectation(warm, [0.1], [0.2], engine=eng)  # type: ignore[arg-type]

    print("\n== cost_diagonal, n = 20 ==")
    models = {"dense": dense_model(20, rng), "3-regular": regular3_model(20, rng)}
    for name, (h, row, col, J) in models.items():
        med, best = timeit(lambda h=h, row=row, col=col, J=J: cost_diagonal(h, row, col, J), 20)
        print(f"{name:>10} ({row.size:3d} couplings): median {fmt(med)}   best {fmt(best)}")

    print("\n== qaoa_expectation (diagonal precomputed), median / best ==")
    sizes = [16, 20] if args.quick else [16, 20, 24]
    for n in sizes:
        diag = cost_diagonal(*regular3_model(n, rng))
        for eng in engines:
            cells = []
            for p in range(1, 6):
                g, b = angles(p)
                reps = 10 if n <= 20 else 2
                med, best = timeit(
                    lambda g=g, b=b, eng=eng, diag=diag: qaoa_expectation(diag, g, b, engine=eng),
                    reps,
                )
                cells.append(f"p={p}: {med * 1e3:8.2f}/{best * 1e3:8.2f}")
            print(f"n={n:2d} {eng:>5} [ms] " + "  ".join(cells))

    print("\n== n = 20, p = 3: this package vs qiskit-aer / cirq (median) ==")
    g, b = angles(3)
    for name, model in models.items():
        h, row, col, J = model
        diag = cost_diagonal(h, row, col, J)
        diag_t, _ = timeit(lambda h=h, row=row, col=col, J=J: cost_diagonal(h, row, col, J), 10)
        ours = {
            eng: timeit(lambda eng=eng, diag=diag: qaoa_expectation(diag, g, b, engine=eng), 10)[0]
            for eng in engines
        }
        aer = aer_time(model, g, b, repeats=5)
        cq = None if args.quick else cirq_time(model, g, b, repeats=1)
        print(f"-- {name} ({row.size} couplings); cost_diagonal {fmt(diag_t)}")
        for eng, t in ours.items():
            print(f"   qevo {eng:>5}: {fmt(t)}  (+diagonal: {fmt(t + diag_t)})")
        for label, ref in (("qiskit-aer", aer), ("cirq", cq)):
            if ref is None:
                print(f"   {label:>10}: not run")
                continue
            ratios = ", ".join(
                f"{ref / t:6.1f}x vs {eng} ({ref / (t + diag_t):6.1f}x incl. diagonal)"
                for eng, t in ours.items()
            )
            print(f"   {label:>10}: {fmt(ref)}  -> speed-up {ratios}")

    print("\n== optimize_angles, n = 20, p = 3 (3-regular, 4 restarts, L-BFGS-B) ==")
    diag = cost_diagonal(*models["3-regular"])
    res = optimize_angles(diag, 3, seed=0)
    print(
        f"engine {resolve_engine('auto', 20)}: {res.seconds:.2f} s, {res.evaluations} "
        f"evaluations, <H> = {res.expectation:.6f} (p=0: {float(np.mean(diag)):.6f}, "
        f"min: {float(diag.min()):.6f})"
    )


if __name__ == "__main__":
    main()
