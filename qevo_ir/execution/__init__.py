"""The execution layer: many independent tasks (channels, blocks, layers, files, read chunks)
through one function, :func:`map_tasks`, on the engine the caller chooses.

In-process is the default; ``workers=N`` is a local process pool; any
``concurrent.futures.Executor`` works, and a ``dask.distributed.Client`` is taken as is. Seeds
derive from the user's seed and the task's index, so results do not depend on the engine.
Contract: ``specs/execution.md``.
"""

from qevo_ir.execution.engine import DEFAULT_RETRIES, TaskContext, is_dask_client, map_tasks
from qevo_ir.execution.progress import progress_enabled, progress_reporter, quiet
from qevo_ir.execution.reads import merge_results, plan_reads
from qevo_ir.execution.seeds import derive_seed, fresh_seed
from qevo_ir.execution.solving import run_backend, solve_channels, solve_many

__all__ = [
    "DEFAULT_RETRIES",
    "TaskContext",
    "derive_seed",
    "fresh_seed",
    "is_dask_client",
    "map_tasks",
    "merge_results",
    "plan_reads",
    "progress_enabled",
    "progress_reporter",
    "quiet",
    "run_backend",
    "solve_channels",
    "solve_many",
]
