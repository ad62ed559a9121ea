"""What every model block shares: a factored objective, its Hamiltonian, decoding and repair.

A block owns a :class:`~qevo_ir.blocks.batch.GramBatch` (one QUBO per output channel), the map
from each variable slot to the model parameter it encodes, and optionally a symbolic
:class:`~qevo_ir.blocks.batch.Cardinality` constraint that becomes a penalty only when lowered.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.batch import Cardinality, GramBatch
from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.results import SampleResult
from qevo_ir.variables import Label, Provenance, VariableTable
from qevo_ir.vartypes import BINARY, Vartype, as_vartype, spin_to_binary

__all__ = ["GramBlock", "reconstruction_error"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def reconstruction_error(
    gram: FloatArray, reference: FloatArray, candidate: npt.ArrayLike, what: str = "weight"
) -> float:
    """``Σ_o (w_o - ŵ_o)ᵀ G (w_o - ŵ_o)`` = ``‖X Wᵀ - X Ŵᵀ‖²_F / N`` for ``G = XᵀX/N``.

    ``reference`` and ``candidate`` are ``(out, in)`` (``candidate`` is reshaped to match).
    """
    cand = np.asarray(candidate, dtype=np.float64)
    if cand.size != reference.size:
        raise ValidationError(
            f"{what} has {cand.size} entries; the block's weight has shape {reference.shape}"
        )
    if not np.isfinite(cand).all():
        raise ValidationError(f"{what} has non-finite entries")
    err = reference - cand.reshape(reference.shape)
    return float(np.einsum("oi,oi->", err @ gram, err))


class GramBlock(abc.ABC):
    """Base of the model blocks: one independent BINARY QUBO per channel, sharing ``G``.

    Subclasses call :meth:`_setup` and implement :meth:`objective` and :meth:`baseline_bits`.
    Variable slot ``a`` of channel ``c`` encodes parameter ``param_index[c, a]`` (a flat index
    into the parameter array) with weight ``bit_weight[c, a]``: a parameter decodes to
    ``base[p] + Σ bit_weight x`` over its slots (the table's :class:`Provenance`).
    """

    kind: ClassVar[str] = "block"

    _batch: GramBatch
    _param_index: IntArray | None
    _bit: IntArray
    _bit_weight: FloatArray
    _base: FloatArray
    _param_shape: tuple[int, ...]
    _cardinality: Cardinality | None
    _vartype: Vartype

    def _setup(
        self,
        batch: GramBatch | None,
        *,
        param_index: IntArray | None,
        bit: IntArray,
        bit_weight: FloatArray,
        base: FloatArray,
        param_shape: tuple[int, ...],
        cardinality: Cardinality | None = None,
        vartype: Vartype = BINARY,
    ) -> None:
        if batch is not None:  # None: the subclass builds its batch on first use
            self._batch = batch
        self._param_index = param_index
        self._bit = bit
        self._bit_weight = bit_weight
        self._base = np.asarray(base, dtype=np.float64).reshape(-1)
        self._param_shape = tuple(param_shape)
        self._cardinality = cardinality
        self._vartype = vartype
        for arr in (self._param_index, self._bit, self._bit_weight, self._base):
            if arr is not None:
                arr.flags.writeable = False

    def _parameter_of(self, channel: IntArray, slot: IntArray) -> IntArray:
        """The parameter that slot ``slot`` of channel ``channel`` feeds (``param_index``; when
        that is ``None``, the dense layout ``channel · slots + slot``, never stored)."""
        if self._param_index is None:
            return channel * self._batch.num_slots + slot
        return self._param_index[channel, slot]

    # ------------------------------------------------------------------ description
    @property
    def batch(self) -> GramBatch:
        """The unpenalised objective, one QUBO per channel, in factored form."""
        return self._batch

    @property
    def cardinality(self) -> Cardinality | None:
        """The symbolic constraint, if the block has one (lowered only by :meth:`hamiltonian`)."""
        return self._cardinality

    @property
    def num_channels(self) -> int:
        return self._batch.num_channels

    @property
    def num_variables(self) -> int:
        """Variables of the combined Hamiltonian (free slots of every channel)."""
        return self._batch.num_variables

    @property
    def param_shape(self) -> tuple[int, ...]:
        return self._param_shape

    @property
    def vartype(self) -> Vartype:
        """The vartype of :meth:`hamiltonian` (BINARY except for the ``spin_levels`` encoding)."""
        return self._vartype

    constant: float = 0.0
    """``objective(decode(x)) = Σ_c E_c(x) + constant`` on feasible ``x`` (0 for every block)."""

    # ------------------------------------------------------------------ lowering
    def default_penalty(self) -> FloatArray:
        """Per channel ``A_c = max_a (|h_a| + Σ_b |J_ab|)`` of the objective (1.0 if zero).

        With ``A_c`` at least this bound, from any assignment with ``Σx = k + d`` one can reach
        a feasible one by ``|d|`` flips, each raising the objective by at most ``A_c`` while the
        penalty falls by ``A_c d²``: so some ground state of the penalised QUBO is feasible.
        """
        bound = self._batch.flip_bound()
        return np.where(bound > 0, bound, 1.0)

    def lowered(self, penalty: float | npt.ArrayLike | None = None) -> GramBatch:
        """The batch with the cardinality penalty applied (unchanged if there is none).

        ``penalty``: a weight for every channel, an array of per-channel weights, or ``None``
        for :meth:`default_penalty`.
        """
        if self._cardinality is None:
            if penalty is not None:
                raise ValidationError(
                    f"{type(self).__name__} has no constraint; penalty= does not apply"
                )
            return self._batch
        a = self.default_penalty() if penalty is None else np.asarray(penalty, dtype=np.float64)
        return self._batch.with_penalty(a, self._cardinality.k)

    def _labels(self, channel: IntArray, slot: IntArray) -> list[Label]:
        """One label per variable: ``(channel, slot)`` unless a subclass says otherwise."""
        return list(zip(channel.tolist(), slot.tolist(), strict=True))

    def hamiltonian(
        self,
        channel: int | None = None,
        *,
        penalty: float | npt.ArrayLike | None = None,
        labelled: bool = True,
    ) -> Hamiltonian:
        """The Hamiltonian of one channel, or of all channels as one block-diagonal problem.

        Variables are the free slots of each channel, channels in order; labels and
        :class:`~qevo_ir.variables.Provenance` (block = channel, parameter = flat index into the
        parameter array, weight, base) come with them, so ``variables.provenance.decode`` of a
        BINARY sample gives the parameters. For one channel, the provenance covers that channel's
        parameters only, numbered as in :meth:`channel_parameters`. Energies equal
        :meth:`bit_objectives` (penalty included when the block has a constraint) exactly in real
        arithmetic.
        ``labelled=False`` keeps the provenance but labels the variables ``0..n-1``: building a
        few hundred thousand tuple labels costs more than the terms themselves.
        """
        batch = self.lowered(penalty)
        own: IntArray | None = None
        if channel is None:
            terms = batch.terms()
        else:
            own = self.channel_parameters(channel)
            terms = batch.terms(np.array([int(channel)], dtype=np.int64))
        ch, sl = terms.channel, terms.slot
        parameter = self._parameter_of(ch, sl)
        base = self._base  # read-only already: shared, not copied
        if own is not None:  # the channel's own parameters only (see channel_parameters)
            parameter = np.searchsorted(own, parameter).astype(np.int64)
            base = base[own]
        prov = Provenance(
            block=ch.copy(),
            parameter=parameter,
            bit=self._bit[ch, sl],
            weight=self._bit_weight[ch, sl],
            base=base,
        )
        if labelled:
            table = VariableTable.trusted(self._labels(ch, sl), provenance=prov)
        else:
            table = VariableTable(num_variables=len(ch), provenance=prov)
        ham = Hamiltonian._trusted(
            BINARY, terms.linear, terms.row, terms.col, terms.quad, terms.offset, table
        )
        return ham.change_vartype(self._vartype)

    def channel_parameters(self, channel: int) -> IntArray:
        """The parameters channel ``channel`` encodes (flat indices into the parameter array,
        ascending). The provenance of :meth:`hamiltonian` for one channel numbers its parameters
        by position in this array, and its ``base`` holds theirs only: a channel's Hamiltonian
        (and every file written from it) grows with the channel, not with the block."""
        c = self._check_channel(channel)
        slots = np.arange(self._batch.num_slots, dtype=np.int64)
        own: IntArray = np.unique(self._parameter_of(np.full_like(slots, c), slots))
        return own

    def _check_channel(self, channel: int) -> int:
        if isinstance(channel, bool) or not isinstance(channel, int | np.integer):
            raise ValidationError(f"channel must be an integer, got {channel!r}")
        c = int(channel)
        if not 0 <= c < self.num_channels:
            raise ValidationError(
                f"channel {c} is out of range: the block has {self.num_channels} channels"
            )
        return c

    # ------------------------------------------------------------------ decoding
    @abc.abstractmethod
    def baseline_bits(self) -> npt.NDArray[np.int8]:
        """The classical baseline's bits ``(C, m)`` (round-to-nearest, magnitude, top-k)."""

    @abc.abstractmethod
    def objective(self, params: npt.ArrayLike) -> float:
        """The block's objective at a parameter array shaped like :attr:`param_shape`."""

    def decode_bits(self, bits: npt.ArrayLike) -> npt.NDArray[Any]:
        """Parameters from slot bits ``(C, m)`` (or ``(r, C, m)``): ``base + Σ weight · x``."""
        x = self._batch.check_bits(bits)
        lead = x.shape[:-2]
        flat = x.reshape(-1, *self._batch.free.shape)
        num_params = len(self._base)
        used = self._batch.free
        p = self._parameter_of(*np.nonzero(used))
        contrib = flat[:, used] * self._bit_weight[used]
        keys = (np.arange(len(flat), dtype=np.int64)[:, None] * num_params + p).reshape(-1)
        sums = np.bincount(keys, weights=contrib.reshape(-1), minlength=len(flat) * num_params)
        out: FloatArray = sums.reshape(len(flat), num_params) + self._base
        return self._finish(out.reshape(*lead, *self._param_shape))

    def _finish(self, params: FloatArray) -> npt.NDArray[Any]:
        return params

    def bits_from_sample(
        self,
        sample: npt.ArrayLike | Mapping[int, npt.ArrayLike] | SampleResult,
        *,
        vartype: Vartype | str | None = None,
    ) -> npt.NDArray[np.int8]:
        """Slot bits ``(C, m)`` (or ``(r, C, m)``) from a sample of :meth:`hamiltonian`.

        Accepted: a 1-D array with one value per variable of the combined Hamiltonian (channels
        in order, free slots ascending), a 2-D array of such rows, a
        :class:`~qevo_ir.results.SampleResult` of the combined Hamiltonian (its best sample),
        or a mapping ``{channel: values of that channel's variables}`` in which missing channels
        take the baseline (:meth:`baseline_bits`). Values are in ``vartype`` (default: the
        Hamiltonian's).
        """
        vt = self._vartype if vartype is None else as_vartype(vartype)
        free = self._batch.free
        if isinstance(sample, SampleResult):
            if len(sample) == 0:
                raise ValidationError("the SampleResult holds no samples")
            return self.bits_from_sample(sample.samples[0], vartype=sample.vartype)
        if isinstance(sample, Mapping):
            bits = self.baseline_bits().copy()
            for key, values in sample.items():
                c = self._check_channel(key)
                slots = np.flatnonzero(free[c])
                v = _to_binary(np.asarray(values).reshape(-1), vt, f"channel {c}")
                if len(v) != len(slots):
                    raise ValidationError(
                        f"channel {c} has {len(slots)} variables; {len(v)} values were given"
                    )
                bits[c, slots] = v
            return bits
        arr = np.asarray(sample)
        if arr.ndim not in (1, 2) or arr.shape[-1] != self.num_variables:
            raise ValidationError(
                f"a sample must have {self.num_variables} values (one per variable of the "
                f"combined Hamiltonian), got shape {arr.shape}"
            )
        v = _to_binary(arr, vt, "sample")
        chan, slot = np.nonzero(free)
        out = np.zeros((*arr.shape[:-1], *free.shape), dtype=np.int8)
        out[..., chan, slot] = v
        return out

    def decode(
        self,
        sample: npt.ArrayLike | Mapping[int, npt.ArrayLike] | SampleResult,
        *,
        vartype: Vartype | str | None = None,
    ) -> npt.NDArray[Any]:
        """Parameters shaped like :attr:`param_shape` from a sample (see ``bits_from_sample``)."""
        return self.decode_bits(self.bits_from_sample(sample, vartype=vartype))

    def nearest(self) -> npt.NDArray[Any]:
        """The baseline's parameters."""
        return self.decode_bits(self.baseline_bits())

    def bit_objectives(self, bits: npt.ArrayLike) -> FloatArray:
        """Per-channel objective of slot bits ``(..., C, m)``, penalty excluded.

        Their sum over channels plus :attr:`constant` is :meth:`objective` of the decoded
        parameters.
        """
        return self._batch.energies(bits, penalty=False)

    def repair(self, bits: npt.ArrayLike) -> npt.NDArray[np.int8]:
        """Feasible bits: the cardinality restored greedily (unchanged without a constraint)."""
        if self._cardinality is None:
            return self._batch.check_bits(bits).astype(np.int8)
        return self.lowered().repair(bits)

    def feasible(self, bits: npt.ArrayLike) -> bool:
        """Whether slot bits ``(C, m)`` satisfy the block's constraint (always, without one)."""
        if self._cardinality is None:
            return True
        return bool(self._cardinality.satisfied(bits))


def _to_binary(values: npt.NDArray[Any], vartype: Vartype, what: str) -> npt.NDArray[np.int8]:
    lo, hi = vartype.values
    if values.size and not np.all((values == lo) | (values == hi)):
        raise ValidationError(f"{what}: values must be {lo} or {hi} for a {vartype} sample")
    if vartype is BINARY:
        return values.astype(np.int8)
    return spin_to_binary(values)
