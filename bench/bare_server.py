"""The baseline: a plain pyarrow.flight server serving the same data as the benchmark service.

Run as `python bench/bare_server.py PORT [TOKEN] [--floor]`; with TOKEN every call must carry
`Authorization: Bearer TOKEN`, checked by a bare ServerMiddlewareFactory. `--floor` gives a server
without a token that same single middleware as a pass-through: the least a framework with one
Python hook per call can cost (with a token, bare already has it). Its "task path"
is the same shape as the runtime's: GetFlightInfo submits work to a ThreadPoolExecutor and
returns its id as the ticket; DoGet waits for that future and streams its table.
"""

from __future__ import annotations

import hmac
import sys
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor

import dataset
import pyarrow
import pyarrow.flight

_TASK_THREADS = 32  # the runtimes' default task_threads


class BearerTokenMiddlewareFactory(pyarrow.flight.ServerMiddlewareFactory):
    """Rejects calls whose Authorization header is not `Bearer <token>`."""

    def __init__(self, token: str) -> None:
        """Remembers the one accepted token."""
        self._expected = f"Bearer {token}".encode()

    def start_call(
        self, info: pyarrow.flight.CallInfo, headers: dict[str, list[str] | list[bytes]]
    ) -> pyarrow.flight.ServerMiddleware | None:
        """Checks the header; lets the call through without per-call middleware."""
        values = headers.get("authorization", [])
        value = values[0] if len(values) == 1 else b""
        if not hmac.compare_digest(value if isinstance(value, bytes) else value.encode(), self._expected):
            raise pyarrow.flight.FlightUnauthenticatedError("invalid or missing bearer token")
        return None


class PassThroughMiddlewareFactory(pyarrow.flight.ServerMiddlewareFactory):
    """Lets every call through without per-call middleware: pyarrow's cost of one Python hook per call."""

    def start_call(
        self, info: pyarrow.flight.CallInfo, headers: dict[str, list[str] | list[bytes]]
    ) -> pyarrow.flight.ServerMiddleware | None:
        """Does nothing."""
        return None


class BareServer(pyarrow.flight.FlightServerBase):
    """Answers GetFlightInfo, DoGet and DoPut directly, plus a dict-and-executor task path."""

    def __init__(self, port: int, token: str | None, big: pyarrow.Table | None, *, floor: bool = False) -> None:
        """Binds 127.0.0.1:port and starts serving at once (pyarrow listens in the constructor)."""
        self._location = pyarrow.flight.Location.for_grpc_tcp("127.0.0.1", port)
        self._small = dataset.small_table()
        self._big = big
        self._executor = ThreadPoolExecutor(max_workers=_TASK_THREADS)
        self._futures: dict[str, Future[pyarrow.Table]] = {}
        self._lock = threading.Lock()
        middleware: dict[str, pyarrow.flight.ServerMiddlewareFactory] = {}
        if token:
            middleware["auth"] = BearerTokenMiddlewareFactory(token)
        elif floor:
            middleware["pass"] = PassThroughMiddlewareFactory()
        super().__init__(self._location, middleware=middleware)

    def _info(self, descriptor: pyarrow.flight.FlightDescriptor, ticket: bytes) -> pyarrow.flight.FlightInfo:
        """A FlightInfo with one endpoint at this server."""
        table = self._big if ticket == dataset.BIG_CMD else self._small
        if table is None:
            raise pyarrow.flight.FlightServerError("no big table in this server")
        endpoint = pyarrow.flight.FlightEndpoint(ticket, [self._location])
        return pyarrow.flight.FlightInfo(table.schema, descriptor, [endpoint], table.num_rows, -1)

    def get_flight_info(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.FlightInfo:
        """Plain commands answer directly; the task command submits work and hands out its id."""
        command = descriptor.command
        if command == dataset.TASK_CMD:
            task_id = uuid.uuid4().hex
            future = self._executor.submit(lambda: self._small)
            with self._lock:
                self._futures[task_id] = future
            return self._info(descriptor, task_id.encode())
        if command in (dataset.SMALL_CMD, dataset.BIG_CMD):
            return self._info(descriptor, command)
        raise pyarrow.flight.FlightServerError("unknown command")

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        """Streams the named table, or the result of the task whose id is the ticket."""
        raw = ticket.ticket
        if raw == dataset.SMALL_CMD:
            return pyarrow.flight.RecordBatchStream(self._small)
        if raw == dataset.BIG_CMD and self._big is not None:
            return pyarrow.flight.RecordBatchStream(self._big)
        with self._lock:
            future = self._futures.pop(raw.decode(errors="replace"), None)
        if future is None:
            raise pyarrow.flight.FlightServerError("unknown ticket")
        return pyarrow.flight.RecordBatchStream(future.result(timeout=60))

    def do_put(
        self,
        context: pyarrow.flight.ServerCallContext,
        descriptor: pyarrow.flight.FlightDescriptor,
        reader: pyarrow.flight.MetadataRecordBatchReader,
        writer: pyarrow.flight.FlightMetadataWriter,
    ) -> None:
        """Reads the upload to its end and discards it."""
        dataset.drain(reader)


def main(argv: list[str]) -> None:
    """Builds the data, then serves until the process is signalled."""
    floor = "--floor" in argv
    positional = [arg for arg in argv if arg != "--floor"]
    port = int(positional[0])
    token = positional[1] if len(positional) > 1 else None
    server = BareServer(port, token, dataset.big_table_from_env(), floor=floor)
    server.serve()


if __name__ == "__main__":
    main(sys.argv[1:])
