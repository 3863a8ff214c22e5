"""A service run as a subprocess by the lazy-settings tests: one real call, then what got imported.

Usage: python lazy_settings_service.py <config.toml> <token or ""> <read-settings: yes|no>
Prints one line ``RESULT {json}`` on stdout: the call's answer, what the factory read from ctx.settings,
whether a call without the token was refused, and which heavy modules (dynaconf, jinja2, ...) were imported.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import pyarrow.flight

import gfs_runtime
from gfs_runtime.testing import stop

HEAVY_MODULES = (
    "dynaconf",
    "jinja2",
    "structlog",
    "rich",
    "asyncio",
    "http.server",
    "ssl",
    "logging.config",
    "prometheus_client",
    "opentelemetry.sdk",
    "importlib.resources",
)
"""Modules a server without metrics, tracing, health probes, TLS or a logging ini must not need to serve."""


class PingMethods(gfs_runtime.FlightServerMethods):
    """Answers ListActions only."""

    def list_actions(self, context: pyarrow.flight.ServerCallContext) -> list[tuple[str, str]]:
        return [("ping", "answers")]


def main(config_file: str, token: str, read_settings: bool) -> dict[str, Any]:
    """Serve, make the calls, stop; return what happened."""
    seen: list[Any] = []

    def factory(ctx: gfs_runtime.ServerContext) -> gfs_runtime.FlightServerMethods:
        if read_settings:
            seen.append(ctx.settings.get("my_section")["answer"])
        return PingMethods()

    server = gfs_runtime.create_server(factory, config_files=[config_file], overrides={"server.listen_port": 0})
    server.start(handle_signals=False)
    refused = None
    try:
        if not server.wait_for_start(20):
            raise TimeoutError("the server did not start")
        headers = [(b"authorization", f"Bearer {token}".encode())] if token else []
        options = pyarrow.flight.FlightCallOptions(headers=headers)  # type: ignore[arg-type]  # stubs say str
        with pyarrow.flight.FlightClient(server.location) as client:
            actions = list(client.list_actions(options=options))
            if token:
                try:
                    list(client.list_actions())
                    refused = False
                except pyarrow.flight.FlightUnauthenticatedError:
                    refused = True
    finally:
        stop(server)
    return {
        "actions": [action.type for action in actions],
        "seen": seen,
        "refused_without_token": refused,
        "dynaconf": "dynaconf" in sys.modules,
        "jinja2": "jinja2" in sys.modules,
        "heavy": sorted(name for name in HEAVY_MODULES if name in sys.modules),
    }


if __name__ == "__main__":
    result = main(sys.argv[1], sys.argv[2], sys.argv[3] == "yes")
    print("RESULT " + json.dumps(result), flush=True)
