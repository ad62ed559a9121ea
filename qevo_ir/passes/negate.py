"""The ``negate`` pass: maximising ``E`` compiled exactly to minimising ``−E``.

``E_out(y) = −E_in(y)`` for every ``y`` (reported as ``energy_scale = −1``, bound 0), so the
minimisers of the output are the maximisers of the input. A constrained model carries its sense
itself (``ConstrainedModel.sense``); ``penalize`` negates a maximised objective the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.passes.base import CompilerPass, PassOutput, register_pass

__all__ = ["Negate"]


@register_pass
@dataclass(frozen=True)
class Negate(CompilerPass):
    """Multiply every coefficient and the offset by -1 (maximisation to minimisation, exact).

    No options. Energies of the output are the input's negated: ``energy_scale = -1``.
    """

    name = "negate"
    exact = True

    def apply(self, ir: Any) -> PassOutput:
        if not isinstance(ir, Hamiltonian):
            raise ValidationError(f"negate takes a Hamiltonian, got {type(ir).__name__}")
        return PassOutput(ir=ir.scaled(-1.0), energy_scale=-1.0, details={"factor": -1.0})
