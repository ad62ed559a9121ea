"""The ``cirq`` backend plugin: QAOA circuits and cost operators, their file, and sampling."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from qevo_cirq import artifacts, circuit
from qevo_ir.backend import Capabilities
from qevo_ir.errors import ValidationError
from qevo_ir.plugins import require
from qevo_ir.results import SampleResult
from qevo_ir.vartypes import SPIN
from qevo_qiskit.qaoa_problem import (
    DEFAULT_OPERATOR_BYTES,
    MAX_SIMULATED_QUBITS,
    CostIR,
    check_options,
    prepare_solve,
    sample_result,
)

if TYPE_CHECKING:
    import cirq

__all__ = ["CirqBackend"]

#: ``simulator=`` values of :meth:`CirqBackend.solve`.
SIMULATORS = ("cirq",)

#: Measurement key of the sampling circuit.
MEASUREMENT_KEY = "x"


class CirqBackend:
    """Backend plugin ``cirq``: QAOA ``cirq.Circuit``, ``cirq.PauliSum`` and Cirq JSON.

    ``lower`` gives the (symbolic or bound) QAOA circuit, ``write`` produces
    ``qaoa.cirq.json``, ``solve`` optimises the angles on the fast numpy path and samples the
    bound circuit with ``cirq.Simulator``.
    """

    name = "cirq"
    capabilities = Capabilities(
        vartypes=frozenset({SPIN}),
        max_variables=MAX_SIMULATED_QUBITS,
        needs_embedding=False,
        samples=True,
        exact=False,
        artifacts=artifacts.ARTIFACTS,
        extra="cirq",
    )

    def lower(self, hamiltonian: CostIR, **options: Any) -> cirq.Circuit:
        """The QAOA circuit (options ``layers``, ``gammas``, ``betas``); no measurements.

        See :func:`qevo_cirq.circuit.qaoa_circuit`.
        """
        check_options("lower", options, frozenset({"layers", "gammas", "betas", "measure"}))
        qc = circuit.qaoa_circuit(
            hamiltonian, options.get("layers"), options.get("gammas"), options.get("betas")
        )
        if options.get("measure", False):
            cirq_mod = require("cirq", "cirq")
            qubits = cirq_mod.LineQubit.range(hamiltonian.num_variables)
            qc = qc + cirq_mod.Moment([cirq_mod.measure(*qubits, key=MEASUREMENT_KEY)])
        return qc

    def bind(
        self, native: cirq.AbstractCircuit, gammas: npt.ArrayLike, betas: npt.ArrayLike
    ) -> cirq.AbstractCircuit:
        """``native`` with the symbols ``gamma_k``/``beta_k`` resolved to the given angles."""
        cirq_mod = require("cirq", "cirq")
        g = np.atleast_1d(np.asarray(gammas, dtype=np.float64))
        b = np.atleast_1d(np.asarray(betas, dtype=np.float64))
        if g.shape != b.shape or g.ndim != 1:
            raise ValidationError(
                f"gammas and betas must be equal-length sequences, got {g.size} and {b.size}"
            )
        names = {str(sym) for sym in cirq_mod.parameter_symbols(native)}
        values = {f"gamma_{k}": float(v) for k, v in enumerate(g)}
        values.update({f"beta_{k}": float(v) for k, v in enumerate(b)})
        missing = sorted(names - set(values))
        if missing:
            raise ValidationError(
                f"the circuit has angles {missing} beyond the {g.size} layers given"
            )
        resolved: cirq.AbstractCircuit = cirq_mod.resolve_parameters(native, values)
        return resolved

    def cost_operator(
        self, hamiltonian: CostIR, *, max_bytes: int = DEFAULT_OPERATOR_BYTES
    ) -> cirq.PauliSum:
        """The cost operator ``H_C`` (see :func:`qevo_cirq.circuit.cost_operator`)."""
        return circuit.cost_operator(hamiltonian, max_bytes=max_bytes)

    def write(self, native: Any, directory: Path, **options: Any) -> list[Path]:
        """Write ``qaoa.cirq.json`` (options ``formats``, ``force``)."""
        check_options("write", options, frozenset({"formats", "force"}))
        return artifacts.write(
            native,
            directory,
            tuple(options.get("formats", ("json",))),
            force=bool(options.get("force", True)),
        )

    def read_artifact(self, path: Path) -> cirq.Circuit:
        """Read a written ``qaoa.cirq.json`` back as a circuit."""
        return artifacts.read_artifact(path)

    def statevector(
        self,
        native: cirq.AbstractCircuit,
        gammas: npt.ArrayLike | None = None,
        betas: npt.ArrayLike | None = None,
    ) -> npt.NDArray[np.complex128]:
        """Final state of ``native`` at the angles, little-endian (qubit ``i`` = variable ``i``)."""
        return circuit.statevector(native, gammas, betas)

    def solve(self, hamiltonian: CostIR, **options: Any) -> SampleResult:
        """Sample the QAOA state of ``hamiltonian`` with ``cirq.Simulator``.

        Options: ``layers`` (default 1), ``shots`` (1024), ``seed``, ``gammas``/``betas``
        (skip optimisation), ``optimize`` (True), ``restarts`` (4), ``simulator``
        (``cirq``), ``sampler`` (any ``cirq.Sampler``, e.g. ``cirq.Simulator()``, which then
        runs the bound circuit; column ``i`` of its record is ``LineQubit(i)``).

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
        cirq_mod = require("cirq", "cirq")
        bound = circuit.qaoa_circuit(hamiltonian, gammas=gammas, betas=betas)
        qubits = cirq_mod.LineQubit.range(n)
        measured = bound + cirq_mod.Moment([cirq_mod.measure(*qubits, key=MEASUREMENT_KEY)])
        if sampler is not None:
            if not callable(getattr(sampler, "run", None)):
                raise ValidationError(
                    f"sampler must be a cirq.Sampler (with run(circuit, repetitions=...)), got "
                    f"{type(sampler).__name__}"
                )
            result = sampler.run(measured, repetitions=settings.shots)
            info["simulator"] = f"{type(sampler).__module__}.{type(sampler).__qualname__}.run"
        else:
            simulator = cirq_mod.Simulator(dtype=np.complex128, seed=settings.seed)
            result = simulator.run(measured, repetitions=settings.shots)
            info["simulator"] = "cirq.Simulator(dtype=complex128).run"
        # Column i of the measurement record is LineQubit(i): bit x_i of variable i.
        bits = np.asarray(result.measurements[MEASUREMENT_KEY], dtype=np.int8)
        return sample_result(hamiltonian, bits, None, info, settings.shots)
