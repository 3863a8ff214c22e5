"""Types and small helpers shared by the production-shell tests (fixtures live in conftest.py)."""

from __future__ import annotations

import http.client
import json
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson
import pyarrow.flight
from prometheus_client.parser import text_string_to_metric_families

from gfs_runtime.server.server import FlightServer

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
"""Scraped samples by (sample name, labels)."""


class ServerFactory(Protocol):
    """Builds a FlightServer on 127.0.0.1:0 with `[server]` settings as keywords; started unless start=False."""

    def __call__(
        self,
        methods: Any,
        *,
        span_exporter: Any = None,
        start: bool = True,
        sections: dict[str, Any] | None = None,
        **server: Any,
    ) -> FlightServer:
        """Build (and start) the server; `sections` are other settings sections, e.g. enumerated_tokens."""
        ...


@dataclass(frozen=True)
class TlsMaterial:
    """PEM bytes generated for one test session, also written as files named after the fields."""

    ca_cert: bytes
    server_cert: bytes
    server_key: bytes
    client_cert: bytes
    client_key: bytes
    stray_key: bytes
    directory: Path

    def path(self, name: str) -> Path:
        """The file holding the field `name`."""
        return self.directory / f"{name}.pem"


def probe(port: int, path: str, method: str = "GET") -> tuple[int, Any]:
    """Send one HTTP request to 127.0.0.1:`port`; the status and the decoded JSON body (None for HEAD)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        body = response.read()
        return response.status, orjson.loads(body) if body else None
    finally:
        conn.close()


def health_port(server: FlightServer) -> int:
    """The bound health check port of a server configured with one."""
    port = server.health_check_port
    assert port, "the server has no health check port"
    return port


def scrape(server: FlightServer) -> Samples:
    """Scrape the server's metrics endpoint over HTTP and parse it with prometheus_client's parser."""
    port = server.metrics_port
    assert port, "the server has no metrics port"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def sample(samples: Samples, name: str, **labels: str) -> float | None:
    """The value of the sample `name` with exactly `labels`, None when absent."""
    return samples.get((name, frozenset(labels.items())))


def client_for(server: FlightServer, **kwargs: Any) -> pyarrow.flight.FlightClient:
    """A FlightClient for the server's location (close it after use)."""
    return pyarrow.flight.FlightClient(server.location, **kwargs)


def bearer(token: str) -> pyarrow.flight.FlightCallOptions:
    """Call options sending ``Authorization: Bearer <token>``, bounded to 10 s."""
    return pyarrow.flight.FlightCallOptions(headers=[(b"authorization", f"Bearer {token}".encode())], timeout=10)


def json_lines(text: str) -> list[dict[str, Any]]:
    """The JSON log lines in captured output."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def run_action(client: pyarrow.flight.FlightClient, name: str, options: Any = None) -> list[bytes]:
    """Run action `name` and return its result bodies."""
    return [result.body.to_pybytes() for result in client.do_action(pyarrow.flight.Action(name, b""), options)]
