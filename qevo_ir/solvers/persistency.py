"""Roof duality's fixings, each one proved before it is used.

``dwave-preprocessing``'s persistencies cannot be taken on trust: on small random integer
problems its ``strict=True`` fixings sometimes disagree with some (or every) exact ground state,
and its ``strict=False`` fixings sometimes hold in no ground state at all (``specs/passes.md``,
``fix``). Its lower bound held on every problem tried. So the library's fixings are used only
as *candidates*, and each is proved by probing with that bound:

    with ``U`` the energy of any assignment (an upper bound on the ground energy ``E₀``), if the
    problem conditioned on ``x_i = 1 − v`` has a lower bound ``L_i > U``, then every assignment
    with ``x_i = 1 − v`` has energy above ``U ≥ E₀``: every ground state has ``x_i = v``
    (strong persistency).

A candidate that fails the probe is left free (``rejected``). Proved fixings hold in every
ground state, so they can all be applied at once and the reduced problem's ground states are
exactly the source's, restricted. ``U`` is the lowest of: the part the candidates leave free
solved exactly (tree decomposition, when its width fits 256 MiB: then ``U = E₀`` whenever the
candidates hold in some ground state), and greedy one-flip descents from the candidates and
from all-down. A better ``U`` only proves more, never something false.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.solvers.bounds import conditioned_bounds, roof_duality
from qevo_ir.solvers.tree import solve_tree
from qevo_ir.vartypes import SPIN

__all__ = ["ProvedFixings", "descend", "proved_fixings"]

#: A probe proves a fixing only when its bound clears ``U`` by this fraction of
#: ``Σ|h| + Σ|J|`` (float rounding in the energies and in the library's sums never decides it).
_PROBE_MARGIN = 1e-9
#: One-flip descent stops after this many flips (the bound ``U`` stays valid whenever it stops).
_MAX_FLIPS = 100_000
#: Memory for solving the part the candidates leave free exactly (tree decomposition).
_TREE_MEMORY = 1 << 28


@dataclass(frozen=True)
class ProvedFixings:
    """Fixings that hold in every ground state, each proved by a probe.

    ``indices``/``values``: the proved fixings (values in the Hamiltonian's vartype);
    ``candidates``: how many roof duality offered; ``rejected``: candidates whose probe failed
    (left free); ``upper_bound``: the energy ``U`` the probes had to clear; ``lower_bound``: roof
    duality's bound on the whole problem.
    """

    indices: npt.NDArray[np.int64]
    values: npt.NDArray[np.int8]
    candidates: int
    rejected: int
    upper_bound: float
    lower_bound: float
    seconds: float


def descend(ham: Hamiltonian, start: npt.ArrayLike) -> tuple[npt.NDArray[np.int8], float]:
    """Greedy one-flip descent on the SPIN form from ``start`` (spins ±1): flip the variable
    that lowers the energy most until none does. Returns the spins and their energy."""
    spin = ham.to_spin()
    n = spin.num_variables
    s = np.asarray(start, dtype=np.float64).copy()
    if n == 0:
        return s.astype(np.int8), float(spin.offset)
    j = (2.0 * spin.coupling_matrix(symmetric=True)).tocsc()  # J_ij on both sides
    field = spin.linear + j @ s
    for _ in range(_MAX_FLIPS):  # each flip touches one column: a sequential descent
        delta = -2.0 * s * field  # energy change of flipping each spin
        i = int(np.argmin(delta))
        if not delta[i] < 0:
            break
        s[i] = -s[i]
        lo, hi = j.indptr[i], j.indptr[i + 1]
        field[j.indices[lo:hi]] += 2.0 * s[i] * j.data[lo:hi]
    spins = s.astype(np.int8)
    return spins, float(spin.energies(spins[None, :])[0])


def _best_with(spin: Hamiltonian, indices: npt.NDArray[np.int64], values: npt.ArrayLike) -> float:
    """The lowest energy among assignments with the candidates' values (the free part solved
    exactly by tree decomposition when its width is small); ``inf`` when that is too costly.
    When the candidates hold in some ground state this is the ground energy itself."""
    reduced = spin.fix_indices(indices, values)
    if reduced.num_variables == 0:
        return float(reduced.offset)
    try:
        found = solve_tree(
            reduced.linear,
            reduced.row,
            reduced.col,
            reduced.quad,
            reduced.offset,
            max_states=1,
            memory_limit=_TREE_MEMORY,
        )
    except (MemoryError, ValueError):  # too wide for the budget: the descents must do
        return float("inf")
    return float(found.ground.energy)


def proved_fixings(ham: Hamiltonian) -> ProvedFixings:
    """Roof duality's strict fixings of ``ham``, each proved by a probe (module docstring)."""
    start = time.perf_counter()
    rd = roof_duality(ham, strict=True)
    spin = ham.to_spin()
    n = spin.num_variables
    spin_vals = rd.values if ham.vartype is SPIN else (2 * rd.values.astype(np.int64) - 1)
    begin = -np.ones(n)
    begin[rd.indices] = spin_vals
    _, upper = descend(spin, begin)
    _, other = descend(spin, -np.ones(n))
    upper = min(upper, other, _best_with(spin, rd.indices, spin_vals))
    margin = _PROBE_MARGIN * max(1.0, float(np.abs(spin.linear).sum() + np.abs(spin.quad).sum()))
    # one probe per candidate: the bound of the problem with the opposite value
    bounds = conditioned_bounds(spin, rd.indices, -np.asarray(spin_vals, dtype=np.int64))
    proved = bounds > upper + margin
    idx = rd.indices[proved]
    vals = rd.values[proved]
    return ProvedFixings(
        indices=idx,
        values=vals,
        candidates=len(rd.indices),
        rejected=int(np.count_nonzero(~proved)),
        upper_bound=float(upper),
        lower_bound=float(rd.lower_bound),
        seconds=time.perf_counter() - start,
    )
