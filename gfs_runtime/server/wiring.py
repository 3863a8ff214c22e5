"""How the server's config turns into Flight locations, TLS options and the call authenticator."""

from __future__ import annotations

from typing import Any

import pyarrow.flight

from gfs_runtime.auth.authenticator import TokenAuthenticator
from gfs_runtime.auth.loading import build_strategy
from gfs_runtime.config import AuthenticationMethod, ServerConfig
from gfs_runtime.server.context import ServerContext
from gfs_runtime.server.middleware import Authenticator


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


def build_authenticator(ctx: ServerContext) -> Authenticator | None:
    """The per-call authenticator for the configured authentication method; None without authentication."""
    config = ctx.config
    if config.authentication_method is not AuthenticationMethod.Token:
        return None
    strategy = build_strategy(config.token_verification or "EnumeratedTokenVerification", ctx)
    return TokenAuthenticator(strategy, config.token_header_name).authenticate
