"""Descriptive statistics of a Hamiltonian: sizes, coefficient ranges and dynamic range in bits."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from qevo_ir.hamiltonian import Hamiltonian

__all__ = ["coefficient_range", "describe", "dynamic_range_bits"]


def coefficient_range(values: npt.NDArray[np.float64]) -> dict[str, float | None]:
    """Min, max, largest magnitude and smallest non-zero magnitude (``None`` when empty)."""
    if values.size == 0:
        return {"min": None, "max": None, "max_abs": None, "min_abs_nonzero": None}
    mag = np.abs(values)
    nz = mag[mag > 0]
    return {
        "min": float(values.min()),
        "max": float(values.max()),
        "max_abs": float(mag.max()),
        "min_abs_nonzero": float(nz.min()) if nz.size else None,
    }


def dynamic_range_bits(ham: Hamiltonian) -> float:
    """``log2(max|c| / min non-zero |c|)`` over every linear and quadratic coefficient.

    It is the number of bits a fixed-point grid needs to represent every coefficient distinctly
    from zero; 0.0 when there is at most one distinct non-zero magnitude (or none).
    """
    mags = np.abs(np.concatenate([ham.linear, ham.quad]))
    mags = mags[mags > 0]
    if mags.size == 0:
        return 0.0
    # A difference of logs: the ratio itself overflows for 1e308 over a subnormal.
    return math.log2(float(mags.max())) - math.log2(float(mags.min()))


def describe(ham: Hamiltonian) -> dict[str, Any]:
    """Everything ``qevo inspect`` prints, as a JSON-ready dict."""
    n = ham.num_variables
    degrees = ham.degrees()
    if n:
        graph = sp.coo_matrix((np.ones(ham.num_interactions), (ham.row, ham.col)), shape=(n, n))
        num_components = int(connected_components(graph, directed=False)[0])
    else:
        num_components = 0
    return {
        "num_variables": n,
        "num_interactions": ham.num_interactions,
        "vartype": ham.vartype.value,
        "density": ham.density,
        "offset": ham.offset,
        "linear": coefficient_range(ham.linear),
        "quadratic": coefficient_range(ham.quad),
        "dynamic_range_bits": dynamic_range_bits(ham),
        "degree": {
            "max": int(degrees.max()) if n else 0,
            "mean": float(degrees.mean()) if n else 0.0,
            "isolated": int(np.count_nonzero(degrees == 0)),
        },
        "connected_components": num_components,
        "labelled": not ham.variables.is_range,
        "has_provenance": ham.variables.provenance is not None,
        "content_hash": ham.content_hash(),
    }
