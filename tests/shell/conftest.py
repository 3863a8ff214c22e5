"""Fixtures for the production-shell tests: servers with the shell configured, TLS material, logging restored."""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gfs_runtime.config import read_config
from gfs_runtime.server.server import FlightServer
from gfs_runtime.testing import stop
from tests.shell.support import ServerFactory, TlsMaterial

START_TIMEOUT_SEC = 30.0


@pytest.fixture
def make_server() -> Iterator[ServerFactory]:
    """Build (and, unless told not to, start and wait for) servers on 127.0.0.1:0; all are stopped after."""
    with contextlib.ExitStack() as stack:

        def make(
            methods: Any,
            *,
            span_exporter: Any = None,
            start: bool = True,
            sections: dict[str, Any] | None = None,
            **server: Any,
        ) -> FlightServer:
            defaults = {"listen_host": "127.0.0.1", "listen_port": 0, "task_threads": 2, "task_close_threads": 1}
            settings, config = read_config((), {**(sections or {}), "server": {**defaults, **server}})
            flight_server = FlightServer(settings, config, methods, span_exporter=span_exporter)
            if start:
                flight_server.start(handle_signals=False)
                stack.callback(stop, flight_server)
                assert flight_server.wait_for_start(START_TIMEOUT_SEC)
            return flight_server

        yield make


_STRATEGY_SOURCE = """
import pyarrow.flight
from gfs_runtime.auth.strategy import TokenVerificationStrategy
from gfs_runtime.errors.info import ErrorInfo

class UserTokens(TokenVerificationStrategy):
    def verify(self, call_info, token):
        if token == "alice-token":
            return {"user": "alice"}
        if token == "forbidden-token":
            raise pyarrow.flight.FlightUnauthorizedError("alice may not do this")
        if token == "boom-token":
            raise RuntimeError(f"the verifier broke on {token}")
        raise ErrorInfo.for_reason(0, "unknown token").to_unauthenticated_error()
"""


@pytest.fixture
def strategy_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A token verification module: alice-token is alice, forbidden-token unauthorized, boom-token a crash."""
    name = f"gfs_shell_strategy_{id(tmp_path)}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(_STRATEGY_SOURCE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="session")
def tls_material(tmp_path_factory: pytest.TempPathFactory) -> TlsMaterial:
    """A CA, a server certificate for 127.0.0.1/localhost, a client certificate and a stray key, as PEM + files."""
    ca_key, server_key, client_key, stray_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(4))
    ca = _certificate("gfs test CA", ca_key, None, [(x509.BasicConstraints(ca=True, path_length=None), True)])
    issuer = (ca.subject, ca_key)
    server_names = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    server = _certificate(
        "gfs test server",
        server_key,
        issuer,
        [(server_names, False), (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)],
    )
    client = _certificate(
        "gfs test client", client_key, issuer, [(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)]
    )
    directory = tmp_path_factory.mktemp("tls")
    material = TlsMaterial(
        ca_cert=ca.public_bytes(serialization.Encoding.PEM),
        server_cert=server.public_bytes(serialization.Encoding.PEM),
        server_key=_pem_key(server_key),
        client_cert=client.public_bytes(serialization.Encoding.PEM),
        client_key=_pem_key(client_key),
        stray_key=_pem_key(stray_key),
        directory=directory,
    )
    for name in ("ca_cert", "server_cert", "server_key", "client_cert", "client_key", "stray_key"):
        path: Path = material.path(name)
        path.write_bytes(getattr(material, name))
        path.chmod(0o600)
    return material
