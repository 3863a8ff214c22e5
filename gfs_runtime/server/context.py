"""What a service's methods factory receives from the server, and the factory's Protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow.flight

from gfs_runtime.config import ServerConfig
from gfs_runtime.config.loading import LoadedSettings
from gfs_runtime.health.monitor import ServerHealthMonitor
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.tasks.executor import TaskExecutor
from gfs_runtime.telemetry.metrics import ServerMetrics

if TYPE_CHECKING:
    from dynaconf import Dynaconf

_FIELD_NAMES = ("settings", "config", "location", "health", "task_executor", "metrics")


class _SettingsField:
    """The ``settings`` field: keeps what the server was given and reads as a Dynaconf, built on first read."""

    _storage = "_settings_given"

    def __get__(self, ctx: ServerContext | None, owner: type[Any] | None = None) -> Dynaconf:
        if ctx is None:
            # the dataclass machinery asks the class for a default: there is none
            raise AttributeError("settings")
        given = ctx.__dict__[self._storage]
        return given.dynaconf() if isinstance(given, LoadedSettings) else given

    def __set__(self, ctx: ServerContext, value: Dynaconf | LoadedSettings) -> None:
        # reached only from the generated __init__ (the frozen __setattr__ refuses every other assignment)
        ctx.__dict__[self._storage] = value


@dataclass(frozen=True, eq=False, repr=False)
class ServerContext:
    """The server's settings, parsed config, advertised location, health monitor, task executor and metrics."""

    settings: Dynaconf
    """Every setting loaded from files, environment and overrides (the service's own sections too), as a Dynaconf.

    Given `LoadedSettings`, the Dynaconf is built on the first read (once, thread-safe), so a service that never
    reads it never imports Dynaconf.
    """

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

    def _values(self) -> tuple[Any, ...]:
        """The fields as given (settings unbuilt): what equality, hashing and repr use."""
        given = self.__dict__[_SettingsField._storage]
        return (given, self.config, self.location, self.health, self.task_executor, self.metrics)

    def __eq__(self, other: object) -> bool:
        """Equal when every field is (settings compared as given, without building a Dynaconf)."""
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, ServerContext)
        return self._values() == other._values()

    def __hash__(self) -> int:
        """Hash of the fields as given (like a frozen dataclass's)."""
        return hash(self._values())

    def __repr__(self) -> str:
        """Every field, settings as given (a repr never builds the Dynaconf)."""
        shown = ", ".join(f"{name}={value!r}" for name, value in zip(_FIELD_NAMES, self._values(), strict=True))
        return f"ServerContext({shown})"


# Installed after the dataclass is made: in the class body the descriptor would count as the field's default.
# The generated __init__ stores the given settings through it; the frozen __setattr__ still refuses assignment.
setattr(ServerContext, "settings", _SettingsField())  # noqa: B010  # see above


class FlightServerMethodsFactory(Protocol):
    """A function that builds the service's FlightServerMethods once the server is up."""

    def __call__(self, ctx: ServerContext) -> FlightServerMethods:
        """Build the methods for the server described by `ctx`."""
        ...
