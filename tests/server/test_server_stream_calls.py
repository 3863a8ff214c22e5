"""Calls that outlive their handler: a DoGet counts as in flight until pyarrow releases its stream."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pyarrow
import pyarrow.flight
import pytest

from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.server.server import FlightServer
from gfs_runtime.telemetry.log_capture import capture_log_events
from gfs_runtime.testing import connect, serve
from tests.server.support import EndRecorder, gated_stream

WAIT_SEC = 10.0
SCHEMA = pyarrow.schema([("n", pyarrow.int64())])
# far more than gRPC's flow-control window, so the server is still sending while the client pauses
BIG_TABLE = pyarrow.table({"n": pyarrow.array(range(4_000_000), pyarrow.int64())})
KEPT_TABLE = pyarrow.table({"n": pyarrow.array(range(1_000), pyarrow.int64())})


class StreamingMethods(FlightServerMethods):
    """DoGet b"gated": a Python generator that waits for `release`; b"big": a C++ stream of a large table.

    b"kept": the one RecordBatchStream the methods keep and return to every such call.
    Tickets ending in b"-plain" register no end-of-call function: their call object is never built.
    b"fail" raises; GetFlightInfo is not implemented (a typed NOT_IMPLEMENTED error).
    """

    def __init__(self) -> None:
        self.release = threading.Event()
        self.streaming = threading.Event()
        self.ended = EndRecorder()
        self.kept = pyarrow.flight.RecordBatchStream(KEPT_TABLE)

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        name = ticket.ticket
        if name == b"fail":
            raise RuntimeError("no such data")
        if name.endswith(b"-plain"):
            name = name.removesuffix(b"-plain")
        else:
            self.call_finalizer_middleware(context).register_on_end(self.ended)
        if name == b"big":
            return pyarrow.flight.RecordBatchStream(BIG_TABLE.to_reader(max_chunksize=10_000))
        if name == b"kept":
            return self.kept
        return gated_stream(self.streaming, self.release, WAIT_SEC)


@pytest.fixture
def methods() -> StreamingMethods:
    """Fresh methods; their gate opens at teardown."""
    return StreamingMethods()


@pytest.fixture
def server(methods: StreamingMethods) -> Iterator[FlightServer]:
    """A plain server (no metrics, no tracing): its calls are never handed to pyarrow's callbacks."""
    with serve(methods) as running:
        yield running
        methods.release.set()


def _draining_in_flight(events: list[dict[str, Any]]) -> list[Any]:
    return [event["in_flight"] for event in events if event["event"] == "server_draining"]


@pytest.mark.timeout(30)
def test_a_python_stream_is_in_flight_until_it_ends(server: FlightServer, methods: StreamingMethods) -> None:
    with connect(server) as client, capture_log_events() as events:
        reader = client.do_get(pyarrow.flight.Ticket(b"gated"))
        reader.read_chunk()
        assert methods.streaming.wait(WAIT_SEC)
        assert not methods.ended.called.is_set()
        server.stop()
        methods.release.set()
        assert reader.read_all().column(0).to_pylist() == [2]
        assert server.wait_for_stop(WAIT_SEC)
    assert _draining_in_flight(events) == [1]
    assert methods.ended.errors == [None]


@pytest.mark.timeout(30)
def test_a_cpp_stream_is_in_flight_until_it_is_sent(server: FlightServer, methods: StreamingMethods) -> None:
    with connect(server) as client, capture_log_events() as events:
        reader = client.do_get(pyarrow.flight.Ticket(b"big"))
        first = reader.read_chunk()
        assert not methods.ended.called.is_set()  # the server is blocked sending the rest
        server.stop()
        rest = reader.read_all()
        assert server.wait_for_stop(WAIT_SEC)
    assert first.data.num_rows + rest.num_rows == BIG_TABLE.num_rows
    assert _draining_in_flight(events) == [1]
    assert methods.ended.called.wait(WAIT_SEC)
    assert methods.ended.errors == [None]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("ticket", [b"gated-plain", b"big-plain"])
def test_a_plain_stream_is_in_flight_until_it_ends(
    server: FlightServer, methods: StreamingMethods, ticket: bytes
) -> None:
    with connect(server) as client, capture_log_events() as events:
        reader = client.do_get(pyarrow.flight.Ticket(ticket))
        first = reader.read_chunk()
        if ticket == b"gated-plain":
            assert methods.streaming.wait(WAIT_SEC)
        server.stop()
        methods.release.set()
        rest = reader.read_all()
        assert server.wait_for_stop(WAIT_SEC)
    assert first.data.num_rows + rest.num_rows in (2, BIG_TABLE.num_rows)
    assert _draining_in_flight(events) == [1]
    assert methods.ended.errors == []


@pytest.mark.timeout(30)
def test_a_finished_plain_stream_is_no_longer_in_flight(server: FlightServer) -> None:
    with connect(server) as client:
        assert client.do_get(pyarrow.flight.Ticket(b"big-plain")).read_all().num_rows == BIG_TABLE.num_rows
    with capture_log_events() as events:
        server.stop()
        assert server.wait_for_stop(WAIT_SEC)
    assert _draining_in_flight(events) == [0]


@pytest.mark.timeout(30)
def test_failed_calls_are_no_longer_in_flight(server: FlightServer) -> None:
    with connect(server) as client:
        with pytest.raises(pyarrow.flight.FlightInternalError):
            client.do_get(pyarrow.flight.Ticket(b"fail")).read_all()
        with pytest.raises(pyarrow.flight.FlightServerError):
            client.get_flight_info(pyarrow.flight.FlightDescriptor.for_command(b"nothing"))
    with capture_log_events() as events:
        server.stop()
        assert server.wait_for_stop(WAIT_SEC)
    assert _draining_in_flight(events) == [0]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("ticket", [b"kept", b"kept-plain"])
def test_calls_returning_a_stream_the_service_keeps_end_with_their_handler(
    server: FlightServer, methods: StreamingMethods, ticket: bytes
) -> None:
    # the kept stream is never released, so its release cannot be what ends these calls
    with connect(server) as client:
        for _ in range(3):
            assert client.do_get(pyarrow.flight.Ticket(ticket)).read_all().num_rows == KEPT_TABLE.num_rows
    with capture_log_events() as events:
        server.stop()
        assert server.wait_for_stop(WAIT_SEC)
    assert _draining_in_flight(events) == [0]
    assert methods.ended.errors == ([None] * 3 if ticket == b"kept" else [])
