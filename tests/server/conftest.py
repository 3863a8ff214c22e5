"""Fixtures for server tests: in-process servers on 127.0.0.1 port 0 and clients, all closed at teardown."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pyarrow.flight
import pytest

from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.server.server import FlightServer
from gfs_runtime.testing import connect, serve
from tests.server.support import ClientFor, StartServer


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Start servers for methods with `[server]` settings as keywords (small task pools); stop them after."""
    with contextlib.ExitStack() as stack:

        def start(methods: Any, **server_settings: Any) -> FlightServer:
            settings = {"task_threads": 2, "task_close_threads": 1, **server_settings}
            return stack.enter_context(serve(methods, overrides={"server": settings}))

        yield start


@pytest.fixture
def client_for() -> Iterator[ClientFor]:
    """Connect FlightClients to servers; close them after."""
    with contextlib.ExitStack() as stack:

        def make(server: FlightServer) -> pyarrow.flight.FlightClient:
            return stack.enter_context(connect(server))

        yield make


@pytest.fixture
def unimplemented() -> FlightServerMethods:
    """Methods that implement nothing."""
    return FlightServerMethods()
