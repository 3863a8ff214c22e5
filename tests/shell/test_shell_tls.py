"""TLS and mutual TLS with certificates generated for the run: real handshakes, and clean refusals to start."""

from __future__ import annotations

from pathlib import Path

import pyarrow.flight
import pytest

from gfs_runtime.errors.exceptions import ConfigError
from gfs_runtime.server.server import create_server
from tests.shell.service import ShellService
from tests.shell.support import ServerFactory, TlsMaterial, client_for, run_action

pytestmark = pytest.mark.timeout(30)

TIMEOUT = pyarrow.flight.FlightCallOptions(timeout=10)


def _tls(material: TlsMaterial, *, files: bool = False, mtls: bool = False) -> dict[str, object]:
    def value(name: str) -> str:
        return f"@{material.path(name)}" if files else getattr(material, name).decode()

    settings: dict[str, object] = {
        "use_tls": True,
        "tls_certificate": value("server_cert"),
        "tls_private_key": value("server_key"),
    }
    if mtls:
        settings.update(use_mtls=True, tls_root_certificate=value("ca_cert"))
    return settings


def test_tls_call_works_with_the_ca_as_the_clients_root(make_server: ServerFactory, tls_material: TlsMaterial) -> None:
    server = make_server(ShellService, **_tls(tls_material))
    assert server.location.uri.decode().startswith("grpc+tls://127.0.0.1:")
    with client_for(server, tls_root_certs=tls_material.ca_cert) as client:
        assert run_action(client, "ok", TIMEOUT) == [b"done"]


def test_tls_material_can_come_from_files(make_server: ServerFactory, tls_material: TlsMaterial) -> None:
    server = make_server(ShellService, **_tls(tls_material, files=True))
    with client_for(server, tls_root_certs=tls_material.ca_cert) as client:
        assert run_action(client, "ok", TIMEOUT) == [b"done"]


def test_client_that_does_not_trust_the_ca_is_refused(make_server: ServerFactory, tls_material: TlsMaterial) -> None:
    server = make_server(ShellService, **_tls(tls_material))
    with client_for(server, tls_root_certs=tls_material.client_cert) as client, pytest.raises(pyarrow.ArrowException):
        run_action(client, "ok", TIMEOUT)


@pytest.mark.parametrize("files", [False, True])
def test_mtls_serves_a_client_with_a_certificate_signed_by_the_root(
    make_server: ServerFactory, tls_material: TlsMaterial, files: bool
) -> None:
    server = make_server(ShellService, **_tls(tls_material, files=files, mtls=True))
    with client_for(
        server,
        tls_root_certs=tls_material.ca_cert,
        cert_chain=tls_material.client_cert,
        private_key=tls_material.client_key,
    ) as client:
        assert run_action(client, "ok", TIMEOUT) == [b"done"]


def test_mtls_refuses_a_client_without_a_certificate(make_server: ServerFactory, tls_material: TlsMaterial) -> None:
    server = make_server(ShellService, **_tls(tls_material, mtls=True))
    with client_for(server, tls_root_certs=tls_material.ca_cert) as client, pytest.raises(pyarrow.ArrowException):
        run_action(client, "ok", TIMEOUT)


def test_mtls_without_tls_refuses_to_start(tls_material: TlsMaterial) -> None:
    overrides = {"server": {"use_mtls": True, "tls_root_certificate": tls_material.ca_cert.decode()}}
    with pytest.raises(ConfigError, match=r"use_mtls.*use_tls"):
        create_server(ShellService, overrides=overrides)


def test_missing_certificate_file_is_an_error_naming_the_setting(
    make_server: ServerFactory, tls_material: TlsMaterial, tmp_path: Path
) -> None:
    settings = {**_tls(tls_material), "tls_certificate": f"@{tmp_path / 'missing.pem'}"}
    with pytest.raises(ConfigError, match=r"tls_certificate.*does not exist"):
        make_server(ShellService, start=False, **settings)


@pytest.mark.parametrize(
    ("setting", "garbage"),
    [
        ("tls_certificate", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n"),
        ("tls_private_key", "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n"),
        ("tls_root_certificate", "-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n"),
    ],
)
def test_garbage_pem_is_an_error_naming_the_setting(
    make_server: ServerFactory, tls_material: TlsMaterial, setting: str, garbage: str
) -> None:
    settings = {**_tls(tls_material, mtls=True), setting: garbage}
    with pytest.raises(ConfigError, match=rf"\[server\.{setting}\] is not a loadable PEM") as caught:
        make_server(ShellService, start=False, **settings)
    assert "bm90" not in str(caught.value)


def test_key_of_another_certificate_is_an_error_naming_the_private_key(
    make_server: ServerFactory, tls_material: TlsMaterial
) -> None:
    settings = {**_tls(tls_material), "tls_private_key": tls_material.stray_key.decode()}
    with pytest.raises(ConfigError, match=r"\[server\.tls_private_key\] does not match the certificate") as caught:
        make_server(ShellService, start=False, **settings)
    body = tls_material.stray_key.decode().splitlines()[1]
    assert body not in str(caught.value)
