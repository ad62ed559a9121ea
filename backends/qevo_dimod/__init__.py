"""qevo_dimod: the dimod backend plugin — BQMs, their files, local samplers and the QPU job path.

Importing this package needs no vendor SDK; dimod and dwave-samplers are imported when used
(``pip install 'qevo-ir[dimod]'``). See ``specs/backend_dimod.md``.
"""

from qevo_dimod.artifacts import ARTIFACTS, FORMATS, read_artifact, write
from qevo_dimod.backend import DimodBackend
from qevo_dimod.bqm import from_bqm, native_energies, to_bqm
from qevo_dimod.bqm_json import dumps_bqm_json, loads_bqm_json, validate_bqm_json
from qevo_dimod.coo import dumps_coo, loads_coo, read_coo
from qevo_dimod.qpu import (
    QPUJob,
    lower_for_qpu,
    read_qpu_job,
    solve_qpu,
    validate_anneal_schedule,
    write_qpu_job,
)
from qevo_dimod.samplers import SAMPLERS, SOLVERS, SamplerSpec, accepted_options, solve

#: ``lower(ham)``: the BQM of a Hamiltonian (or an embedded problem's target).
lower = to_bqm

__all__ = [
    "ARTIFACTS",
    "FORMATS",
    "SAMPLERS",
    "SOLVERS",
    "DimodBackend",
    "QPUJob",
    "SamplerSpec",
    "accepted_options",
    "dumps_bqm_json",
    "dumps_coo",
    "from_bqm",
    "loads_bqm_json",
    "loads_coo",
    "lower",
    "lower_for_qpu",
    "native_energies",
    "read_artifact",
    "read_coo",
    "read_qpu_job",
    "solve",
    "solve_qpu",
    "to_bqm",
    "validate_anneal_schedule",
    "validate_bqm_json",
    "write",
    "write_qpu_job",
]
