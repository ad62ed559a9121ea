"""The dimod backend: exact lowering, artifacts round trips, samplers, embedded and QPU paths."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import types
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

dimod = pytest.importorskip("dimod")
pytest.importorskip("dwave.samplers")

import dimod.serialization.coo as dimod_coo  # noqa: E402

import qevo_dimod as qd  # noqa: E402
from qevo_dimod.decode import aggregate, sampleset_samples  # noqa: E402
from qevo_ir import BINARY, SPIN, Hamiltonian  # noqa: E402
from qevo_ir.atomic import OutputExists  # noqa: E402
from qevo_ir.backend import Backend  # noqa: E402
from qevo_ir.errors import (  # noqa: E402
    BackendUnavailable,
    CapabilityError,
    FormatError,
    LimitExceeded,
    ValidationError,
)
from qevo_ir.testing import all_assignments, hamiltonians  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def scale(ham: Hamiltonian) -> float:
    return 1.0 + float(np.abs(ham.linear).sum() + np.abs(ham.quad).sum() + abs(ham.offset))


def brute_ground(ham: Hamiltonian) -> float:
    return float(ham.energies(all_assignments(ham.num_variables, ham.vartype)).min())


# ----------------------------------------------------------------------------- lowering
@given(hamiltonians(max_variables=10, extreme=True))
def test_bqm_energy_equals_ir_energy_for_every_assignment(ham: Hamiltonian) -> None:
    bqm = qd.lower(ham)
    assert bqm.vartype.name == ham.vartype.value
    assert list(bqm.variables) == list(ham.labels)
    xs = all_assignments(ham.num_variables, ham.vartype)
    np.testing.assert_allclose(
        qd.native_energies(bqm, xs), ham.energies(xs), rtol=0, atol=1e-12 * scale(ham)
    )


@pytest.mark.parametrize("vartype", [SPIN, BINARY])
@pytest.mark.parametrize("labels", ["range", "permuted", "mixed"])
def test_dense_lowering_keeps_order_labels_and_energies(vartype: Any, labels: str) -> None:
    """Dense problems take dimod's dense constructor (then relabel); sparse ones and any with an
    explicit zero coupling take the COO constructor. Both give the same BQM."""
    n = 9
    rng = np.random.default_rng(5)
    upper = np.triu(rng.normal(size=(n, n)), 1)
    names: list[Any] = {
        "range": list(range(n)),
        "permuted": [int(k) for k in rng.permutation(n)],
        "mixed": ["a", ("b", 1), 7, 0, "0", 3, ("c",), "x y", 8],
    }[labels]
    ham = Hamiltonian.from_ising(rng.normal(size=n), upper, offset=0.25).relabel(
        dict(enumerate(names))
    )
    if vartype is BINARY:
        ham = ham.to_binary()
    assert qd.bqm._dense_upper(ham) is not None
    bqm = qd.lower(ham)
    assert list(bqm.variables) == list(ham.labels)
    assert bqm.num_interactions == ham.num_interactions
    xs = all_assignments(n, ham.vartype)
    np.testing.assert_allclose(qd.native_energies(bqm, xs), ham.energies(xs), rtol=0, atol=1e-12)
    coo = dimod.BQM.from_numpy_vectors(
        ham.linear, (ham.row, ham.col, ham.quad), ham.offset, vartype.value, variable_order=names
    )
    assert bqm == coo
    # An explicit zero coupling is kept: the COO path is taken.
    zeros = Hamiltonian(
        ham.linear, ham.row, ham.col, np.where(np.arange(ham.num_interactions) == 3, 0.0, ham.quad),
        ham.offset, vartype=ham.vartype, variables=ham.labels, keep_zeros=True,
    )  # fmt: skip
    assert qd.bqm._dense_upper(zeros) is None
    assert qd.lower(zeros).num_interactions == ham.num_interactions


@given(hamiltonians(max_variables=8, labelled=True, vartype=BINARY))
def test_labelled_binary_bqm_energies_by_label(ham: Hamiltonian) -> None:
    bqm = qd.lower(ham)
    xs = all_assignments(ham.num_variables, BINARY)
    # dimod looks samples up by label: shuffle the columns and their labels together.
    perm = np.random.default_rng(0).permutation(ham.num_variables)
    labels = [ham.labels[k] for k in perm]
    got = bqm.energies((xs[:, perm], labels)) if ham.num_variables else ham.energies(xs)
    np.testing.assert_allclose(got, ham.energies(xs), rtol=0, atol=1e-12 * scale(ham))


def test_tuple_and_string_labels_are_kept() -> None:
    ham = Hamiltonian.from_ising(
        {"a": 1.0, ("x", 1): -2.0, ("y", ("z", 3)): 0.5}, {("a", ("x", 1)): 3.0}
    )
    bqm = qd.lower(ham)
    assert list(bqm.variables) == ["a", ("x", 1), ("y", ("z", 3))]
    assert bqm.quadratic[("a", ("x", 1))] == 3.0
    assert bqm.linear[("y", ("z", 3))] == 0.5


def test_integer_labels_that_overlap_positions() -> None:
    # Labels (2, 0, 1) are positions in another order: a relabel-based lowering could mix them.
    ham = Hamiltonian(
        [1.0, 2.0, 3.0], [0, 1], [1, 2], [-1.0, 0.5], 0.25, vartype=SPIN, variables=[2, 0, 1]
    )
    bqm = qd.lower(ham)
    assert list(bqm.variables) == [2, 0, 1]
    assert bqm.linear[2] == 1.0
    assert bqm.linear[0] == 2.0
    assert bqm.linear[1] == 3.0
    assert bqm.quadratic[(2, 0)] == -1.0
    assert bqm.quadratic[(0, 1)] == 0.5


@given(hamiltonians(max_variables=8, extreme=True))
def test_from_bqm_inverts_lower(ham: Hamiltonian) -> None:
    assert qd.from_bqm(qd.lower(ham)) == ham


def test_native_energies_checks_shape_and_values() -> None:
    bqm = qd.lower(Hamiltonian.from_ising([1.0, -1.0]))
    with pytest.raises(ValidationError, match="shape"):
        qd.native_energies(bqm, np.zeros((2, 3), dtype=np.int8))
    with pytest.raises(ValidationError, match="outside"):
        qd.native_energies(bqm, np.zeros((1, 2), dtype=np.int8))


def test_empty_hamiltonian_lowers() -> None:
    ham = Hamiltonian.empty(BINARY).scaled(1.0)
    bqm = qd.lower(Hamiltonian(np.zeros(0), offset=2.5, vartype=BINARY))
    assert len(bqm.variables) == 0
    assert bqm.offset == 2.5
    np.testing.assert_array_equal(qd.native_energies(bqm, np.zeros((1, 0), np.int8)), [2.5])
    assert qd.from_bqm(qd.lower(ham)) == ham


# ----------------------------------------------------------------------------- artifacts
@settings(max_examples=25)
@given(hamiltonians(max_variables=8, extreme=True), st.sampled_from(["json", "coo"]))
def test_write_read_round_trip_is_exact(ham: Hamiltonian, fmt: str) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        (path,) = qd.write(qd.lower(ham), tmp, fmt)
        assert path.name == f"bqm.{fmt}"
        back = qd.read_artifact(path)
    assert qd.from_bqm(back) == ham  # same labels, order, coefficients (bit for bit), offset
    xs = all_assignments(ham.num_variables, ham.vartype)
    np.testing.assert_array_equal(
        qd.native_energies(back, xs), qd.native_energies(qd.lower(ham), xs)
    )


def test_coo_layout_matches_dimod_and_keeps_precision(tmp_path: Path) -> None:
    ham = Hamiltonian.from_qubo({(0, 0): -1.0, (0, 1): 1.0, (1, 2): -4.5, (2, 2): 1e-7}, 0.125)
    (path,) = qd.write(qd.lower(ham), tmp_path, "coo")
    text = path.read_text()
    assert text.splitlines() == [
        "# vartype=BINARY",
        "# offset=0.125",
        "0 0 -1.0",
        "0 1 1.0",
        "1 2 -4.5",
        "2 2 0.0000001",
    ]
    # dimod's own reader understands every line (no exponent it would skip); it has no offset.
    theirs = dimod_coo.loads(text)
    xs = all_assignments(3, BINARY)
    np.testing.assert_allclose(theirs.energies((xs, [0, 1, 2])), ham.energies(xs) - 0.125)


def test_coo_headers_for_labels(tmp_path: Path) -> None:
    unsorted = Hamiltonian.from_qubo({(5, 5): 1.0, (3, 5): -2.0, (7, 7): 0.5})
    text = qd.dumps_coo(unsorted)
    assert "# variable_order=[5, 3, 7]" in text
    assert "3 5 -2.0" in text
    assert list(qd.lower(qd.loads_coo(text)).variables) == [5, 3, 7]
    named = Hamiltonian.from_ising({"a": 1.0, ("b", 2): 0.0}, {}, -1.5)
    text = qd.dumps_coo(named)
    assert '# labels=["a", ["b", 2]]' in text
    assert "1 1 0.0" in text  # an isolated zero-bias variable still gets a line
    assert qd.loads_coo(text) == named


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# vartype=SPIN\n0 1\n", ":2: expected 'u v bias'"),
        ("# vartype=SPIN\n0 1 nan\n", ":2: unexpected character"),
        ("# vartype=SPIN\n0 1 1e999\n", ":2: bias '1e999'"),
        ("# vartype=SPIN\n-1 1 1.0\n", ":2: variable '-1'"),
        ("# vartype=SPIN\n0 1 1_0\n", ":2: unexpected character"),
        ("# vartype=SPIN\n0 1 --1\n", ":2: bias '--1'"),
        ("# vartype=SPIN\n0 0 1\n0 1 1 1\n", ":3: expected 'u v bias'"),
        ("# vartype=SPIN\n99999999999999999999 0 1\n", ":2: variable"),
        ("0 1 1.0\n", "no '# vartype=SPIN'"),
        ("# vartype=SPIN\n# vartype=SPIN\n", ":2: header 'vartype' given twice"),
        ('# vartype=SPIN\n# labels=["a"]\n0 1 1.0\n', ":3: index 1 is out of range"),
        ("# vartype=SPIN\n# offset=nan\n", "offset 'nan' is not finite"),
    ],
)
def test_coo_reader_rejects_what_it_cannot_parse(text: str, message: str) -> None:
    with pytest.raises(FormatError, match=message.replace("(", r"\(")):
        qd.loads_coo(text, source="bad.coo")


def test_coo_reader_reads_dimod_output_and_exponents() -> None:
    bqm = dimod.BinaryQuadraticModel({0: 1.5, 2: -1.0}, {(0, 1): 2.0}, 0.0, "SPIN")
    text = dimod_coo.dumps(bqm, vartype_header=True)
    assert qd.from_bqm(qd.lower(qd.loads_coo(text))) == qd.from_bqm(bqm)
    ham = qd.loads_coo("# vartype=BINARY\r\n0 1 1e-3\r\n\r\n# a comment\n1 1 -2.5E2")
    assert ham.to_dicts() == ({0: 0.0, 1: -250.0}, {(0, 1): 0.001}, 0.0)


def test_json_artifact_is_plain_dimod_json(tmp_path: Path) -> None:
    ham = Hamiltonian.from_ising({"a": 1e-7, ("x", 1): 2.0}, {("a", ("x", 1)): -1.5}, 0.25)
    (path,) = qd.write(qd.lower(ham), tmp_path, "json")
    doc = json.loads(path.read_text())
    assert doc["use_bytes"] is False
    assert doc["linear_biases"] == [1e-7, 2.0]
    plain = dimod.BinaryQuadraticModel.from_serializable(doc)
    assert plain == qd.lower(ham)
    assert list(plain.variables) == list(ham.labels)


def test_json_keeps_the_variable_order_dimod_would_sort(tmp_path: Path) -> None:
    # to_serializable() would write labels [0, 1] and so swap the IR's variables.
    ham = Hamiltonian([0.5, -9.0], [0], [1], [2.0], vartype=SPIN, variables=[1, 0])
    (path,) = qd.write(qd.lower(ham), tmp_path, "json")
    back = qd.read_artifact(path)
    assert list(back.variables) == [1, 0]
    xs = all_assignments(2, SPIN)
    np.testing.assert_array_equal(qd.native_energies(back, xs), ham.energies(xs))


def _valid_doc() -> dict[str, Any]:
    ham = Hamiltonian.from_ising([1.0, -1.0, 0.5], {(0, 1): 1.0, (1, 2): -2.0})
    doc: dict[str, Any] = json.loads(qd.dumps_bqm_json(qd.lower(ham)))
    return doc


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("quadratic_head", [0, 2**31], "out of range"),  # the value that crashes dimod
        ("quadratic_tail", [1, -1], "out of range"),
        ("quadratic_head", [1, 1], "to itself"),
        ("linear_biases", [1.0, "2", 3.0], "flat list of numbers"),
        ("linear_biases", [1.0, 2.0], "list of 3 numbers"),
        ("quadratic_head", [0.0, 1.5], "integers"),
        ("num_variables", 4, "list of 4 labels"),
        ("variable_labels", [0, 0, 1], "duplicate"),
        ("variable_labels", [0, 1.5, 2], "float"),
        ("variable_type", "ISING", "variable_type"),
        ("use_bytes", True, "use_bytes"),
        ("type", "ConstrainedQuadraticModel", "'type'"),
        ("version", {"bqm_schema": "1.0.0"}, "bqm_schema"),
        ("offset", None, "offset"),
    ],
)
def test_json_reader_validates_before_dimod(field: str, value: Any, message: str) -> None:
    doc = _valid_doc()
    doc[field] = value
    with pytest.raises(FormatError, match=message):
        qd.loads_bqm_json(json.dumps(doc), source="bqm.json")


def test_json_reader_refuses_nan_and_garbage(tmp_path: Path) -> None:
    doc = _valid_doc()
    text = json.dumps(doc).replace('"offset": 0.0', '"offset": NaN')
    with pytest.raises(FormatError, match="NaN is not allowed"):
        qd.loads_bqm_json(text)
    with pytest.raises(FormatError, match="nested too deeply"):
        qd.loads_bqm_json("[" * 100_000 + "]" * 100_000)
    bad = tmp_path / "bqm.json"
    bad.write_text("{not json")
    with pytest.raises(FormatError, match=r"bqm\.json"):
        qd.read_artifact(bad)
    with pytest.raises(FormatError, match="not a dimod artifact"):
        qd.read_artifact(tmp_path / "model.txt")


def test_write_is_atomic_and_respects_force(tmp_path: Path) -> None:
    bqm = qd.lower(Hamiltonian.from_ising([1.0, 2.0], {(0, 1): 1.0}))
    paths = qd.DimodBackend().write(bqm, tmp_path)
    assert sorted(p.name for p in paths) == ["bqm.coo", "bqm.json"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bqm.coo", "bqm.json"]  # no temp files
    with pytest.raises(OutputExists):
        qd.DimodBackend().write(bqm, tmp_path, force=False)
    with pytest.raises(ValidationError, match="formats"):
        qd.DimodBackend().write(bqm, tmp_path, compress=True)
    with pytest.raises(ValidationError, match="unknown BQM format"):
        qd.write(bqm, tmp_path, ("json", "lp"))


# ----------------------------------------------------------------------------- sampling
@pytest.mark.filterwarnings("ignore:All bqm biases are zero:UserWarning")
@settings(max_examples=15)
@given(hamiltonians(min_variables=1, max_variables=7), st.integers(0, 2**31 - 1))
def test_sa_samples_are_ir_energies_and_never_beat_the_ground(ham: Hamiltonian, seed: int) -> None:
    result = qd.solve(ham, "sa", num_reads=8, num_sweeps=50, seed=seed)
    assert result.vartype is ham.vartype
    assert result.variables == ham.variables
    np.testing.assert_array_equal(result.energies, ham.energies(result.samples))
    assert int(result.num_occurrences.sum()) == 8 == result.info["num_reads"]
    assert result.best_energy >= brute_ground(ham) - 1e-9 * scale(ham)
    assert np.all(np.diff(result.energies) >= 0)


def test_sa_finds_the_ground_state_of_an_easy_problem() -> None:
    rng = np.random.default_rng(7)
    n = 10
    ham = Hamiltonian(
        rng.normal(size=n),
        np.arange(n - 1),
        np.arange(1, n),
        -np.abs(rng.normal(size=n - 1)) - 1,
        vartype=SPIN,
        variables=[f"v{i}" for i in range(n)],
    )
    result = qd.solve(ham, "sa", num_reads=20, seed=1234)
    assert result.best_energy == pytest.approx(brute_ground(ham), abs=1e-9)
    again = qd.solve(ham, "sa", num_reads=20, seed=1234)
    np.testing.assert_array_equal(again.samples, result.samples)  # a seed makes it repeatable


@pytest.mark.parametrize("sampler", ["steepest", "tabu", "exact", "exact-dimod"])
def test_every_sampler_returns_ir_results(sampler: str) -> None:
    ham = Hamiltonian.from_qubo({(0, 0): -1.0, (0, 1): 2.0, (1, 1): -1.0, (1, 2): -0.5}, 3.0)
    opts: dict[str, Any] = {"timeout": 5} if sampler == "tabu" else {}
    result = qd.solve(ham, sampler, **opts)
    assert result.vartype is BINARY
    np.testing.assert_array_equal(result.energies, ham.energies(result.samples))
    assert result.best_energy == pytest.approx(brute_ground(ham))
    spec = qd.SOLVERS.get(sampler) or qd.SAMPLERS[sampler]
    assert result.info["sampler"] == spec.key
    if sampler.startswith("exact"):
        assert len(result) == 8  # every state
    assert set(result.info["timing"]) >= {"lower_s", "sample_s", "decode_s", "total_s"}


def test_info_records_the_options_used() -> None:
    ham = Hamiltonian.from_ising([0.5, -0.5], {(0, 1): 1.0})
    result = qd.solve(ham, "sa", num_reads=5, beta_range=(0.1, 4.0), beta_schedule_type="linear")
    opts = result.info["options"]
    assert opts["num_reads"] == 5
    assert opts["beta_range"] == [0.1, 4.0]
    assert opts["beta_schedule_type"] == "linear"
    assert 0 <= opts["seed"] < 2**31  # drawn and recorded so the run can be repeated
    rerun = qd.solve(ham, "sa", **opts)
    np.testing.assert_array_equal(rerun.samples, result.samples)
    assert result.info["sampler_class"] == "dwave.samplers.SimulatedAnnealingSampler"
    assert "timing" in result.info["vendor_info"]


def test_sampleset_columns_are_mapped_to_ir_order_by_label() -> None:
    ham = Hamiltonian.from_ising({"a": 1.0, "b": -2.0, "c": 0.5}, {("a", "c"): 1.0})
    rows = np.array([[1, -1, -1], [-1, 1, 1]], dtype=np.int8)  # columns c, a, b
    ss = dimod.SampleSet.from_samples((rows, ["c", "a", "b"]), "SPIN", energy=[0.0, 0.0])
    samples, occ = sampleset_samples(ss, ham)
    np.testing.assert_array_equal(samples, [[-1, -1, 1], [1, 1, -1]])  # columns a, b, c
    np.testing.assert_array_equal(occ, [1, 1])
    binary = dimod.SampleSet.from_samples((rows > 0, ["c", "a", "b"]), "BINARY", energy=[0, 0])
    np.testing.assert_array_equal(sampleset_samples(binary, ham)[0], samples)


@given(
    st.integers(1, 70).flatmap(
        lambda n: st.lists(
            st.lists(st.sampled_from([-1, 1]), min_size=n, max_size=n), min_size=1, max_size=30
        )
    )
)
def test_aggregate_matches_numpy_unique(rows: list[list[int]]) -> None:
    samples = np.array(rows, dtype=np.int8).reshape(len(rows), -1)
    occ = np.arange(1, len(rows) + 1, dtype=np.int64)
    uniq, counts = aggregate(samples, occ)
    ref, inverse = np.unique(samples, axis=0, return_inverse=True)
    ref_counts = np.bincount(inverse.ravel(), weights=occ, minlength=len(ref))
    order = np.lexsort(uniq.T[::-1])
    np.testing.assert_array_equal(uniq[order], ref)
    np.testing.assert_array_equal(counts[order], ref_counts)


@pytest.mark.parametrize(
    ("sampler", "options", "message"),
    [
        (
            "sa",
            {"temperature": 3},
            "does not accept option\\(s\\) 'temperature'; accepted: .*num_reads",
        ),
        ("tabu", {"beta_range": (1, 2)}, "'beta_range'; accepted: .*tenure"),
        ("exact", {"num_reads": 10}, "'num_reads'; accepted: chain_break_method, sampler"),
        ("sa", {"num_reads": 0}, "num_reads must be in"),
        ("sa", {"num_reads": True}, "num_reads must be an integer"),
        ("sa", {"num_reads": 2.5}, "num_reads must be an integer"),
        ("sa", {"seed": -1}, "seed must be in"),
        ("sa", {"seed": 2**31}, "seed must be in"),
        ("sa", {"beta_range": (5, 1)}, "beta_range"),
        ("sa", {"beta_range": "hot"}, "beta_range"),
        ("sa", {"beta_schedule_type": "cubic"}, "refused its options"),
        ("annealer", {}, "unknown dimod sampler 'annealer'"),
        ("sa", {"chain_break_method": "vote"}, "chain_break_method"),
    ],
)
def test_bad_options_are_refused_clearly(
    sampler: str, options: dict[str, Any], message: str
) -> None:
    ham = Hamiltonian.from_ising([1.0, -1.0], {(0, 1): 0.5})
    with pytest.raises(ValidationError, match=message):
        qd.solve(ham, sampler, **options)


def test_exact_sampler_has_a_stated_limit() -> None:
    ham = Hamiltonian.from_ising(np.ones(qd.samplers.EXACT_MAX_VARIABLES + 1))
    with pytest.raises(LimitExceeded, match="at most 20 variables"):
        qd.solve(ham, "exact")


def test_empty_problem_solves_to_its_offset() -> None:
    ham = Hamiltonian(np.zeros(0), offset=-1.25, vartype=SPIN)
    result = qd.solve(ham, "sa", num_reads=3)
    assert result.samples.shape == (1, 0)
    np.testing.assert_array_equal(result.energies, [-1.25])
    assert result.num_occurrences.tolist() == [3]


def test_solver_aliases() -> None:
    assert set(qd.SOLVERS) == {"sa", "steepest", "tabu", "exact-dimod"}
    assert qd.SOLVERS["exact-dimod"].key == "exact"
    assert "num_sweeps" in qd.accepted_options(qd.SOLVERS["sa"])
    assert "sampler" in qd.accepted_options(qd.SOLVERS["exact-dimod"])


# ----------------------------------------------------------------------------- backend protocol
def test_backend_protocol_and_capabilities(tmp_path: Path) -> None:
    backend = qd.DimodBackend()
    assert isinstance(backend, Backend)
    assert backend.name == "dimod"
    caps = backend.capabilities
    assert caps.vartypes == frozenset({SPIN, BINARY})
    assert caps.samples
    assert not caps.exact
    assert caps.artifacts == ("bqm.json", "bqm.coo")
    assert caps.extra == "dimod"
    assert caps.max_variables is None
    assert not caps.needs_embedding
    ham = Hamiltonian.from_ising({"p": 1.0, "q": -1.0}, {("p", "q"): 2.0}, 0.5)
    bqm = backend.lower(ham)
    for path in backend.write(bqm, tmp_path):
        assert qd.from_bqm(backend.read_artifact(path)) == ham
    xs = all_assignments(2, SPIN)
    np.testing.assert_array_equal(backend.native_energies(bqm, xs), ham.energies(xs))
    assert backend.solve(ham, sampler="exact").best_energy == brute_ground(ham)
    assert qd.DimodBackend(sampler="exact").solve(ham).info["sampler"] == "exact"
    with pytest.raises(ValidationError, match="takes no options"):
        backend.lower(ham, scale=2.0)
    with pytest.raises(ValidationError, match="unknown dimod sampler"):
        qd.DimodBackend(sampler="nope")


def test_package_imports_without_dimod() -> None:
    code = (
        "import sys\n"
        "for name in ('dimod', 'dwave', 'dwave.samplers'): sys.modules[name] = None\n"
        "import qevo_dimod\n"
        "from qevo_ir import Hamiltonian\n"
        "from qevo_ir.errors import BackendUnavailable\n"
        "b = qevo_dimod.DimodBackend()\n"
        "assert b.capabilities.extra == 'dimod'\n"
        "try:\n"
        "    b.lower(Hamiltonian.from_ising([1.0]))\n"
        "except BackendUnavailable as exc:\n"
        "    assert \"pip install 'qevo-ir[dimod]'\" in str(exc), exc\n"
        "    print('ok')\n"
    )
    env = {"PYTHONPATH": f"{ROOT}{':'}{ROOT / 'backends'}", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ----------------------------------------------------------------------------- embedded problems
class FakeEmbedded:
    """A stand-in for qevo_ir.embedded.EmbeddedHamiltonian: every variable is a 2-qubit chain.

    Source variable ``i`` is qubits ``2i, 2i+1`` (target labels ``100 + q``); ``h_i`` is split
    over both; ``J_uv`` sits on the edge ``(2u, 2v)``; each chain has a ``-chain_strength``
    coupling and the offset gains ``chain_strength`` per chain, so unbroken samples keep their
    source energy.
    """

    def __init__(self, source: Hamiltonian, chain_strength: float) -> None:
        self.source = source.to_spin()
        n = self.source.num_variables
        self.chain_strength = float(chain_strength)
        self.chains = tuple(np.array([2 * i, 2 * i + 1], dtype=np.int64) for i in range(n))
        lin = np.repeat(self.source.linear / 2, 2)
        row = np.concatenate([2 * self.source.row, 2 * np.arange(n)])
        col = np.concatenate([2 * self.source.col, 2 * np.arange(n) + 1])
        quad = np.concatenate([self.source.quad, np.full(n, -self.chain_strength)])
        self.target = Hamiltonian(
            lin,
            row,
            col,
            quad,
            self.source.offset + n * self.chain_strength,
            vartype=SPIN,
            variables=[100 + q for q in range(2 * n)],
        )
        self.topology = {"family": "fake", "chain_length": 2}
        self.calls: list[str] = []

    @property
    def num_variables(self) -> int:
        return self.source.num_variables

    def unembed(self, target_samples: np.ndarray, method: str = "majority_vote") -> Any:
        self.calls.append(method)
        s = np.asarray(target_samples, dtype=np.int64)
        pairs = s.reshape(len(s), -1, 2)
        broken = pairs[:, :, 0] != pairs[:, :, 1]
        votes = pairs.sum(axis=2)
        src = np.where(votes >= 0, 1, -1).astype(np.int8)  # ties toward +1
        fraction = broken.mean(axis=1) if broken.shape[1] else np.zeros(len(s))
        keep = ~broken.any(axis=1) if method == "discard" else np.ones(len(s), dtype=bool)
        return types.SimpleNamespace(samples=src[keep], chain_break_fraction=fraction, keep=keep)


def test_embedded_problem_lowers_its_target() -> None:
    src = Hamiltonian.from_ising(
        {"a": 1.0, "b": -0.5, "c": 0.25}, {("a", "b"): 1.0, ("b", "c"): -2.0}
    )
    emb = FakeEmbedded(src, 3.0)
    bqm = qd.lower(emb)
    assert list(bqm.variables) == list(range(100, 106))
    assert bqm.vartype.name == "SPIN"
    xs = all_assignments(6, SPIN)
    np.testing.assert_allclose(qd.native_energies(bqm, xs), emb.target.energies(xs), atol=1e-12)


@settings(max_examples=10)
@given(hamiltonians(min_variables=1, max_variables=5, extreme=False))
def test_embedded_ground_states_unembed_to_source_ground_states(ham: Hamiltonian) -> None:
    strength = 2 * scale(ham)
    emb = FakeEmbedded(ham, strength)
    result = qd.solve(emb, "exact")
    assert result.variables == emb.source.variables
    assert result.vartype is SPIN
    np.testing.assert_array_equal(result.energies, emb.source.energies(result.samples))
    assert result.best_energy == pytest.approx(brute_ground(emb.source), abs=1e-9 * scale(ham))
    assert 0.0 < result.info["chain_break_fraction"] < 1.0  # exact lists broken states too
    assert result.info["embedded"] is True
    assert emb.calls == ["majority_vote"]


def test_embedded_discard_drops_broken_reads() -> None:
    src = Hamiltonian.from_ising([0.5, -0.5], {(0, 1): 1.0})
    emb = FakeEmbedded(src, 5.0)
    result = qd.solve(emb, "exact", chain_break_method="discard")
    assert int(result.num_occurrences.sum()) == 4  # the 4 unbroken of 16 target states
    assert result.info["num_discarded"] == 12
    assert result.info["chain_break_fraction"] == pytest.approx((8 * 0.5 + 4 * 1.0) / 16)
    assert result.best_energy == brute_ground(src)


def test_real_embedded_hamiltonian_if_present() -> None:
    embedded = pytest.importorskip("qevo_ir.embedded")
    nx = pytest.importorskip("networkx")
    embed_into = (
        getattr(embedded, "embed_into", None)
        or pytest.importorskip("qevo_ir.passes.embed").embed_into
    )
    src = Hamiltonian.from_ising([0.5, -0.5, 0.25], {(0, 1): 1.0, (1, 2): -1.0, (0, 2): 0.5})
    emb = embed_into(src, nx.cycle_graph(6), chain_strength=10.0, seed=1)
    result = qd.solve(emb, "exact")
    assert result.best_energy == pytest.approx(brute_ground(src))
    assert "chain_break_fraction" in result.info
    job = qd.lower_for_qpu(src, topology="chimera", embed_options={"m": 1}, chain_strength=10.0)
    assert job.chain_strength == 10.0
    assert sorted(job.embedding) == [0, 1, 2]


# ----------------------------------------------------------------------------- the QPU path
def test_qpu_job_artifact(tmp_path: Path) -> None:
    src = Hamiltonian.from_ising({"a": 1.0, ("b", 1): -1.0}, {("a", ("b", 1)): 0.5})
    emb = FakeEmbedded(src, 2.0)
    job = qd.lower_for_qpu(emb, anneal_schedule=[[0, 0], [10, 0.5], [20, 1]], num_reads=50)
    paths = qd.write_qpu_job(job, tmp_path)
    assert [p.name for p in paths] == ["bqm.json", "qpu_job.json"]
    doc = json.loads((tmp_path / "qpu_job.json").read_text())
    assert doc["submitted"] is False
    assert doc["bqm"] == "bqm.json"
    assert doc["sampler"] == "dwave.system.DWaveSampler"
    assert doc["parameters"] == {
        "num_reads": 50,
        "anneal_schedule": [[0.0, 0.0], [10.0, 0.5], [20.0, 1.0]],
    }
    assert doc["chain_strength"] == 2.0
    assert doc["embedding"] == [["a", [100, 101]], [["b", 1], [102, 103]]]
    assert doc["source"]["content_hash"] == emb.source.content_hash()
    assert doc["target"] == {"num_qubits": 4, "num_couplers": 3}
    assert qd.read_qpu_job(tmp_path / "qpu_job.json") == doc
    with pytest.raises(FormatError, match="read_qpu_job"):
        qd.read_artifact(tmp_path / "qpu_job.json")
    target = qd.read_artifact(tmp_path / "bqm.json")
    assert qd.from_bqm(target) == emb.target
    more = qd.write(job, tmp_path / "both")  # the backend's write() takes a job too
    assert sorted(p.name for p in more) == ["bqm.coo", "bqm.json", "qpu_job.json"]


def test_qpu_lowering_refusals() -> None:
    src = Hamiltonian.from_ising([1.0, -1.0], {(0, 1): 0.5})
    emb = FakeEmbedded(src, 2.0)
    with pytest.raises(ValidationError, match=r"unknown QPU parameter.*accepted: num_reads"):
        qd.lower_for_qpu(emb, flux_bias=[0.1])
    with pytest.raises(ValidationError, match="annealing_time must be a positive"):
        qd.lower_for_qpu(emb, annealing_time=-5)
    assert qd.lower_for_qpu(emb, annealing_time=20).parameters == {
        "num_reads": 100,
        "annealing_time": 20,
    }
    with pytest.raises(ValidationError, match="not both"):
        qd.lower_for_qpu(emb, anneal_schedule=[[0, 0], [20, 1]], annealing_time=20)
    with pytest.raises(ValidationError, match="already embedded"):
        qd.lower_for_qpu(emb, topology="pegasus")
    with pytest.raises(ValidationError, match="re-embed"):
        qd.lower_for_qpu(emb, chain_strength=9.0)
    with pytest.raises(CapabilityError, match="topology='pegasus'"):
        qd.lower_for_qpu(src)
    with pytest.raises(ValidationError, match="num_reads"):
        qd.lower_for_qpu(emb, num_reads=0)


@dataclasses.dataclass(frozen=True)
class FakeEmbedPass:
    """Stands in for the registered ``embed`` pass (fields are its options)."""

    name: ClassVar[str] = "embed"
    topology: str = "pegasus"
    m: int = 2
    chain_strength: float | None = None
    seed: int | None = None

    def apply(self, ir: Hamiltonian) -> Any:
        return types.SimpleNamespace(ir=FakeEmbedded(ir, self.chain_strength or 1.0))


def test_qpu_lowering_embeds_with_the_embed_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    from qevo_ir.passes import base

    monkeypatch.setitem(
        sys.modules, "qevo_ir.passes.embed", types.ModuleType("qevo_ir.passes.embed")
    )
    monkeypatch.setitem(base.PASSES, "embed", FakeEmbedPass)
    src = Hamiltonian.from_ising([1.0, -1.0], {(0, 1): 0.5})
    job = qd.lower_for_qpu(src, topology="pegasus", chain_strength=4.0, embed_options={"m": 3})
    assert job.chain_strength == 4.0
    assert len(job.bqm.variables) == 4
    with pytest.raises(ValidationError, match=r"no option.*'tile'.*its options"):
        qd.lower_for_qpu(src, topology="pegasus", embed_options={"tile": 4})


def test_qpu_solve_needs_dwave_system(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "dwave.system", None)
    emb = FakeEmbedded(Hamiltonian.from_ising([1.0]), 2.0)
    with pytest.raises(BackendUnavailable, match="pip install dwave-system"):
        qd.solve(emb, "qpu")


def test_qpu_solve_with_a_stand_in_dwave_system(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    class StandInSampler:
        def __init__(self, **kwargs: Any) -> None:
            seen["init"] = kwargs

        def sample(self, bqm: Any, **params: Any) -> Any:
            seen["params"] = params
            return dimod.ExactSolver().sample(bqm)

    module = types.ModuleType("dwave.system")
    module.DWaveSampler = StandInSampler  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "dwave.system", module)
    src = Hamiltonian.from_ising([0.5, -1.0], {(0, 1): 0.75})
    emb = FakeEmbedded(src, 5.0)
    result = qd.solve(emb, "qpu", num_reads=7, anneal_schedule=[[0, 0], [5, 1]], solver="Adv2")
    assert seen == {
        "init": {"solver": "Adv2"},
        "params": {"num_reads": 7, "anneal_schedule": [[0.0, 0.0], [5.0, 1.0]]},
    }
    assert result.best_energy == brute_ground(src)
    assert result.info["sampler"] == "qpu"
    assert "chain_break_fraction" in result.info


# ----------------------------------------------------------------------------- anneal schedules
@st.composite
def forward_schedules(draw: st.DrawFn) -> list[list[float]]:
    k = draw(st.integers(0, 8))
    gaps = draw(st.lists(st.floats(0.01, 50), min_size=k + 1, max_size=k + 1))
    times = np.cumsum([0.0, *gaps])
    middle = sorted(draw(st.lists(st.floats(0, 1), min_size=k, max_size=k)))
    return [[float(t), float(s)] for t, s in zip(times, [0.0, *middle, 1.0], strict=True)]


@given(forward_schedules())
def test_valid_forward_schedules_are_accepted(schedule: list[list[float]]) -> None:
    assert qd.validate_anneal_schedule(schedule) == schedule


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        ([[0, 0]], "at least 2 points"),
        ([[0, 0], [0, 1]], "times must increase"),
        ([[0, 0], [10, 0.5], [5, 1]], "times must increase: point 2"),
        ([[1, 0], [10, 1]], "start at \\(0, 0\\)"),
        ([[0, 0.2], [10, 1]], "start at \\(0, 0\\)"),
        ([[0, 0], [10, 0.5]], "end at s = 1"),
        ([[0, 0], [5, 1.5], [10, 1]], "outside \\[0, 1\\]"),
        ([[0, 0], [5, 0.6], [8, 0.4], [10, 1]], "s decreases"),
        ([[0, 1], [5, 0.5], [10, 1]], "reverse annealing"),
        ([[0, 0], [float("nan"), 1]], "non-finite"),
        ([[0, 0, 1], [10, 1, 1]], "shape"),
        ([[0, 0], [10]], "number pairs"),
        ("0,0;20,1", "list of \\[t, s\\] points"),
    ],
)
def test_invalid_schedules_are_refused(schedule: Any, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        qd.validate_anneal_schedule(schedule)


def test_system_dependent_schedule_limits() -> None:
    schedule = [[0, 0], [1, 0.5], [2, 0.5], [3, 1]]
    with pytest.raises(ValidationError, match="at most 3"):
        qd.validate_anneal_schedule(schedule, max_points=3)
    with pytest.raises(ValidationError, match="maximum is 2"):
        qd.validate_anneal_schedule(schedule, max_time=2.0)
    with pytest.raises(ValidationError, match="slope"):
        qd.validate_anneal_schedule(schedule, min_anneal_time=5.0)
    assert qd.validate_anneal_schedule(schedule, max_points=4, max_time=3, min_anneal_time=2.0)
