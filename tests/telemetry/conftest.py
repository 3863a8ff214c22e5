"""Shared helpers for metrics tests: a ServerMetrics served over real HTTP, scraping it, a metered Flight server."""

from __future__ import annotations

import contextlib
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator

import pyarrow.flight
import pytest
from prometheus_client.parser import text_string_to_metric_families

from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.telemetry.metrics import ServerMetrics, call_outcome
from gfs_runtime.telemetry.metrics_server import MetricsServer

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
"""Scraped samples by (sample name, labels)."""


def scrape_text(port: int) -> str:
    """The exposition text a metrics endpoint on 127.0.0.1:`port` answers."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        body: bytes = response.read()
    return body.decode()


def scrape(port: int) -> Samples:
    """Scrape 127.0.0.1:`port` over HTTP and parse it with prometheus_client's own parser."""
    samples: Samples = {}
    for family in text_string_to_metric_families(scrape_text(port)):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The value of the sample `name` with exactly `labels`, None when absent."""
    return samples.get((name, frozenset(labels.items())))


@pytest.fixture
def metrics() -> ServerMetrics:
    """A fresh ServerMetrics without process collectors."""
    return ServerMetrics(process_metrics=False)


@pytest.fixture
def served(metrics: ServerMetrics) -> Iterator[MetricsServer]:
    """`metrics` served on 127.0.0.1 on a free port; stopped afterwards."""
    server = MetricsServer(metrics.registry, "127.0.0.1", 0)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def scraped(served: MetricsServer) -> Callable[[], Samples]:
    """Scrapes the `served` endpoint over HTTP each time it is called."""
    return lambda: scrape(served.port)


class _MeteringMiddleware(pyarrow.flight.ServerMiddleware):
    """Times one call and reports it as the gfs per-call middleware does."""

    def __init__(self, factory: MeteringFactory, method: str) -> None:
        self._factory = factory
        self._method = method
        self._started = time.perf_counter()

    def call_completed(self, exception: BaseException | None) -> None:
        elapsed = time.perf_counter() - self._started
        self._factory.metrics.observe_call(self._method, call_outcome(exception), elapsed)
        with self._factory.lock:
            self._factory.in_flight -= 1


class MeteringFactory(pyarrow.flight.ServerMiddlewareFactory):
    """Per-call middleware feeding a ServerMetrics, counting calls in flight for its gauge."""

    def __init__(self, metrics: ServerMetrics) -> None:
        super().__init__()
        self.metrics = metrics
        self.lock = threading.Lock()
        self.in_flight = 0
        metrics.track_in_flight(lambda: self.in_flight)

    def start_call(self, info: pyarrow.flight.CallInfo, headers: dict[str, list[str]]) -> _MeteringMiddleware:
        with self.lock:
            self.in_flight += 1
        return _MeteringMiddleware(self, info.method.name.lower())


class ActionService(pyarrow.flight.FlightServerBase):
    """Answers actions by name: ok, bad (BAD_ARGUMENT), broken (a plain exception), block (waits for `release`)."""

    def __init__(self, metrics: ServerMetrics) -> None:
        super().__init__("grpc://127.0.0.1:0", middleware={"metering": MeteringFactory(metrics)})
        self.blocked = threading.Event()
        self.release = threading.Event()

    def list_actions(self, context: pyarrow.flight.ServerCallContext) -> list[tuple[str, str]]:
        return [("ok", "Succeeds.")]

    def do_action(
        self, context: pyarrow.flight.ServerCallContext, action: pyarrow.flight.Action
    ) -> Iterator[pyarrow.flight.Result]:
        if action.type == "bad":
            raise ErrorInfo.bad_argument("no such thing")
        if action.type == "broken":
            raise RuntimeError("broken")
        if action.type == "block":
            self.blocked.set()
            assert self.release.wait(10)
        return iter([pyarrow.flight.Result(b"done")])


@pytest.fixture
def flight(metrics: ServerMetrics) -> Iterator[tuple[ActionService, pyarrow.flight.FlightClient]]:
    """A real Flight server on 127.0.0.1:0 metered into `metrics`, and a client connected to it."""
    service = ActionService(metrics)
    client = pyarrow.flight.connect(f"grpc://127.0.0.1:{service.port}")
    try:
        yield service, client
    finally:
        service.release.set()
        client.close()
        service.shutdown()


def run_action(client: pyarrow.flight.FlightClient, name: str) -> None:
    """Run action `name`, ignoring the Flight error it may answer."""
    with contextlib.suppress(pyarrow.flight.FlightError):
        list(client.do_action(pyarrow.flight.Action(name, b"")))
