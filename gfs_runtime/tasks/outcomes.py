"""Turning what a task's run returned or raised into its TaskExecutionResult."""

from __future__ import annotations

from concurrent.futures import CancelledError
from dataclasses import dataclass
from typing import Any, cast

import pyarrow.flight

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo, FlightErrorFactory
from gfs_runtime.errors.translate import flight_error_for
from gfs_runtime.tasks.executor import TaskOutcome
from gfs_runtime.tasks.results import FlightDataTaskResult, ListFlightsTaskResult, TaskExecutionResult
from gfs_runtime.tasks.task import Task
from gfs_runtime.tasks.task_error import TaskError, TaskWaitTimeoutError

_SERVER_ERROR = cast(FlightErrorFactory, pyarrow.flight.FlightServerError)


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """A finished run: its execution result, its metrics label, and data that must be closed unread."""

    result: TaskExecutionResult
    outcome: TaskOutcome
    discarded: FlightDataTaskResult | None = None


def task_error_for(exc: BaseException, *, include_traceback: bool = False) -> TaskError:
    """TaskError for an exception raised by a task's run; no traceback unless `include_traceback`."""
    if isinstance(exc, pyarrow.flight.FlightError | NotImplementedError | TaskWaitTimeoutError) or not isinstance(
        exc, Exception
    ):
        flight_error = flight_error_for(exc, include_traceback=include_traceback)
        factory = cast(FlightErrorFactory, type(flight_error))
        return TaskError(ErrorInfo.from_pyarrow_error(flight_error), factory)
    # A plain ValueError is not taken as the client's fault (the reference did, echoing its text):
    # tasks that reject input raise ErrorInfo.bad_argument(...) with a message written for clients.
    if include_traceback:
        info = ErrorInfo.for_exc(ErrorCode.COMMAND_FAILED, exc, extra_msg="Task failed", include_traceback=True)
    else:
        info = ErrorInfo.for_reason(
            ErrorCode.COMMAND_FAILED, f"Task failed ({type(exc).__name__}); the server log has the details."
        )
    return TaskError(info, _SERVER_ERROR)


def _cancelled(task: Task, discarded: object = None) -> RunOutcome:
    data = discarded if isinstance(discarded, FlightDataTaskResult) else None
    return RunOutcome(TaskExecutionResult(task.task_id, task.cmd, None, True, None), "cancelled", data)


def _failed(task: Task, error: TaskError, logger: Any, exc: BaseException | None) -> RunOutcome:
    try:
        error = task.on_task_error(error) or error
    except Exception:
        logger.warning("task_error_hook_failed", task_id=task.task_id, exc_info=True)
    log = logger.info if error.client_error else logger.error
    details: dict[str, Any] = {"code": ErrorCode.name(error.error_info.code), "error_msg": error.error_info.msg}
    if exc is not None:
        details["exc_info"] = exc
    log("task_failed", task_id=task.task_id, **details)
    return RunOutcome(TaskExecutionResult(task.task_id, task.cmd, None, False, error), "failed")


def outcome_of_return(task: Task, returned: object, logger: Any) -> RunOutcome:
    """Outcome of a run that returned; a task cancelled meanwhile ends cancelled and its data is discarded."""
    if task.cancelled:
        return _cancelled(task, returned)
    if isinstance(returned, FlightDataTaskResult | ListFlightsTaskResult):
        return RunOutcome(TaskExecutionResult(task.task_id, task.cmd, returned, False, None), "ok")
    if isinstance(returned, TaskError):
        return _failed(task, returned, logger, None)
    info = ErrorInfo.for_reason(
        ErrorCode.INTERNAL_ERROR, f"The task returned {type(returned).__name__} instead of a result."
    )
    return _failed(task, TaskError(info, cast(FlightErrorFactory, pyarrow.flight.FlightInternalError)), logger, None)


def outcome_of_exception(task: Task, exc: BaseException, logger: Any, *, include_traceback: bool) -> RunOutcome:
    """Outcome of a run that raised: cancelled for CancelledError or a cancelled task, else failed."""
    if task.cancelled or isinstance(exc, CancelledError):
        return _cancelled(task)
    return _failed(task, task_error_for(exc, include_traceback=include_traceback), logger, exc)
