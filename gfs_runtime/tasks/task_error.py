"""How a failed task is described: a TaskError value, and the error raised when a wait times out."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pyarrow.flight

from gfs_runtime.errors.info import ErrorInfo, FlightErrorFactory


@dataclass(frozen=True)
class TaskError:
    """A task's failure as ErrorInfo plus the FlightError type to raise; holds no exception or frames."""

    error_info: ErrorInfo
    error_factory: FlightErrorFactory
    client_error: bool = False

    def as_flight_error(self) -> pyarrow.flight.FlightError:
        """A fresh FlightError carrying this error's ErrorInfo, ready to raise to the client."""
        return self.error_info.to_flight_error(self.error_factory)

    def to_client_error(self) -> TaskError:
        """A copy marked as caused by client input (logged at INFO rather than ERROR)."""
        return dataclasses.replace(self, client_error=True)


class TaskWaitTimeoutError(TimeoutError):
    """Waiting for a task's result ended before the task finished."""

    def __init__(self, task_id: str, cmd: bytes) -> None:
        super().__init__(f"timed out waiting for task {task_id}")
        self.task_id = task_id
        self.cmd = cmd
