"""Types and small doubles shared by the server tests (the fixtures themselves live in conftest.py)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pyarrow
import pyarrow.flight

from gfs_runtime.server.server import FlightServer

StartServer = Callable[..., FlightServer]
"""Starts a server for methods (or a factory) with `[server]` settings as keywords."""

ClientFor = Callable[[FlightServer], pyarrow.flight.FlightClient]
"""Connects a FlightClient to a server."""


class EndRecorder:
    """An end-of-call function that records what each call ended with."""

    def __init__(self) -> None:
        self.errors: list[pyarrow.ArrowException | None] = []
        self.called = threading.Event()

    def __call__(self, error: pyarrow.ArrowException | None) -> None:
        self.errors.append(error)
        self.called.set()


def gated_stream(
    streaming: threading.Event, release: threading.Event, wait_sec: float
) -> pyarrow.flight.GeneratorStream:
    """A stream of rows n=1 then n=2: sets `streaming` after the first batch, then waits for `release`."""

    def batches() -> Iterator[pyarrow.RecordBatch]:
        yield pyarrow.record_batch({"n": [1]})
        streaming.set()
        release.wait(wait_sec)
        yield pyarrow.record_batch({"n": [2]})

    return pyarrow.flight.GeneratorStream(pyarrow.schema([("n", pyarrow.int64())]), batches())
