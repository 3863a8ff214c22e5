"""Calls that end with their handler are not handed to pyarrow, yet behave exactly like the others."""

from __future__ import annotations

import threading
from typing import Any

import pyarrow
import pyarrow.flight
import pytest

from gfs_runtime.server.call_admission import CallMiddlewareFactory
from gfs_runtime.server.methods import FlightServerMethods
from tests.server.support import ClientFor, StartServer

WAIT_SEC = 10.0
SCHEMA = pyarrow.schema([("n", pyarrow.int64())])


class UnaryMethods(FlightServerMethods):
    """GetFlightInfo and DoPut that look at their call and register finalizers."""

    def __init__(self) -> None:
        self.seen: list[tuple[Any, ...]] = []
        self.ended: list[BaseException | None] = []
        self.release = threading.Event()
        self.entered = threading.Event()

    def get_flight_info(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.FlightInfo:
        info = self.call_info_middleware(context)
        self.seen.append((info.info.method, info.headers.get("x-tag"), info.token_data))
        self.call_finalizer_middleware(context).register_on_end(self.ended.append)
        if descriptor.command == b"slow":
            self.entered.set()
            self.release.wait(WAIT_SEC)
        if descriptor.command == b"fail":
            raise RuntimeError("handler failed")
        return pyarrow.flight.FlightInfo(SCHEMA, descriptor, [], 0, 0)

    def do_put(
        self,
        context: pyarrow.flight.ServerCallContext,
        descriptor: pyarrow.flight.FlightDescriptor,
        reader: pyarrow.flight.MetadataRecordBatchReader,
        writer: pyarrow.flight.FlightMetadataWriter,
    ) -> None:
        self.call_finalizer_middleware(context).register_on_end(self.ended.append)
        self.seen.append((self.call_info_middleware(context).info.method, reader.read_all().num_rows))


def _in_flight(server: Any) -> int:
    factory = server._middleware
    assert isinstance(factory, CallMiddlewareFactory)
    return factory.in_flight


def test_get_flight_info_sees_its_call_and_runs_its_finalizer(start_server: StartServer, client_for: ClientFor) -> None:
    methods = UnaryMethods()
    server = start_server(methods)
    client = client_for(server)
    options = pyarrow.flight.FlightCallOptions(headers=[(b"x-tag", b"first")])
    client.get_flight_info(pyarrow.flight.FlightDescriptor.for_command(b"ok"), options)
    assert methods.seen == [(pyarrow.flight.FlightMethod.GET_FLIGHT_INFO, ["first"], None)]
    assert methods.ended == [None]
    assert _in_flight(server) == 0


def test_failed_unary_call_gives_its_finalizer_the_typed_error(
    start_server: StartServer, client_for: ClientFor
) -> None:
    methods = UnaryMethods()
    server = start_server(methods)
    with pytest.raises(pyarrow.flight.FlightInternalError):
        client_for(server).get_flight_info(pyarrow.flight.FlightDescriptor.for_command(b"fail"))
    (error,) = methods.ended
    assert isinstance(error, pyarrow.flight.FlightInternalError)
    assert _in_flight(server) == 0


def test_do_put_sees_its_call_and_ends_it(start_server: StartServer, client_for: ClientFor) -> None:
    methods = UnaryMethods()
    server = start_server(methods)
    descriptor = pyarrow.flight.FlightDescriptor.for_command(b"up")
    writer, _ = client_for(server).do_put(descriptor, SCHEMA)
    writer.write_table(pyarrow.table({"n": [1, 2, 3]}))
    writer.close()
    assert methods.seen == [(pyarrow.flight.FlightMethod.DO_PUT, 3)]
    assert methods.ended == [None]
    assert _in_flight(server) == 0


def test_a_slow_unary_call_is_in_flight_and_drained_by_stop(start_server: StartServer, client_for: ClientFor) -> None:
    methods = UnaryMethods()
    server = start_server(methods)
    client = client_for(server)
    answers: list[object] = []
    caller = threading.Thread(
        target=lambda: answers.append(client.get_flight_info(pyarrow.flight.FlightDescriptor.for_command(b"slow")))
    )
    caller.start()
    assert methods.entered.wait(WAIT_SEC)
    assert _in_flight(server) == 1
    server.stop()
    assert not server.wait_for_stop(0.2)  # still draining the slow call
    methods.release.set()
    caller.join(WAIT_SEC)
    assert server.wait_for_stop(WAIT_SEC)
    assert len(answers) == 1
    assert isinstance(answers[0], pyarrow.flight.FlightInfo)
