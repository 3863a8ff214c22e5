"""Settings of the JWT verifier: the `[jwt]` table of the config files, checked when the server starts.

Every key can be overridden by an env var `GFS_JWT__<KEY>` (e.g. `GFS_JWT__ISSUER`); the config files list
them with their defaults and meaning.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

SECTION: Final = "jwt"
ASYMMETRIC_ALGORITHMS: Final = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_ALGORITHMS: Final = ("RS256", "ES256")
DEFAULT_REQUIRED_CLAIMS: Final = ("sub",)
ALWAYS_REQUIRED_CLAIMS: Final = ("exp", "iss", "aud")
DEFAULT_LEEWAY_SEC: Final = 30.0
MAX_LEEWAY_SEC: Final = 300.0
DEFAULT_MAX_TOKEN_BYTES: Final = 8192
DEFAULT_JWKS_CACHE_TTL_SEC: Final = 300.0
DEFAULT_JWKS_REFRESH_COOLDOWN_SEC: Final = 30.0
DEFAULT_JWKS_TIMEOUT_SEC: Final = 5.0
DEFAULT_JWKS_MAX_BYTES: Final = 262_144
_FILE_MARKER: Final = "@"
_PEM_MARKER: Final = "-----BEGIN "


@dataclass(frozen=True)
class JwtSettings:
    """What a token must satisfy and where the keys that sign it come from (a JWKS URL or one PEM public key)."""

    issuer: str
    audience: str
    jwks_url: str | None = None
    public_key_pem: str | None = None
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    leeway_sec: float = DEFAULT_LEEWAY_SEC
    required_claims: tuple[str, ...] = DEFAULT_REQUIRED_CLAIMS
    max_token_bytes: int = DEFAULT_MAX_TOKEN_BYTES
    jwks_cache_ttl_sec: float = DEFAULT_JWKS_CACHE_TTL_SEC
    jwks_refresh_cooldown_sec: float = DEFAULT_JWKS_REFRESH_COOLDOWN_SEC
    jwks_timeout_sec: float = DEFAULT_JWKS_TIMEOUT_SEC
    jwks_max_bytes: int = DEFAULT_JWKS_MAX_BYTES

    @classmethod
    def from_settings(cls, settings: Any) -> JwtSettings:
        """Read and check the `[jwt]` table of the server's Dynaconf settings (`ctx.settings`)."""
        table = settings.get(SECTION) or {}
        if not isinstance(table, Mapping):
            raise ValueError(f"[{SECTION}] must be a table")
        section = _Section(table)
        issuer, audience = section.required_text("issuer"), section.required_text("audience")
        jwks_url = section.text("jwks_url")
        public_key = section.text("public_key")
        if (jwks_url is None) == (public_key is None):
            raise ValueError(f"[{SECTION}] set exactly one of jwks_url (the identity provider's keys) or public_key")
        if jwks_url is not None:
            _check_jwks_url(jwks_url, allow_http=section.flag("allow_insecure_http"))
        return cls(
            issuer=issuer,
            audience=audience,
            jwks_url=jwks_url,
            public_key_pem=_read_pem(public_key) if public_key is not None else None,
            algorithms=_algorithms(section.names("algorithms", DEFAULT_ALGORITHMS)),
            leeway_sec=section.number("leeway_sec", DEFAULT_LEEWAY_SEC, minimum=0.0, maximum=MAX_LEEWAY_SEC),
            required_claims=section.names("required_claims", DEFAULT_REQUIRED_CLAIMS, allow_empty=True),
            max_token_bytes=int(section.number("max_token_bytes", DEFAULT_MAX_TOKEN_BYTES, minimum=256, whole=True)),
            jwks_cache_ttl_sec=section.number("jwks_cache_ttl_sec", DEFAULT_JWKS_CACHE_TTL_SEC, minimum=0.0),
            jwks_refresh_cooldown_sec=section.number(
                "jwks_refresh_cooldown_sec", DEFAULT_JWKS_REFRESH_COOLDOWN_SEC, minimum=0.0
            ),
            jwks_timeout_sec=section.number("jwks_timeout_sec", DEFAULT_JWKS_TIMEOUT_SEC, minimum=0.1),
            jwks_max_bytes=int(section.number("jwks_max_bytes", DEFAULT_JWKS_MAX_BYTES, minimum=1024, whole=True)),
        )

    @property
    def claims_to_require(self) -> tuple[str, ...]:
        """Claims every token must carry: exp, iss and aud always, then the configured ones."""
        return tuple(dict.fromkeys((*ALWAYS_REQUIRED_CLAIMS, *self.required_claims)))


class _Section:
    """Typed reads of one settings table; each error names `[jwt] <key>` and never echoes a key's PEM text."""

    def __init__(self, table: Mapping[str, Any]) -> None:
        self._table = table

    def text(self, key: str) -> str | None:
        value = self._table.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if not isinstance(value, str):
            raise ValueError(f"[{SECTION}] {key} must be a string")
        return value.strip()

    def required_text(self, key: str) -> str:
        value = self.text(key)
        if value is None:
            raise ValueError(f"[{SECTION}] {key} is required (env GFS_JWT__{key.upper()})")
        return value

    def flag(self, key: str) -> bool:
        value = self._table.get(key, False)
        if not isinstance(value, bool):
            raise ValueError(f"[{SECTION}] {key} must be true or false, got {value!r}")
        return value

    def number(
        self, key: str, default: float, *, minimum: float, maximum: float = math.inf, whole: bool = False
    ) -> float:
        value = self._table.get(key, default)
        is_number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        if not is_number or (whole and not float(value).is_integer()) or not minimum <= value <= maximum:
            kind = "a whole number" if whole else "a number"
            upper = "" if maximum == math.inf else f" and <= {maximum:g}"
            raise ValueError(f"[{SECTION}] {key} must be {kind} >= {minimum:g}{upper}, got {value!r}")
        return float(value)

    def names(self, key: str, default: tuple[str, ...], *, allow_empty: bool = False) -> tuple[str, ...]:
        value = self._table.get(key, default)
        if not isinstance(value, list | tuple) or not all(isinstance(item, str) and item for item in value):
            raise ValueError(f"[{SECTION}] {key} must be a list of names, got {value!r}")
        if not value and not allow_empty:
            raise ValueError(f"[{SECTION}] {key} must not be empty")
        return tuple(value)


def _algorithms(names: tuple[str, ...]) -> tuple[str, ...]:
    # only asymmetric ones: with `none` or HS* (HMAC), anyone knowing the public key, or no key, mints tokens
    refused = sorted(set(names) - ASYMMETRIC_ALGORITHMS)
    if refused:
        allowed = ", ".join(sorted(ASYMMETRIC_ALGORITHMS))
        raise ValueError(f"[{SECTION}] algorithms may only name asymmetric algorithms ({allowed}); refused: {refused}")
    return names


def _check_jwks_url(url: str, *, allow_http: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and allow_http):
        if not parts.hostname:
            raise ValueError(f"[{SECTION}] jwks_url has no host: {url!r}")
        return
    if parts.scheme == "http":
        raise ValueError(
            f"[{SECTION}] jwks_url must use https (keys fetched over plain http can be replaced on the way);"
            " set allow_insecure_http = true only for a local test identity provider"
        )
    raise ValueError(f"[{SECTION}] jwks_url must be an https:// URL, got scheme {parts.scheme!r}")


def _read_pem(value: str) -> str:
    """The PEM text of `public_key`: given inline, or read from the file named after '@'."""
    if value.startswith(_FILE_MARKER):
        path = value[len(_FILE_MARKER) :].strip()
        try:
            with open(path, encoding="ascii") as handle:
                value = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"[{SECTION}] public_key: cannot read {path}: {type(exc).__name__}") from None
    if _PEM_MARKER not in value:
        raise ValueError(f"[{SECTION}] public_key must be PEM text or @/path/to/key.pem")
    return value
