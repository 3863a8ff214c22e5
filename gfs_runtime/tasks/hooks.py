"""Hooks through which the server carries tracing spans and log fields into the tasks a call submits."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol, TypeAlias

from gfs_runtime.tasks.task import Task


class FailableSpan(Protocol):
    """The span a task runs in, as the executor sees it."""

    def fail(self, reason: str) -> None:
        """Mark the span failed: the task ended with an error."""


TaskSpanFactory: TypeAlias = Callable[[str], AbstractContextManager[FailableSpan]]
"""Opens the span a task runs in, given its id; entered on the worker thread, in the task's context."""

SubmitHook: TypeAlias = Callable[[Task], None]
"""Runs at submit, on the submitting thread, inside the task's copy of the submitter's context."""
