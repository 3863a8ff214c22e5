"""The `[jwt]` settings are checked when the server starts: unsafe or incomplete ones are refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jwt_support import AUDIENCE, ISSUER, KeyPair

from {{ cookiecutter.package_name }}.jwt_settings import DEFAULT_ALGORITHMS, JwtSettings

JWKS_URL = "https://idp.example.test/.well-known/jwks.json"


def settings(**table: Any) -> JwtSettings:
    return JwtSettings.from_settings({"jwt": {"issuer": ISSUER, "audience": AUDIENCE, **table}})


def test_jwks_url_with_the_defaults_is_taken() -> None:
    taken = settings(jwks_url=JWKS_URL)

    assert taken.jwks_url == JWKS_URL
    assert taken.algorithms == DEFAULT_ALGORITHMS
    assert taken.claims_to_require == ("exp", "iss", "aud", "sub")


def test_plain_http_jwks_url_is_refused_unless_allowed() -> None:
    with pytest.raises(ValueError, match="https"):
        settings(jwks_url="http://idp.example.test/jwks.json")

    assert settings(jwks_url="http://127.0.0.1:8080/jwks.json", allow_insecure_http=True).jwks_url


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://idp.example.test/jwks.json", "https:///jwks.json"])
def test_jwks_url_that_is_not_a_web_address_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="jwks_url"):
        settings(jwks_url=url, allow_insecure_http=True)


@pytest.mark.parametrize("algorithm", ["HS256", "none", "HS512", "rs256"])
def test_algorithm_that_is_not_asymmetric_is_refused(algorithm: str) -> None:
    with pytest.raises(ValueError, match="asymmetric"):
        settings(jwks_url=JWKS_URL, algorithms=["RS256", algorithm])


@pytest.mark.parametrize("sources", [{}, {"jwks_url": JWKS_URL, "public_key": "-----BEGIN PUBLIC KEY-----"}])
def test_exactly_one_key_source_is_required(sources: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        settings(**sources)


@pytest.mark.parametrize("missing", ["issuer", "audience"])
def test_issuer_and_audience_are_required(missing: str) -> None:
    table = {"issuer": ISSUER, "audience": AUDIENCE, "jwks_url": JWKS_URL}
    del table[missing]

    with pytest.raises(ValueError, match=missing):
        JwtSettings.from_settings({"jwt": table})


@pytest.mark.parametrize(
    ("key", "value"),
    [("leeway_sec", -1), ("leeway_sec", 3600), ("max_token_bytes", "8k"), ("jwks_timeout_sec", 0), ("algorithms", [])],
)
def test_out_of_range_values_are_refused(key: str, value: object) -> None:
    with pytest.raises(ValueError, match=key):
        settings(jwks_url=JWKS_URL, **{key: value})


def test_public_key_is_read_from_the_file_named_after_the_at_sign(tmp_path: Path) -> None:
    pem = KeyPair.new_ec("pem").public_pem()
    path = tmp_path / "idp.pem"
    path.write_text(pem, encoding="ascii")

    assert settings(public_key=f"@{path}").public_key_pem == pem


def test_public_key_that_is_not_pem_is_refused() -> None:
    with pytest.raises(ValueError, match="PEM"):
        settings(public_key="a-shared-secret")
