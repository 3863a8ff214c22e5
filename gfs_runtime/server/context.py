"""What a service's methods factory receives from the server, and the factory's Protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import pyarrow.flight

from gfs_runtime.config import Dynaconf, ServerConfig
from gfs_runtime.health.monitor import ServerHealthMonitor
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.tasks.executor import TaskExecutor
from gfs_runtime.telemetry.metrics import ServerMetrics


@dataclass(frozen=True)
class ServerContext:
    """The server's settings, parsed config, advertised location, health monitor, task executor and metrics."""

    settings: Dynaconf
    """Every setting loaded from files, environment and overrides (the service's own sections too)."""

    config: ServerConfig
    """The parsed ``[server]`` settings."""

    location: pyarrow.flight.Location
    """Where clients reach this server; put it in the FlightInfo endpoints the service returns."""

    health: ServerHealthMonitor
    """Where the service's modules report their health (it drives ``/live`` and ``/ready``)."""

    task_executor: TaskExecutor
    """Runs long-running tasks whose results DoGet streams out."""

    metrics: ServerMetrics | None = None
    """The server's Prometheus metrics, for the service's own (`metrics.counter(...)`); None without metrics_host."""


class FlightServerMethodsFactory(Protocol):
    """A function that builds the service's FlightServerMethods once the server is up."""

    def __call__(self, ctx: ServerContext) -> FlightServerMethods:
        """Build the methods for the server described by `ctx`."""
        ...
