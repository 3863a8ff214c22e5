"""How the server's config turns into its parts: locations, the Flight port, TLS checks, auth, middleware, executor."""

from __future__ import annotations

import traceback
from typing import Any

import pyarrow.flight

from gfs_runtime.auth.authenticator import VERIFIER_ERROR, AuthFailureListener, TokenAuthenticator
from gfs_runtime.auth.loading import build_strategy
from gfs_runtime.config import AuthenticationMethod, ServerConfig
from gfs_runtime.errors.exceptions import ServerStartError
from gfs_runtime.server.call_admission import CallMiddlewareFactory
from gfs_runtime.server.call_logging import task_log_binder
from gfs_runtime.server.context import FlightServerMethodsFactory, ServerContext
from gfs_runtime.server.flight_service import FlightService
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.server.middleware import (
    DEFAULT_TRACE_KEYS,
    METHOD_LABELS,
    OTHER_METHOD,
    Authenticator,
)
from gfs_runtime.server.observing import ObservedCallMiddlewareFactory
from gfs_runtime.server.shell import ServerShell
from gfs_runtime.server.traced_methods import TracedMethods
from gfs_runtime.tasks.thread_executor import ThreadTaskExecutor
from gfs_runtime.telemetry.event_logger import get_logger
from gfs_runtime.telemetry.metrics import ServerMetrics
from gfs_runtime.telemetry.tracing import Tracing


def _scheme(config: ServerConfig) -> str:
    return "grpc+tls" if config.use_tls else "grpc"


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def listen_url(config: ServerConfig) -> str:
    """The URL the Flight server binds (port 0 lets the OS pick one)."""
    return f"{_scheme(config)}://{_url_host(config.listen_host)}:{config.listen_port}"


def advertised_location(config: ServerConfig, *, bound_port: int | None) -> pyarrow.flight.Location:
    """Where clients are told to connect; an advertised port of 0 means the port actually bound."""
    port = config.advertise_port
    if port == 0 and bound_port is not None:
        port = bound_port
    return pyarrow.flight.Location(f"{_scheme(config)}://{_url_host(config.advertise_host)}:{port}")


def tls_options(config: ServerConfig) -> dict[str, Any]:
    """The TLS keyword arguments of pyarrow's FlightServerBase for `config`."""
    if not config.use_tls or config.tls_cert_and_key is None:
        return {}
    return {
        "tls_certificates": [config.tls_cert_and_key],
        "verify_client": config.use_mutual_tls,
        "root_certificates": config.tls_root_cert,
    }


def is_loopback_host(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost); no DNS lookup."""
    bare = host.strip().strip("[]")
    if bare.lower() == "localhost":
        return True
    import ipaddress  # noqa: PLC0415  # kept off the import path of gfs_runtime

    try:
        return ipaddress.ip_address(bare).is_loopback
    except ValueError:
        return False


def check_tls_material(config: ServerConfig) -> None:
    """Refuse TLS material OpenSSL cannot load (see `tls_check`); loads ssl only when TLS is on."""
    if config.use_tls and config.tls_cert_and_key is not None:
        from gfs_runtime.server.tls_check import check_tls_material as check  # noqa: PLC0415  # TLS only

        check(config)


def auth_failure_listener(metrics: ServerMetrics | None) -> AuthFailureListener:
    """Counts refused calls by reason (with metrics) and logs them, without the token."""
    logger = get_logger("gfs_runtime.auth")

    def failed(call_info: pyarrow.flight.CallInfo, reason: str, error: BaseException) -> None:
        if metrics is not None:
            metrics.auth_failed(reason)
        method = METHOD_LABELS.get(call_info.method, OTHER_METHOD)
        if reason != VERIFIER_ERROR:
            logger.info("call_unauthenticated", reason=reason, rpc_method=method)
            return
        # the error's message may quote the token: only its type and where it was raised are logged
        frames = traceback.extract_tb(error.__traceback__)
        where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None
        logger.error("token_verification_failed", rpc_method=method, error_type=type(error).__name__, where=where)

    return failed


def build_authenticator(ctx: ServerContext, on_failure: AuthFailureListener | None = None) -> Authenticator | None:
    """The per-call authenticator for the configured authentication method; None without authentication."""
    config = ctx.config
    if config.authentication_method is not AuthenticationMethod.Token:
        return None
    strategy = build_strategy(config.token_verification or "EnumeratedTokenVerification", ctx)
    return TokenAuthenticator(strategy, config.token_header_name, on_failure).authenticate


def _trace_keys(config: ServerConfig) -> tuple[str, str, str]:
    trace_id, span_id, parent_span_id = (config.log_trace_keys.get(key, key) for key in DEFAULT_TRACE_KEYS)
    return trace_id, span_id, parent_span_id


def build_middleware(config: ServerConfig, shell: ServerShell) -> CallMiddlewareFactory:
    """The plain call middleware, or the observing one when metrics or tracing are on."""
    timeouts: dict[str, Any] = {
        "task_wait_timeout_sec": config.task_wait_timeout_sec,
        "error_tracebacks": config.error_tracebacks,
    }
    middleware = (
        ObservedCallMiddlewareFactory(metrics=shell.metrics, tracing=shell.tracing, **timeouts)
        if shell.metrics is not None or shell.tracing.enabled
        else CallMiddlewareFactory(**timeouts)
    )
    middleware.trace_keys = _trace_keys(config)
    return middleware


def build_task_executor(config: ServerConfig, shell: ServerShell) -> ThreadTaskExecutor:
    """The task executor, reporting to the metrics and running tasks in spans when those are on."""
    tracing = shell.tracing
    return ThreadTaskExecutor(
        task_threads=config.task_threads,
        task_close_threads=config.task_close_threads,
        task_queue_size=config.task_queue_size,
        result_ttl_sec=config.task_result_ttl_sec,
        error_tracebacks=config.error_tracebacks,
        observer=None if shell.metrics is None else shell.metrics.tasks,
        task_span=(lambda task_id: tracing.start_task_span(task_id, tracing.capture_context()))
        if tracing.enabled
        else None,
        on_submit=task_log_binder(tracing.current_trace_ids if tracing.enabled else None, _trace_keys(config)),
    )


def warn_if_open_to_anyone(config: ServerConfig) -> None:
    """Log a loud warning when calls are not authenticated on an address other machines can reach."""
    host = config.listen_host
    if config.authentication_method is AuthenticationMethod.NoAuth and not is_loopback_host(host):
        get_logger("gfs_runtime.server").warning(
            "server_unauthenticated",
            listen_host=host,
            problem="authentication_method is 'none' on an address other machines can reach:"
            " anyone who can connect may call every method",
        )


def bind_flight_service(config: ServerConfig, middleware: CallMiddlewareFactory) -> FlightService:
    """Bind the Flight port (with TLS when configured); ServerStartError when it cannot be bound."""
    url = listen_url(config)
    try:
        return FlightService(
            location=url,
            middleware=middleware,
            max_command_bytes=config.max_command_bytes,
            error_tracebacks=config.error_tracebacks,
            **tls_options(config),
        )
    except Exception as e:
        raise ServerStartError(f"cannot serve Flight RPC on {url} (is the port already in use?): {e}") from e


def create_methods(
    methods: FlightServerMethods | FlightServerMethodsFactory, ctx: ServerContext, tracing: Tracing
) -> FlightServerMethods:
    """The service's methods (calling the factory with `ctx`), run inside their call's span when tracing."""
    if not isinstance(methods, FlightServerMethods):
        factory = methods
        try:
            methods = factory(ctx)
        except Exception as e:
            raise ServerStartError(f"the methods factory failed: {type(e).__name__}: {e}") from e
        if not isinstance(methods, FlightServerMethods):
            raise ServerStartError(
                f"the methods factory returned {type(methods).__name__}; it must return a FlightServerMethods"
            )
    return TracedMethods(methods, tracing) if tracing.enabled else methods
