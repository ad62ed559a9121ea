"""The ``qiskit`` backend plugin: QAOA circuits and cost operators, their files, and sampling."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from qevo_ir.backend import Capabilities
from qevo_ir.conventions import basis_index_to_bits
from qevo_ir.errors import ValidationError
from qevo_ir.plugins import require
from qevo_ir.results import SampleResult
from qevo_ir.vartypes import SPIN
from qevo_qiskit import artifacts, circuit
from qevo_qiskit.qaoa_problem import (
    DEFAULT_OPERATOR_BYTES,
    MAX_SIMULATED_QUBITS,
    CostIR,
    check_options,
    prepare_solve,
    sample_result,
)

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit
    from qiskit.quantum_info import SparsePauliOp

__all__ = ["QiskitBackend"]

#: ``simulator=`` values of :meth:`QiskitBackend.solve`; ``auto`` is Aer when installed.
SIMULATORS = ("auto", "aer", "statevector")


class QiskitBackend:
    """Backend plugin ``qiskit``: QAOA ``QuantumCircuit``, ``SparsePauliOp``, QASM 3 and QPY.

    ``lower`` gives the (parameterised or bound) QAOA circuit, ``write`` produces ``qaoa.qasm``
    and ``qaoa.qpy``, ``solve`` optimises the angles on the fast numpy path, simulates the bound
    circuit (qiskit-aer when installed, else ``Statevector``) and decodes the shots.
    """

    name = "qiskit"
    capabilities = Capabilities(
        vartypes=frozenset({SPIN}),
        max_variables=MAX_SIMULATED_QUBITS,
        needs_embedding=False,
        samples=True,
        exact=False,
        artifacts=artifacts.ARTIFACTS,
        extra="qiskit",
    )

    def lower(self, hamiltonian: CostIR, **options: Any) -> QuantumCircuit:
        """The QAOA circuit (options ``layers``, ``gammas``, ``betas``, ``measure``).

        See :func:`qevo_qiskit.circuit.qaoa_circuit`. With ``measure=True`` every qubit is
        measured at the end (``measure_all``: classical register ``meas``, bit ``i`` = qubit
        ``i`` = variable ``i``; in count keys qubit 0 is the rightmost character).
        """
        check_options("lower", options, frozenset({"layers", "gammas", "betas", "measure"}))
        qc = circuit.qaoa_circuit(
            hamiltonian, options.get("layers"), options.get("gammas"), options.get("betas")
        )
        if options.get("measure", False):
            qc = qc.measure_all(inplace=False)
        return qc

    def bind(
        self, native: QuantumCircuit, gammas: npt.ArrayLike, betas: npt.ArrayLike
    ) -> QuantumCircuit:
        """``native`` with ``gamma[k] = gammas[k]`` and ``beta[k] = betas[k]`` bound by name
        (``qc.parameters`` sorts ``beta`` before ``gamma``; this does not depend on it)."""
        return circuit.bind_angles(native, gammas, betas)

    def cost_operator(
        self, hamiltonian: CostIR, *, max_bytes: int = DEFAULT_OPERATOR_BYTES
    ) -> SparsePauliOp:
        """The cost operator ``H_C`` (see :func:`qevo_qiskit.circuit.cost_operator`)."""
        return circuit.cost_operator(hamiltonian, max_bytes=max_bytes)

    def write(self, native: Any, directory: Path, **options: Any) -> list[Path]:
        """Write ``qaoa.qasm`` and ``qaoa.qpy`` (options ``formats``, ``force``)."""
        check_options("write", options, frozenset({"formats", "force"}))
        return artifacts.write(
            native,
            directory,
            tuple(options.get("formats", ("qasm", "qpy"))),
            force=bool(options.get("force", True)),
        )

    def read_artifact(self, path: Path) -> QuantumCircuit:
        """Read a written ``.qasm`` or ``.qpy`` file back as a circuit."""
        return artifacts.read_artifact(path)

    def statevector(
        self,
        native: QuantumCircuit,
        gammas: npt.ArrayLike | None = None,
        betas: npt.ArrayLike | None = None,
    ) -> npt.NDArray[np.complex128]:
        """Final state of ``native`` at the angles, little-endian (qubit ``i`` = variable ``i``)."""
        return circuit.statevector(native, gammas, betas)

    def solve(self, hamiltonian: CostIR, **options: Any) -> SampleResult:
        """Sample the QAOA state of ``hamiltonian``.

        Options: ``layers`` (default 1), ``shots`` (1024), ``seed``, ``gammas``/``betas``
        (skip optimisation), ``optimize`` (True), ``restarts`` (4, for the optimiser),
        ``simulator`` (``auto``, ``aer`` or ``statevector``), ``sampler`` (a Qiskit
        ``SamplerV2`` instance, e.g. ``StatevectorSampler()``, which then runs the bound
        circuit; its counts are decoded with qubit 0 rightmost in each key).

        Returns
        -------
        SampleResult
            In the IR's variables and vartype, energies from the IR; ``info`` holds ``gammas``,
            ``betas``, ``expectation`` (⟨H_C⟩ at those angles), ``simulator``, ``layers``,
            ``shots``, ``seed`` and where the angles came from.

        Raises
        ------
        LimitExceeded
            Above :data:`MAX_SIMULATED_QUBITS` qubits (naming qubits and memory).
        ValidationError
            On unknown or bad options.
        """
        options = dict(options)
        sampler = options.pop("sampler", None)
        settings, n, gammas, betas, info = prepare_solve(
            hamiltonian, options, SIMULATORS, self.name
        )
        if n == 0:
            info["simulator"] = "none (no qubits)"
            return sample_result(hamiltonian, np.zeros((0, 0), np.int8), None, info, settings.shots)
        bound = circuit.qaoa_circuit(hamiltonian, gammas=gammas, betas=betas)
        if sampler is not None:
            counts = _run_sampler_v2(sampler, bound, settings.shots)
            info["simulator"] = f"{type(sampler).__module__}.{type(sampler).__qualname__}.run"
        else:
            counts, info["simulator"] = _sample_counts(
                bound, settings.shots, settings.seed, settings.simulator
            )
        # Count keys are bit strings with qubit 0 rightmost: int(key, 2) is the little-endian index.
        index = np.fromiter((int(key.replace(" ", ""), 2) for key in counts), np.int64, len(counts))
        occurrences = np.fromiter(counts.values(), np.int64, len(counts))
        return sample_result(
            hamiltonian, basis_index_to_bits(index, n), occurrences, info, settings.shots
        )


def _run_sampler_v2(sampler: Any, bound: QuantumCircuit, shots: int) -> dict[str, int]:
    """Counts from a Qiskit ``BaseSamplerV2`` (``StatevectorSampler``, Aer's ``SamplerV2``, a
    runtime sampler): the bound circuit with ``measure_all`` as one pub."""
    if not callable(getattr(sampler, "run", None)):
        raise ValidationError(
            f"sampler must be a Qiskit SamplerV2 (with run(pubs, shots=...)), got "
            f"{type(sampler).__name__}"
        )
    measured = bound.measure_all(inplace=False)  # seeding is the sampler's own (its seed=)
    try:
        pub_result = sampler.run([(measured,)], shots=shots).result()[0]
        counts = pub_result.data.meas.get_counts()
    except (TypeError, AttributeError) as exc:
        raise ValidationError(
            f"sampler {type(sampler).__name__} did not behave as a Qiskit SamplerV2: {exc}"
        ) from exc
    return dict(counts)


def _sample_counts(
    bound: QuantumCircuit, shots: int, seed: int | None, simulator: str
) -> tuple[dict[str, int], str]:
    """Counts of ``shots`` measurements of the bound circuit, and the simulator's name."""
    use_aer = simulator == "aer" or (
        simulator == "auto" and importlib.util.find_spec("qiskit_aer") is not None
    )
    if use_aer:
        aer = require("qiskit_aer", "aer")
        backend = aer.AerSimulator(method="statevector", seed_simulator=seed)
        result = backend.run(bound.measure_all(inplace=False), shots=shots).result()
        return dict(result.get_counts()), "qiskit-aer AerSimulator(method='statevector')"
    from qiskit.quantum_info import Statevector

    state = Statevector(bound)
    state.seed(seed)
    return dict(state.sample_counts(shots)), "qiskit.quantum_info.Statevector.sample_counts"
