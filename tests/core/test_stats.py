"""``qevo_ir.stats``: the numbers ``qevo inspect`` prints stay finite at the ends of float64."""

from __future__ import annotations

import json
import math

import pytest

from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.stats import describe, dynamic_range_bits


def test_dynamic_range_of_ordinary_coefficients() -> None:
    ham = Hamiltonian.from_ising({0: 0.25, 1: -4.0}, {(0, 1): 1.0})
    assert dynamic_range_bits(ham) == pytest.approx(4.0)
    assert dynamic_range_bits(Hamiltonian.from_ising({0: 3.0}, {})) == 0.0
    assert dynamic_range_bits(Hamiltonian.from_ising({}, {})) == 0.0


def test_dynamic_range_from_dbl_max_to_subnormal_is_finite() -> None:
    tiny = 5e-324  # the smallest subnormal: max / min overflows, the difference of logs does not
    ham = Hamiltonian.from_ising({0: 1.7e308, 1: tiny}, {(0, 1): -1.0})
    bits = dynamic_range_bits(ham)
    assert math.isfinite(bits)
    assert bits == pytest.approx(math.log2(1.7e308) + 1074)
    json.dumps(describe(ham), allow_nan=False)  # `qevo inspect --json` can print it


def test_vartype_conversion_refuses_overflow_with_a_typed_error() -> None:
    from qevo_ir.errors import ValidationError

    ham = Hamiltonian.from_ising({0: 1e308}, {(0, 1): 1e308})
    with pytest.raises(ValidationError, match="converting to BINARY overflows float64"):
        ham.to_binary()
    with pytest.raises(ValidationError, match="overflows float64"):
        ham.scaled(10.0)
    assert ham.scaled(0.5).linear[0] == 5e307
