"""Module health statuses and the liveness / readiness verdicts derived from them."""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass


class ModuleHealthStatus(enum.Enum):
    """Health of one module of a service."""

    OK = "ok"
    NOT_OK = "not_ok"
    """Unrecoverable: fails /live and /ready so that Kubernetes restarts the pod."""
    NOT_READY = "not_ready"
    """A dependency is down: fails /ready only, so traffic stops but the pod is not restarted."""


@dataclass(frozen=True)
class HealthReport:
    """A verdict with the names of the modules (or server state) that spoiled it."""

    healthy: bool
    failing: tuple[str, ...]


class ServerHealthMonitor:
    """Thread-safe record of module statuses plus whether the server itself accepts traffic."""

    def __init__(self, trim_interval: int = 30) -> None:
        # trim_interval is accepted for compatibility with the reference's signature; malloc
        # trimming is scheduled by the server from `malloc_trim_interval_sec`.
        self.trim_interval = trim_interval
        self._lock = threading.Lock()
        self._statuses: dict[str, ModuleHealthStatus] = {}
        self._server_state = "starting"
        self._accepting = False

    @property
    def module_statuses(self) -> dict[str, ModuleHealthStatus]:
        """A snapshot of every module's status."""
        with self._lock:
            return dict(self._statuses)

    def set_module_status(self, name: str, status: ModuleHealthStatus) -> None:
        """Record the status of module ``name``."""
        with self._lock:
            self._statuses[name] = status

    def set_server_state(self, state: str, *, accepting_traffic: bool) -> None:
        """Record the server's lifecycle state and whether it may receive traffic."""
        with self._lock:
            self._server_state = state
            self._accepting = accepting_traffic

    def liveness(self) -> HealthReport:
        """Live unless some module is NOT_OK."""
        with self._lock:
            failing = tuple(sorted(n for n, s in self._statuses.items() if s is ModuleHealthStatus.NOT_OK))
        return HealthReport(healthy=not failing, failing=failing)

    def readiness(self) -> HealthReport:
        """Ready when the server accepts traffic and every module is OK."""
        with self._lock:
            failing = sorted(n for n, s in self._statuses.items() if s is not ModuleHealthStatus.OK)
            if not self._accepting:
                failing.insert(0, f"server:{self._server_state}")
        return HealthReport(healthy=not failing, failing=tuple(failing))

    def is_live(self) -> bool:
        """True when no module reports NOT_OK."""
        return self.liveness().healthy

    def is_ready(self) -> bool:
        """True when the server accepts traffic and every module is OK."""
        return self.readiness().healthy
