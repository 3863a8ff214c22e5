"""A service run as a subprocess by the signal tests.

DoGet streams one batch, then waits for one byte on stdin before the second. It prints its location on
stdout once serving, logs JSON lines to stderr, and exits when the server has stopped.
Usage: python signal_service.py <shutdown_timeout_sec>
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator

import pyarrow
import pyarrow.flight

from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.server.server import create_server

SCHEMA = pyarrow.schema([("n", pyarrow.int64())])


class SlowMethods(FlightServerMethods):
    """A DoGet that the test paces through stdin, and a ListActions that answers at once."""

    def list_actions(self, context: pyarrow.flight.ServerCallContext) -> list[tuple[str, str]]:
        return [("ping", "answers")]

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        def batches() -> Generator[pyarrow.RecordBatch, None, None]:
            yield pyarrow.record_batch({"n": [1]})
            os.read(0, 1)  # raw read: no Python-level lock held while blocked
            yield pyarrow.record_batch({"n": [2]})

        return pyarrow.flight.GeneratorStream(SCHEMA, batches())


def main() -> int:
    """Serve until a signal stops the server."""
    settings = {
        "listen_port": 0,
        "task_threads": 1,
        "task_close_threads": 1,
        "shutdown_timeout_sec": float(sys.argv[1]),
    }
    server = create_server(SlowMethods(), overrides={"server": settings})
    server.start()
    if not server.wait_for_start(30):
        return 2
    print(server.location.uri.decode(), flush=True)
    server.wait_for_stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
