"""GPTQ (Frantar et al. 2022, arXiv:2210.17323, Algorithm 1) on a rounding block's own grid.

Columns (inputs) are quantised one at a time in a fixed order; after each, the columns not yet
quantised absorb its error through the Cholesky factor of ``H⁻¹`` (``H = XᵀX/N`` damped), with
lazy updates in blocks of columns. Every output channel (row of ``W``) is independent given the
factor, so :func:`gptq_codes` takes any set of rows: the unit an executor can map.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.linalg

from qevo_ir.blocks.base import GramBlock
from qevo_ir.blocks.methods.base import (
    Answer,
    Bits,
    Method,
    option_float,
    option_int,
    rounding_block,
)
from qevo_ir.errors import ValidationError

__all__ = ["GPTQ", "GptqPlan", "gptq_codes", "gptq_plan", "gptq_rows"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class GptqPlan:
    """What every channel shares: the column order, dead inputs, damping and the factor.

    ``perm``: column order (identity, or ``act_order``: descending ``diag H``); ``dead``: inputs
    with ``H_ii = 0`` (in permuted order), whose weights are set to 0 and ``H_ii`` to 1 as in
    the paper's code; ``damping``: the ``λ`` added to the diagonal; ``u``: the upper Cholesky
    factor of ``H⁻¹`` in permuted order (``H⁻¹ = uᵀ u``).
    """

    perm: IntArray
    dead: npt.NDArray[np.bool_]
    damping: float
    u: FloatArray


def gptq_plan(gram: FloatArray, damp: float, act_order: bool) -> GptqPlan:
    """``H = G`` with dead inputs fixed, permuted, damped by ``damp · mean(diag H)``, factored.

    Raises :class:`ValidationError` when ``H`` is not positive definite after damping.
    """
    gram = np.asarray(gram, dtype=np.float64)
    d = gram.shape[0]
    diag = np.diagonal(gram).copy()
    dead = diag == 0.0
    diag[dead] = 1.0
    perm = (
        np.argsort(-diag, kind="stable").astype(np.int64)
        if act_order
        else np.arange(d, dtype=np.int64)
    )
    lam = float(damp * np.mean(diag))
    # H⁻¹ = uᵀu with u upper: with J the reversal, J H J = L Lᵀ gives u = J L⁻¹ J (one
    # factorisation and one triangular inverse instead of factor, invert, factor again).
    # The one Gram-sized array: J P H Pᵀ J, factored and inverted in place by LAPACK (its
    # transpose is Fortran-ordered and, H being symmetric, the same matrix).
    order = perm[::-1]
    h = gram[np.ix_(order, order)] if act_order else np.array(gram[::-1, ::-1], order="C")
    np.fill_diagonal(h, diag[order] + lam)
    chol, info = scipy.linalg.lapack.dpotrf(h.T, lower=1, clean=1, overwrite_a=1)
    if info != 0:
        raise ValidationError(
            f"gptq: H = XᵀX/N + damp·mean(diag)·I is not positive definite (damp={damp}, "
            f"pivot {info} of {d}): the calibration inputs are rank-deficient; pass a larger "
            "damp (e.g. 0.01) or more calibration rows"
        )
    inv, info = scipy.linalg.lapack.dtrtri(chol, lower=1, overwrite_c=1)
    if info != 0 or not np.isfinite(inv).all():
        raise ValidationError(
            f"gptq: H is numerically singular after damping (damp={damp}); pass a larger damp"
        )
    u = inv[::-1, ::-1]  # a view: upper triangular, no copy
    return GptqPlan(perm=perm, dead=dead[perm], damping=lam, u=u)


def gptq_codes(
    plan: GptqPlan,
    weight: FloatArray,
    scale: FloatArray,
    zero: npt.ArrayLike,
    qmin: int,
    qmax: int,
    block_size: int,
) -> FloatArray:
    """Integer grid codes ``(rows, in)`` (as floats) of GPTQ on ``weight`` rows.

    ``scale``/``zero``: the rows' grid (``value = scale (q - zero)``, ``q ∈ [qmin, qmax]``);
    each weight rounds to the nearest level of its compensated value, clamped to the grid.
    """
    perm, u = plan.perm, plan.u
    d = len(perm)
    wt = np.array(np.asarray(weight, dtype=np.float64).T[perm], order="C")  # (in, rows)
    wt[plan.dead] = 0.0
    s = np.asarray(scale, dtype=np.float64)
    z = np.asarray(zero, dtype=np.float64)
    inv_s = 1.0 / s
    codes = wt  # row i of ``wt`` is not read again once column i is quantised: codes go there
    q = np.empty(wt.shape[1])
    for i1 in range(0, d, block_size):  # a loop over columns: Algorithm 1 is sequential
        i2 = min(i1 + block_size, d)
        w1 = wt[i1:i2]
        u1 = u[i1:i2, i1:i2]
        err = np.empty((i2 - i1, wt.shape[1]))
        for i in range(i2 - i1):
            w = w1[i]
            np.multiply(w, inv_s, out=q)
            q += z
            q += 0.5
            np.floor(q, out=q)
            np.clip(q, qmin, qmax, out=q)
            e = err[i]
            np.subtract(q, z, out=e)
            e *= s
            np.subtract(w, e, out=e)
            e /= u1[i, i]
            codes[i1 + i] = q  # overwrites w, which is done with
            if i + 1 < i2 - i1:
                w1[i + 1 :] -= np.multiply.outer(u1[i, i + 1 :], e)
        if i2 < d:
            wt[i2:] -= u[i1:i2, i2:].T @ err
    if np.array_equal(perm, np.arange(d)):
        return codes.T  # (rows, in) as a view: no copy in the natural order
    out: FloatArray = np.empty((wt.shape[1], d))  # (rows, in), in the inputs' own order
    out[:, perm] = codes.T
    return out


def gptq_rows(block: Any, options: Mapping[str, Any]) -> tuple[GptqPlan, dict[str, Any]]:
    """The plan of ``block`` for the gptq options (``damp``, ``act_order``) and their record."""
    damp = option_float(options, "damp", 0.01, 0.0)
    act_order = options.get("act_order", False)
    if not isinstance(act_order, bool | np.bool_):
        raise ValidationError(f"act_order must be True or False, got {act_order!r}")
    plan = gptq_plan(block.gram, damp, bool(act_order))
    record = {
        "damp": damp,
        "damping": plan.damping,
        "act_order": bool(act_order),
        "dead_inputs": int(np.count_nonzero(plan.dead)),
    }
    return plan, record


def _run(
    block: GramBlock, options: Mapping[str, Any], info: dict[str, Any], start: Bits | None
) -> Answer:
    rb = rounding_block(block, "gptq")
    block_size = option_int(options, "block_size", 128, 1)
    plan, record = gptq_rows(rb, options)
    grid = rb.grid
    w2 = rb.weight.reshape(rb.num_channels, -1)
    codes = gptq_codes(plan, w2, grid.scale, grid.zero_point, grid.qmin, grid.qmax, block_size)
    del plan  # its factor is Gram-sized: free it before the weights are decoded
    info["gptq"] = {**record, "block_size": block_size}
    weights = grid.value(codes).reshape(rb.param_shape)
    return Answer(rb.bits_from_codes(codes), weights)


GPTQ = Method(
    "gptq",
    ("act_order", "damp", "block_size"),
    _run,
    searches=False,
    summary="GPTQ Algorithm 1 on the block's grid (any level, compensated columns)",
)
