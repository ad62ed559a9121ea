"""The compile report (what every pass did and the certified total bound) and the resource report.

A :class:`CompileReport` is what ``qevo compile`` writes beside its artifacts: the source's hash,
the pipeline string, one record per pass, the total energy bound in source units, the resources of
the result and the library versions. Its JSON shape is specified in ``specs/passes.md``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import math
import os
import platform
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from qevo_ir.atomic import atomic_write_text, check_new
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.parameter_model import ParameterModel

if TYPE_CHECKING:
    from qevo_ir.passes.base import PassRecord

__all__ = [
    "REPORT_FORMAT",
    "REPORT_VERSION",
    "VENDOR_DISTRIBUTIONS",
    "CompileReport",
    "compose_bounds",
    "dynamic_range_bits",
    "ir_type_name",
    "library_versions",
    "resources",
    "source_hash",
]

REPORT_FORMAT = "qevo-compile-report"
REPORT_VERSION = 1

VENDOR_DISTRIBUTIONS = (
    "dimod",
    "dwave-samplers",
    "minorminer",
    "dwave-networkx",
    "networkx",
    "qiskit",
    "qiskit-aer",
    "qiskit-qasm3-import",
    "cirq-core",
    "torch",
)
"""Optional SDKs whose installed versions the report lists (read from metadata, never imported)."""


def is_embedded(ir: object) -> bool:
    """True for an EmbeddedHamiltonian (duck-typed: it has ``chains`` and ``target``)."""
    return hasattr(ir, "chains") and hasattr(ir, "target")


def ir_type_name(ir: object) -> str:
    """``"ParameterModel"``, ``"Hamiltonian"``, ``"EmbeddedHamiltonian"``, else the class name."""
    if isinstance(ir, ParameterModel):
        return "ParameterModel"
    if isinstance(ir, Hamiltonian):
        return "Hamiltonian"
    if is_embedded(ir):
        return "EmbeddedHamiltonian"
    return type(ir).__name__


def dynamic_range_bits(linear: npt.ArrayLike, quad: npt.ArrayLike) -> float:
    """``log2(max |c| / min nonzero |c|)`` over the coefficients ``h`` and ``J`` (0.0 if none)."""
    mags = np.abs(np.concatenate([np.ravel(linear), np.ravel(quad)]).astype(np.float64))
    nz = mags[mags > 0]
    if nz.size == 0:
        return 0.0
    return float(np.log2(nz.max()) - np.log2(nz.min()))


def compose_bounds(records: Iterable[PassRecord]) -> tuple[float, float]:
    """``(total bound in source units, cumulative energy scale)`` of a chain of pass records.

    Pass ``k`` certifies ``|E_k(y)/a_k - E_{k-1}(dec_k(y))| <= b_k`` in its input's units; with
    ``A_k = a_1 ⋯ a_k`` the total is ``Σ_k b_k / A_{k-1}`` (proof in ``specs/passes.md``).
    """
    total = 0.0
    scale = 1.0
    for rec in records:
        if rec.energy_bound:
            total += float(rec.energy_bound) / abs(scale)  # negate's scale is -1
        scale *= float(rec.energy_scale)
    return total, scale


def _hash_arrays(tag: str, arrays: Sequence[npt.NDArray[Any]], extra: object = None) -> str:
    h = hashlib.sha256(tag.encode())
    for arr in arrays:
        a = np.ascontiguousarray(arr)
        h.update(f"{a.dtype.str}:{a.shape}:".encode())
        h.update(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
    if extra is not None:
        h.update(json.dumps(extra, sort_keys=True).encode())
    return h.hexdigest()


def source_hash(ir: object) -> str:
    """A stable SHA-256 (hex) of the IR: ``Hamiltonian.content_hash`` or the analogue."""
    if isinstance(ir, Hamiltonian):
        return ir.content_hash()
    if isinstance(ir, ParameterModel):
        q = sp.csr_matrix(ir.Q, dtype=np.float64)
        q.sum_duplicates()
        q.eliminate_zeros()
        q.sort_indices()
        coo = q.tocoo()
        return _hash_arrays(
            f"qevo-ir:parameter-model:v1:{ir.num_parameters}:",
            [
                coo.row.astype(np.int64),
                coo.col.astype(np.int64),
                coo.data.astype(np.float64),
                np.asarray(ir.g, np.float64),
                np.asarray([ir.c], np.float64),
                np.asarray(ir.lower, np.float64),
                np.asarray(ir.upper, np.float64),
                np.asarray(ir.integer, np.bool_),
                np.asarray(ir.block, np.int64),
            ],
            list(ir.names),
        )
    content_hash = getattr(ir, "content_hash", None)
    if callable(content_hash):
        return str(content_hash())
    if is_embedded(ir):
        parts = [source_hash(getattr(ir, "source", None)), source_hash(ir.target)]  # type: ignore[attr-defined]
        lengths = _chain_lengths(ir)
        return _hash_arrays("qevo-ir:embedded:v1:", [lengths], parts)
    raise TypeError(f"cannot hash a {type(ir).__name__}")


def _chain_lengths(ir: Any) -> npt.NDArray[np.int64]:
    chains = ir.chains
    if isinstance(chains, Mapping):
        chains = list(chains.values())
    return np.fromiter((len(c) for c in chains), dtype=np.int64)


def _hamiltonian_resources(ham: Hamiltonian) -> dict[str, Any]:
    degrees = ham.degrees()
    return {
        "vartype": str(ham.vartype),
        "logical_variables": ham.num_variables,
        "couplings": ham.num_interactions,
        "max_degree": int(degrees.max(initial=0)),
        "density": ham.density,
        "dynamic_range_bits": dynamic_range_bits(ham.linear, ham.quad),
    }


def resources(ir: object) -> dict[str, Any]:
    """The resource report of an IR.

    A Hamiltonian: ``logical_variables``, ``couplings``, ``max_degree``, ``density`` and
    ``dynamic_range_bits`` (``log2(max|c| / min nonzero |c|)`` over ``h`` and ``J``). An embedded
    one adds ``physical_qubits``, ``physical_couplers``, ``max_chain_length``,
    ``mean_chain_length`` and ``physical_dynamic_range_bits`` (of the target problem). A
    ParameterModel: ``parameters`` and ``integer_parameters``.
    """
    if isinstance(ir, ParameterModel):
        return {
            "parameters": ir.num_parameters,
            "integer_parameters": int(np.count_nonzero(ir.integer)),
        }
    if isinstance(ir, Hamiltonian):
        return _hamiltonian_resources(ir)
    extra = getattr(ir, "resources", None)  # ConstrainedModel, PolynomialHamiltonian
    if callable(extra):
        return dict(extra())
    if is_embedded(ir):
        target = ir.target  # type: ignore[attr-defined]
        source = getattr(ir, "source", None)
        out = _hamiltonian_resources(source) if isinstance(source, Hamiltonian) else {}
        lengths = _chain_lengths(ir)
        out.update(
            {
                "physical_qubits": int(target.num_variables),
                "physical_couplers": int(target.num_interactions),
                "max_chain_length": int(lengths.max(initial=0)),
                "mean_chain_length": float(lengths.mean()) if lengths.size else 0.0,
                "physical_dynamic_range_bits": dynamic_range_bits(target.linear, target.quad),
            }
        )
        return out
    raise TypeError(f"no resource report for a {type(ir).__name__}")


def library_versions() -> dict[str, str]:
    """Versions of Python, numpy, scipy, qevo_ir and each installed optional SDK (from metadata).

    Read once per process (a block compile writes one report per channel; reading the package
    metadata each time cost 10 ms per report)."""
    return dict(_library_versions())


@functools.cache
def _library_versions() -> dict[str, str]:
    from qevo_ir._version import __version__

    out = {"python": platform.python_version(), "qevo_ir": __version__}
    for dist in ("numpy", "scipy", *VENDOR_DISTRIBUTIONS):
        try:
            out[dist] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays unwrapped, non-finite floats as strings."""
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


@dataclass(frozen=True)
class CompileReport:
    """What a pipeline run did, in JSON-ready form (see ``specs/passes.md`` for the schema).

    ``total_energy_bound`` certifies ``|E_final(y)/energy_scale - E_source(decode(y))|`` for every
    assignment ``y`` of the final IR, in the source's units (0.0 when every pass was exact).
    """

    source: dict[str, Any]
    pipeline: str
    passes: tuple[dict[str, Any], ...]
    total_energy_bound: float
    energy_scale: float
    exact: bool
    resources: dict[str, Any]
    versions: dict[str, str] = field(default_factory=library_versions)

    @classmethod
    def build(
        cls,
        source: object,
        pipeline: str,
        records: Sequence[PassRecord],
        ir: object,
    ) -> CompileReport:
        """The report of running ``pipeline`` (its string) on ``source``, ending at ``ir``."""
        total, scale = compose_bounds(records)
        src: dict[str, Any] = {
            "type": ir_type_name(source),
            "hash": source_hash(source),
            "resources": resources(source),
        }
        return cls(
            source=src,
            pipeline=pipeline,
            passes=tuple(_jsonable(r.to_dict()) for r in records),
            total_energy_bound=total,
            energy_scale=scale,
            exact=all(r.exact for r in records),
            resources={"type": ir_type_name(ir), **resources(ir)},
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": REPORT_FORMAT,
            "version": REPORT_VERSION,
            "source": _jsonable(self.source),
            "pipeline": self.pipeline,
            "passes": [dict(p) for p in self.passes],
            "exact": self.exact,
            "total_energy_bound": _jsonable(self.total_energy_bound),
            "energy_scale": _jsonable(self.energy_scale),
            "resources": _jsonable(self.resources),
            "versions": dict(self.versions),
        }

    def to_json(self, indent: int | None = 1) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False) + "\n"

    def write(self, path: str | os.PathLike[str], *, force: bool = False) -> Path:
        """Write the JSON report atomically; refuses an existing file unless ``force``."""
        p = Path(path)
        check_new(p, force)
        atomic_write_text(p, self.to_json())
        return p
