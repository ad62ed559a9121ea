"""The ``certified`` capability: a backend that claims it matches enumeration (n ≤ 20)."""

from __future__ import annotations

import numpy as np
import pytest

from qevo_ir import SPIN, Hamiltonian, VerificationError
from qevo_ir.backend import Capabilities
from qevo_ir.plugins import get_backend
from qevo_ir.results import SampleResult
from qevo_ir.testing.conformance import (
    check_backend,
    properties_of,
    random_hamiltonian,
    run_certified_conformance,
)
from qevo_mip import MipBackend


def _degenerate(seed: int, n: int) -> Hamiltonian:
    rng = np.random.default_rng(seed)
    iu = np.triu_indices(n, 1)
    keep = rng.random(iu[0].size) < 0.3
    J = rng.integers(-1, 2, size=int(keep.sum())).astype(float)
    return Hamiltonian(np.zeros(n), iu[0][keep], iu[1][keep], J, vartype=SPIN)


def test_exact_backend_is_certified_with_degeneracy() -> None:
    exact = get_backend("exact")
    assert "certified" in properties_of(exact)
    report = check_backend(exact, properties=["certified"], max_variables=10, max_examples=15)
    assert report.checked["certified"] >= 1
    for seed, n in ((1, 20), (2, 16)):
        out = run_certified_conformance(exact, _degenerate(seed, n))
        assert "degeneracy" in out
    # The tree method, forced, is held to the same check.
    assert "proved" in run_certified_conformance(exact, _degenerate(3, 18), method="tree")


def test_mip_backend_is_certified() -> None:
    mip = MipBackend()
    assert properties_of(mip) == ("capabilities", "certified")
    report = check_backend(mip, properties=["certified"], max_variables=8, max_examples=15)
    assert report.checked["certified"] >= 1
    for seed, n in ((4, 20), (5, 14)):
        assert "proved" in run_certified_conformance(mip, _degenerate(seed, n))
    assert "proved" in run_certified_conformance(mip, random_hamiltonian(16, SPIN, seed=7))


class _Overclaiming:
    """Claims certified answers but returns the all-down state."""

    name = "overclaiming"
    capabilities = Capabilities(certified=True, degeneracy=True)

    def lower(self, hamiltonian: Hamiltonian, **options: object) -> None:
        return None

    def write(self, native: object, directory: object, **options: object) -> list[object]:
        return []

    def solve(self, hamiltonian: Hamiltonian, **options: object) -> SampleResult:
        lo = hamiltonian.vartype.values[0]
        state = np.full((1, hamiltonian.num_variables), lo)
        return SampleResult.from_samples(
            hamiltonian, state, info={"optimal": True, "lower_bound": 0.0, "degeneracy": 1}
        )


def test_a_false_claim_is_caught() -> None:
    ham = Hamiltonian.from_ising([1.0, 1.0], {(0, 1): -0.5})
    with pytest.raises(VerificationError, match=r"certified.*ground energy"):
        run_certified_conformance(_Overclaiming(), ham)
