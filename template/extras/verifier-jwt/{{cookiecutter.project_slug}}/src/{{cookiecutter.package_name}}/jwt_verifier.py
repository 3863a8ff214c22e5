"""Verifies JWT bearer tokens from an identity provider (added by `gfs add-verifier jwt`).

Selected by `[server] authentication_method = "token"` and `token_verification` naming this module:
    token_verification = "{{ cookiecutter.package_name }}.jwt_verifier"
Its settings are the `[jwt]` table (see `jwt_settings.py`). A token passes only when all of these hold:
it is at most `max_token_bytes` long; its header names an allowed asymmetric algorithm and no key location
(`jku`, `x5u`, `jwk`); its signature verifies with the key the JWKS publishes under its `kid` (or with the
configured PEM key), a key of the algorithm's type; `exp` is a number in the future, `nbf` and `iat` (when
present) are numbers not in the future, each within `leeway_sec`; `iss` equals the issuer exactly; `aud`
is or contains the audience; and every required claim is present.

What `verify` returns, the token's claims, is the caller's identity: a method reads it as
`caller_claims(context)` (a `VerifiedClaims` mapping, e.g. `caller_claims(context)["sub"]`), which is
`self.call_info_middleware(context).token_data`.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterator, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, Final, Protocol

import gfs_runtime as gf
import jwt
import pyarrow.flight
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from {{ cookiecutter.package_name }}.jwks import (
    JwksCache,
    PublicKey,
    SigningKeysUnavailableError,
    UnknownSigningKeyError,
    fetch_jwks,
)
from {{ cookiecutter.package_name }}.jwt_settings import JwtSettings

if TYPE_CHECKING:
    from gfs_runtime import ServerContext

REASON_TOO_LARGE: Final = "the token is larger than the size limit"
REASON_MALFORMED: Final = "the token is not a well-formed JWT"
REASON_ALGORITHM: Final = "the token's signing algorithm is not allowed"
REASON_KEY_LOCATION: Final = "the token's header points at a key (jku, x5u or jwk), which is never trusted"
REASON_NO_KEY_ID: Final = "the token names no signing key (kid)"
REASON_UNKNOWN_KEY: Final = "the token is signed with a key the identity provider does not publish"
REASON_KEY_MISMATCH: Final = "the token's algorithm does not fit its signing key"
REASON_SIGNATURE: Final = "the token's signature does not verify"
REASON_NOT_A_NUMBER: Final = "the token's exp, nbf and iat must be numbers"
REASON_EXPIRED: Final = "the token has expired"
REASON_NOT_YET_VALID: Final = "the token is not valid yet (nbf)"
REASON_ISSUED_IN_FUTURE: Final = "the token is issued in the future (iat)"
REASON_ISSUER: Final = "the token's issuer is not accepted"
REASON_AUDIENCE: Final = "the token is not meant for this service (aud)"
REASON_MISSING_CLAIM: Final = "the token lacks a required claim"
REASON_KEYS_UNAVAILABLE: Final = "the identity provider's signing keys are unavailable; retry later"
KEY_LOCATION_HEADERS: Final = frozenset({"jku", "x5u", "jwk"})
MIN_RSA_KEY_BITS: Final = 2048
_CURVE_OF_ALGORITHM: Final = {"ES256": "secp256r1", "ES384": "secp384r1", "ES512": "secp521r1"}
_LOGGER: Final = logging.getLogger(__name__)


class VerifiedClaims(Mapping[str, Any]):
    """The claims of a verified token, read-only: the caller's identity. Its repr (in logs) shows sub and iss only."""

    def __init__(self, claims: Mapping[str, Any]) -> None:
        self._claims = dict(claims)

    def __getitem__(self, name: str) -> Any:
        return self._claims[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._claims)

    def __len__(self) -> int:
        return len(self._claims)

    def __repr__(self) -> str:
        return f"VerifiedClaims(sub={self._claims.get('sub')!r}, iss={self._claims.get('iss')!r})"


class SigningKeys(Protocol):
    """Where the key that should have signed a token comes from."""

    def key_for(self, header: Mapping[str, Any]) -> PublicKey:
        """The public key for a token with this (unverified) header."""
        ...


class StaticKey:
    """One configured PEM public key signs every token; the header's `kid` is not consulted."""

    def __init__(self, pem: str) -> None:
        key = load_pem_public_key(pem.encode("ascii"))
        if not isinstance(key, PublicKey):
            raise ValueError("[jwt] public_key must be an RSA, EC or EdDSA public key")  # never an HMAC secret
        if isinstance(key, RSAPublicKey) and key.key_size < MIN_RSA_KEY_BITS:
            raise ValueError(f"[jwt] public_key is an RSA key of {key.key_size} bits; at least {MIN_RSA_KEY_BITS}")
        self._key = key

    def key_for(self, header: Mapping[str, Any]) -> PublicKey:
        """The configured key."""
        return self._key


class JwksKeys:
    """The key the identity provider's JWKS publishes under the token's `kid`."""

    def __init__(self, cache: JwksCache) -> None:
        self.cache = cache

    def key_for(self, header: Mapping[str, Any]) -> PublicKey:
        """The published key named by `kid`; it must be bound to the token's algorithm when the JWKS says one."""
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise rejected(REASON_NO_KEY_ID)
        try:
            signing_key = self.cache.key_for(kid)
        except UnknownSigningKeyError:
            raise rejected(REASON_UNKNOWN_KEY) from None
        except SigningKeysUnavailableError as exc:
            _LOGGER.warning("jwt_signing_keys_unavailable: %s", exc)
            raise gf.ErrorInfo.for_reason(
                gf.ErrorCode.NOT_READY, f"Authentication unavailable: {REASON_KEYS_UNAVAILABLE}."
            ).to_unavailable_error() from None
        if signing_key.algorithm is not None and signing_key.algorithm != header.get("alg"):
            raise rejected(REASON_KEY_MISMATCH)
        return signing_key.key


def rejected(reason: str) -> pyarrow.flight.FlightUnauthenticatedError:
    """The error a caller gets for a token refused for `reason` (a fixed text: never the token's content)."""
    return gf.ErrorInfo.for_reason(gf.ErrorCode.UNKNOWN, f"Authentication failed: {reason}.").to_unauthenticated_error()


def key_fits_algorithm(key: PublicKey, algorithm: str) -> bool:
    """True when `key` is of the type `algorithm` signs with, so a key is never used under a foreign algorithm."""
    if algorithm.startswith(("RS", "PS")):
        return isinstance(key, RSAPublicKey)
    if algorithm == "EdDSA":
        return isinstance(key, Ed25519PublicKey | Ed448PublicKey)
    curve = _CURVE_OF_ALGORITHM.get(algorithm)
    return isinstance(key, EllipticCurvePublicKey) and key.curve.name == curve


def caller_claims(context: pyarrow.flight.ServerCallContext) -> VerifiedClaims | None:
    """The verified claims of the current call's caller; None when the call was not authenticated by a JWT."""
    identity = gf.FlightServerMethods.call_info_middleware(context).token_data
    return identity if isinstance(identity, VerifiedClaims) else None


def is_number(value: object) -> bool:
    """A JSON number (not a bool, not a numeric string), finite."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class JwtVerification(gf.TokenVerificationStrategy):
    """Accepts JWTs signed by the identity provider for this service; returns their claims as the identity."""

    def __init__(self, settings: JwtSettings, keys: SigningKeys) -> None:
        self._settings = settings
        self._keys = keys

    @classmethod
    def create(cls, ctx: ServerContext) -> JwtVerification:
        """Read the `[jwt]` settings and, with a JWKS URL, fetch the keys once (a failure is retried later)."""
        settings = JwtSettings.from_settings(ctx.settings)
        return cls(settings, build_signing_keys(settings))

    def verify(self, call_info: pyarrow.flight.CallInfo, token: str) -> VerifiedClaims:
        """The token's claims when every rule holds; FlightUnauthenticatedError naming the first rule broken."""
        if len(token.encode("utf-8")) > self._settings.max_token_bytes:  # before any parsing
            raise rejected(REASON_TOO_LARGE)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise rejected(REASON_MALFORMED) from None
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm not in self._settings.algorithms:
            raise rejected(REASON_ALGORITHM)  # `none` and HS* are never in the list
        if KEY_LOCATION_HEADERS & header.keys():
            raise rejected(REASON_KEY_LOCATION)
        key = self._keys.key_for(header)
        if not key_fits_algorithm(key, algorithm):
            raise rejected(REASON_KEY_MISMATCH)
        claims = self._decode(token, key, algorithm)
        self._check_times(claims)
        return VerifiedClaims(claims)

    def close(self) -> None:
        """Wait for a background JWKS refresh in progress to end."""
        if isinstance(self._keys, JwksKeys):
            self._keys.cache.close()

    def _decode(self, token: str, key: PublicKey, algorithm: str) -> dict[str, Any]:
        """Check the signature, issuer, audience and required claims with PyJWT (times are checked after)."""
        settings = self._settings
        options: jwt.types.Options = {
            "require": list(settings.claims_to_require),
            "verify_exp": False,
            "verify_nbf": False,
            "verify_iat": False,
            "enforce_minimum_key_length": True,
        }
        try:
            claims: dict[str, Any] = jwt.decode(
                token, key, algorithms=[algorithm], audience=settings.audience, issuer=settings.issuer, options=options
            )
        except jwt.InvalidSignatureError:
            raise rejected(REASON_SIGNATURE) from None
        except jwt.MissingRequiredClaimError as exc:
            raise rejected(f"{REASON_MISSING_CLAIM} ({exc.claim})") from None
        except jwt.InvalidIssuerError:
            raise rejected(REASON_ISSUER) from None
        except jwt.InvalidAudienceError:
            raise rejected(REASON_AUDIENCE) from None
        except jwt.InvalidTokenError:
            raise rejected(REASON_MALFORMED) from None
        return claims

    def _check_times(self, claims: Mapping[str, Any]) -> None:
        """exp (required), nbf and iat must be JSON numbers, and now must lie between them, give or take the leeway."""
        if not all(is_number(claims[name]) for name in ("exp", "nbf", "iat") if name in claims):
            raise rejected(REASON_NOT_A_NUMBER)
        now, leeway = time.time(), self._settings.leeway_sec
        if claims["exp"] <= now - leeway:
            raise rejected(REASON_EXPIRED)
        if claims.get("nbf", -math.inf) > now + leeway:
            raise rejected(REASON_NOT_YET_VALID)
        if claims.get("iat", -math.inf) > now + leeway:
            raise rejected(REASON_ISSUED_IN_FUTURE)


def build_signing_keys(settings: JwtSettings) -> SigningKeys:
    """The key source the settings name: the JWKS URL (fetched once now) or the PEM public key."""
    if settings.jwks_url is None:
        return StaticKey(settings.public_key_pem or "")  # JwtSettings holds exactly one of the two
    fetch = partial(
        fetch_jwks,
        settings.jwks_url,
        timeout_sec=settings.jwks_timeout_sec,
        max_bytes=settings.jwks_max_bytes,
        allowed_algorithms=frozenset(settings.algorithms),
    )
    cache = JwksCache(
        fetch, cache_ttl_sec=settings.jwks_cache_ttl_sec, refresh_cooldown_sec=settings.jwks_refresh_cooldown_sec
    )
    cache.prime()
    return JwksKeys(cache)
