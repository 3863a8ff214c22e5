"""Signing keys from an identity provider's JWKS URL: fetched without redirects, cached, refreshed carefully.

Cached keys keep verifying while the provider is slow or down: a stale cache is refreshed on a background
thread, and only a token naming an unknown key id (`kid`) waits for a fetch, at most once per cooldown.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import math
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import IO, Any, Final
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm
from jwt.exceptions import InvalidKeyError

PublicKey = RSAPublicKey | EllipticCurvePublicKey | Ed25519PublicKey | Ed448PublicKey

_LOGGER: Final = logging.getLogger(__name__)
_READ_CHUNK_BYTES: Final = 65_536
_KEY_READERS: Final[Mapping[str, Callable[[str], object]]] = {
    "RSA": RSAAlgorithm.from_jwk,
    "EC": ECAlgorithm.from_jwk,
    "OKP": OKPAlgorithm.from_jwk,
}


class JwksFetchError(Exception):
    """The JWKS could not be fetched or held no usable signing key."""


class UnknownSigningKeyError(Exception):
    """The token names a key id the identity provider does not publish."""


class SigningKeysUnavailableError(Exception):
    """No signing key could be fetched from the identity provider (yet)."""


@dataclass(frozen=True)
class SigningKey:
    """A published public key, with the algorithm the JWKS binds it to (None when it names none)."""

    key: PublicKey
    algorithm: str | None


def parse_jwks(document: object, allowed_algorithms: frozenset[str]) -> dict[str, SigningKey]:
    """The usable signing keys of a JWKS document by key id; symmetric, private and unnamed keys are skipped."""
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise JwksFetchError("the JWKS document has no 'keys' list")
    usable: dict[str, SigningKey] = {}
    for jwk in keys:
        parsed = _signing_key(jwk, allowed_algorithms) if isinstance(jwk, dict) else None
        if parsed is not None:
            usable[jwk["kid"]] = parsed
    return usable


def _signing_key(jwk: dict[str, Any], allowed_algorithms: frozenset[str]) -> SigningKey | None:
    kid, algorithm, reader = jwk.get("kid"), jwk.get("alg"), _KEY_READERS.get(str(jwk.get("kty")))
    if not isinstance(kid, str) or not kid or reader is None or "d" in jwk:  # "d": a private key was published
        return None
    if jwk.get("use", "sig") != "sig" or (algorithm is not None and algorithm not in allowed_algorithms):
        return None
    try:
        key = reader(json.dumps(jwk))
    except (InvalidKeyError, ValueError, TypeError, KeyError):
        _LOGGER.warning("jwks_key_skipped: key %r could not be read", kid)
        return None
    if not isinstance(key, PublicKey):
        return None
    return SigningKey(key=key, algorithm=algorithm)


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect could lead the fetch to keys an attacker controls: treat any 3xx as a failure."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _handlers_for(url: str) -> list[urllib.request.BaseHandler]:
    """No redirects; and a loopback URL is fetched directly, never through a proxy from the environment."""
    handlers: list[urllib.request.BaseHandler] = [_RefuseRedirects()]
    host = urlsplit(url).hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if loopback:
        handlers.append(urllib.request.ProxyHandler({}))
    return handlers


def fetch_jwks(
    url: str, *, timeout_sec: float, max_bytes: int, allowed_algorithms: frozenset[str]
) -> dict[str, SigningKey]:
    """GET the JWKS (no redirects, size-capped, bounded in time) and return its usable keys by key id."""
    opener = urllib.request.build_opener(*_handlers_for(url))
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310  # scheme checked in settings
    deadline = time.monotonic() + timeout_sec
    try:
        with opener.open(request, timeout=timeout_sec) as response:
            body = _read_capped(response, max_bytes, deadline)
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the response and its socket
        raise JwksFetchError(f"the JWKS URL answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
        raise JwksFetchError(f"cannot fetch the JWKS: {type(exc).__name__}: {exc}") from None
    try:
        document = json.loads(body)
    except ValueError:
        raise JwksFetchError("the JWKS is not JSON") from None
    keys = parse_jwks(document, allowed_algorithms)
    if not keys:
        raise JwksFetchError("the JWKS holds no usable signing key")
    return keys


def _read_capped(response: IO[bytes], max_bytes: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read(_READ_CHUNK_BYTES):
        size += len(chunk)
        if size > max_bytes:
            raise JwksFetchError(f"the JWKS is larger than {max_bytes} bytes")
        if time.monotonic() > deadline:
            raise JwksFetchError("the JWKS took too long to download")
        chunks.append(chunk)
    return b"".join(chunks)


class JwksCache:
    """Keys by key id: cached for `cache_ttl_sec`, then refreshed in the background; fetched at most once per
    `refresh_cooldown_sec` for a token with an unknown key id."""

    def __init__(
        self,
        fetch: Callable[[], dict[str, SigningKey]],
        *,
        cache_ttl_sec: float,
        refresh_cooldown_sec: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._cache_ttl_sec = cache_ttl_sec
        self._cooldown_sec = refresh_cooldown_sec
        self._state_lock = threading.Lock()  # guards the fields below
        self._fetch_lock = threading.Lock()  # one fetch at a time
        self._keys: dict[str, SigningKey] | None = None
        self._fetched_at = -math.inf
        self._attempted_at = -math.inf
        self._last_error: str | None = None
        self._refresher: threading.Thread | None = None

    def prime(self) -> None:
        """Fetch the keys once at start-up; a failure is logged and retried when a token needs a key."""
        try:
            self._fetch_now()
        except JwksFetchError as exc:
            _LOGGER.warning("jwks_fetch_failed: %s", exc)

    def key_for(self, kid: str) -> SigningKey:
        """The key with this id; an unknown id waits for a re-fetch unless one was tried within the cooldown."""
        with self._state_lock:
            key = self._keys.get(kid) if self._keys is not None else None
            stale = self._clock() - self._fetched_at > self._cache_ttl_sec
        if key is None:
            return self._key_after_fetch(kid)
        if stale:
            self._refresh_in_background()
        return key

    def close(self, timeout_sec: float = 10.0) -> None:
        """Wait for a background refresh in progress to end (for tests and orderly shutdown)."""
        with self._state_lock:
            refresher = self._refresher
        if refresher is not None:
            refresher.join(timeout_sec)

    def _key_after_fetch(self, kid: str) -> SigningKey:
        with self._fetch_lock:
            with self._state_lock:
                known = self._keys
                key = known.get(kid) if known is not None else None
                cooling = self._clock() - self._attempted_at < self._cooldown_sec
            if key is not None:  # a fetch that ended while this call waited brought it
                return key
            if cooling:
                if known is None:
                    raise SigningKeysUnavailableError(self._last_error or "the JWKS has not been fetched yet")
                raise UnknownSigningKeyError(kid)
            try:
                keys = self._fetch_now()
            except JwksFetchError as exc:
                raise SigningKeysUnavailableError(str(exc)) from None
        if kid not in keys:
            raise UnknownSigningKeyError(kid)
        return keys[kid]

    def _fetch_now(self) -> dict[str, SigningKey]:
        with self._state_lock:
            self._attempted_at = self._clock()
        try:
            keys = self._fetch()
        except JwksFetchError as exc:
            with self._state_lock:
                self._last_error = str(exc)
            raise
        with self._state_lock:
            self._keys, self._fetched_at, self._last_error = keys, self._clock(), None
        return keys

    def _refresh_in_background(self) -> None:
        with self._state_lock:
            running = self._refresher is not None and self._refresher.is_alive()
            if running or self._clock() - self._attempted_at < self._cooldown_sec:
                return
            self._attempted_at = self._clock()  # claims this attempt: no second thread starts meanwhile
            self._refresher = threading.Thread(target=self._refresh, name="jwks-refresh", daemon=True)
            refresher = self._refresher
        refresher.start()

    def _refresh(self) -> None:
        with self._fetch_lock:
            try:
                self._fetch_now()
            except JwksFetchError as exc:
                _LOGGER.warning("jwks_refresh_failed (the cached keys stay in use): %s", exc)
            except Exception:  # a background thread must not die silently; the cached keys stay in use
                _LOGGER.exception("jwks_refresh_failed")
