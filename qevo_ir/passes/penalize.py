"""The ``penalize`` pass: a :class:`ConstrainedModel` → a BINARY :class:`PolynomialHamiltonian`.

Every variable becomes bits (binary as is, spin by ``s = 2x − 1``, a bounded integer by a
binary-log encoding ``v = lower + Σ w_k x_k``), a maximised objective is negated, and each
constraint adds ``weight · (a·x + slack − b)²``, with slack bits for inequalities. The automatic
weight is certified (proof in ``specs/passes.md``): every infeasible assignment's energy is
strictly above the constrained optimum, so the ground states project onto the constrained optima.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from qevo_ir.constrained import BINARY_KIND, INTEGER_KIND, SPIN_KIND, ConstrainedModel
from qevo_ir.coo import canonicalize
from qevo_ir.errors import LimitExceeded, PipelineError, ValidationError
from qevo_ir.passes.base import CompilerPass, PassOutput, register_pass
from qevo_ir.polynomial import (
    IDEMPOTENT,
    PolynomialHamiltonian,
    canonical_terms,
    degree_groups,
)
from qevo_ir.report import dynamic_range_bits
from qevo_ir.variables import Label, VariableTable
from qevo_ir.vartypes import BINARY

__all__ = ["MAX_DECIMALS", "MAX_PENALTY_RANGE_BITS", "Penalize", "encoding_weights"]

#: A constraint row is read as integers after scaling by ``10**k`` for the smallest
#: ``k <= MAX_DECIMALS`` that makes every coefficient integral; beyond it ``weight="auto"`` refuses.
MAX_DECIMALS = 12
#: Above this dynamic range (``log2 max|c| / min|c|``) the objective's coefficients fall below the
#: float64 resolution of the penalty terms: the weight "overflows float64 precision" and is refused.
MAX_PENALTY_RANGE_BITS = 52.0
# The certified weight is the proof's bound times (1 + margin): strictly above it, with room for
# the float64 rounding of the energies (far below 1e-6 relative for any accepted problem).
_MARGIN = 1e-6
_INT_TOL = 1e-9
_ULPS = 8 * float(np.finfo(np.float64).eps)


def encoding_weights(span: int, scheme: str) -> npt.NDArray[np.float64]:
    """Bit weights covering exactly ``0..span``: binary-log (``1, 2, 4, …``, the last one capped
    so the weights sum to ``span``) or unary (``span`` ones)."""
    if span <= 0:
        return np.zeros(0)
    if scheme == "unary":
        return np.ones(span)
    k = int(span).bit_length()
    w = np.asarray(2.0 ** np.arange(k), dtype=np.float64)
    w[-1] = span - (2 ** (k - 1) - 1)
    return w


def _row_integers(
    A: sp.csr_array,
    b: npt.NDArray[np.float64],
    names: tuple[str, ...],
    need: npt.NDArray[np.bool_],
) -> tuple[sp.csr_array, npt.NDArray[np.float64], int]:
    """Rows scaled by ``10**k`` (smallest ``k``) to integers and divided by their gcd; rows that
    cannot be made integral raise where ``need`` (per row) or are kept as they are. Returns the
    count scaled."""
    m = A.shape[0]
    A = A.copy()
    b = b.copy()
    rowid = np.repeat(np.arange(m), np.diff(A.indptr))
    done = np.zeros(m, dtype=bool)
    scale = np.ones(m)
    for k in range(MAX_DECIMALS + 1):
        f = 10.0**k
        v = A.data * f
        # integral up to the rounding of the product itself (a few ulps of |v|)
        close = np.abs(v - np.round(v)) <= _ULPS * np.maximum(1.0, np.abs(v))
        ok_row = np.bincount(rowid, weights=~close, minlength=m) == 0
        new = ok_row & ~done
        scale[new] = f
        done |= ok_row
        if done.all():
            break
    if np.any(~done & need):
        k = int(np.flatnonzero(~done & need)[0])
        raise ValidationError(
            f"penalize: constraint {names[k]!r} has coefficients that are not decimals with at "
            f"most {MAX_DECIMALS} digits after the point, so no positive lower bound on its "
            "violation is known (and an inequality's slack cannot match it); rescale it, or give "
            "penalize(weight=VALUE) for an equality"
        )
    if not done.all():
        scale[~done] = 1.0
    scaled = int(np.count_nonzero(scale != 1.0))
    A.data = A.data * scale[rowid]
    A.data[done[rowid]] = np.round(A.data[done[rowid]])
    b = b * scale
    # divide integer rows by the gcd of their coefficients (tighter penalty, same feasible set)
    ints = A.data.astype(np.int64)
    nz = np.diff(A.indptr) > 0
    g = np.ones(m, dtype=np.int64)
    if ints.size:
        starts = A.indptr[:-1][nz]
        g[nz] = np.gcd.reduceat(np.abs(ints), starts)
    g[~done | (g == 0)] = 1
    A.data = A.data / g[rowid]
    b = b / g
    return A, b, scaled


@register_pass
@dataclass(frozen=True)
class Penalize(CompilerPass):
    """Lower constraints to quadratic penalties (certified automatic weight) over bits.

    Options: ``weight`` (``"auto"`` for the certified weight, or a number), ``slack``
    (``"binary"`` log encoding or ``"unary"``) for inequality slacks.
    """

    name = "penalize"
    input_type = "ConstrainedModel"
    output_type = "PolynomialHamiltonian"
    exact = True

    weight: float | Literal["auto"] = "auto"
    slack: Literal["binary", "unary"] = "binary"

    def __post_init__(self) -> None:
        if self.weight != "auto" and not (
            isinstance(self.weight, int | float) and math.isfinite(self.weight) and self.weight > 0
        ):
            raise PipelineError(f"penalize: weight={self.weight!r} must be 'auto' or a number > 0")
        if self.slack not in ("binary", "unary"):
            raise PipelineError(f"penalize: slack={self.slack!r} must be 'binary' or 'unary'")

    def apply(self, ir: Any) -> PassOutput:
        if not isinstance(ir, ConstrainedModel):
            raise ValidationError(f"penalize takes a ConstrainedModel, got {type(ir).__name__}")
        return penalize(ir, self.weight, self.slack)


def _encoding(
    model: ConstrainedModel,
) -> tuple[sp.csr_array, npt.NDArray[np.float64], list[Label]]:
    """``E`` (n × B, sparse) and ``base`` with ``v = base + E x``, and the bit labels."""
    kinds, lo, hi = model.kinds, model.lower, model.upper
    n = model.num_variables
    nbits = np.ones(n, dtype=np.int64)
    spans = np.zeros(n, dtype=np.int64)
    integer = kinds == INTEGER_KIND
    spans[integer] = (hi[integer] - lo[integer]).astype(np.int64)
    nbits[integer] = np.array([int(s).bit_length() for s in spans[integer]], dtype=np.int64)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(nbits, out=ptr[1:])
    weights = np.ones(int(ptr[-1]))
    weights[ptr[:-1][kinds == SPIN_KIND]] = 2.0
    for j in np.flatnonzero(integer):
        weights[ptr[j] : ptr[j + 1]] = encoding_weights(int(spans[j]), "binary")
    base = np.where(kinds == BINARY_KIND, 0.0, lo)
    rows = np.repeat(np.arange(n), nbits)
    E = sp.csr_array((weights, (rows, np.arange(len(rows)))), shape=(n, len(rows)))
    labels = model.labels
    bit_labels: list[Label] = []
    if not integer.any():
        bit_labels = list(labels)
    else:
        for i in range(n):
            if kinds[i] == INTEGER_KIND:
                bit_labels.extend((labels[i], "bit", k) for k in range(int(nbits[i])))
            else:
                bit_labels.append(labels[i])
    return E, base, bit_labels


def _substitute(
    model: ConstrainedModel, E: sp.csr_array, base: npt.NDArray[np.float64], sign: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], float]:
    """The objective (times ``sign``) over the bits: ``v_i = base_i + Σ E_ik x_k`` expanded."""
    p, idx, coef, off = model.objective
    n, nb = E.shape
    # each variable's parts: its constant (bit -1) when nonzero, then its bits
    has_const = base != 0
    cnt = np.diff(E.indptr) + has_const
    eptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(cnt, out=eptr[1:])
    evar = np.empty(int(eptr[-1]), dtype=np.int64)
    ecoef = np.empty(int(eptr[-1]))
    const_pos = eptr[:-1][has_const]
    evar[const_pos] = -1
    ecoef[const_pos] = base[has_const]
    bit_pos = np.ones(len(evar), dtype=bool)
    bit_pos[const_pos] = False
    evar[bit_pos] = E.indices
    ecoef[bit_pos] = E.data
    ptrs, idxs, coefs = [], [], []
    for d, a, b in degree_groups(p):
        mat = idx[p[a] : p[b]].reshape(b - a, d)
        cur = np.zeros((b - a, 0), dtype=np.int64)
        c = sign * coef[a:b]
        for k in range(d):
            v = mat[:, k]
            reps = cnt[v]
            row = np.repeat(np.arange(len(cur)), reps)
            pos = np.arange(len(row)) - np.repeat(np.cumsum(reps) - reps, reps)
            src = eptr[v][row] + pos
            mat = mat[row]
            cur = np.concatenate([cur[row], evar[src][:, None]], axis=1)
            c = c[row] * ecoef[src]
        keep = cur >= 0
        tp = np.zeros(len(cur) + 1, dtype=np.int64)
        np.cumsum(keep.sum(axis=1), out=tp[1:])
        ptrs.append(tp)
        idxs.append(cur[keep])
        coefs.append(c)
    from qevo_ir.polynomial import _concat_csr

    tp, ti, tc = _concat_csr(ptrs, idxs, coefs)
    rule = np.full(nb, IDEMPOTENT, dtype=np.int8)
    cp, ci, cc, const = canonical_terms(tp, ti, tc, rule)
    return cp, ci, cc, sign * off + const


def penalize(
    model: ConstrainedModel, weight: float | str = "auto", slack: str = "binary"
) -> PassOutput:
    """The penalize pass as a function (see :class:`Penalize`)."""
    sign = -1.0 if model.sense == "max" else 1.0
    E, base, bit_labels = _encoding(model)
    nb = E.shape[1]
    op, oi, oc, ooff = _substitute(model, E, base, sign)
    # constraints over the bits: A (E x) = b − A base; >= rows negated into <=
    A = model.constraint_matrix
    senses = model.sense_codes
    flip = np.where(senses == 2, -1.0, 1.0)
    Ab = sp.csr_array(sp.diags_array(flip) @ (A @ E))
    Ab.eliminate_zeros()
    bb = flip * (model.rhs - A @ base)
    le = senses != 0
    auto = weight == "auto"
    need = le | auto  # auto: every row needs a certified violation; slack: integer rows
    Ab, bb, scaled = _row_integers(Ab, bb, model.constraint_names, need)
    integral = np.all(np.abs(Ab.data - np.round(Ab.data)) == 0) if Ab.nnz else True
    names = model.constraint_names
    # integer rows: an equality with a fractional rhs has no solution; <= rounds its rhs down
    frac = np.abs(bb - np.round(bb)) > _INT_TOL * np.maximum(1.0, np.abs(bb))
    rowint = np.ones(len(bb), dtype=bool)
    if not integral:
        rowid = np.repeat(np.arange(len(bb)), np.diff(Ab.indptr))
        rowint = np.bincount(rowid, weights=Ab.data != np.round(Ab.data), minlength=len(bb)) == 0
    bad_eq = ~le & frac & rowint
    if bad_eq.any():
        k = int(np.flatnonzero(bad_eq)[0])
        raise ValidationError(
            f"constraint {names[k]!r} sums integers to a non-integer right-hand side: the model "
            "is infeasible"
        )
    bb = np.where(
        rowint,
        np.where(le, np.floor(bb + _INT_TOL * np.maximum(1.0, np.abs(bb))), np.round(bb)),
        bb,
    )
    rows_lo = np.bincount(
        np.repeat(np.arange(len(bb)), np.diff(Ab.indptr)),
        weights=np.minimum(Ab.data, 0.0),
        minlength=len(bb),
    )
    rows_hi = np.bincount(
        np.repeat(np.arange(len(bb)), np.diff(Ab.indptr)),
        weights=np.maximum(Ab.data, 0.0),
        minlength=len(bb),
    )
    infeasible = (le & (rows_lo > bb)) | (~le & ((bb < rows_lo) | (bb > rows_hi)))
    if infeasible.any():
        k = int(np.flatnonzero(infeasible)[0])
        raise ValidationError(
            f"constraint {names[k]!r} cannot hold over the variables' bounds: the model is "
            "infeasible"
        )
    redundant = le & (rows_hi <= bb)
    keep = np.flatnonzero(~redundant)
    Ab = sp.csr_array(Ab[keep])
    bb, le_k = bb[keep], le[keep]
    # slack bits: a·x + Σ w z = b with Σ w covering 0..b − min(a·x)
    spans = np.where(le_k, bb - rows_lo[keep], 0.0).astype(np.int64)
    sw = [encoding_weights(int(s), slack) for s in spans]
    scount = np.array([len(w) for w in sw], dtype=np.int64)
    nz = int(scount.sum())
    srows = np.repeat(np.arange(len(keep)), scount)
    S = sp.csr_array(
        (np.concatenate(sw) if sw else np.zeros(0), (srows, np.arange(nz))),
        shape=(len(keep), nz),
    )
    full = sp.csr_array(sp.hstack([Ab, S], format="csr"))
    slack_labels: list[Label] = [
        ("slack", names[int(keep[r])], j) for r in range(len(keep)) for j in range(int(scount[r]))
    ]
    # the objective's range over the box bounds how far any energy can fall below the optimum
    gap = float(np.abs(oc).sum())
    if auto:
        w = gap * (1.0 + _MARGIN) if gap > 0 else 1.0
    else:
        w = float(weight)
    # penalty = w Σ_c (a_c y − b_c)²  with binary y:  yᵀ(AᵀA)y − 2 bᵀA y + bᵀb
    ntot = nb + nz
    with np.errstate(over="ignore", invalid="ignore"):
        G = sp.coo_array(full.T @ full)
        lin = np.zeros(ntot)
        diag = G.row == G.col
        lin += np.bincount(G.row[diag], weights=G.data[diag], minlength=ntot)
        lin -= 2.0 * (full.T @ bb)
        upper = G.row < G.col
        pr, pc, pv = G.row[upper], G.col[upper], 2.0 * G.data[upper]
        pen_off = float(bb @ bb)
        lin_w, pv_w, off_w = w * lin, w * pv, w * pen_off
    if not (np.isfinite(lin_w).all() and np.isfinite(pv_w).all() and np.isfinite(off_w)):
        raise LimitExceeded(
            f"penalize: the penalty weight {w:.4g} overflows float64 with these constraint "
            "coefficients; rescale the objective or the constraints"
        )
    # assemble in canonical order without a general sort: linear terms by index, pairwise terms
    # merged by the COO canonicaliser, then the objective's terms of degree >= 3 (canonical)
    odeg = np.diff(op)
    lin_all = lin_w.copy()
    one = odeg == 1
    np.add.at(lin_all, oi[op[:-1][one]], oc[one])
    two = np.flatnonzero(odeg == 2)
    qr = np.concatenate([pr, oi[op[two]]])
    qc = np.concatenate([pc, oi[op[two] + 1]])
    qv = np.concatenate([pv_w, oc[two]])
    qr, qc, qv = canonicalize(ntot, qr.astype(np.int64), qc.astype(np.int64), qv)
    hi_terms = np.flatnonzero(odeg >= 3)
    lin_idx = np.flatnonzero(lin_all)
    hi_vars = oi[op[hi_terms[0]] :] if len(hi_terms) else np.zeros(0, np.int64)
    deg = np.concatenate(
        [np.ones(len(lin_idx), np.int64), np.full(len(qv), 2, np.int64), odeg[hi_terms]]
    )
    fp = np.zeros(len(deg) + 1, dtype=np.int64)
    np.cumsum(deg, out=fp[1:])
    fi = np.concatenate([lin_idx, np.stack([qr, qc], axis=1).reshape(-1), hi_vars])
    fc = np.concatenate([lin_all[lin_idx], qv, oc[hi_terms]])
    const = 0.0
    offset = ooff + off_w + const
    if model.variables.is_range and nb == model.num_variables and not slack_labels:
        table = VariableTable.range(nb)  # the model's own labels 0..n-1, nothing added
    else:
        table = VariableTable(bit_labels + slack_labels)  # checked: a clash is a LabelError
    out = PolynomialHamiltonian._trusted(BINARY, fp, fi, fc, offset, table)
    obj_bits = dynamic_range_bits(oc, np.zeros(0))
    after_bits = dynamic_range_bits(fc, np.zeros(0))
    # the smallest objective coefficient must survive being added to the largest penalty one
    pen_peak = float(max(np.abs(lin_w).max(initial=0.0), np.abs(pv_w).max(initial=0.0)))
    obj_small = np.abs(oc[oc != 0]).min(initial=np.inf)
    over_bits = float(np.log2(pen_peak / obj_small)) if pen_peak > 0 and obj_small < np.inf else 0.0
    if max(after_bits, over_bits) > MAX_PENALTY_RANGE_BITS:
        raise LimitExceeded(
            f"penalize: with weight {w:.4g} the penalty exceeds the smallest objective "
            f"coefficient by {max(after_bits, over_bits):.1f} bits, more than float64 resolves "
            f"({MAX_PENALTY_RANGE_BITS:g}): the objective would drown in the penalty's rounding. "
            "Rescale the objective or the constraints, or give a smaller weight"
        )
    n_src = model.num_variables

    def decode(samples: npt.NDArray[Any]) -> npt.NDArray[Any]:
        x = np.asarray(samples)[:, :nb].astype(np.float64)
        vals = base[None, :] + np.asarray(E @ x.T).T
        out: npt.NDArray[Any] = np.rint(vals).astype(np.int64).reshape(-1, n_src)
        return out

    details: dict[str, Any] = {
        "weight": w,
        "weight_mode": "auto" if auto else "given",
        "certified": bool(auto),
        "objective_range_bound": gap,
        "min_violation_squared": 1.0 if auto else None,
        "proof": (
            "weight > (objective upper bound - lower bound over the box) / (minimum nonzero "
            "squared residual = 1 for integer rows) (specs/passes.md, penalize)"
        ),
        "sense": model.sense,
        "negated_objective": model.sense == "max",
        "constraints": model.num_constraints,
        "constraints_redundant_dropped": int(np.count_nonzero(redundant)),
        "rows_scaled_to_integers": scaled,
        "encoded_bits": nb,
        "slack_variables": nz,
        "slack_encoding": slack,
        "dynamic_range_bits_objective": obj_bits,
        "dynamic_range_bits_penalized": after_bits,
        "dynamic_range_cost_bits": after_bits - obj_bits,
        "penalty_over_objective_bits": over_bits,
    }
    return PassOutput(ir=out, decode=decode, details=details)
