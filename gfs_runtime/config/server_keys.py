"""Names and defaults of the ``[server]`` settings (the reference's keys plus gfs's own)."""

from __future__ import annotations

import socket
from typing import Final

LISTEN_HOST: Final = "listen_host"
LISTEN_PORT: Final = "listen_port"
ADVERTISE_HOST: Final = "advertise_host"
ADVERTISE_PORT: Final = "advertise_port"
USE_TLS: Final = "use_tls"
USE_MTLS: Final = "use_mtls"
TLS_CERTIFICATE: Final = "tls_certificate"
TLS_PRIVATE_KEY: Final = "tls_private_key"
TLS_ROOT_CERTIFICATE: Final = "tls_root_certificate"
AUTHENTICATION_METHOD: Final = "authentication_method"
TOKEN_HEADER_NAME: Final = "token_header_name"  # noqa: S105  # a setting name, not a secret
TOKEN_VERIFICATION: Final = "token_verification"  # noqa: S105  # a setting name, not a secret
TASK_THREADS: Final = "task_threads"
TASK_CLOSE_THREADS: Final = "task_close_threads"
TASK_RESULT_TTL_SEC: Final = "task_result_ttl_sec"
METRICS_HOST: Final = "metrics_host"
METRICS_PORT: Final = "metrics_port"
HEALTH_CHECK_HOST: Final = "health_check_host"
HEALTH_CHECK_PORT: Final = "health_check_port"
MALLOC_TRIM_INTERVAL_SEC: Final = "malloc_trim_interval_sec"
LOG_EVENT_KEY_NAME: Final = "log_event_key_name"
LOG_TRACE_KEYS: Final = "log_trace_keys"
OTEL_EXPORTER_TYPE: Final = "otel_exporter_type"
OTEL_SERVICE_NAME: Final = "otel_service_name"
OTEL_SERVICE_NAMESPACE: Final = "otel_service_namespace"
OTEL_SERVICE_INSTANCE_ID: Final = "otel_service_instance_id"
OTEL_EXTRACT_CONTEXT: Final = "otel_extract_context"
TASK_QUEUE_SIZE: Final = "task_queue_size"
TASK_WAIT_TIMEOUT_SEC: Final = "task_wait_timeout_sec"
SHUTDOWN_TIMEOUT_SEC: Final = "shutdown_timeout_sec"
MAX_COMMAND_BYTES: Final = "max_command_bytes"
ERROR_TRACEBACKS: Final = "error_tracebacks"

KNOWN_SERVER_KEYS: Final[tuple[str, ...]] = (
    LISTEN_HOST,
    LISTEN_PORT,
    ADVERTISE_HOST,
    ADVERTISE_PORT,
    USE_TLS,
    USE_MTLS,
    TLS_CERTIFICATE,
    TLS_PRIVATE_KEY,
    TLS_ROOT_CERTIFICATE,
    AUTHENTICATION_METHOD,
    TOKEN_HEADER_NAME,
    TOKEN_VERIFICATION,
    TASK_THREADS,
    TASK_CLOSE_THREADS,
    TASK_RESULT_TTL_SEC,
    METRICS_HOST,
    METRICS_PORT,
    HEALTH_CHECK_HOST,
    HEALTH_CHECK_PORT,
    MALLOC_TRIM_INTERVAL_SEC,
    LOG_EVENT_KEY_NAME,
    LOG_TRACE_KEYS,
    OTEL_EXPORTER_TYPE,
    OTEL_SERVICE_NAME,
    OTEL_SERVICE_NAMESPACE,
    OTEL_SERVICE_INSTANCE_ID,
    OTEL_EXTRACT_CONTEXT,
    TASK_QUEUE_SIZE,
    TASK_WAIT_TIMEOUT_SEC,
    SHUTDOWN_TIMEOUT_SEC,
    MAX_COMMAND_BYTES,
    ERROR_TRACEBACKS,
)
"""Every key the ``[server]`` table accepts."""

TLS_KEYS: Final = (TLS_CERTIFICATE, TLS_PRIVATE_KEY, TLS_ROOT_CERTIFICATE)
TRACE_KEY_NAMES: Final = ("trace_id", "span_id", "parent_span_id")

DEFAULT_LISTEN_HOST: Final = "127.0.0.1"
DEFAULT_LISTEN_PORT: Final = 17001
DEFAULT_TOKEN_VERIFICATION: Final = "EnumeratedTokenVerification"  # noqa: S105  # a setting name, not a secret
DEFAULT_TASK_THREADS: Final = 32
DEFAULT_TASK_CLOSE_THREADS: Final = 2
DEFAULT_TASK_RESULT_TTL_SEC: Final = 60
DEFAULT_METRICS_PORT: Final = 17101
DEFAULT_HEALTH_CHECK_PORT: Final = 8877
DEFAULT_MALLOC_TRIM_INTERVAL_SEC: Final = 30
DEFAULT_LOG_EVENT_KEY_NAME: Final = "event"
DEFAULT_OTEL_SERVICE_NAME: Final = "unknown_service"
DEFAULT_TASK_QUEUE_SIZE: Final = 1024
DEFAULT_TASK_WAIT_TIMEOUT_SEC: Final = 60.0
DEFAULT_SHUTDOWN_TIMEOUT_SEC: Final = 30.0
DEFAULT_MAX_COMMAND_BYTES: Final = 1024 * 1024


def is_wildcard_host(host: str) -> bool:
    """True for addresses that mean "every interface" (0.0.0.0, ::), which clients cannot connect to."""
    bare = host.strip().strip("[]")
    if not bare:
        return True
    import ipaddress  # noqa: PLC0415  # kept off the import path of gfs_runtime

    try:
        return ipaddress.ip_address(bare).is_unspecified
    except ValueError:
        return False


def default_advertise_host(listen_host: str) -> str:
    """The listen host when clients can reach it as is; else this machine's FQDN (looked up only then)."""
    if is_wildcard_host(listen_host):
        return socket.getfqdn()
    return listen_host
