"""What clients see when a call fails: typed FlightErrors with ErrorInfo, never a leak, and the server lives on."""

from __future__ import annotations

from collections.abc import Generator

import pyarrow
import pyarrow.flight
import pytest

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo, RetryInfo
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.telemetry.log_capture import capture_log_events
from gfs_runtime.testing import error_info_of
from tests.server.support import ClientFor, StartServer

SECRET_INPUT = b"client-secret-4711"


class CustomBaseError(BaseException):
    """A BaseException that is neither Exception nor a system exit."""


class FailingMethods(FlightServerMethods):
    """Fails in the way the action type names; counts calls that got through to it."""

    def __init__(self) -> None:
        self.calls = 0

    def do_action(
        self, context: pyarrow.flight.ServerCallContext, action: pyarrow.flight.Action
    ) -> Generator[pyarrow.flight.Result, None, None]:
        self.calls += 1
        body = action.body.to_pybytes()
        failures: dict[str, BaseException] = {
            "value_error": ValueError(f"cannot parse {body!r}"),
            "custom_info": ErrorInfo.for_reason(1001, "a custom failure").to_user_error(),
            "keyboard_interrupt": KeyboardInterrupt(),
            "system_exit": SystemExit(3),
            "custom_base": CustomBaseError(),
        }
        if action.type in failures:
            raise failures[action.type]
        return self._lazy(body)

    def _lazy(self, body: bytes) -> Generator[pyarrow.flight.Result, None, None]:
        yield pyarrow.flight.Result(b"first")
        raise RuntimeError(f"failed late on {body!r}")

    def list_flights(
        self, context: pyarrow.flight.ServerCallContext, criteria: bytes
    ) -> Generator[pyarrow.flight.FlightInfo, None, None]:
        raise LookupError(f"no flights for {criteria!r}")
        yield  # a generator that fails on its first step

    def get_flight_info(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.FlightInfo:
        self.calls += 1
        raise ErrorInfo.poll(retry_descriptor=pyarrow.flight.FlightDescriptor.for_command(b"again"))

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        self.calls += 1
        return pyarrow.flight.RecordBatchStream(pyarrow.table({"ok": [True]}))

    def do_put(
        self,
        context: pyarrow.flight.ServerCallContext,
        descriptor: pyarrow.flight.FlightDescriptor,
        reader: pyarrow.flight.MetadataRecordBatchReader,
        writer: pyarrow.flight.FlightMetadataWriter,
    ) -> None:
        self.calls += 1
        reader.read_all()


def _action(client: pyarrow.flight.FlightClient, kind: str, body: bytes = SECRET_INPUT) -> list[bytes]:
    return [r.body.to_pybytes() for r in client.do_action(pyarrow.flight.Action(kind, body))]


@pytest.fixture
def methods() -> FailingMethods:
    return FailingMethods()


@pytest.fixture
def client(methods: FailingMethods, start_server: StartServer, client_for: ClientFor) -> pyarrow.flight.FlightClient:
    return client_for(start_server(methods, max_command_bytes=64))


def test_plain_exception_is_internal_error_without_its_text_or_traceback(client: pyarrow.flight.FlightClient) -> None:
    with pytest.raises(pyarrow.flight.FlightInternalError) as caught:
        _action(client, "value_error")
    info = error_info_of(caught.value)
    assert info.code == ErrorCode.INTERNAL_ERROR
    assert SECRET_INPUT.decode() not in str(caught.value)
    assert info.detail is None
    assert "Traceback" not in str(caught.value)


def test_error_tracebacks_setting_sends_the_traceback_in_the_detail(
    methods: FailingMethods, start_server: StartServer, client_for: ClientFor
) -> None:
    client = client_for(start_server(methods, error_tracebacks=True))
    with pytest.raises(pyarrow.flight.FlightInternalError) as caught:
        _action(client, "value_error")
    detail = error_info_of(caught.value).detail
    assert detail is not None
    assert "Traceback" in detail
    assert "do_action" in detail


def test_unexpected_error_is_logged_with_its_traceback(client: pyarrow.flight.FlightClient) -> None:
    with capture_log_events() as logs, pytest.raises(pyarrow.flight.FlightInternalError):
        _action(client, "value_error")
    failures = [entry for entry in logs if entry["event"] == "call_failed"]
    assert len(failures) == 1
    assert failures[0]["level"] == "error"
    assert failures[0]["rpc"] == "DoAction"
    assert "ValueError" in failures[0]["exception"]


def test_flight_error_with_error_info_passes_through(client: pyarrow.flight.FlightClient) -> None:
    with pytest.raises(pyarrow.flight.FlightServerError) as caught:
        _action(client, "custom_info")
    info = error_info_of(caught.value)
    assert (info.code, info.msg) == (1001, "a custom failure")


def test_poll_error_round_trips_its_retry_info(client: pyarrow.flight.FlightClient) -> None:
    with pytest.raises(pyarrow.flight.FlightTimedOutError) as caught:
        client.get_flight_info(pyarrow.flight.FlightDescriptor.for_command(b"slow"))
    info = error_info_of(caught.value)
    assert info.code == ErrorCode.POLL
    assert info.body is not None
    retry = RetryInfo.from_bytes(info.body)
    assert retry.retry_descriptor is not None
    assert retry.retry_descriptor.command == b"again"


def test_error_raised_while_results_stream_is_typed(client: pyarrow.flight.FlightClient) -> None:
    with pytest.raises(pyarrow.flight.FlightInternalError) as caught:
        _action(client, "lazy")
    assert error_info_of(caught.value).code == ErrorCode.INTERNAL_ERROR
    assert SECRET_INPUT.decode() not in str(caught.value)


def test_error_raised_while_listing_flights_is_typed(client: pyarrow.flight.FlightClient) -> None:
    with pytest.raises(pyarrow.flight.FlightInternalError) as caught:
        list(client.list_flights(b"crit-abc"))
    assert error_info_of(caught.value).code == ErrorCode.INTERNAL_ERROR
    assert "crit-abc" not in str(caught.value)


@pytest.mark.parametrize("kind", ["keyboard_interrupt", "system_exit", "custom_base"])
def test_server_survives_base_exceptions_raised_by_handlers(kind: str, client: pyarrow.flight.FlightClient) -> None:
    with pytest.raises(pyarrow.flight.FlightInternalError) as caught:
        _action(client, kind)
    assert error_info_of(caught.value).code == ErrorCode.INTERNAL_ERROR
    assert client.do_get(pyarrow.flight.Ticket(b"t")).read_all().num_rows == 1


def _upload(client: pyarrow.flight.FlightClient, command: bytes) -> None:
    table = pyarrow.table({"n": [1]})
    writer, _ = client.do_put(pyarrow.flight.FlightDescriptor.for_command(command), table.schema)
    writer.write_table(table)
    writer.close()


def _assert_bad_argument(error: pyarrow.flight.FlightError, oversized: bytes) -> None:
    info = error_info_of(error)
    assert info.code == ErrorCode.BAD_ARGUMENT
    assert "64 bytes" in info.msg
    assert oversized[:16].decode() not in str(error)


def test_oversize_ticket_is_bad_argument_before_the_method_runs(
    methods: FailingMethods, client: pyarrow.flight.FlightClient
) -> None:
    oversized = b"T" * 65
    with pytest.raises(pyarrow.flight.FlightServerError) as caught:
        client.do_get(pyarrow.flight.Ticket(oversized)).read_all()
    _assert_bad_argument(caught.value, oversized)
    assert methods.calls == 0


def test_ticket_at_the_limit_is_accepted(client: pyarrow.flight.FlightClient) -> None:
    assert client.do_get(pyarrow.flight.Ticket(b"T" * 64)).read_all().num_rows == 1


def test_oversize_descriptor_command_is_bad_argument_before_the_method_runs(
    methods: FailingMethods, client: pyarrow.flight.FlightClient
) -> None:
    oversized = b"C" * 65
    with pytest.raises(pyarrow.flight.FlightServerError) as caught:
        client.get_flight_info(pyarrow.flight.FlightDescriptor.for_command(oversized))
    _assert_bad_argument(caught.value, oversized)
    assert methods.calls == 0


def test_oversize_descriptor_path_is_bad_argument(client: pyarrow.flight.FlightClient) -> None:
    oversized = b"P" * 40
    with pytest.raises(pyarrow.flight.FlightServerError) as caught:
        client.get_flight_info(pyarrow.flight.FlightDescriptor.for_path(oversized, oversized))
    _assert_bad_argument(caught.value, oversized)


def test_oversize_action_body_is_bad_argument_before_the_method_runs(
    methods: FailingMethods, client: pyarrow.flight.FlightClient
) -> None:
    oversized = b"A" * 65
    with pytest.raises(pyarrow.flight.FlightServerError) as caught:
        _action(client, "value_error", oversized)
    _assert_bad_argument(caught.value, oversized)
    assert methods.calls == 0


def test_oversize_do_put_command_is_bad_argument_before_the_method_runs(
    methods: FailingMethods, client: pyarrow.flight.FlightClient
) -> None:
    oversized = b"U" * 65
    with pytest.raises(pyarrow.flight.FlightServerError) as caught:
        _upload(client, oversized)
    _assert_bad_argument(caught.value, oversized)
    assert methods.calls == 0
