"""Health of the server and of the modules a service registers."""

from gfs_runtime.health.monitor import HealthReport, ModuleHealthStatus, ServerHealthMonitor

__all__ = ["HealthReport", "ModuleHealthStatus", "ServerHealthMonitor"]
