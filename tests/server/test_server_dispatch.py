"""Every Flight RPC reaches the service's FlightServerMethods; unimplemented ones answer NOT_IMPLEMENTED."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pyarrow
import pyarrow.flight
import pytest

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.testing import error_info_of
from tests.server.support import ClientFor, StartServer

SCHEMA = pyarrow.schema([("n", pyarrow.int64())])
TABLE = pyarrow.table({"n": [1, 2, 3]})


class EchoMethods(FlightServerMethods):
    """Implements every RPC by echoing what it got."""

    def __init__(self) -> None:
        self.location = pyarrow.flight.Location.for_grpc_tcp("127.0.0.1", 1)

    def _info(self, descriptor: pyarrow.flight.FlightDescriptor) -> pyarrow.flight.FlightInfo:
        endpoint = pyarrow.flight.FlightEndpoint(descriptor.command or b"path", [self.location])
        return pyarrow.flight.FlightInfo(SCHEMA, descriptor, [endpoint], -1, -1)

    def list_flights(
        self, context: pyarrow.flight.ServerCallContext, criteria: bytes
    ) -> Generator[pyarrow.flight.FlightInfo, None, None]:
        yield self._info(pyarrow.flight.FlightDescriptor.for_command(criteria))

    def get_flight_info(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.FlightInfo:
        return self._info(descriptor)

    def get_schema(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.SchemaResult:
        return pyarrow.flight.SchemaResult(SCHEMA)

    def do_put(
        self,
        context: pyarrow.flight.ServerCallContext,
        descriptor: pyarrow.flight.FlightDescriptor,
        reader: pyarrow.flight.MetadataRecordBatchReader,
        writer: pyarrow.flight.FlightMetadataWriter,
    ) -> None:
        writer.write(str(reader.read_all().num_rows).encode())

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        return pyarrow.flight.RecordBatchStream(pyarrow.table({"ticket": [ticket.ticket]}))

    def do_exchange(
        self,
        context: pyarrow.flight.ServerCallContext,
        descriptor: pyarrow.flight.FlightDescriptor,
        reader: pyarrow.flight.MetadataRecordBatchReader,
        writer: pyarrow.flight.MetadataRecordBatchWriter,
    ) -> None:
        writer.begin(reader.schema)
        for chunk in reader:
            writer.write_batch(chunk.data)

    def list_actions(self, context: pyarrow.flight.ServerCallContext) -> list[tuple[str, str]]:
        return [("echo", "answers with the body")]

    def do_action(
        self, context: pyarrow.flight.ServerCallContext, action: pyarrow.flight.Action
    ) -> Generator[pyarrow.flight.Result, None, None]:
        yield pyarrow.flight.Result(action.type.encode() + b":" + action.body.to_pybytes())


@pytest.fixture
def client(start_server: StartServer, client_for: ClientFor) -> pyarrow.flight.FlightClient:
    return client_for(start_server(EchoMethods()))


def test_list_flights_reaches_the_methods(client: pyarrow.flight.FlightClient) -> None:
    infos = list(client.list_flights(b"crit"))
    assert [info.descriptor.command for info in infos] == [b"crit"]


def test_get_flight_info_reaches_the_methods(client: pyarrow.flight.FlightClient) -> None:
    info = client.get_flight_info(pyarrow.flight.FlightDescriptor.for_command(b"cmd"))
    assert info.endpoints[0].ticket.ticket == b"cmd"


def test_get_schema_reaches_the_methods(client: pyarrow.flight.FlightClient) -> None:
    result = client.get_schema(pyarrow.flight.FlightDescriptor.for_path("p"))
    assert result.schema == SCHEMA


def test_do_put_reaches_the_methods(client: pyarrow.flight.FlightClient) -> None:
    writer, metadata_reader = client.do_put(pyarrow.flight.FlightDescriptor.for_command(b"up"), TABLE.schema)
    writer.write_table(TABLE)
    writer.done_writing()
    answer = metadata_reader.read()
    writer.close()
    assert answer is not None
    assert answer.to_pybytes() == b"3"


def test_do_get_reaches_the_methods(client: pyarrow.flight.FlightClient) -> None:
    table = client.do_get(pyarrow.flight.Ticket(b"t-1")).read_all()
    assert table.column("ticket").to_pylist() == [b"t-1"]


def test_do_exchange_reaches_the_methods(client: pyarrow.flight.FlightClient) -> None:
    writer, reader = client.do_exchange(pyarrow.flight.FlightDescriptor.for_command(b"x"))
    writer.begin(TABLE.schema)
    writer.write_table(TABLE)
    writer.done_writing()
    echoed = reader.read_all()
    writer.close()
    assert echoed.column("n").to_pylist() == [1, 2, 3]


def test_list_actions_reaches_the_methods(client: pyarrow.flight.FlightClient) -> None:
    actions = client.list_actions()
    assert [(a.type, a.description) for a in actions] == [("echo", "answers with the body")]


def test_do_action_reaches_the_methods(client: pyarrow.flight.FlightClient) -> None:
    results = list(client.do_action(pyarrow.flight.Action("echo", b"hi")))
    assert [r.body.to_pybytes() for r in results] == [b"echo:hi"]


def _put(client: pyarrow.flight.FlightClient) -> None:
    writer, _ = client.do_put(pyarrow.flight.FlightDescriptor.for_command(b"up"), TABLE.schema)
    writer.write_table(TABLE)
    writer.close()


def _exchange(client: pyarrow.flight.FlightClient) -> None:
    writer, reader = client.do_exchange(pyarrow.flight.FlightDescriptor.for_command(b"x"))
    writer.done_writing()
    reader.read_all()


UNIMPLEMENTED_CALLS: dict[str, Callable[[pyarrow.flight.FlightClient], Any]] = {
    "ListFlights": lambda c: list(c.list_flights()),
    "GetFlightInfo": lambda c: c.get_flight_info(pyarrow.flight.FlightDescriptor.for_command(b"c")),
    "DoPut": _put,
    "DoGet": lambda c: c.do_get(pyarrow.flight.Ticket(b"t")).read_all(),
    "DoExchange": _exchange,
    "ListActions": lambda c: c.list_actions(),
    "DoAction": lambda c: list(c.do_action(pyarrow.flight.Action("a", b""))),
}


@pytest.mark.parametrize("rpc", sorted(UNIMPLEMENTED_CALLS))
def test_unimplemented_rpc_answers_not_implemented(
    rpc: str, start_server: StartServer, client_for: ClientFor, unimplemented: FlightServerMethods
) -> None:
    client = client_for(start_server(unimplemented))
    with pytest.raises(pyarrow.flight.FlightServerError) as caught:
        UNIMPLEMENTED_CALLS[rpc](client)
    info = error_info_of(caught.value)
    assert info.code == ErrorCode.NOT_IMPLEMENTED
    assert rpc in info.msg


def test_unimplemented_get_schema_says_so_despite_pyarrow_dropping_error_info(
    start_server: StartServer, client_for: ClientFor, unimplemented: FlightServerMethods
) -> None:
    # pyarrow's GetSchema path turns every server error into an untyped ArrowException on the client
    client = client_for(start_server(unimplemented))
    with pytest.raises(pyarrow.ArrowException, match="GetSchema is not implemented"):
        client.get_schema(pyarrow.flight.FlightDescriptor.for_command(b"c"))
