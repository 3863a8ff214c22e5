"""Shared test data for config tests (a uniquely named module, importable from this directory)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

# Recognisable secret material: tests assert these never show up in reprs, logs-safe dicts or errors.
CERT_SECRET = "CERTBODYc2VjcmV0LWNlcnQ"
KEY_SECRET = "KEYBODYdG9wLXNlY3JldC1rZXk"
TOKEN_SECRET = "tok-9f3e1c2b-very-secret"

CERT_PEM = f"-----BEGIN CERTIFICATE-----\n{CERT_SECRET}\n-----END CERTIFICATE-----\n"
KEY_PEM = f"-----BEGIN PRIVATE KEY-----\n{KEY_SECRET}\n-----END PRIVATE KEY-----\n"

WriteToml = Callable[..., Path]
