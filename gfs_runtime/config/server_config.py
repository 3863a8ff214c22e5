"""The parsed, frozen view of the ``[server]`` settings, and the typed parsing that builds it."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from gfs_runtime.config import server_keys as keys
from gfs_runtime.config.loading import section_values
from gfs_runtime.config.settings_table import SettingsTable
from gfs_runtime.config.tls_material import read_tls_material

if TYPE_CHECKING:
    from dynaconf import Dynaconf

__all__ = [
    "KNOWN_SERVER_KEYS",
    "AuthenticationMethod",
    "OtelConfig",
    "OtelExporterType",
    "ServerConfig",
    "parse_server_config",
]

KNOWN_SERVER_KEYS: Final = keys.KNOWN_SERVER_KEYS
_REDACTED: Final = "<redacted>"


class OtelExporterType(enum.Enum):
    """Where OpenTelemetry spans are exported; ``none`` in settings means no exporter (``None``)."""

    Zipkin = "zipkin"
    OtlpHttp = "otlp-http"
    OtlpGrpc = "otlp-grpc"
    Console = "console"


class AuthenticationMethod(enum.Enum):
    """How calls are authenticated: not at all, or by a token verified by a strategy."""

    NoAuth = "none"
    Token = "token"  # noqa: S105  # a method name, not a secret


@dataclass(frozen=True)
class OtelConfig:
    """OpenTelemetry tracing settings."""

    exporter_type: OtelExporterType | None
    service_name: str
    service_namespace: str | None
    service_instance_id: str | None
    extract_context_from_headers: bool


@dataclass(frozen=True, repr=False)
class ServerConfig:
    """Parsed ``[server]`` settings; its repr never shows the TLS private key or the tokens."""

    listen_host: str
    listen_port: int
    advertise_host: str
    advertise_port: int

    use_tls: bool
    use_mutual_tls: bool
    tls_cert_and_key: tuple[bytes, bytes] | None
    tls_root_cert: bytes | None

    authentication_method: AuthenticationMethod
    token_header_name: str | None
    token_verification: str | None

    task_threads: int
    task_close_threads: int
    task_result_ttl_sec: int

    metrics_host: str | None
    metrics_port: int

    health_check_host: str | None
    health_check_port: int

    malloc_trim_interval_sec: int
    log_event_key_name: str
    log_trace_keys: dict[str, str]

    otel_config: OtelConfig

    task_queue_size: int = keys.DEFAULT_TASK_QUEUE_SIZE
    task_wait_timeout_sec: float = keys.DEFAULT_TASK_WAIT_TIMEOUT_SEC
    shutdown_timeout_sec: float = keys.DEFAULT_SHUTDOWN_TIMEOUT_SEC
    max_command_bytes: int = keys.DEFAULT_MAX_COMMAND_BYTES
    error_tracebacks: bool = False
    enumerated_tokens: tuple[str, ...] = ()

    def without_secrets(self) -> dict[str, Any]:
        """A plain dict of every field, safe to log: key and tokens redacted, certificates reduced to sizes."""
        result: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            result[item.name] = getattr(self, item.name)
        result["authentication_method"] = self.authentication_method.value
        result["log_trace_keys"] = dict(self.log_trace_keys)
        otel = dataclasses.asdict(self.otel_config)
        otel["exporter_type"] = self.otel_config.exporter_type.value if self.otel_config.exporter_type else None
        result["otel_config"] = otel
        if self.tls_cert_and_key is not None:
            result["tls_cert_and_key"] = (f"<certificate, {len(self.tls_cert_and_key[0])} bytes>", _REDACTED)
        if self.tls_root_cert is not None:
            result["tls_root_cert"] = f"<certificate, {len(self.tls_root_cert)} bytes>"
        result["enumerated_tokens"] = f"<redacted: {len(self.enumerated_tokens)} token(s)>"
        return result

    def without_tls(self) -> ServerConfig:
        """A copy whose TLS material is replaced by placeholders (reference API; nothing of the key remains)."""
        cert_and_key = None
        if self.tls_cert_and_key is not None:
            cert_and_key = (b"<certificate>", _REDACTED.encode())
        root = b"<certificate>" if self.tls_root_cert is not None else None
        return dataclasses.replace(self, tls_cert_and_key=cert_and_key, tls_root_cert=root)

    def __repr__(self) -> str:
        """Show every field except secrets, which are redacted."""
        shown = ", ".join(f"{name}={value!r}" for name, value in self.without_secrets().items())
        return f"ServerConfig({shown})"


_AUTH_CHOICES: Final = tuple(method.value for method in AuthenticationMethod)
_NO_EXPORTER: Final = "none"
_EXPORTER_CHOICES: Final = (_NO_EXPORTER, *(exporter.value for exporter in OtelExporterType))


def parse_server_config(
    settings: Dynaconf | Mapping[str, Any], *, sources: Mapping[str, str] | None = None
) -> ServerConfig:
    """Validate the ``[server]`` and ``[enumerated_tokens]`` settings (a Dynaconf or plain merged data)."""
    sources = sources or {}
    server_values = section_values(settings, "server", sources, keys.TLS_KEYS) or {}
    server = SettingsTable("server", server_values, sources, secret_keys=keys.TLS_KEYS)
    server.check_known_keys(KNOWN_SERVER_KEYS)
    token_values = section_values(settings, "enumerated_tokens", sources, ("tokens",)) or {}
    tokens = _read_tokens(SettingsTable("enumerated_tokens", token_values, sources, secret_keys=("tokens",)))
    listen_host = server.text(keys.LISTEN_HOST, keys.DEFAULT_LISTEN_HOST) or keys.DEFAULT_LISTEN_HOST
    listen_port = server.port(keys.LISTEN_PORT, keys.DEFAULT_LISTEN_PORT, allow_zero=True)
    auth_method = AuthenticationMethod(
        server.choice(keys.AUTHENTICATION_METHOD, _AUTH_CHOICES, AuthenticationMethod.NoAuth.value)
    )
    return ServerConfig(
        listen_host=listen_host,
        listen_port=listen_port,
        advertise_host=server.text(keys.ADVERTISE_HOST) or keys.default_advertise_host(listen_host),
        advertise_port=server.port(keys.ADVERTISE_PORT, listen_port),
        **_read_tls(server),
        authentication_method=auth_method,
        token_header_name=server.text(keys.TOKEN_HEADER_NAME),
        token_verification=_read_token_verification(server, auth_method, tokens),
        **_read_tasks(server),
        **_read_observability(server),
        otel_config=_read_otel(server),
        enumerated_tokens=tokens,
    )


def _read_tokens(table: SettingsTable) -> tuple[str, ...]:
    value = table.raw("tokens")
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise table.error("tokens", "must be a list of strings", expected='tokens = ["...", ...]')
    for position, item in enumerate(items, start=1):
        if not isinstance(item, str) or not item.strip():
            raise table.error("tokens", f"token #{position} is not a non-empty string", expected="non-empty strings")
    return tuple(item.strip() for item in items)


def _read_token_verification(
    server: SettingsTable, auth_method: AuthenticationMethod, tokens: tuple[str, ...]
) -> str | None:
    verification = server.text(keys.TOKEN_VERIFICATION, keys.DEFAULT_TOKEN_VERIFICATION)
    if auth_method is not AuthenticationMethod.Token:
        return None
    if verification == keys.DEFAULT_TOKEN_VERIFICATION and not tokens:
        raise server.error(
            keys.AUTHENTICATION_METHOD,
            f"is 'token' with {keys.DEFAULT_TOKEN_VERIFICATION} but no tokens are configured",
            expected="[enumerated_tokens] tokens = [...] (or GFS_ENUMERATED_TOKENS__TOKENS)",
        )
    return verification


def _read_tls(server: SettingsTable) -> dict[str, Any]:
    use_tls = server.boolean(keys.USE_TLS, False)
    use_mtls = server.boolean(keys.USE_MTLS, False)
    if use_mtls and not use_tls:
        raise server.error(keys.USE_MTLS, "is true but use_tls is not", expected="use_tls = true as well")
    cert_and_key = None
    root = None
    if use_tls:
        cert = read_tls_material(server, keys.TLS_CERTIFICATE, required_by=keys.USE_TLS)
        key = read_tls_material(server, keys.TLS_PRIVATE_KEY, required_by=keys.USE_TLS)
        cert_and_key = (cert, key)
    if use_mtls:
        root = read_tls_material(server, keys.TLS_ROOT_CERTIFICATE, required_by=keys.USE_MTLS)
    return {"use_tls": use_tls, "use_mutual_tls": use_mtls, "tls_cert_and_key": cert_and_key, "tls_root_cert": root}


def _read_tasks(server: SettingsTable) -> dict[str, Any]:
    return {
        "task_threads": server.integer(keys.TASK_THREADS, keys.DEFAULT_TASK_THREADS, minimum=1),
        "task_close_threads": server.integer(keys.TASK_CLOSE_THREADS, keys.DEFAULT_TASK_CLOSE_THREADS, minimum=1),
        "task_result_ttl_sec": server.integer(keys.TASK_RESULT_TTL_SEC, keys.DEFAULT_TASK_RESULT_TTL_SEC, minimum=1),
        "task_queue_size": server.integer(keys.TASK_QUEUE_SIZE, keys.DEFAULT_TASK_QUEUE_SIZE, minimum=1),
        "task_wait_timeout_sec": server.seconds(keys.TASK_WAIT_TIMEOUT_SEC, keys.DEFAULT_TASK_WAIT_TIMEOUT_SEC),
        "shutdown_timeout_sec": server.seconds(keys.SHUTDOWN_TIMEOUT_SEC, keys.DEFAULT_SHUTDOWN_TIMEOUT_SEC),
        "max_command_bytes": server.integer(keys.MAX_COMMAND_BYTES, keys.DEFAULT_MAX_COMMAND_BYTES, minimum=1),
        "error_tracebacks": server.boolean(keys.ERROR_TRACEBACKS, False),
    }


def _read_observability(server: SettingsTable) -> dict[str, Any]:
    return {
        "metrics_host": server.text(keys.METRICS_HOST),
        "metrics_port": server.port(keys.METRICS_PORT, keys.DEFAULT_METRICS_PORT, allow_zero=True),
        "health_check_host": server.text(keys.HEALTH_CHECK_HOST),
        "health_check_port": server.port(keys.HEALTH_CHECK_PORT, keys.DEFAULT_HEALTH_CHECK_PORT, allow_zero=True),
        "malloc_trim_interval_sec": server.integer(
            keys.MALLOC_TRIM_INTERVAL_SEC, keys.DEFAULT_MALLOC_TRIM_INTERVAL_SEC, minimum=0
        ),
        "log_event_key_name": server.text(keys.LOG_EVENT_KEY_NAME, keys.DEFAULT_LOG_EVENT_KEY_NAME)
        or keys.DEFAULT_LOG_EVENT_KEY_NAME,
        "log_trace_keys": server.text_mapping(keys.LOG_TRACE_KEYS, keys.TRACE_KEY_NAMES),
    }


def _read_otel(server: SettingsTable) -> OtelConfig:
    exporter = server.choice(keys.OTEL_EXPORTER_TYPE, _EXPORTER_CHOICES, _NO_EXPORTER)
    return OtelConfig(
        exporter_type=None if exporter == _NO_EXPORTER else OtelExporterType(exporter),
        service_name=server.text(keys.OTEL_SERVICE_NAME, keys.DEFAULT_OTEL_SERVICE_NAME)
        or keys.DEFAULT_OTEL_SERVICE_NAME,
        service_namespace=server.text(keys.OTEL_SERVICE_NAMESPACE),
        service_instance_id=server.text(keys.OTEL_SERVICE_INSTANCE_ID),
        extract_context_from_headers=server.boolean(keys.OTEL_EXTRACT_CONTEXT, False),
    )
