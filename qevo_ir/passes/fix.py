"""The ``fix`` pass: substitute given variable values and provably optimal ones (exact).

Given values come as ``label=value`` strings. Provably optimal values come from one of two
rules:

- ``dominance`` (numpy only; ``auto``): SPIN variable ``i`` is fixed to ``-sign(h_i)`` when
  ``|h_i| > Σ_j |J_ij|``, repeated to a fixpoint; BINARY problems through their exact SPIN form.
- ``roof_duality`` (numpy and scipy; numba makes it faster): roof duality's strong persistencies
  from one maximum flow in the implication network, each **certified** by the residual posiform
  (:mod:`qevo_ir.solvers.persistency`). ``dwave-preprocessing``'s fixings are not used: on
  random integer problems some of its strict fixings fail in some ground state
  (``specs/passes.md``). ``strict=False`` adds weak persistencies: fixings that some ground
  state (within the exact backend's tie tolerance) has all together; other ground states may
  be lost, the ground energy is kept.

The reduced problem's energies equal the original's at the decoded samples
(``specs/passes.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import LabelError, PipelineError, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.passes.base import CompilerPass, PassOutput, register_pass
from qevo_ir.variables import Label, VariableTable
from qevo_ir.vartypes import SPIN

__all__ = ["FIX_METHODS", "Fix", "dominant_spins", "label_text", "parse_assignments"]

FIX_METHODS = ("auto", "roof_duality", "dominance")

_REPORTED_FIXED = 100  # the report lists at most this many fixed variables by label
_EPS = 2.0**-52


def label_text(label: Label) -> str:
    """How a label is written in ``label=value``: ints and strings as is, tuples as ``(a,b)``."""
    if isinstance(label, tuple):
        return "(" + ",".join(label_text(x) for x in label) + ")"
    return str(label)


def parse_assignments(
    items: tuple[str, ...], variables: VariableTable, vartype_values: tuple[int, int]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    """Indices and values from ``("a=1", "(theta,0,1)=0", ...)``; unknown or ambiguous labels fail.

    The label part is matched against each label's :func:`label_text`; the value must be one of
    the vartype's two values. A label given twice is an error.
    """
    if not items:
        return np.zeros(0, np.int64), np.zeros(0, np.int8)
    texts: dict[str, int] = {}
    clashes: set[str] = set()
    if not variables.is_range:
        for i, lab in enumerate(variables.labels):  # once per call, only when values are given
            t = label_text(lab)
            if t in texts:
                clashes.add(t)
            texts[t] = i
    idx: list[int] = []
    vals: list[int] = []
    for item in items:
        key, sep, value = item.rpartition("=")
        key = key.strip()
        if not sep or not key:
            raise PipelineError(f"fix: values entry {item!r} is not of the form label=value")
        try:
            v = int(value.strip())
        except ValueError:
            raise PipelineError(f"fix: value in {item!r} is not an integer") from None
        if v not in vartype_values:
            raise PipelineError(
                f"fix: value {v} for {key!r} is not one of {vartype_values} for this vartype"
            )
        if variables.is_range:
            try:
                i = variables.index(int(key))
            except (ValueError, LabelError):
                raise PipelineError(
                    f"fix: unknown variable {key!r}; variables are 0..{len(variables) - 1}"
                ) from None
        else:
            if key in clashes:
                raise PipelineError(
                    f"fix: label text {key!r} names more than one variable (e.g. 1 and '1'); "
                    "fix them with Hamiltonian.fix_variables instead"
                )
            if key not in texts:
                raise PipelineError(f"fix: unknown variable {key!r}")
            i = texts[key]
        if i in idx:
            raise PipelineError(f"fix: variable {key!r} is given twice")
        idx.append(i)
        vals.append(v)
    return np.asarray(idx, dtype=np.int64), np.asarray(vals, dtype=np.int8)


def dominant_spins(
    spin: Hamiltonian, fixed: npt.NDArray[np.bool_] | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8], int]:
    """Roof rule to a fixpoint: ``(indices, spin values, rounds)`` of provably fixed variables.

    ``fixed`` marks variables already fixed elsewhere; their couplings must already be folded into
    ``spin.linear`` (i.e. call this on the reduced problem) — it only restricts the search. A
    variable is fixed when ``|h_i| - Σ_j |J_ij|`` exceeds a rounding margin of
    ``(deg_i + 2) · 2⁻⁵⁰ · (|h_i| + Σ_j |J_ij|)``, so float error never fixes a tie.
    """
    n = spin.num_variables
    free = np.ones(n, dtype=bool) if fixed is None else ~fixed
    h = spin.linear.copy()
    r, c, absJ, J = spin.row, spin.col, np.abs(spin.quad), spin.quad
    total_abs = (
        np.abs(spin.linear)
        + np.bincount(r, weights=absJ, minlength=n)
        + np.bincount(c, weights=absJ, minlength=n)
    )
    out_idx: list[npt.NDArray[np.int64]] = []
    out_val: list[npt.NDArray[np.int8]] = []
    rounds = 0
    live = free[r] & free[c]
    while True:
        lr, lc, la = r[live], c[live], absJ[live]
        S = np.bincount(lr, weights=la, minlength=n) + np.bincount(lc, weights=la, minlength=n)
        deg = np.bincount(lr, minlength=n) + np.bincount(lc, minlength=n)
        margin = (deg + 2) * 4 * _EPS * total_abs
        dom = free & (np.abs(h) - S > margin)
        if not dom.any():
            break
        rounds += 1
        idx = np.flatnonzero(dom)
        s = np.where(h[idx] > 0, -1, 1).astype(np.int8)
        val = np.zeros(n)
        val[idx] = s
        out_idx.append(idx)
        out_val.append(s)
        # Fold the new values into the free neighbours' fields.
        dr, dc = dom[r], dom[c]
        to_c = live & dr & ~dc
        to_r = live & dc & ~dr
        h += np.bincount(c[to_c], weights=J[to_c] * val[r[to_c]], minlength=n)
        h += np.bincount(r[to_r], weights=J[to_r] * val[c[to_r]], minlength=n)
        free &= ~dom
        live &= ~dr & ~dc
    if not out_idx:
        return np.zeros(0, np.int64), np.zeros(0, np.int8), 0
    return np.concatenate(out_idx), np.concatenate(out_val), rounds


@register_pass
@dataclass(frozen=True)
class Fix(CompilerPass):
    """Fix given variables and provably optimal ones (roof duality or dominance); exact.

    Options: ``values`` (a list of ``label=value`` strings; tuple labels are written ``(a,b)``),
    ``roof`` (apply a rule at all; default true), ``method`` (``auto`` = ``dominance``, or
    ``roof_duality``: strong persistencies, each certified; module docstring) and ``strict``
    (``true``; ``false`` adds weak persistencies, roof duality only). Energies are preserved:
    ``E_out(y) = E_in(decode(y))``.
    """

    name = "fix"
    exact = True

    values: tuple[str, ...] = ()
    roof: bool = True
    method: str = "auto"
    strict: bool = True

    def __post_init__(self) -> None:
        if self.method not in FIX_METHODS:
            raise PipelineError(
                f"fix: method must be one of {', '.join(FIX_METHODS)}, got {self.method!r}"
            )
        if not self.strict and self.method != "roof_duality":
            raise PipelineError(
                "fix: strict=false (weak persistencies) needs method=roof_duality; dominance "
                "fixes only what holds in every ground state"
            )

    def apply(self, ir: Any) -> PassOutput:
        ham: Hamiltonian = ir
        n = ham.num_variables
        given_idx, given_val = parse_assignments(self.values, ham.variables, ham.vartype.values)
        reduced = ham.fix_indices(given_idx, given_val) if len(given_idx) else ham
        fixed_idx, fixed_val = given_idx, given_val
        rounds = 0
        roof_count = 0
        dominance_count = 0
        method = "dominance" if self.method == "auto" else self.method
        bound: float | None = None
        proof: dict[str, Any] | None = None
        if self.roof and reduced.num_variables and method == "roof_duality":
            from qevo_ir.solvers.persistency import proved_fixings

            found = proved_fixings(reduced, strict=self.strict)
            bound = found.lower_bound
            proof = {
                "certificate": "posiform",
                "engine": found.engine,
                "flow_rounds": found.flow_rounds,
                "leak": found.leak,
                "unproved": found.unproved,
                "weak": found.weak,
            }
            if len(found.indices):
                roof_count = len(found.indices)
                fixed_idx, fixed_val = _add(n, fixed_idx, fixed_val, found.indices, found.values)
                reduced = ham.fix_indices(fixed_idx, fixed_val)
        if self.roof and reduced.num_variables:
            # dominance: the rule itself, or after roof duality (it can fix what the proofs left)
            ridx, rval, rounds = dominant_spins(reduced.to_spin())
            if len(ridx):
                vals = rval if ham.vartype is SPIN else ((rval + 1) // 2).astype(np.int8)
                dominance_count = len(ridx)
                fixed_idx, fixed_val = _add(n, fixed_idx, fixed_val, ridx, vals)
                reduced = ham.fix_indices(fixed_idx, fixed_val)
        free = np.flatnonzero(~_mask(n, fixed_idx))
        template = np.zeros(n, dtype=np.int8)
        template[fixed_idx] = fixed_val

        def decode(samples: npt.NDArray[Any]) -> npt.NDArray[Any]:
            y = np.atleast_2d(np.asarray(samples))
            if y.shape[1] != len(free):
                raise ValidationError(
                    f"fix: samples have {y.shape[1]} columns, the reduced problem has {len(free)}"
                )
            full = np.tile(template, (len(y), 1))
            full[:, free] = y
            return full

        labels = ham.labels
        shown = [
            [labels[int(i)], int(v)]
            for i, v in zip(fixed_idx[:_REPORTED_FIXED], fixed_val[:_REPORTED_FIXED], strict=True)
        ]
        details: dict[str, Any] = {
            "fixed_given": len(given_idx),
            "method": method if self.roof else None,
            "fixed_by_roof": roof_count + dominance_count,
            "fixed_by_roof_duality": roof_count,
            "fixed_by_dominance": dominance_count,
            "roof_rounds": rounds,
            "lower_bound": bound,
            "roof_duality_proof": proof,
            "remaining": len(free),
            "fixed": shown,
            "fixed_truncated": len(fixed_idx) > _REPORTED_FIXED,
        }
        return PassOutput(ir=reduced, decode=decode, details=details)


def _add(
    n: int,
    fixed_idx: npt.NDArray[np.int64],
    fixed_val: npt.NDArray[np.int8],
    reduced_idx: npt.NDArray[np.int64],
    values: npt.NDArray[np.int8],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int8]]:
    """The fixed set with ``values`` added at ``reduced_idx``, positions in the reduced problem
    (the variables not yet fixed, in order) mapped back to the source's."""
    free = np.flatnonzero(~_mask(n, fixed_idx))
    return (
        np.concatenate([fixed_idx, free[reduced_idx]]),
        np.concatenate([fixed_val, values]).astype(np.int8),
    )


def _mask(n: int, idx: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    m = np.zeros(n, dtype=bool)
    m[idx] = True
    return m
