"""The exception hierarchy: every error qevo_ir raises on purpose derives from :class:`QevoError`.

Each class also subclasses the built-in it resembles, so ``except ValueError`` keeps working for
callers that do not know this package.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "BackendUnavailable",
    "CapabilityError",
    "DeadlineExceeded",
    "FormatError",
    "LabelError",
    "LimitExceeded",
    "PipelineError",
    "QevoError",
    "TaskError",
    "ValidationError",
    "VerificationError",
]


class QevoError(Exception):
    """Root of every error raised on purpose by qevo_ir and its backends."""


class ValidationError(QevoError, ValueError):
    """An argument or an array is malformed: wrong shape, non-finite value, index out of range."""


class LabelError(ValidationError, KeyError):
    """A variable label is unknown, duplicated, or of a type that could collide with another."""

    def __str__(self) -> str:  # KeyError would print repr(message) otherwise
        return str(self.args[0]) if self.args else ""


class FormatError(QevoError, ValueError):
    """A file cannot be read: unknown format, wrong version, or content that does not parse.

    The message names the file (when there is one), the field or line, and what was expected.
    """


class LimitExceeded(QevoError, ValueError):
    """A problem is larger than a stated limit (variables, qubits, memory); the message names it."""


class CapabilityError(QevoError, ValueError):
    """A backend cannot take this input (wrong vartype, too many variables, needs an embedding)."""


class PipelineError(QevoError, ValueError):
    """A pipeline string does not parse, names an unknown pass or option, or chains wrong types."""


class BackendError(QevoError, RuntimeError):
    """A backend failed while lowering, writing or solving."""


class BackendUnavailable(QevoError, ImportError):
    """A backend's SDK is not installed; the message carries the install command."""


class VerificationError(QevoError, AssertionError):
    """An artifact or a lowering is not equivalent to its source IR."""


class TaskError(QevoError, RuntimeError):
    """One task of a batch failed (it raised, or the worker running it kept dying).

    ``index`` and ``label`` name the task (``None`` when several tasks were lost with a
    worker); ``error`` is the exception the task raised, when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        index: int | None = None,
        label: str | None = None,
        error: BaseException | None = None,
    ) -> None:
        super().__init__(message)
        self.index = index
        self.label = label
        self.error = error

    def __reduce__(self) -> tuple[object, ...]:  # keep the fields across processes
        return (_rebuild_task_error, (str(self), self.index, self.label, self.error))


def _rebuild_task_error(
    message: str, index: int | None, label: str | None, error: BaseException | None
) -> TaskError:
    return TaskError(message, index=index, label=label, error=error)


class DeadlineExceeded(QevoError, TimeoutError):
    """Work ran past its ``timeout`` and was stopped before anything usable finished.

    ``completed`` maps the index of each task that did finish to its result (a batch keeps
    what it got; a single solve raises this only when nothing finished).
    """

    def __init__(self, message: str, *, completed: dict[int, object] | None = None) -> None:
        super().__init__(message)
        self.completed: dict[int, object] = dict(completed or {})
