"""The solver names of :func:`qevo_ir.solve` and ``qevo solve --backend``: what each one is, the
options it accepts (with their types), and its limits; and ``KEY=VALUE`` option parsing for the
command line.

A solver name (``sa``, ``tabu``, ``qaoa``, ...) is a backend plugin plus default options; any
plugin name is a solver too. Names match case-insensitively; an unknown name is refused with the
full list and a "did you mean". Nothing here imports a vendor SDK.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qevo_ir.advice import did_you_mean, match_name, unknown_name
from qevo_ir.errors import ValidationError

__all__ = [
    "OPTION_KINDS",
    "SOLVER_INFO",
    "SolverInfo",
    "parse_option_values",
    "resolve_solver",
    "solver_names",
]

#: Value kinds an option takes, for ``--option KEY=VALUE``: ``int``, ``float``, ``bool``,
#: ``str``, ``floats`` (comma list) or ``pair`` (two comma-separated floats).
OPTION_KINDS: dict[str, str] = {
    # dwave-samplers
    "num_reads": "int",
    "num_sweeps": "int",
    "num_sweeps_per_beta": "int",
    "seed": "int",
    "beta_range": "pair",
    "beta_schedule_type": "str",
    "initial_states_generator": "str",
    "randomize_order": "bool",
    "proposal_acceptance_criteria": "str",
    "large_sparse_opt": "bool",
    "tenure": "int",
    "read_timeout_ms": "int",  # tabu's per-read limit; ``timeout`` is the whole solve's deadline
    "num_restarts": "int",
    "energy_threshold": "float",
    "coefficient_z_first": "int",
    "coefficient_z_restart": "int",
    "lower_bound_z": "int",
    "chain_break_method": "str",
    # QAOA
    "layers": "int",
    "shots": "int",
    "gammas": "floats",
    "betas": "floats",
    "restarts": "int",
    "optimize": "bool",
    "simulator": "str",
    "max_bytes": "int",
    "max_seconds": "float",
    "max_qubits": "int",
    # exact
    "num_levels": "int",
    "max_states": "int",
    "atol": "float",
    "max_variables": "int",
    "method": "str",
    "memory_limit": "int",
}

_SA = (
    "num_reads", "num_sweeps", "num_sweeps_per_beta", "beta_range", "beta_schedule_type",
    "seed", "initial_states_generator", "randomize_order", "proposal_acceptance_criteria",
    "chain_break_method",
)  # fmt: skip
_STEEPEST = (
    "num_reads", "seed", "initial_states_generator", "large_sparse_opt", "chain_break_method"
)  # fmt: skip
_TABU = (
    "num_reads", "seed", "tenure", "read_timeout_ms", "num_restarts", "energy_threshold",
    "coefficient_z_first", "coefficient_z_restart", "lower_bound_z", "initial_states_generator",
    "chain_break_method",
)  # fmt: skip
_QAOA_SDK = ("layers", "shots", "seed", "gammas", "betas", "optimize", "restarts", "simulator")
_QAOA_FAST = (
    "layers", "shots", "seed", "gammas", "betas", "restarts", "max_qubits", "max_bytes",
    "max_seconds",
)  # fmt: skip


@dataclass(frozen=True)
class SolverInfo:
    """One solver name: its plugin, the options ``solve`` adds, what it is, what it accepts."""

    name: str
    plugin: str
    defaults: Mapping[str, Any]
    description: str
    options: tuple[str, ...]
    limits: str
    extra: str | None = None
    aliases: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "plugin": self.plugin,
            "description": self.description,
            "options": {k: OPTION_KINDS.get(k, "any") for k in self.options},
            "limits": self.limits,
            "extra": self.extra,
        }


def _fast_limit() -> str:
    from qevo_ir.qaoa.limits import DEFAULT_MAX_SECONDS, FAST_MAX_QUBITS

    return (
        f"at most {FAST_MAX_QUBITS} qubits (max_qubits); its peak memory, about 64 * 2^n "
        "bytes, must fit the available memory and max_bytes; refused when the estimated time "
        f"exceeds max_seconds (default {DEFAULT_MAX_SECONDS:g} s)"
    )


SOLVER_INFO: dict[str, SolverInfo] = {
    s.name: s
    for s in (
        SolverInfo(
            "exact", "exact", {}, "exact and certified: ground energy, ground states, "
            "degeneracy (enumeration: lowest levels too; tree decomposition: ground level)",
            ("num_levels", "max_states", "atol", "max_variables", "method", "memory_limit"),
            "enumeration up to 34 variables (max_variables); any size whose tree-decomposition "
            "tables fit memory_limit (method=auto|enumerate|tree)",
        ),
        SolverInfo(
            "sa", "dimod", {"sampler": "sa"}, "simulated annealing (dwave-samplers)", _SA,
            "no variable limit; num_reads <= 10,000,000", "dimod",
        ),
        SolverInfo(
            "steepest", "dimod", {"sampler": "steepest"},
            "steepest greedy descent from random states (dwave-samplers)", _STEEPEST,
            "no variable limit; num_reads <= 10,000,000", "dimod",
        ),
        SolverInfo(
            "tabu", "dimod", {"sampler": "tabu"}, "multistart tabu search (dwave-samplers)",
            _TABU, "no variable limit; each read runs up to `timeout` ms (default 100)", "dimod",
        ),
        SolverInfo(
            "qaoa", "qaoa", {}, "QAOA on the numpy fast path (no SDK): optimised angles, "
            "sampled exact state", _QAOA_FAST, "(computed)",
        ),
        SolverInfo(
            "qaoa-qiskit", "qiskit", {}, "QAOA circuit simulated with Qiskit (Aer if installed)",
            _QAOA_SDK, "at most 26 qubits (statevector simulation)", "qiskit",
        ),
        SolverInfo(
            "qaoa-cirq", "cirq", {}, "QAOA circuit simulated with Cirq",
            _QAOA_SDK, "at most 26 qubits (statevector simulation)", "cirq",
        ),
    )
}  # fmt: skip


def solver_info(name: str) -> SolverInfo:
    """The catalogue entry of a solver name (limits of ``qaoa`` computed from this machine)."""
    info = SOLVER_INFO[name]
    if name == "qaoa":
        return SolverInfo(**{**info.__dict__, "limits": _fast_limit()})
    return info


def solver_names(plugins: Iterable[str] = ()) -> list[str]:
    """Every solver name and every plugin name, sorted, without repeats."""
    return sorted(set(SOLVER_INFO) | set(plugins))


def resolve_solver(name: str, plugins: Iterable[str]) -> tuple[str, str, dict[str, Any]]:
    """``(canonical name, plugin, default options)`` for a solver or plugin name.

    Matching ignores case; an unknown name raises :class:`ValidationError` listing every solver
    and plugin name, with a "did you mean".
    """
    plugin_list = list(plugins)
    found = match_name(name, solver_names(plugin_list))
    if found is None:
        raise ValidationError(unknown_name("backend", name, solver_names(plugin_list)))
    if found in SOLVER_INFO:
        info = SOLVER_INFO[found]
        return found, info.plugin, dict(info.defaults)
    return found, found, {}


_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _parse_value(key: str, kind: str, text: str) -> Any:
    raw = text.strip()

    def bad(what: str) -> ValidationError:
        return ValidationError(f"option {key} takes {what}, got {text!r}")

    if kind == "int":
        if not _INT.fullmatch(raw):
            raise bad("an integer")
        return int(raw)
    if kind == "float":
        if not _FLOAT.fullmatch(raw) or not math.isfinite(float(raw)):
            raise bad("a finite number")
        return float(raw)
    if kind == "bool":
        low = raw.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise bad("true or false")
    if kind in ("floats", "pair"):
        parts = [p.strip() for p in raw.strip("()[]").split(",") if p.strip()]
        if not parts or not all(_FLOAT.fullmatch(p) for p in parts):
            raise bad("comma-separated numbers")
        values = [float(p) for p in parts]
        if not all(math.isfinite(v) for v in values):
            raise bad("finite numbers")
        if kind == "pair" and len(values) != 2:
            raise bad("two comma-separated numbers (low,high)")
        return tuple(values) if kind == "pair" else values
    if kind == "auto":  # an option this catalogue does not type: the literal's own type
        if _INT.fullmatch(raw):
            return int(raw)
        if _FLOAT.fullmatch(raw):
            return float(raw)
        if raw.lower() in ("true", "false"):
            return raw.lower() == "true"
    return raw


def parse_option_values(solver: str, pairs: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings for ``solver`` as typed keyword options.

    Keys are checked against the solver's accepted options (case-insensitive, "did you mean");
    values against the option's kind. A key given twice is refused.
    """
    info = SOLVER_INFO.get(solver)
    accepted = info.options if info is not None else None
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not key:
            raise ValidationError(f"--option takes KEY=VALUE, got {pair!r}")
        if accepted is not None:
            found = match_name(key, accepted)
            if found is None:
                listing = ", ".join(f"{k} ({OPTION_KINDS.get(k, 'any')})" for k in accepted)
                raise ValidationError(
                    f"solver {solver!r} has no option {key!r}{did_you_mean(key, accepted)}; "
                    f"its options: {listing}"
                )
            key = found
        if key in out:
            raise ValidationError(f"option {key} is given twice")
        out[key] = _parse_value(key, OPTION_KINDS.get(key, "auto"), value)
    return out
