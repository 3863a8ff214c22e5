"""ErrorInfo and RetryInfo: wire format, limits, and a real round trip through a Flight call."""

from collections.abc import Iterator

import orjson
import pyarrow as pa
import pyarrow.flight
import pytest

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import MAX_BODY_BYTES, ErrorInfo, RetryInfo


class _RaisingServer(pyarrow.flight.FlightServerBase):
    """Bare server whose DoAction raises whatever error the test gave it."""

    def __init__(self, error: Exception) -> None:
        super().__init__("grpc://127.0.0.1:0")
        self.error = error

    def do_action(self, context: pyarrow.flight.ServerCallContext, action: pyarrow.flight.Action) -> list[bytes]:
        raise self.error


@pytest.fixture
def raising_server() -> Iterator[type[_RaisingServer]]:
    started: list[_RaisingServer] = []

    class _Tracked(_RaisingServer):
        def __init__(self, error: Exception) -> None:
            super().__init__(error)
            started.append(self)

    yield _Tracked
    for server in started:
        server.shutdown()


def _call(server: _RaisingServer) -> pyarrow.flight.FlightError:
    with (
        pyarrow.flight.connect(f"grpc://127.0.0.1:{server.port}") as client,
        pytest.raises(pyarrow.flight.FlightError) as caught,
    ):
        list(client.do_action(pyarrow.flight.Action("x", b"")))
    return caught.value


def test_to_bytes_writes_the_reference_json_shape() -> None:
    doc = orjson.loads(ErrorInfo("boom", detail="d", body=b"\x00\x01", code=ErrorCode.COMMAND_FAILED).to_bytes())
    assert doc == {"msg": "boom", "detail": "d", "code": 5, "body": "AAE="}


def test_from_bytes_reads_what_a_reference_server_sends() -> None:
    sent = b'{"msg":"no such flight","detail":null,"code":4,"body":null}'
    info = ErrorInfo.from_bytes(sent)
    assert (info.msg, info.detail, info.code, info.body) == (
        "no such flight",
        None,
        ErrorCode.INVALID_TICKET,
        None,
    )


def test_from_bytes_rejects_garbage_with_value_error() -> None:
    with pytest.raises(ValueError, match="ErrorInfo"):
        ErrorInfo.from_bytes(b"not json")


def test_long_msg_and_detail_are_truncated() -> None:
    info = ErrorInfo("m" * 1000, detail="d" * 5000)
    assert info.msg.startswith("m" * 256)
    assert info.msg.endswith("[truncated]")
    assert info.detail is not None
    assert len(info.detail) < 600


def test_body_over_the_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="cap"):
        ErrorInfo("x", body=b"0" * (MAX_BODY_BYTES + 1))
    with pytest.raises(ValueError, match="cap"):
        ErrorInfo("x").with_body("0" * (MAX_BODY_BYTES + 1))


def test_for_exc_leaves_out_the_traceback_unless_asked() -> None:
    try:
        raise KeyError("k")
    except KeyError as e:
        plain = ErrorInfo.for_exc(ErrorCode.COMMAND_FAILED, e, extra_msg="lookup failed")
        traced = ErrorInfo.for_exc(ErrorCode.COMMAND_FAILED, e, include_traceback=True)
    assert plain.msg == "lookup failed: 'k'"
    assert plain.detail is None
    assert traced.detail is not None
    assert "Traceback" in traced.detail


@pytest.mark.parametrize(
    ("build", "error_type"),
    [
        (ErrorInfo.to_user_error, pyarrow.flight.FlightServerError),
        (ErrorInfo.to_internal_error, pyarrow.flight.FlightInternalError),
        (ErrorInfo.to_timeout_error, pyarrow.flight.FlightTimedOutError),
        (ErrorInfo.to_cancelled_error, pyarrow.flight.FlightCancelledError),
        (ErrorInfo.to_unavailable_error, pyarrow.flight.FlightUnavailableError),
        (ErrorInfo.to_unauthenticated_error, pyarrow.flight.FlightUnauthenticatedError),
        (ErrorInfo.to_unauthorized_error, pyarrow.flight.FlightUnauthorizedError),
    ],
)
def test_error_info_survives_a_real_flight_call(
    raising_server: type[_RaisingServer], build: object, error_type: type[Exception]
) -> None:
    sent = ErrorInfo("bad thing", detail="why", body=b"payload", code=1234)
    received = _call(raising_server(build(sent)))  # type: ignore[operator]
    assert isinstance(received, error_type)
    info = ErrorInfo.from_pyarrow_error(received)
    assert (info.msg, info.detail, info.body, info.code) == ("bad thing", "why", b"payload", 1234)


def test_plain_flight_error_decodes_to_a_placeholder(raising_server: type[_RaisingServer]) -> None:
    received = _call(raising_server(pyarrow.flight.FlightServerError("plain")))
    assert ErrorInfo.maybe_from_pyarrow_error(received) is None
    assert "plain" in ErrorInfo.from_pyarrow_error(received).msg


def test_poll_error_carries_retry_info_through_a_real_call(raising_server: type[_RaisingServer]) -> None:
    descriptor = pyarrow.flight.FlightDescriptor.for_command(b"retry-me")
    cancel = pyarrow.flight.FlightDescriptor.for_command(b"cancel-me")
    schema = pa.schema([("a", pa.int64())])
    flight_info = pyarrow.flight.FlightInfo(schema, descriptor, [], 10, 80)
    received = _call(raising_server(ErrorInfo.poll(flight_info, descriptor, cancel)))
    assert isinstance(received, pyarrow.flight.FlightTimedOutError)
    info = ErrorInfo.from_pyarrow_error(received)
    assert info.code == ErrorCode.POLL
    assert info.body is not None
    retry = RetryInfo.from_bytes(info.body)
    assert retry.retry_descriptor is not None
    assert retry.retry_descriptor.command == b"retry-me"
    assert retry.cancel_descriptor is not None
    assert retry.cancel_descriptor.command == b"cancel-me"
    assert retry.flight_info is not None
    assert retry.flight_info.schema == schema
    assert retry.flight_info.total_records == 10


def test_retry_info_without_parts_round_trips_to_nones() -> None:
    retry = RetryInfo.from_bytes(RetryInfo().to_bytes())
    assert (retry.flight_info, retry.retry_descriptor, retry.cancel_descriptor) == (None, None, None)


def test_bad_argument_is_a_user_error_with_its_code() -> None:
    error = ErrorInfo.bad_argument("column 'x' does not exist")
    assert isinstance(error, pyarrow.flight.FlightServerError)
    assert ErrorInfo.from_pyarrow_error(error).code == ErrorCode.BAD_ARGUMENT
