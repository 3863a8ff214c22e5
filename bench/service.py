"""The benchmark's data service, written once against the public API and run on either library.

`BENCH_FLIGHT_LIBRARY` picks the library: `gfs_runtime` (default) or `gooddata_flight_server`.
Run as `python bench/service.py CONFIG.toml ...`; the listen port comes from the environment.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import TYPE_CHECKING

import dataset
import pyarrow
import pyarrow.flight

if TYPE_CHECKING:
    import gfs_runtime as gf
else:
    gf = importlib.import_module(os.environ.get(dataset.LIBRARY_ENV, "gfs_runtime"))


class SmallTableTask(gf.Task):
    """The task path's work: its result is the shared 10-row table."""

    def __init__(self, cmd: bytes, table: pyarrow.Table) -> None:
        """Keeps the table the result will serve."""
        super().__init__(cmd=cmd)
        self._table = table

    def run(self) -> gf.TaskResult | gf.TaskError:
        """Returns the table as a re-readable Flight data result."""
        return gf.FlightDataTaskResult.for_table(self._table)


class BenchMethods(gf.FlightServerMethods):
    """Answers GetFlightInfo, DoGet and DoPut like the bare server, via the library."""

    def __init__(self, ctx: gf.ServerContext, big: pyarrow.Table | None) -> None:
        """Keeps the context's executor and location, and the tables to serve."""
        self._executor = ctx.task_executor
        self._location = ctx.location
        self._small = dataset.small_table()
        self._big = big

    def _info(self, descriptor: pyarrow.flight.FlightDescriptor, ticket: bytes) -> pyarrow.flight.FlightInfo:
        """A FlightInfo with one endpoint at this server."""
        table = self._big if ticket == dataset.BIG_CMD else self._small
        if table is None:
            raise gf.ErrorInfo.bad_argument("no big table in this server")
        endpoint = pyarrow.flight.FlightEndpoint(ticket, [self._location])
        return pyarrow.flight.FlightInfo(table.schema, descriptor, [endpoint], table.num_rows, -1)

    def get_flight_info(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.FlightInfo:
        """Plain commands answer directly; the task command submits a Task, its id is the ticket."""
        command = descriptor.command
        if command == dataset.TASK_CMD:
            task = SmallTableTask(command, self._small)
            self._executor.submit(task)
            return self._info(descriptor, task.task_id.encode())
        if command in (dataset.SMALL_CMD, dataset.BIG_CMD):
            return self._info(descriptor, command)
        raise gf.ErrorInfo.bad_argument("unknown command")

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        """Streams the named table, or the result of the task whose id is the ticket."""
        raw = ticket.ticket
        if raw == dataset.SMALL_CMD:
            return pyarrow.flight.RecordBatchStream(self._small)
        if raw == dataset.BIG_CMD and self._big is not None:
            return pyarrow.flight.RecordBatchStream(self._big)
        return self.do_get_task_result(context, self._executor, raw.decode(errors="replace"))

    def do_put(
        self,
        context: pyarrow.flight.ServerCallContext,
        descriptor: pyarrow.flight.FlightDescriptor,
        reader: pyarrow.flight.MetadataRecordBatchReader,
        writer: pyarrow.flight.FlightMetadataWriter,
    ) -> None:
        """Reads the upload to its end and discards it."""
        dataset.drain(reader)


@gf.flight_server_methods
def bench_service(ctx: gf.ServerContext) -> gf.FlightServerMethods:
    """Builds the big table (if asked for) during start-up, before the server serves."""
    return BenchMethods(ctx, dataset.big_table_from_env())


def main(config_files: list[str]) -> None:
    """Starts the server with production logging and blocks until it stops."""
    server = gf.create_server(bench_service, config_files=tuple(config_files), dev_log=False)
    server.start()
    server.wait_for_stop()


if __name__ == "__main__":
    main(sys.argv[1:])
