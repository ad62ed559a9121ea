"""``gptq-block``: GPTQ's column order and compensation, each block of ``B`` columns rounded
jointly per channel by a QUBO solved through the compiler and any backend.

With ``F`` the columns not yet rounded and ``B`` its first ``B`` columns, rounding ``B`` with
error ``e_B`` and compensating the rest optimally costs ``e_Bᵀ S e_B`` with
``S = ((H_F⁻¹)_BB)⁻¹ = M Mᵀ``, ``M = (u_BB)⁻¹`` (``u`` the upper Cholesky factor of ``H⁻¹``);
these block energies sum to the layer objective (``specs/blocks.md`` has the proof). Each
weight of the block picks the floor or the ceil of its compensated grid coordinate, so the block
is a BINARY QUBO per channel: a :class:`~qevo_ir.blocks.batch.GramBatch` over ``S``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.linalg

from qevo_ir.blocks.base import GramBlock
from qevo_ir.blocks.batch import GramBatch
from qevo_ir.blocks.methods.base import Answer, Bits, Method, option_int, rounding_block
from qevo_ir.blocks.methods.exact import EXACT_MAX_VARIABLES
from qevo_ir.blocks.methods.gptq import GptqPlan, gptq_rows
from qevo_ir.blocks.methods.qaoa import QAOA_MAX_VARIABLES
from qevo_ir.errors import LimitExceeded, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.variables import VariableTable
from qevo_ir.vartypes import BINARY

__all__ = ["GPTQ_BLOCK", "block_hamiltonian", "gptq_block_codes"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Inner solvers that sample: all channels of a block go to them as one block-diagonal problem.
_SAMPLERS = ("sa", "tabu", "steepest")
_LIMITS = {"exact": EXACT_MAX_VARIABLES, "qaoa": QAOA_MAX_VARIABLES}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "exact": {"max_states": 1},
    "sa": {"num_reads": 8, "num_sweeps": 200},
    "tabu": {"num_reads": 2, "timeout": 5},
    "qaoa": {"layers": 1, "shots": 256, "restarts": 2},
}
_SEEDED = ("sa", "tabu", "steepest", "qaoa")

InnerSolve = Callable[[GramBatch], Bits]


def block_hamiltonian(batch: GramBatch, channels: IntArray | None = None) -> Hamiltonian:
    """The BINARY Hamiltonian of ``channels`` of a block's batch (all: block-diagonal).

    Variables are the free slots, channel by channel, labelled ``0..n-1``.
    """
    terms = batch.terms(channels)
    table = VariableTable(num_variables=len(terms.channel))
    return Hamiltonian._trusted(
        BINARY, terms.linear, terms.row, terms.col, terms.quad, terms.offset, table
    )


def _inner_solver(inner: str, options: Mapping[str, Any], seed: int | None) -> InnerSolve:
    """Solve every channel of a block's batch through :func:`qevo_ir.solve` with ``inner``."""
    from qevo_ir.compiler import solve

    base = {**_DEFAULTS.get(inner, {}), **dict(options)}
    rng = np.random.default_rng(seed)

    def run(batch: GramBatch) -> Bits:
        opts = dict(base)
        if inner in _SEEDED and "seed" not in options:
            opts["seed"] = int(rng.integers(0, 2**31 - 1))
        free = batch.free
        bits = np.zeros(free.shape, dtype=np.int8)
        if inner in _SAMPLERS:
            chan, slot = np.nonzero(free)
            if len(chan) == 0:
                return bits
            result = solve(block_hamiltonian(batch), inner, **opts)
            samples = result.to_vartype(BINARY)
            reads = np.zeros((len(samples), *free.shape), dtype=np.int8)
            reads[:, chan, slot] = samples
            energy = batch.energies(reads)  # (r, C): channels are independent
            best = np.argmin(energy, axis=0)
            chosen: Bits = reads[best, np.arange(free.shape[0])]
            return chosen
        for c in np.flatnonzero(batch.num_free() > 0).tolist():  # one solve per channel
            result = solve(block_hamiltonian(batch, np.array([c], dtype=np.int64)), inner, **opts)
            samples = result.to_vartype(BINARY)
            best = int(np.argmin(result.energies))
            bits[c, np.flatnonzero(free[c])] = samples[best]
        return bits

    return run


def gptq_block_codes(
    plan: GptqPlan,
    weight: FloatArray,
    scale: FloatArray,
    zero: npt.ArrayLike,
    qmin: int,
    qmax: int,
    block_size: int,
    solve_block: InnerSolve,
) -> tuple[FloatArray, FloatArray]:
    """Grid codes ``(rows, in)`` and block energies ``(rows, blocks)`` for ``weight`` rows.

    Rows are independent given ``plan``: any subset can be solved on its own.
    """
    perm, u = plan.perm, plan.u
    d = len(perm)
    wt = np.array(np.asarray(weight, dtype=np.float64).T[perm], order="C")  # (in, rows)
    wt[plan.dead] = 0.0
    s = np.asarray(scale, dtype=np.float64)
    z = np.asarray(zero, dtype=np.float64)
    rows = wt.shape[1]
    starts = list(range(0, d, block_size))
    codes = np.empty_like(wt)
    energies = np.zeros((rows, len(starts)))
    for k, b0 in enumerate(starts):  # blocks are sequential: each compensates the later ones
        b1 = min(b0 + block_size, d)
        b = b1 - b0
        m = scipy.linalg.solve_triangular(u[b0:b1, b0:b1], np.eye(b), lower=False)
        gram = m @ m.T
        gram = (gram + gram.T) / 2.0
        wb = wt[b0:b1].T  # (rows, b): the compensated weights of the block
        t = wb / s[:, None] + z[:, None]
        low = np.floor(t)
        free = (low >= qmin) & (low + 1 <= qmax)
        q0 = np.where(free, low, np.clip(low, qmin, qmax))
        residual = wb - s[:, None] * (q0 - z[:, None])
        step = np.broadcast_to(s[:, None], (rows, b))
        batch = GramBatch.from_residual(gram, np.arange(b, dtype=np.int64), residual, step, free)
        x = solve_block(batch)
        energies[:, k] = batch.energies(x)
        q = q0 + x
        codes[b0:b1] = q.T
        if b1 < d:
            e = wb - s[:, None] * (q - z[:, None])
            wt[b1:] -= u[b0:b1, b1:].T @ (e @ m).T
    out: FloatArray = np.empty_like(codes)
    out[perm] = codes
    return np.ascontiguousarray(out.T), energies


def _run(
    block: GramBlock, options: Mapping[str, Any], info: dict[str, Any], start: Bits | None
) -> Answer:
    rb = rounding_block(block, "gptq-block")
    inner = options.get("inner", "exact")
    if not isinstance(inner, str) or not inner:
        raise ValidationError(f"inner must be a backend name (e.g. 'exact', 'sa'), got {inner!r}")
    block_size = option_int(options, "block_size", 16, 1)
    limit = _LIMITS.get(inner)
    if limit is not None and block_size > limit:
        raise LimitExceeded(
            f"gptq-block: block_size={block_size} is more than inner={inner!r} takes "
            f"({limit} variables per channel); pass block_size <= {limit} or inner='sa'"
        )
    inner_options = options.get("inner_options") or {}
    if not isinstance(inner_options, Mapping):
        raise ValidationError("inner_options must be a mapping of backend options")
    seed = options.get("seed")
    plan, record = gptq_rows(rb, options)
    grid = rb.grid
    w2 = rb.weight.reshape(rb.num_channels, -1)
    codes, energies = gptq_block_codes(
        plan,
        w2,
        grid.scale,
        grid.zero_point,
        grid.qmin,
        grid.qmax,
        block_size,
        _inner_solver(inner, inner_options, seed),
    )
    info["gptq_block"] = {
        **record,
        "inner": inner,
        "block_size": block_size,
        "blocks": int(energies.shape[1]),
        "block_energies": energies,
    }
    weights = grid.value(codes).reshape(rb.param_shape)
    return Answer(rb.bits_from_codes(codes), weights)


GPTQ_BLOCK = Method(
    "gptq-block",
    ("inner", "block_size", "inner_options", "act_order", "damp", "seed"),
    _run,
    summary="GPTQ order and compensation; each block of columns a QUBO through qevo_ir.solve",
)
