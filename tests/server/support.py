"""Types shared by the server tests (the fixtures themselves live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow.flight

from gfs_runtime.server.server import FlightServer

StartServer = Callable[..., FlightServer]
"""Starts a server for methods (or a factory) with `[server]` settings as keywords."""

ClientFor = Callable[[FlightServer], pyarrow.flight.FlightClient]
"""Connects a FlightClient to a server."""
