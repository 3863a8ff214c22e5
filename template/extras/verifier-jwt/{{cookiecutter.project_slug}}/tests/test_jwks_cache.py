"""The JWKS cache on a fake clock (re-fetch at most once per cooldown, background refresh) and the JWKS fetch."""

from __future__ import annotations

from typing import Any

import pytest
from jwt_support import JwksServer, KeyPair

from {{ cookiecutter.package_name }}.jwks import (
    JwksCache,
    JwksFetchError,
    SigningKey,
    SigningKeysUnavailableError,
    UnknownSigningKeyError,
    fetch_jwks,
    parse_jwks,
)

COOLDOWN_SEC = 30.0
TTL_SEC = 300.0
ALLOWED = frozenset({"RS256", "ES256"})
TWO_FETCHES = 2
FETCH_TIMEOUT_SEC = 5.0
JWKS_LIMIT_BYTES = 65_536


class FakeIdentityProvider:
    """Counts fetches; serves the keys it holds, or fails while `down`."""

    def __init__(self, *keys: KeyPair) -> None:
        self.keys = list(keys)
        self.down = False
        self.fetches = 0

    def fetch(self) -> dict[str, SigningKey]:
        self.fetches += 1
        if self.down:
            raise JwksFetchError("down")
        return parse_jwks({"keys": [key.public_jwk() for key in self.keys]}, ALLOWED)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def key() -> KeyPair:
    return KeyPair.new_ec("ec-1")


def make_cache(idp: FakeIdentityProvider, clock: FakeClock) -> JwksCache:
    cache = JwksCache(idp.fetch, cache_ttl_sec=TTL_SEC, refresh_cooldown_sec=COOLDOWN_SEC, clock=clock)
    cache.prime()
    return cache


def test_unknown_kid_refetches_at_most_once_per_cooldown(key: KeyPair) -> None:
    idp, clock = FakeIdentityProvider(key), FakeClock()
    cache = make_cache(idp, clock)

    clock.now += COOLDOWN_SEC / 2
    with pytest.raises(UnknownSigningKeyError):
        cache.key_for("rotated")
    assert idp.fetches == 1  # within the cooldown of the start-up fetch
    clock.now += COOLDOWN_SEC
    for _ in range(3):
        with pytest.raises(UnknownSigningKeyError):
            cache.key_for("rotated")
    assert idp.fetches == TWO_FETCHES


def test_key_published_after_the_cooldown_is_found(key: KeyPair) -> None:
    idp, clock = FakeIdentityProvider(key), FakeClock()
    cache = make_cache(idp, clock)
    rotated = KeyPair.new_ec("ec-2")
    idp.keys.append(rotated)

    clock.now += COOLDOWN_SEC
    assert cache.key_for(rotated.kid).algorithm == "ES256"


def test_stale_keys_are_served_while_a_failing_refresh_runs_in_the_background(key: KeyPair) -> None:
    idp, clock = FakeIdentityProvider(key), FakeClock()
    cache = make_cache(idp, clock)
    idp.down = True

    clock.now += TTL_SEC + COOLDOWN_SEC
    assert cache.key_for(key.kid)
    cache.close()

    assert idp.fetches == TWO_FETCHES
    assert cache.key_for(key.kid)  # the failed refresh kept the cached keys


def test_keys_unavailable_when_the_first_fetch_failed(key: KeyPair) -> None:
    idp, clock = FakeIdentityProvider(key), FakeClock()
    idp.down = True
    cache = make_cache(idp, clock)

    with pytest.raises(SigningKeysUnavailableError):
        cache.key_for(key.kid)
    idp.down = False
    clock.now += COOLDOWN_SEC
    assert cache.key_for(key.kid)


@pytest.mark.parametrize(
    "change",
    [
        {"kty": "oct", "k": "c2VjcmV0"},
        {"d": "cHJpdmF0ZQ"},
        {"kid": None},
        {"use": "enc"},
        {"alg": "HS256"},
        {"alg": "none"},
    ],
)
def test_unusable_published_keys_are_skipped(key: KeyPair, change: dict[str, Any]) -> None:
    jwk = {**key.public_jwk(), **change}

    assert parse_jwks({"keys": [jwk, KeyPair.new_ec("good").public_jwk()]}, ALLOWED).keys() == {"good"}


@pytest.mark.parametrize("document", [[], {"keys": "x"}, {"no": "keys"}])
def test_document_without_a_keys_list_is_refused(document: object) -> None:
    with pytest.raises(JwksFetchError):
        parse_jwks(document, ALLOWED)


def test_fetch_returns_the_published_keys_by_kid(key: KeyPair) -> None:
    with JwksServer(key) as idp:
        keys = fetch_jwks(
            idp.url(), timeout_sec=FETCH_TIMEOUT_SEC, max_bytes=JWKS_LIMIT_BYTES, allowed_algorithms=ALLOWED
        )

    assert keys.keys() == {key.kid}


def test_fetch_refuses_a_jwks_over_the_size_cap(key: KeyPair) -> None:
    small_cap = 64  # one published EC key is about 200 bytes
    with JwksServer(key) as idp, pytest.raises(JwksFetchError, match="larger than"):
        fetch_jwks(idp.url(), timeout_sec=FETCH_TIMEOUT_SEC, max_bytes=small_cap, allowed_algorithms=ALLOWED)


def test_fetch_does_not_follow_a_redirect(key: KeyPair) -> None:
    with JwksServer(key) as idp, pytest.raises(JwksFetchError, match="HTTP 302"):
        fetch_jwks(
            idp.url(JwksServer.REDIRECT_PATH),
            timeout_sec=FETCH_TIMEOUT_SEC,
            max_bytes=JWKS_LIMIT_BYTES,
            allowed_algorithms=ALLOWED,
        )
