"""Fixtures for config tests: a clean environment and small writers for TOML and PEM files."""

from __future__ import annotations

from pathlib import Path

import pytest
from config_testdata import CERT_PEM, KEY_PEM, WriteToml


@pytest.fixture
def write_toml(tmp_path: Path) -> WriteToml:
    """Write TOML text to a file under tmp_path and return its path."""

    def write(text: str, name: str = "config.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def tls_files(tmp_path: Path) -> tuple[Path, Path]:
    """A PEM certificate file and a PEM private key file."""
    cert = tmp_path / "server.crt"
    key = tmp_path / "server.key"
    cert.write_text(CERT_PEM, encoding="ascii")
    key.write_text(KEY_PEM, encoding="ascii")
    return cert, key
