"""FeatureSelect: the MI estimates, the QUBO's exactness, and the α extremes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.blocks import FeatureSelect, solve_block
from qevo_ir.blocks.features import discretize, mutual_information_matrix, mutual_information_with
from qevo_ir.errors import ValidationError
from qevo_ir.testing import all_assignments
from qevo_ir.vartypes import BINARY


def _data(seed: int, n: int = 200, d: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    x[:, 1] = x[:, 0] + 0.05 * rng.normal(size=n)  # a redundant copy of feature 0
    y = (x[:, 0] + 0.5 * x[:, 2] > 0).astype(int)
    return x, y


def test_mutual_information_matches_sklearn() -> None:
    metrics = pytest.importorskip("sklearn.metrics")
    x, y = _data(0)
    codes = discretize(x, 6)
    mi_y = mutual_information_with(codes, y, 2)
    mi = mutual_information_matrix(codes)
    for i in range(x.shape[1]):
        assert mi_y[i] == pytest.approx(metrics.mutual_info_score(codes[:, i], y), abs=1e-12)
        for j in range(x.shape[1]):
            if i != j:
                ref = metrics.mutual_info_score(codes[:, i], codes[:, j])
                assert mi[i, j] == pytest.approx(ref, abs=1e-12)
    assert np.all(np.diag(mi) == 0)
    assert mi[0, 1] > mi[0, 3]  # the redundant pair is the most redundant


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 1000), st.integers(0, 5), st.floats(0, 1), st.sampled_from([2, 4, 8]))
def test_energy_is_objective_plus_penalty(seed: int, k: int, alpha: float, bins: int) -> None:
    x, y = _data(seed, n=60)
    block = FeatureSelect(x, y, k, alpha=alpha, bins=bins)
    ham = block.hamiltonian()
    xs = all_assignments(5, BINARY)
    obj = np.array([block.objective(s) for s in xs])
    np.testing.assert_allclose(
        obj,
        -alpha * xs @ block.importance
        + (1 - alpha) * np.einsum("si,ij,sj->s", xs, block.redundancy, xs),
    )
    pen = block.default_penalty()[0] * (xs.sum(axis=1) - k) ** 2
    np.testing.assert_allclose(ham.energies(xs), obj + pen, rtol=1e-9, atol=1e-12)
    assert block.decode(xs[3]).dtype == bool


def test_alpha_one_is_top_k_by_importance() -> None:
    x, y = _data(1)
    block = FeatureSelect(x, y, 2, alpha=1.0)
    exact = solve_block(block, "exact")
    np.testing.assert_array_equal(exact.weights, block.nearest())


def test_redundancy_steers_away_from_the_copy() -> None:
    x, y = _data(2, n=400)
    block = FeatureSelect(x, y, 2, alpha=0.3)
    chosen = solve_block(block, "exact").weights
    assert chosen.sum() == 2
    assert not (chosen[0] and chosen[1])  # feature 1 duplicates feature 0


def test_names_label_the_variables() -> None:
    x, y = _data(3)
    block = FeatureSelect(x, y, 2, names=["a", "b", "c", "d", "e"])
    assert block.hamiltonian().labels == ("a", "b", "c", "d", "e")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"k": 9}, "k=9"), ({"k": 1, "alpha": 2.0}, "alpha"), ({"k": 1, "bins": 1}, "bins")],
)
def test_bad_arguments(kwargs: dict[str, object], match: str) -> None:
    x, y = _data(4)
    with pytest.raises(ValidationError, match=match):
        FeatureSelect(x, y, **kwargs)  # type: ignore[arg-type]
