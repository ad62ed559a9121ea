"""Feature selection by mutual information as a QUBO (Mücke et al. 2023, "Feature selection on
quantum computers", Quantum Machine Intelligence 5:11): reward relevance, penalise redundancy.

Mutual information is estimated with histograms in numpy (a plug-in estimator); the
cardinality ``Σx = k`` is a symbolic constraint until the block is lowered.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.base import GramBlock
from qevo_ir.blocks.batch import Cardinality, GramBatch
from qevo_ir.errors import LimitExceeded, ValidationError
from qevo_ir.variables import Label, check_label

__all__ = [
    "FeatureSelect",
    "discretize",
    "mutual_information_matrix",
    "mutual_information_with",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_MAX_CATEGORIES = 64  # a target with at most this many distinct values is categorical
_CHUNK_ELEMENTS = 16_000_000  # joint-count block size (float64 entries) per step


def discretize(values: npt.ArrayLike, bins: int) -> IntArray:
    """Equal-width bin codes ``0..bins-1`` per column of ``values`` ``(N, d)`` (or ``(N,)``).

    Each column is binned over its own ``[min, max]``; a constant column is all zeros.
    """
    x = np.asarray(values, dtype=np.float64)
    one_d = x.ndim == 1
    x2 = x[:, None] if one_d else x
    if x2.ndim != 2:
        raise ValidationError(f"values must be (N,) or (N, d), got shape {x.shape}")
    if not np.isfinite(x2).all():
        raise ValidationError("values have non-finite entries")
    lo = x2.min(axis=0, initial=np.inf) if len(x2) else np.zeros(x2.shape[1])
    hi = x2.max(axis=0, initial=-np.inf) if len(x2) else np.zeros(x2.shape[1])
    width = np.where(hi > lo, hi - lo, 1.0)
    codes = np.floor((x2 - lo) / width * bins).astype(np.int64)
    codes = np.clip(codes, 0, bins - 1)
    return codes[:, 0] if one_d else codes


def _target_codes(y: npt.ArrayLike, n: int, bins: int) -> tuple[IntArray, int]:
    arr = np.asarray(y)
    if arr.shape != (n,):
        raise ValidationError(f"y must have shape ({n},) to match X, got {arr.shape}")
    if arr.dtype.kind in "iub" or arr.dtype.kind in "US":
        _, codes = np.unique(arr, return_inverse=True)
        return codes.astype(np.int64).reshape(n), int(codes.max(initial=0)) + 1
    values = arr.astype(np.float64)
    uniq, codes = np.unique(values, return_inverse=True)
    if len(uniq) <= _MAX_CATEGORIES:
        return codes.astype(np.int64).reshape(n), len(uniq)
    return discretize(values, bins), bins


def _mi_from_joint(joint: FloatArray, pa: FloatArray, pb: FloatArray) -> FloatArray:
    """``Σ_ab p(a,b) log(p(a,b) / (p(a) p(b)))`` over the last two axes (0 log 0 = 0)."""
    denom = pa[..., :, None] * pb[..., None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(joint > 0, joint * np.log(joint / np.where(denom > 0, denom, 1.0)), 0.0)
    mi = terms.sum(axis=(-2, -1))
    return np.maximum(mi, 0.0)  # type: ignore[no-any-return]


def mutual_information_with(codes: IntArray, target: IntArray, target_levels: int) -> FloatArray:
    """``MI(feature_i; target)`` in nats for binned features ``codes`` ``(N, d)``."""
    n, d = codes.shape
    bins = int(codes.max(initial=0)) + 1
    # one bincount over (feature, bin, target) triples: vectorised over features and samples
    key = (np.arange(d)[None, :] * bins + codes) * target_levels + target[:, None]
    joint = np.bincount(key.ravel(), minlength=d * bins * target_levels).reshape(
        d, bins, target_levels
    ) / max(n, 1)
    return _mi_from_joint(joint, joint.sum(axis=2), joint.sum(axis=1))


def mutual_information_matrix(codes: IntArray) -> FloatArray:
    """Pairwise ``MI(feature_i; feature_j)`` in nats, ``(d, d)``, zero diagonal.

    Joint histograms of every pair come from one matrix product of the one-hot codes
    (``OᵀO / N``), taken in blocks of rows to bound memory.
    """
    n, d = codes.shape
    bins = int(codes.max(initial=0)) + 1
    width = d * bins
    if width * width > 400_000_000:
        raise LimitExceeded(
            f"pairwise mutual information over {d} features x {bins} bins needs a "
            f"{width}x{width} joint table; use fewer bins or features"
        )
    onehot = np.zeros((n, width))
    onehot[np.repeat(np.arange(n), d), (np.arange(d) * bins + codes).ravel()] = 1.0
    marg = onehot.mean(axis=0).reshape(d, bins)
    out = np.zeros((d, d))
    step = max(1, _CHUNK_ELEMENTS // max(width * bins, 1))
    for start in range(0, d, step):  # blocks of features, each one BLAS call
        stop = min(d, start + step)
        block = onehot[:, start * bins : stop * bins].T @ onehot / max(n, 1)
        joint = block.reshape(stop - start, bins, d, bins).transpose(0, 2, 1, 3)
        out[start:stop] = _mi_from_joint(joint, marg[start:stop, None, :], marg[None, :, :])
    out = (out + out.T) / 2.0
    np.fill_diagonal(out, 0.0)
    return out


class FeatureSelect(GramBlock):
    """Select ``k`` of ``d`` features: the MI QUBO of Mücke et al. (2023).

    With importance ``I_i = MI(X_i; y)`` and redundancy ``R_ij = MI(X_i; X_j)`` (``i ≠ j``), the
    objective over the selection ``x ∈ {0, 1}^d`` is ``xᵀ Q x`` with ``Q_ii = -α I_i`` and
    ``Q_ij = (1 - α) R_ij``::

        E(x) = -α Σ_i I_i x_i + (1 - α) Σ_{i≠j} R_ij x_i x_j

    (each unordered pair counted twice, as in ``xᵀQx``). ``α = 1`` is pure relevance (top-k by
    MI), ``α = 0`` pure redundancy avoidance. The constraint ``Σ x = k`` is a
    :class:`~qevo_ir.blocks.batch.Cardinality`, lowered to ``A (Σx - k)²`` (see
    :class:`~qevo_ir.blocks.prune.PruneMask` for the penalty's default and caveat). MI is a
    histogram plug-in estimate: ``bins`` equal-width bins per feature; a target with at most 64
    distinct values is treated as categorical. The estimate is biased upwards for small ``N``.

    Parameters
    ----------
    X:
        Samples ``(N, d)``.
    y:
        Targets ``(N,)`` (class labels or real values).
    k:
        Features to select, ``0 <= k <= d``.
    alpha:
        Trade-off ``α ∈ [0, 1]`` between importance and redundancy.
    bins:
        Histogram bins per feature (``>= 2``).
    names:
        Optional feature names (the Hamiltonian's labels; default ``0..d-1``).
    penalty:
        Penalty weight ``A`` or ``None`` for the default.
    """

    kind = "features"

    def __init__(
        self,
        X: npt.ArrayLike,
        y: npt.ArrayLike,
        k: int,
        *,
        alpha: float = 0.5,
        bins: int = 8,
        names: Sequence[object] | None = None,
        penalty: float | None = None,
    ) -> None:
        x = np.asarray(X, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] == 0:
            raise ValidationError(f"X must be a non-empty (N, d) array, got shape {x.shape}")
        n, d = x.shape
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 0 <= int(k) <= d:
            raise ValidationError(f"k={k!r} must be an integer in [0, {d}]")
        if not (isinstance(alpha, float | int) and 0.0 <= float(alpha) <= 1.0):
            raise ValidationError(f"alpha={alpha!r} must be in [0, 1]")
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
            raise ValidationError(f"bins={bins!r} must be an integer >= 2")
        if penalty is not None and not (np.isfinite(penalty) and penalty > 0):
            raise ValidationError("penalty must be positive and finite")
        codes = discretize(x, bins)
        target, levels = _target_codes(y, n, bins)
        importance = mutual_information_with(codes, target, levels)
        redundancy = mutual_information_matrix(codes)
        a = float(alpha)
        batch = GramBatch.create(
            redundancy,
            np.arange(d, dtype=np.int64),
            np.full((1, d), np.sqrt(1.0 - a)),
            (-a * importance)[None, :],
            np.zeros(1),
        )
        if names is not None:
            labels = [check_label(v) for v in names]
            if len(labels) != d or len(set(labels)) != d:
                raise ValidationError(f"names must be {d} distinct labels, one per feature")
            self._names: list[Label] | None = labels
        else:
            self._names = None
        self._importance = importance
        self._redundancy = redundancy
        self._alpha = a
        self._k = int(k)
        self._penalty = None if penalty is None else np.array([float(penalty)])
        self._setup(
            batch,
            param_index=np.arange(d, dtype=np.int64)[None, :],
            bit=np.zeros((1, d), dtype=np.int64),
            bit_weight=np.ones((1, d)),
            base=np.zeros(d),
            param_shape=(d,),
            cardinality=Cardinality.create(self._k, 1),
        )

    @property
    def importance(self) -> FloatArray:
        """``MI(X_i; y)`` in nats."""
        return self._importance

    @property
    def redundancy(self) -> FloatArray:
        """``MI(X_i; X_j)`` in nats, zero diagonal."""
        return self._redundancy

    @property
    def alpha(self) -> float:
        return self._alpha

    @property
    def k(self) -> int:
        return self._k

    def default_penalty(self) -> FloatArray:
        if self._penalty is not None:
            return self._penalty
        return super().default_penalty()

    def baseline_bits(self) -> npt.NDArray[np.int8]:
        """The ``k`` most important features (ties: lower index)."""
        order = np.argsort(-self._importance, kind="stable")
        x = np.zeros((1, len(order)), dtype=np.int8)
        x[0, order[: self._k]] = 1
        return x

    def _finish(self, params: FloatArray) -> npt.NDArray[np.bool_]:
        return params > 0.5

    def objective(self, params: npt.ArrayLike) -> float:
        """``-α Σ I_i x_i + (1 - α) Σ_{i≠j} R_ij x_i x_j`` of a 0/1 (or bool) selection."""
        s = np.asarray(params, dtype=np.float64)
        if s.shape != (len(self._importance),):
            raise ValidationError(
                f"selection must have shape ({len(self._importance)},), got {s.shape}"
            )
        if not np.all((s == 0) | (s == 1)):
            raise ValidationError("selection must be 0/1 (or bool)")
        a = self._alpha
        return float(-a * self._importance @ s + (1.0 - a) * s @ self._redundancy @ s)

    def _labels(self, channel: IntArray, slot: IntArray) -> list[Label]:
        if self._names is None:
            return slot.tolist()  # type: ignore[no-any-return]
        return [self._names[i] for i in slot.tolist()]
