"""flight_error_for: every exception becomes a typed FlightError without leaking text or tracebacks."""

import pyarrow.flight
import pytest

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.exceptions import ConfigError
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.errors.translate import flight_error_for


class TaskWaitTimeoutError(TimeoutError):
    """Stand-in with the tasks package's name: the table recognises the type by name."""


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as e:
        return e


def test_plain_exception_becomes_internal_error_without_its_text() -> None:
    error = flight_error_for(_raised(ValueError("secret-token-123 from the client")))
    assert isinstance(error, pyarrow.flight.FlightInternalError)
    info = ErrorInfo.from_pyarrow_error(error)
    assert info.code == ErrorCode.INTERNAL_ERROR
    assert "secret-token-123" not in info.msg
    assert info.detail is None
    assert "ValueError" in info.msg


def test_tracebacks_are_included_only_when_enabled() -> None:
    info = ErrorInfo.from_pyarrow_error(flight_error_for(_raised(ValueError("v")), include_traceback=True))
    assert info.detail is not None
    assert "Traceback" in info.detail


def test_base_exceptions_are_translated_too() -> None:
    info = ErrorInfo.from_pyarrow_error(flight_error_for(_raised(KeyboardInterrupt())))
    assert info.code == ErrorCode.INTERNAL_ERROR


def test_flight_error_with_error_info_passes_through_unchanged() -> None:
    original = ErrorInfo.for_reason(ErrorCode.INVALID_TICKET, "gone").to_user_error()
    assert flight_error_for(original) is original


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (pyarrow.flight.FlightServerError("s"), ErrorCode.COMMAND_FAILED),
        (pyarrow.flight.FlightCancelledError("c"), ErrorCode.COMMAND_CANCELLED),
        (pyarrow.flight.FlightTimedOutError("t"), ErrorCode.TIMEOUT),
        (pyarrow.flight.FlightInternalError("i"), ErrorCode.INTERNAL_ERROR),
        (pyarrow.flight.FlightUnauthenticatedError("u"), ErrorCode.UNKNOWN),
    ],
)
def test_flight_error_without_error_info_keeps_its_type_and_message(
    error: pyarrow.flight.FlightError, code: int
) -> None:
    translated = flight_error_for(error)
    assert type(translated) is type(error)
    info = ErrorInfo.from_pyarrow_error(translated)
    assert (info.code, info.msg) == (code, str(error))


def test_not_implemented_gets_its_code() -> None:
    info = ErrorInfo.from_pyarrow_error(flight_error_for(NotImplementedError()))
    assert info.code == ErrorCode.NOT_IMPLEMENTED


def test_task_wait_timeout_becomes_a_timeout_error() -> None:
    error = flight_error_for(TaskWaitTimeoutError("t"))
    assert isinstance(error, pyarrow.flight.FlightTimedOutError)
    assert ErrorInfo.from_pyarrow_error(error).code == ErrorCode.TIMEOUT


def test_config_error_names_file_key_value_and_expectation() -> None:
    error = ConfigError("must be a port", file="a.toml", key="server.listen_port", value=70000, expected="1..65535")
    assert str(error) == "a.toml: [server.listen_port] must be a port (got 70000); expected 1..65535"
    assert str(ConfigError("no such file", file="x.toml")) == "x.toml: no such file"
