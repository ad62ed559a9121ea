from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from qevo_ir import ParameterModel, ValidationError


def test_objective_dense_and_sparse_agree() -> None:
    rng = np.random.default_rng(3)
    q = rng.normal(size=(4, 4))
    g = rng.normal(size=4)
    dense = ParameterModel.create(q, g, 1.5, lower=-2, upper=3)
    sparse = ParameterModel.create(sp.csr_matrix(q), g, 1.5, lower=-2, upper=3)
    thetas = rng.normal(size=(10, 4))
    expected = np.einsum("mi,ij,mj->m", thetas, q, thetas) + thetas @ g + 1.5
    np.testing.assert_allclose(dense.objectives(thetas), expected)
    np.testing.assert_allclose(sparse.objectives(thetas), expected)
    assert dense.objective(thetas[0]) == pytest.approx(expected[0])


def test_bounds_are_validated() -> None:
    with pytest.raises(ValidationError, match="lower bound"):
        ParameterModel.create(np.eye(2), lower=[0, 3], upper=[1, 2])
    with pytest.raises(ValidationError, match="square"):
        ParameterModel.create(np.ones((2, 3)))
    with pytest.raises(ValidationError, match="non-finite"):
        ParameterModel.create(np.array([[np.inf]]))
