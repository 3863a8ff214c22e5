"""gfs_runtime: an opinionated, pluggable Arrow Flight RPC server for production data services.

A drop-in replacement for the public API of ``gooddata-flight-server``: ``import gfs_runtime as gf``.
"""

from gfs_runtime.auth.strategy import TokenVerificationStrategy
from gfs_runtime.config.server_config import AuthenticationMethod, OtelConfig, OtelExporterType, ServerConfig
from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo, RetryInfo
from gfs_runtime.health.monitor import ModuleHealthStatus, ServerHealthMonitor
from gfs_runtime.server.context import FlightServerMethodsFactory, ServerContext
from gfs_runtime.server.discovery import flight_server_methods
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.server.middleware import CallFinalizer, CallInfo, TokenAuthMiddleware
from gfs_runtime.server.server import FlightServer, create_server
from gfs_runtime.tasks.executor import TaskExecutor
from gfs_runtime.tasks.results import (
    ArrowData,
    FlightDataTaskResult,
    ListFlightsTaskResult,
    TaskExecutionResult,
    TaskResult,
)
from gfs_runtime.tasks.task import Task
from gfs_runtime.tasks.task_error import TaskError, TaskWaitTimeoutError

GoodDataFlightServer = FlightServer
"""Alias kept so code ported from gooddata-flight-server runs unchanged."""

__all__ = [
    "ArrowData",
    "AuthenticationMethod",
    "CallFinalizer",
    "CallInfo",
    "ErrorCode",
    "ErrorInfo",
    "FlightDataTaskResult",
    "FlightServer",
    "FlightServerMethods",
    "FlightServerMethodsFactory",
    "GoodDataFlightServer",
    "ListFlightsTaskResult",
    "ModuleHealthStatus",
    "OtelConfig",
    "OtelExporterType",
    "RetryInfo",
    "ServerConfig",
    "ServerContext",
    "ServerHealthMonitor",
    "Task",
    "TaskError",
    "TaskExecutionResult",
    "TaskExecutor",
    "TaskResult",
    "TaskWaitTimeoutError",
    "TokenAuthMiddleware",
    "TokenVerificationStrategy",
    "create_server",
    "flight_server_methods",
]
