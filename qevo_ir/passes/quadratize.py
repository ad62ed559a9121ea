"""The ``quadratize`` pass: a :class:`PolynomialHamiltonian` → a quadratic :class:`Hamiltonian`.

Pairs of variables in terms of degree 3 or more are replaced by auxiliary product variables
``y = x_i x_j`` (Rosenberg), each enforced by ``M_k (x_i x_j − 2 x_i y − 2 x_j y + 3 y)``; pairs
are chosen greedily by how many high-degree terms share them (most first, as dimod's
``make_quadratic`` does, in vectorised rounds). Each strength ``M_k`` is the bound the proof in
``specs/passes.md`` certifies, so the ground states project exactly onto the source's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.passes.base import CompilerPass, PassOutput, register_pass
from qevo_ir.polynomial import IDEMPOTENT, PolynomialHamiltonian, canonical_terms
from qevo_ir.variables import VariableTable
from qevo_ir.vartypes import BINARY, SPIN, binary_to_spin

__all__ = ["Quadratize", "quadratize"]

_SENT = -1
_BIG = np.iinfo(np.int64).max
# strength = the proof's bound × (1 + margin) + margin × max|c|: strictly above the bound.
_MARGIN = 1e-6


@register_pass
@dataclass(frozen=True)
class Quadratize(CompilerPass):
    """Reduce k-local terms to quadratic with certified auxiliary product variables.

    No options. A polynomial of degree <= 2 passes through unchanged (exactly); a SPIN polynomial
    of higher degree is first converted exactly to BINARY.
    """

    name = "quadratize"
    input_type = "PolynomialHamiltonian"
    output_type = "Hamiltonian"
    exact = True

    def apply(self, ir: Any) -> PassOutput:
        if not isinstance(ir, PolynomialHamiltonian):
            raise ValidationError(f"quadratize takes a PolynomialHamiltonian, got {type(ir)}")
        return quadratize(ir)


def _reduce(
    mat: npt.NDArray[np.int64], n: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[int]]:
    """Greedy pair substitution on a ``(T, D)`` matrix of ascending variables padded with −1 at
    the end. Returns the reduced matrix (every row ≤ 2 entries), the ``(K, 2)`` pairs of the
    auxiliaries ``n, n+1, …`` and the round (batch) sizes."""
    mat = mat.copy()
    pairs: list[npt.NDArray[np.int64]] = []
    rounds: list[int] = []
    nxt = n
    D = mat.shape[1]
    pos_p, pos_q = np.triu_indices(D, k=1)
    big = np.int64(n + mat.shape[0] * D + 2)
    while True:
        deg = (mat != _SENT).sum(axis=1)
        high = np.flatnonzero(deg > 2)
        if not len(high):
            break
        sub = mat[high]
        a, b = sub[:, pos_p], sub[:, pos_q]
        valid = (a != _SENT) & (b != _SENT)
        keys = np.where(valid, a * big + b, _BIG)  # (T, P): invalid pairs sort last
        flat = keys.reshape(-1)
        order = np.argsort(flat)
        srt = flat[order]
        first = np.ones(len(srt), dtype=bool)
        first[1:] = srt[1:] != srt[:-1]
        group = np.cumsum(first) - 1
        inv = np.empty(len(flat), dtype=np.int64)
        inv[order] = group
        nvalid = int(np.searchsorted(srt, _BIG))
        starts = np.flatnonzero(first[:nvalid])
        uniq = srt[starts]
        counts = np.diff(np.append(starts, nvalid))
        inv2: Any = np.minimum(inv, len(uniq)).reshape(keys.shape)  # invalid: len(uniq)
        mx = counts.max()
        counts_ext = np.append(counts, 0)
        # each term takes its candidate pair of smallest key; accept pairs used by mx terms
        choice = np.where(counts_ext[inv2] == mx, inv2, len(uniq)).min(axis=1)
        has = choice < len(uniq)
        usage = np.bincount(choice[has], minlength=len(uniq))
        accepted = np.flatnonzero(usage == mx)
        newid = np.full(len(uniq), -1, dtype=np.int64)
        newid[accepted] = nxt + np.arange(len(accepted))
        nxt += len(accepted)
        pairs.append(np.stack([uniq[accepted] // big, uniq[accepted] % big], axis=1))
        rounds.append(len(accepted))
        rows = np.flatnonzero(has)
        rows = rows[newid[choice[rows]] >= 0]
        aux = newid[choice[rows]]
        pa, pb = uniq[choice[rows]] // big, uniq[choice[rows]] % big
        r = mat[high[rows]]
        r = np.where((r == pa[:, None]) | (r == pb[:, None]) | (r == _SENT), _BIG, r)
        r.sort(axis=1)
        # the auxiliary is larger than every variable present: it goes right after them
        r[np.arange(len(r)), (r != _BIG).sum(axis=1)] = aux
        r[r == _BIG] = _SENT
        mat[high[rows]] = r
    pair_arr = np.concatenate(pairs) if pairs else np.zeros((0, 2), dtype=np.int64)
    return mat, pair_arr, rounds


def _with_auxiliaries(variables: VariableTable, k: int) -> VariableTable:
    """The source's labels then ``("aux", 0..k-1)``; the generated labels skip the per-label
    checks unless a source label could collide with one."""
    labels = variables.labels
    aux = [("aux", j) for j in range(k)]
    if any(isinstance(x, tuple) and x[:1] == ("aux",) for x in labels):
        return VariableTable([*labels, *aux])  # checked: a clash is a LabelError
    return VariableTable.trusted([*labels, *aux])


def quadratize(poly: PolynomialHamiltonian) -> PassOutput:
    """The quadratize pass as a function (see :class:`Quadratize`)."""
    if poly.degree <= 2:
        return PassOutput(ir=poly.to_hamiltonian(), details={"auxiliary_variables": 0})
    src_vartype = poly.vartype
    b = poly.to_binary()
    n = b.num_variables
    ptr, idx, coef = b.term_ptr, b.term_vars, b.coeffs
    deg = np.diff(ptr)
    D = int(deg.max())
    mat = np.full((len(deg), D), _SENT, dtype=np.int64)
    rows = np.repeat(np.arange(len(deg)), deg)
    cols = np.arange(len(idx)) - np.repeat(ptr[:-1], deg)
    mat[rows, cols] = idx
    red, pairs, rounds = _reduce(mat, n)
    K = len(pairs)
    ntot = n + K
    # F': the reduced terms, canonical (equal reduced terms merge: a tighter bound below)
    valid = red != _SENT
    rp = np.zeros(len(red) + 1, dtype=np.int64)
    np.cumsum(valid.sum(axis=1), out=rp[1:])
    rule = np.full(ntot, IDEMPOTENT, dtype=np.int8)
    fp, fi, fc, const = canonical_terms(rp, red[valid], coef.copy(), rule)
    # C_k = Σ |c_t| over reduced terms containing y_k
    fdeg = np.diff(fp)
    absc = np.repeat(np.abs(fc), fdeg)
    C = np.bincount(fi, weights=absc, minlength=ntot)[n:]
    # M_k > C_k + 2 Σ_{l: y_k ∈ pair(l)} M_l, computed batch by batch from the last one back
    M = np.zeros(K)
    peak = float(np.abs(fc).max(initial=0.0))
    ends = np.cumsum(rounds)
    starts = ends - np.asarray(rounds, dtype=np.int64)
    for s, e in zip(starts[::-1], ends[::-1], strict=True):
        later = np.arange(e, K)
        dep = np.zeros(K)
        if len(later):
            users = pairs[later].reshape(-1) - n
            w = np.repeat(M[later], 2)
            ok = users >= 0
            dep += np.bincount(users[ok], weights=w[ok], minlength=K)
        bound = C[s:e] + 2.0 * dep[s:e]
        M[s:e] = bound * (1.0 + _MARGIN) + _MARGIN * peak
    # assemble: F' linear/quadratic terms + Σ M_k (a b − 2 a y − 2 b y + 3 y)
    lin = np.zeros(ntot)
    one = fdeg == 1
    np.add.at(lin, fi[fp[:-1][one]], fc[one])
    two = fdeg == 2
    r2 = fi[fp[:-1][two]]
    c2 = fi[fp[:-1][two] + 1]
    v2 = fc[two]
    y = np.arange(n, ntot)
    pa, pb = pairs[:, 0], pairs[:, 1]
    lin += np.bincount(y, weights=3.0 * M, minlength=ntot)
    rows_q = np.concatenate([r2, pa, pa, pb])
    cols_q = np.concatenate([c2, pb, y, y])
    vals_q = np.concatenate([v2, M, -2.0 * M, -2.0 * M])
    table = _with_auxiliaries(b.variables, K)
    ham = Hamiltonian(
        lin, rows_q, cols_q, vals_q, b.offset + const, vartype=BINARY, variables=table
    )

    def decode(samples: npt.NDArray[Any]) -> npt.NDArray[Any]:
        x = np.asarray(samples)[:, :n]
        return binary_to_spin(x) if src_vartype is SPIN else x

    details = {
        "auxiliary_variables": int(K),
        "rounds": len(rounds),
        "source_degree": poly.degree,
        "source_terms": poly.num_terms,
        "strength_min": float(M.min()) if K else 0.0,
        "strength_max": float(M.max(initial=0.0)),
        "strength_total": float(M.sum()),
        "converted_from_spin": src_vartype is SPIN,
        "proof": "M_k > C_k + 2 * sum of M_l over later pairs using y_k (specs/passes.md)",
    }
    return PassOutput(ir=ham, decode=decode, details=details)
