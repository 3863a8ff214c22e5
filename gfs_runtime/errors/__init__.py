"""Error codes, structured error info and the gfs error tree."""

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.exceptions import ConfigError, GfsError, MethodsDiscoveryError, ServerStartError
from gfs_runtime.errors.info import ErrorInfo, RetryInfo
from gfs_runtime.errors.translate import flight_error_for

__all__ = [
    "ConfigError",
    "ErrorCode",
    "ErrorInfo",
    "GfsError",
    "MethodsDiscoveryError",
    "RetryInfo",
    "ServerStartError",
    "flight_error_for",
]
