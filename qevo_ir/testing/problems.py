"""Problems of a known shape for tests, benchmarks and examples (numpy only)."""

from __future__ import annotations

import numpy as np

from qevo_ir.hamiltonian import Hamiltonian

__all__ = ["chimera_ising"]


def chimera_ising(m: int, seed: int = 0) -> Hamiltonian:
    """A random ±1 spin glass on the Chimera graph C(m, m, 4): ``8 m²`` spins, sparse.

    Each unit cell is a complete bipartite K(4, 4); vertical spins couple to the cell below,
    horizontal ones to the cell on the right. Fields are uniform in [-0.1, 0.1]. ``m = 16`` is
    the 2048-spin problem of the timeout and execution benchmarks.
    """
    if m < 1:
        raise ValueError(f"m must be >= 1, got {m}")
    rng = np.random.default_rng(seed)
    idx = np.arange(m * m * 8).reshape(m, m, 2, 4)
    left, right = np.broadcast_arrays(idx[:, :, 0, :, None], idx[:, :, 1, None, :])
    row = np.concatenate([left.ravel(), idx[:-1, :, 0].ravel(), idx[:, :-1, 1].ravel()])
    col = np.concatenate([right.ravel(), idx[1:, :, 0].ravel(), idx[:, 1:, 1].ravel()])
    quad = rng.choice(np.array([-1.0, 1.0]), size=len(row))
    linear = rng.uniform(-0.1, 0.1, m * m * 8)
    return Hamiltonian.from_ising(linear, (row, col, quad))
