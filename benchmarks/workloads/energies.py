"""Workload 3: energies of many samples, qevo_ir's ``Hamiltonian.energies`` beside dimod's.

Sparse: the 1M-coupling problem of workload 1 (n = 100k). Its 10⁴ SPIN samples are 1 GB of
int8, which fits the 24 GiB machine; dimod's ``BQM.energies`` costs about 16 ms a sample there
(160 s for 10⁴), so in full mode it runs on the first 1,000 samples and its time is scaled
linearly to 10⁴ (dimod loops over samples, one full pass over the couplings each). Dense:
n = 1000 with every pair coupled, 10⁴ samples, both run in full.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from benchmarks.harness import Context, Row, Target, measure
from benchmarks.workloads.build import random_couplings
from qevo_ir.hamiltonian import Hamiltonian

__all__ = ["run"]

W = "3. energies"


def _spins(rng: np.random.Generator, m: int, n: int) -> Any:
    out = rng.integers(0, 2, size=(m, n), dtype=np.int8)
    out *= 2
    out -= 1
    return out


def run(ctx: Context) -> list[Row]:

    from qevo_dimod import to_bqm

    rows: list[Row] = []
    # -- sparse, 1M couplings
    n, m = ctx.pick((2_000, 20_000), (20_000, 200_000), (100_000, 1_000_000))
    samples, peer_samples = ctx.pick((1_000, 100), (10_000, 200), (10_000, 1_000))
    h, r, c, v = random_couplings(n, m, ctx.rng)
    ham = Hamiltonian(h, r, c, v, vartype="SPIN")
    bqm = to_bqm(ham)
    with ctx.section("sparse energies"):
        s = _spins(ctx.rng, samples, n)
        ours = ctx.time(lambda: ham.energies(s), repeat=max(1, min(3, ctx.repeat)))
        sub = s[:peer_samples]
        mine = ham.energies(sub)
        theirs = np.asarray(bqm.energies((sub, range(n))))
        if not np.allclose(mine, theirs, rtol=1e-9, atol=1e-6):
            raise AssertionError("energies differ from dimod's")
        peer_sub = measure(partial(bqm.energies, (sub, range(n))), repeat=1, warmup=0).median
    scale = samples / peer_samples
    rows.append(
        Row(
            W,
            f"{samples:,} samples, n = {n:,}, {ham.num_interactions:,} couplings",
            "Hamiltonian.energies (int8 samples)",
            ours,
            "dimod BQM.energies",
            peer_sub * scale,
            Target("speedup", 10.0, "≥ 10×"),
            extrapolated=scale != 1,
            metrics={"samples_bytes": int(s.nbytes), "peer_samples": peer_samples},
            note=(
                f"samples: {s.nbytes / 2**20:.0f} MiB of int8; dimod ran {peer_samples:,} "
                f"samples ({peer_sub:.2f} s), scaled ×{scale:g}"
                if scale != 1
                else ""
            ),
        )
    )
    del s, sub

    # -- dense n = 1000
    n = ctx.pick(200, 500, 1000)
    samples = ctx.pick(1_000, 2_000, 10_000)
    dense = Hamiltonian.from_ising(ctx.rng.normal(size=n), np.triu(ctx.rng.normal(size=(n, n)), 1))
    dbqm = to_bqm(dense)
    with ctx.section("dense energies"):
        s = _spins(ctx.rng, samples, n)
        ours, peer = ctx.compare(
            lambda: dense.energies(s),
            lambda: dbqm.energies((s, range(n))),
            repeat=max(1, min(3, ctx.repeat)),
            warmup=1,
        )
    rows.append(
        Row(
            W,
            f"{samples:,} samples, dense n = {n:,} ({dense.num_interactions:,} couplings)",
            "Hamiltonian.energies (int8 samples)",
            ours,
            "dimod BQM.energies",
            peer,
            Target("speedup", 20.0, "≥ 20×"),
        )
    )
    return rows
