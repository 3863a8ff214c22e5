"""Fixtures: the service started in-process on free ports, and FlightClients connected to it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.flight
import pytest
from gfs_runtime.testing import connect, serve

from {{ cookiecutter.package_name }}.service import create_methods

REPO = Path(__file__).resolve().parent.parent
CONFIG_FILES = (
    REPO / "config" / "server.toml",
    REPO / "config" / "{{ cookiecutter.package_name }}.toml",
)
FREE_PORTS = {"listen_port": 0, "health_check_port": 0, "metrics_port": 0}

StartService = Callable[[dict[str, Any]], pyarrow.flight.FlightClient]


@pytest.fixture
def start_service() -> Iterator[StartService]:
    """Start the service with extra settings, e.g. `{"my_table": {"key": 1}}`, and return a connected client."""
    with contextlib.ExitStack() as stack:

        def start(settings: dict[str, Any]) -> pyarrow.flight.FlightClient:
            overrides = {**settings, "server": {**settings.get("server", {}), **FREE_PORTS}}
            server = stack.enter_context(serve(create_methods, config_files=CONFIG_FILES, overrides=overrides))
            return stack.enter_context(connect(server))

        yield start


@pytest.fixture
def client(start_service: StartService) -> pyarrow.flight.FlightClient:
    """A client of the service as configured by config/*.toml."""
    return start_service({})
