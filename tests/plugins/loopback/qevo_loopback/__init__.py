"""qevo_loopback: a minimal third-party backend, used to prove that one can be written and checked
with the public API alone.

:class:`LoopbackBackend`'s native object is a plain dict of numpy arrays (the IR's own terms); it
writes that dict as ``loopback.npz``, evaluates energies itself, and samples uniformly at random.
:class:`LoopbackQAOABackend` lowers to the same kind of dict plus a depth and simulates QAOA on
it with its own few lines of numpy. ``bug=`` makes either wrong on purpose, so the tests can show
that the conformance kit catches each kind of mistake.
A real plugin would register in its own ``pyproject.toml`` (see the one beside this package).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.atomic import atomic_write_bytes
from qevo_ir.backend import Capabilities, check_capabilities
from qevo_ir.errors import FormatError, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.results import SampleResult
from qevo_ir.vartypes import BINARY, SPIN

__all__ = ["BUGS", "QAOA_BUGS", "LoopbackBackend", "LoopbackQAOABackend"]

#: ``bug=`` values: which property each one breaks.
BUGS: dict[str, str] = {
    "sign": "energy",  # lowers J with the wrong sign
    "artifact": "artifacts",  # forgets the offset when writing
    "sampling": "sampling",  # reports energies off by one
    "limit": "capabilities",  # declares max_variables but solves bigger problems
}

#: ``LoopbackQAOABackend(bug=...)`` values; each breaks the ``qaoa`` property.
QAOA_BUGS: dict[str, str] = {
    "endian": "qaoa",  # returns the state big-endian (qubit 0 most significant), as Cirq orders it
    "mixer": "qaoa",  # mixer exp(+iβX) instead of exp(-iβX)
    "cost-sign": "qaoa",  # cost layer exp(+iγH_C): the energy-sign mistake of physics forms
}

ARTIFACT = "loopback.npz"
_KEYS = ("linear", "row", "col", "quad", "offset", "vartype")


class LoopbackBackend:
    """Backend plugin ``loopback``: lowering is a dict of arrays; numpy only."""

    name = "loopback"

    def __init__(self, bug: str | None = None) -> None:
        if bug is not None and bug not in BUGS:
            raise ValidationError(f"unknown bug {bug!r}; choose from {sorted(BUGS)}")
        self.bug = bug
        self.capabilities = Capabilities(
            vartypes=frozenset({SPIN, BINARY}),
            max_variables=20,
            samples=True,
            artifacts=(ARTIFACT,),
        )

    def lower(self, hamiltonian: Any, **options: Any) -> dict[str, Any]:
        """The IR's terms as a dict of arrays (an embedded problem lowers its ``target``)."""
        if options:
            raise ValidationError(f"loopback lower() takes no options, got {sorted(options)}")
        ham = hamiltonian.target if hasattr(hamiltonian, "chains") else hamiltonian
        if not isinstance(ham, Hamiltonian):
            raise ValidationError(f"loopback lowers a Hamiltonian, got {type(ham).__name__}")
        sign = -1.0 if self.bug == "sign" else 1.0
        return {
            "linear": np.array(ham.linear),
            "row": np.array(ham.row),
            "col": np.array(ham.col),
            "quad": sign * np.array(ham.quad),
            "offset": np.float64(ham.offset),
            "vartype": np.str_(ham.vartype.value),
        }

    def native_energies(
        self, native: dict[str, Any], samples: npt.ArrayLike
    ) -> npt.NDArray[np.float64]:
        """Energies from the dict alone, vectorised: ``offset + s·h + Σ_k J_k s_row s_col``."""
        s = np.atleast_2d(np.asarray(samples, dtype=np.float64))
        row, col = np.asarray(native["row"]), np.asarray(native["col"])
        quad = np.asarray(native["quad"], dtype=np.float64)
        pair = (s[:, row] * s[:, col]) @ quad if len(quad) else np.zeros(len(s))
        linear = s @ np.asarray(native["linear"], dtype=np.float64)
        return np.asarray(float(native["offset"]) + linear + pair, dtype=np.float64)

    def write(self, native: dict[str, Any], directory: Path, **options: Any) -> list[Path]:
        """``loopback.npz`` (no pickled objects), written atomically."""
        data = dict(native)
        if self.bug == "artifact":
            data["offset"] = np.float64(0.0)
        buffer = io.BytesIO()
        np.savez(buffer, **data)
        path = Path(directory) / ARTIFACT
        atomic_write_bytes(path, buffer.getvalue())
        return [path]

    def read_artifact(self, path: Path) -> dict[str, Any]:
        with np.load(path, allow_pickle=False) as archive:  # noqa: TID251 (reviewed reader)
            missing = sorted(set(_KEYS) - set(archive.files))
            if missing:
                raise FormatError(f"{path}: not a loopback artifact (missing {missing})")
            return {key: archive[key] for key in _KEYS}

    def solve(self, hamiltonian: Hamiltonian, **options: Any) -> SampleResult:
        """``num_reads`` uniformly random assignments (``seed`` for repeatability)."""
        unknown = sorted(set(options) - {"seed", "num_reads"})
        if unknown:
            raise ValidationError(f"loopback solve() takes seed= and num_reads=, got {unknown}")
        if self.bug != "limit":
            check_capabilities(self, hamiltonian)
        rng = np.random.default_rng(options.get("seed"))
        lo, hi = hamiltonian.vartype.values
        bits = rng.integers(
            0, 2, size=(int(options.get("num_reads", 32)), hamiltonian.num_variables)
        )
        result = SampleResult.from_samples(hamiltonian, (bits * (hi - lo) + lo).astype(np.int8))
        if self.bug == "sampling":
            return SampleResult(
                result.samples,
                result.energies + 1.0,
                result.num_occurrences,
                result.variables,
                result.vartype,
                result.info,
            )
        return result


class LoopbackQAOABackend:
    """Backend plugin ``loopback-qaoa``: QAOA on a dict of SPIN terms, simulated with numpy."""

    name = "loopback-qaoa"

    def __init__(self, bug: str | None = None) -> None:
        if bug is not None and bug not in QAOA_BUGS:
            raise ValidationError(f"unknown bug {bug!r}; choose from {sorted(QAOA_BUGS)}")
        self.bug = bug
        self.capabilities = Capabilities(vartypes=frozenset({SPIN}), max_variables=12, samples=True)

    def lower(self, hamiltonian: Hamiltonian, **options: Any) -> dict[str, Any]:
        """SPIN terms (a BINARY IR is converted exactly) and ``layers`` (default 1)."""
        unknown = sorted(set(options) - {"layers"})
        if unknown:
            raise ValidationError(f"loopback-qaoa lower() takes layers=, got {unknown}")
        spin = hamiltonian.to_spin()
        native = LoopbackBackend().lower(spin)
        native["layers"] = np.int64(options.get("layers", 1))
        return native

    def write(self, native: dict[str, Any], directory: Path, **options: Any) -> list[Path]:
        return []  # declares no artifacts

    def statevector(
        self, native: dict[str, Any], gammas: npt.ArrayLike, betas: npt.ArrayLike
    ) -> npt.NDArray[np.complex128]:
        """``Π_k exp(-iβ_k ΣX) exp(-iγ_k H_C) |+⟩^n``, little-endian (qubit i = variable i)."""
        n = len(native["linear"])
        g = np.asarray(gammas, dtype=np.float64).reshape(-1)
        b = np.asarray(betas, dtype=np.float64).reshape(-1)
        index = np.arange(1 << n, dtype=np.int64)
        spins = 2 * ((index[:, None] >> np.arange(n)) & 1).astype(np.int8) - 1
        diag = LoopbackBackend().native_energies(native, spins)
        if self.bug == "cost-sign":
            diag = -diag
        state = np.full(1 << n, 2.0 ** (-n / 2), dtype=np.complex128)
        sign = 1.0 if self.bug == "mixer" else -1.0
        for gamma, beta in zip(g, b, strict=True):
            state = state * np.exp(-1j * gamma * diag)
            cos, sin = np.cos(beta), sign * 1j * np.sin(beta)
            for q in range(n):  # one qubit at a time: exp(∓iβX) = cos β ∓ i sin β X
                view = state.reshape(-1, 2, 1 << q)
                state = np.concatenate(
                    [cos * view[:, :1] + sin * view[:, 1:], sin * view[:, :1] + cos * view[:, 1:]],
                    axis=1,
                ).reshape(-1)
        if self.bug == "endian" and n:
            state = state.reshape((2,) * n).transpose(tuple(range(n - 1, -1, -1))).reshape(-1)
        return state

    def solve(self, hamiltonian: Hamiltonian, **options: Any) -> SampleResult:
        """Sample the depth-1 state at fixed angles (γ = 0.4, β = 0.3); ``seed``, ``shots``."""
        unknown = sorted(set(options) - {"seed", "shots"})
        if unknown:
            raise ValidationError(f"loopback-qaoa solve() takes seed= and shots=, got {unknown}")
        check_capabilities(self, hamiltonian)
        n = hamiltonian.num_variables
        probs = np.abs(self.statevector(self.lower(hamiltonian), [0.4], [0.3])) ** 2
        rng = np.random.default_rng(options.get("seed"))
        index = rng.choice(1 << n, size=int(options.get("shots", 64)), p=probs / probs.sum())
        bits = ((index[:, None] >> np.arange(n)) & 1).astype(np.int8)
        return SampleResult.from_samples(hamiltonian, bits, vartype=BINARY)
