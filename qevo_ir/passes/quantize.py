"""The ``quantize`` pass: lower a ParameterModel to a Hamiltonian by an affine bit encoding.

Substituting ``θ = base + W x`` into ``θᵀQθ + gᵀθ + c`` is exact algebra done with sparse
matrices, so ``E_H(x) = f(decode(x))`` for every bit assignment (on the one-hot feasible set for
the ``one_hot`` encoding); see ``specs/passes.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from qevo_ir.coo import canonicalize
from qevo_ir.errors import PipelineError, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.parameter_model import ParameterModel
from qevo_ir.passes.base import CompilerPass, PassOutput, register_pass
from qevo_ir.passes.encodings import ENCODINGS, Encoding, encode
from qevo_ir.variables import VariableTable
from qevo_ir.vartypes import BINARY, SPIN, Vartype, as_vartype, spin_to_binary

__all__ = ["Quantize", "quantize", "substitute"]


def substitute(
    model: ParameterModel, enc: Encoding, penalty: float | None = None
) -> tuple[
    npt.NDArray[np.float64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.float64],
    float,
    float,
]:
    """The QUBO of ``f(base + W x)`` (+ one-hot penalties): ``(linear, row, col, quad, offset, A)``.

    With ``Qs = (Q + Qᵀ)/2`` and ``M = Wᵀ Qs W``: ``linear = diag(M) + Wᵀ(2 Qs base + g)``,
    ``quad_ij = M_ij + M_ji`` for ``i < j`` and ``offset = baseᵀ Qs base + gᵀ base + c``; both
    use ``x_i² = x_i``. One-hot groups add ``A (Σ_k x_k - 1)²`` each; ``A`` is returned (``0.0``
    when there is no one-hot group). ``penalty=None`` picks ``A = 2 R`` with ``R`` the sum of
    the objective's non-constant coefficient magnitudes (``1.0`` if ``R = 0``), which makes
    every infeasible assignment cost more than every feasible one.
    """
    n = enc.num_bits
    W = enc.matrix()
    qs = model.symmetric_Q()
    base = enc.base
    M = sp.coo_matrix(W.T @ qs @ W)
    diag = M.row == M.col
    lin = np.bincount(M.row[diag], weights=M.data[diag], minlength=n).astype(np.float64)
    lin += np.asarray(W.T @ (2.0 * (qs @ base) + model.g), dtype=np.float64).reshape(n)
    offset = float(base @ (qs @ base) + model.g @ base + model.c)
    off = ~diag
    row = M.row[off].astype(np.int64)
    col = M.col[off].astype(np.int64)
    quad = M.data[off].astype(np.float64)
    # canonicalize folds (j, i) onto (i, j) and sums: quad_ij = M_ij + M_ji.
    row, col, quad = canonicalize(n, row, col, quad)
    A = 0.0
    if enc.one_hot.any():
        if penalty is None:
            R = float(np.abs(lin).sum() + np.abs(quad).sum())
            A = 2.0 * R if R > 0 else 1.0
            # A penalty under the rounding of the energies (R tiny beside the offset) would be
            # lost: infeasible and feasible energies would compare equal.
            A = max(A, 64.0 * float(np.spacing(abs(offset) + R)))
        else:
            A = float(penalty)
        members = enc.one_hot[enc.parameter]
        idx = np.flatnonzero(members)
        # A (Σ x - 1)² = A (Σ_{k≠l} x_k x_l) - A Σ x_k + A, using x² = x.
        S = sp.csr_matrix(
            (np.ones(len(idx)), (idx, enc.parameter[idx])), shape=(n, enc.num_parameters)
        )
        pairs = sp.triu(S @ S.T, k=1).tocoo()
        row = np.concatenate([row, pairs.row.astype(np.int64)])
        col = np.concatenate([col, pairs.col.astype(np.int64)])
        quad = np.concatenate([quad, np.full(pairs.nnz, 2.0 * A)])
        row, col, quad = canonicalize(n, row, col, quad)
        lin[idx] -= A
        offset += A * int(np.count_nonzero(enc.one_hot & (enc.counts() > 0)))
    return lin, row, col, quad, offset, A


def _labels(enc: Encoding, names: tuple[str, ...]) -> list[object]:
    # One label per bit: (name, bit) when the parameters are named, else ("theta", p, bit).
    p = enc.parameter.tolist()
    b = enc.bit.tolist()
    if names:
        return [(names[i], k) for i, k in zip(p, b, strict=True)]
    return [("theta", i, k) for i, k in zip(p, b, strict=True)]


def quantize(
    model: ParameterModel,
    encoding: str = "uniform",
    *,
    bits: int = 4,
    levels: int | None = None,
    penalty: float | None = None,
    vartype: Vartype | str | None = None,
) -> tuple[Hamiltonian, Encoding, float]:
    """Encode ``model`` and return ``(hamiltonian, encoding, one_hot_penalty)``.

    The Hamiltonian's variables are labelled ``(name, bit)`` (or ``("theta", p, bit)``) and carry
    the encoding's :class:`~qevo_ir.variables.Provenance`, so ``provenance.decode`` of a BINARY
    sample is the parameter vector. ``vartype`` defaults to SPIN for ``spin_levels`` and BINARY
    otherwise; the conversion is exact.
    """
    if not isinstance(model, ParameterModel):
        raise ValidationError(f"quantize takes a ParameterModel, got {type(model).__name__}")
    enc = encode(model, encoding, bits=bits, levels=levels)
    lin, row, col, quad, offset, A = substitute(model, enc, penalty)
    prov = enc.provenance(model.block, model.names)
    table = VariableTable(_labels(enc, model.names), provenance=prov)
    ham = Hamiltonian._trusted(BINARY, lin, row, col, quad, offset, table)
    target = (
        as_vartype(vartype)
        if vartype is not None
        else (SPIN if encoding == "spin_levels" else BINARY)
    )
    return ham.change_vartype(target), enc, A


@register_pass
@dataclass(frozen=True)
class Quantize(CompilerPass):
    """Encode each parameter in bits (θ = base + W x) and substitute: ParameterModel → Hamiltonian.

    Options: ``encoding`` (uniform, twos_complement, spin_levels, rounding, one_hot), ``bits``
    per real parameter, ``levels`` (one_hot levels of a real parameter, default ``2**bits``),
    ``penalty`` (one-hot penalty ``A``; ``none`` picks a safe value) and ``vartype`` of the output
    (``none``: SPIN for spin_levels, else BINARY). Exact on every assignment, except that for
    ``one_hot`` it is exact on the feasible (one-hot) assignments.
    """

    name = "quantize"
    input_type = "ParameterModel"
    output_type = "Hamiltonian"
    exact = True

    encoding: str = "uniform"
    bits: int = 4
    levels: int | None = None
    penalty: float | None = None
    vartype: str | None = None

    def __post_init__(self) -> None:
        if self.encoding not in ENCODINGS:
            raise PipelineError(
                f"quantize: unknown encoding {self.encoding!r}; choose one of "
                f"{', '.join(ENCODINGS)}"
            )
        if not 1 <= self.bits <= 52:
            raise PipelineError(f"quantize: bits={self.bits} must be in [1, 52]")
        if self.levels is not None and self.levels < 2:
            raise PipelineError(f"quantize: levels={self.levels} must be at least 2")
        if self.penalty is not None and not (np.isfinite(self.penalty) and self.penalty > 0):
            raise PipelineError(f"quantize: penalty={self.penalty} must be a positive number")
        if self.vartype is not None:
            try:
                as_vartype(self.vartype)
            except ValidationError as exc:
                raise PipelineError(f"quantize: option vartype: {exc}") from None

    def apply(self, ir: Any) -> PassOutput:
        ham, enc, A = quantize(
            ir,
            self.encoding,
            bits=self.bits,
            levels=self.levels,
            penalty=self.penalty,
            vartype=self.vartype,
        )
        prov = ham.variables.provenance
        assert prov is not None
        out_vartype = ham.vartype

        def decode(samples: npt.NDArray[Any]) -> npt.NDArray[Any]:
            x = np.atleast_2d(np.asarray(samples))
            if out_vartype is SPIN:
                x = spin_to_binary(x)
            return prov.decode(enc.repair(x))

        counts = enc.counts()
        details: dict[str, Any] = {
            "encoding": self.encoding,
            "num_bits": enc.num_bits,
            "bits_per_parameter": {
                "min": int(counts.min(initial=0)),
                "max": int(counts.max(initial=0)),
            },
            "integer_parameters": int(np.count_nonzero(ir.integer)),
            "constant_parameters": int(np.count_nonzero(counts == 0)),
            "vartype": str(out_vartype),
            "exact_on": "every assignment",
        }
        if enc.one_hot.any():
            details["one_hot_penalty"] = A
            details["penalty_is_safe"] = self.penalty is None
            details["exact_on"] = (
                "one-hot feasible assignments; an infeasible one decodes to each group's first "
                "set bit (lowest level if none)"
            )
        return PassOutput(ir=ham, decode=decode, details=details)
