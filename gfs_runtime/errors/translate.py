"""The one table that turns any exception raised while serving a call into a typed FlightError."""

from __future__ import annotations

import pyarrow.flight

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo, FlightErrorFactory

# Codes for FlightErrors that user code raised without ErrorInfo: keep their class and message.
_CODE_BY_FLIGHT_ERROR: tuple[tuple[type[pyarrow.flight.FlightError], int], ...] = (
    (pyarrow.flight.FlightCancelledError, ErrorCode.COMMAND_CANCELLED),
    (pyarrow.flight.FlightTimedOutError, ErrorCode.TIMEOUT),
    (pyarrow.flight.FlightInternalError, ErrorCode.INTERNAL_ERROR),
    (pyarrow.flight.FlightServerError, ErrorCode.COMMAND_FAILED),
)


def _flight_error_code(error: pyarrow.flight.FlightError) -> int:
    for error_type, code in _CODE_BY_FLIGHT_ERROR:
        if isinstance(error, error_type):
            return code
    return ErrorCode.UNKNOWN


def _with_error_info(error: pyarrow.flight.FlightError) -> pyarrow.flight.FlightError:
    if ErrorInfo.maybe_from_pyarrow_error(error) is not None:
        return error
    factory: FlightErrorFactory = type(error)
    return ErrorInfo(msg=str(error), code=_flight_error_code(error)).to_flight_error(factory)


def _is_task_wait_timeout(exc: BaseException) -> bool:
    # tasks depend on errors, not the other way round: recognise the type by name and base
    return isinstance(exc, TimeoutError) and type(exc).__name__ == "TaskWaitTimeoutError"


def flight_error_for(exc: BaseException, *, include_traceback: bool = False) -> pyarrow.flight.FlightError:
    """Typed FlightError with ErrorInfo for ``exc``; plain exceptions never leak their text or traceback."""
    if isinstance(exc, pyarrow.flight.FlightError):
        return _with_error_info(exc)
    if _is_task_wait_timeout(exc):
        return ErrorInfo.for_reason(ErrorCode.TIMEOUT, "Timed out waiting for the task's result.").to_timeout_error()
    if isinstance(exc, NotImplementedError):
        return ErrorInfo.for_reason(ErrorCode.NOT_IMPLEMENTED, "This operation is not implemented.").to_server_error()
    kind = type(exc).__name__
    if include_traceback:
        info = ErrorInfo.for_exc(
            ErrorCode.INTERNAL_ERROR, exc, extra_msg=f"Internal error ({kind})", include_traceback=True
        )
    else:
        info = ErrorInfo.for_reason(
            ErrorCode.INTERNAL_ERROR, f"Internal error ({kind}); the server log has the details."
        )
    return info.to_internal_error()
