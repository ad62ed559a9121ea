"""Per-task seeds: derived from the user's seed and the task's index, never from who runs it."""

from __future__ import annotations

import numpy as np

from qevo_ir.errors import ValidationError

__all__ = ["SEED_LIMIT", "check_seed", "derive_seed", "fresh_seed"]

#: Derived seeds lie in ``[0, 2**31)``: every sampler we drive accepts that range
#: (dwave-samplers' SA refuses seeds from ``2**31`` on).
SEED_LIMIT = 1 << 31


def check_seed(seed: object) -> int:
    """``seed`` as a non-negative int, or :class:`ValidationError` naming what was given."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or int(seed) < 0:
        raise ValidationError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def derive_seed(seed: int, index: int) -> int:
    """The seed of task ``index`` in a batch seeded with ``seed``.

    ``SeedSequence([seed, index])`` mixes both into a well-spread state, so neighbouring tasks
    get unrelated streams and the value depends on nothing else (not the worker count, not the
    order tasks finish in).
    """
    state = np.random.SeedSequence([check_seed(seed), int(index)]).generate_state(1, np.uint32)
    return int(state[0]) >> 1


def fresh_seed() -> int:
    """A new random seed in ``[0, 2**31)`` (recorded by callers so a run can be repeated)."""
    return int(np.random.SeedSequence().generate_state(1, np.uint32)[0]) >> 1
