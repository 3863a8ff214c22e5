"""Helpers for a service's own tests: run it in-process on a free port, connect to it, decode its errors.

Example (pytest)::

    @pytest.fixture
    def server():
        yield from gfs_runtime.testing.server_fixture(my_service)

    def test_serves_rows(server):
        with gfs_runtime.testing.connect(server) as client:
            assert client.do_get(pyarrow.flight.Ticket(b"x")).read_all().num_rows == 3
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final

import pyarrow.flight

from gfs_runtime.config import read_config
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.server.context import FlightServerMethodsFactory
from gfs_runtime.server.lifecycle import ServerState
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.server.server import FlightServer

START_TIMEOUT_SEC: Final = 30.0
STOP_TIMEOUT_SEC: Final = 30.0


def _test_overrides(overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    merged: dict[str, Any] = dict(overrides or {})
    server_section = dict(merged.get("server") or {})
    merged["server"] = {"listen_host": "127.0.0.1", "listen_port": 0, **server_section}
    return merged


def stop(server: FlightServer) -> None:
    """Stop a test server: gracefully, or by aborting when it does not stop within STOP_TIMEOUT_SEC."""
    server.stop()
    if server.state is ServerState.FAILED:
        return
    if not server.wait_for_stop(STOP_TIMEOUT_SEC):
        server.abort()
        server.wait_for_stop(STOP_TIMEOUT_SEC)


@contextmanager
def serve(
    methods: FlightServerMethods | FlightServerMethodsFactory,
    *,
    config_files: Sequence[str | os.PathLike[str]] = (),
    overrides: Mapping[str, Any] | None = None,
) -> Iterator[FlightServer]:
    """Run `methods` in-process on 127.0.0.1 and a free port until the block ends; signals are left alone."""
    settings, config = read_config(config_files, _test_overrides(overrides))
    server = FlightServer(settings, config, methods)
    server.start(handle_signals=False)
    try:
        if not server.wait_for_start(START_TIMEOUT_SEC):
            raise TimeoutError(f"the server did not start within {START_TIMEOUT_SEC} s")
        yield server
    finally:
        stop(server)


def server_fixture(
    methods: FlightServerMethods | FlightServerMethodsFactory,
    *,
    config_files: Sequence[str | os.PathLike[str]] = (),
    overrides: Mapping[str, Any] | None = None,
) -> Iterator[FlightServer]:
    """`serve` as a generator, for a pytest fixture: ``yield from server_fixture(my_service)``."""
    with serve(methods, config_files=config_files, overrides=overrides) as server:
        yield server


def connect(server: FlightServer) -> pyarrow.flight.FlightClient:
    """A FlightClient for the server's advertised location (close it, or use it as a context manager)."""
    return pyarrow.flight.FlightClient(server.location)


def error_info_of(exc: BaseException) -> ErrorInfo:
    """The ErrorInfo a FlightError carries; ValueError when `exc` carries none."""
    if isinstance(exc, pyarrow.flight.FlightError):
        info = ErrorInfo.maybe_from_pyarrow_error(exc)
        if info is not None:
            return info
    raise ValueError(f"{type(exc).__name__} carries no ErrorInfo: {exc}")
