"""Test helpers for the JWT verifier: key pairs made here, tokens minted with them, a JWKS served on loopback."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import pyarrow.flight
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from gfs_runtime import FlightServerMethods, FlightServerMethodsFactory
from gfs_runtime.testing import connect, serve
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.api_jws import PyJWS

from {{ cookiecutter.package_name }}.service import create_methods

REPO: Final = Path(__file__).resolve().parent.parent
CONFIG_FILES: Final = (
    REPO / "config" / "server.toml",
    REPO / "config" / "{{ cookiecutter.package_name }}.toml",
)
VERIFIER_MODULE: Final = "{{ cookiecutter.package_name }}.jwt_verifier"
ISSUER: Final = "https://idp.example.test/"
AUDIENCE: Final = "flight-data-service"
SUBJECT: Final = "user-42"
TOKEN_LIFETIME_SEC: Final = 300
MAX_TOKEN_BYTES: Final = 4096
HANG_LIMIT_SEC: Final = 30.0
POLL_INTERVAL_SEC: Final = 0.02
DROP: Final = object()
"""Pass as a claim's value to `claims()` to leave the claim out."""

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class KeyPair:
    """A signing key made by the test, published (or not) under `kid` for `algorithm`."""

    kid: str
    algorithm: str
    private_key: PrivateKey

    @classmethod
    def new_rsa(cls, kid: str) -> KeyPair:
        """A fresh 2048-bit RSA key for RS256."""
        return cls(kid, "RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    @classmethod
    def new_ec(cls, kid: str) -> KeyPair:
        """A fresh P-256 key for ES256."""
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK, as an identity provider publishes it."""
        public = self.private_key.public_key()
        text = RSAAlgorithm.to_jwk(public) if isinstance(public, rsa.RSAPublicKey) else ECAlgorithm.to_jwk(public)
        jwk: dict[str, Any] = json.loads(text)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}

    def public_pem(self) -> str:
        """The public half as PEM text."""
        public = self.private_key.public_key()
        pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        return pem.decode("ascii")


def claims(**changes: Any) -> dict[str, Any]:
    """Claims of a valid token for this service; `changes` replace or add claims, DROP removes one."""
    now = int(time.time())
    base: dict[str, Any] = {"iss": ISSUER, "aud": AUDIENCE, "sub": SUBJECT, "iat": now, "exp": now + TOKEN_LIFETIME_SEC}
    base.update(changes)
    return {name: value for name, value in base.items() if value is not DROP}


def mint(
    key: KeyPair,
    payload: Mapping[str, Any],
    *,
    algorithm: str | None = None,
    headers: Mapping[str, Any] | None = None,
    with_kid: bool = True,
) -> str:
    """A token signed by `key`, with its kid in the header unless `with_kid` is false (plus `headers`)."""
    header = {**({"kid": key.kid} if with_kid else {}), **(headers or {})}
    # PyJWS signs any JSON payload, so tests can mint claims PyJWT's encode() would refuse (e.g. a list as iss)
    body = json.dumps(dict(payload)).encode()
    return PyJWS().encode(body, key.private_key, algorithm=algorithm or key.algorithm, headers=header)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segments(header: Mapping[str, Any], payload: Mapping[str, Any]) -> str:
    return f"{_b64(json.dumps(dict(header)).encode())}.{_b64(json.dumps(dict(payload)).encode())}"


def mint_unsigned(kid: str, payload: Mapping[str, Any]) -> str:
    """A token with `alg: none` and an empty signature."""
    return _segments({"alg": "none", "typ": "JWT", "kid": kid}, payload) + "."


def mint_hs256(secret: bytes, kid: str, payload: Mapping[str, Any]) -> str:
    """An HS256 token whose HMAC key is `secret`: with a public key as the secret, the HS/RS confusion attack."""
    signing_input = _segments({"alg": "HS256", "typ": "JWT", "kid": kid}, payload)
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def bearer(token: str) -> pyarrow.flight.FlightCallOptions:
    """Call options sending `token` as `Authorization: Bearer <token>`."""
    headers: Any = [(b"authorization", f"Bearer {token}".encode())]  # pyarrow takes bytes; some stubs say str
    return pyarrow.flight.FlightCallOptions(headers=headers)


def jwks_settings(server: JwksServer, **changes: Any) -> dict[str, Any]:
    """A `[jwt]` table trusting the test's JWKS server (plain http on loopback, allowed explicitly)."""
    table = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "jwks_url": server.url(),
        "allow_insecure_http": True,
        "max_token_bytes": MAX_TOKEN_BYTES,
        "jwks_refresh_cooldown_sec": 3600,
    }
    return {**table, **changes}


def auth_overrides(jwt_table: Mapping[str, Any]) -> dict[str, Any]:
    """Settings turning on token auth with the JWT verifier, on free ports."""
    server = {
        "authentication_method": "token",
        "token_verification": VERIFIER_MODULE,
        "listen_port": 0,
        "health_check_port": 0,
        "metrics_port": 0,
    }
    return {"server": server, "jwt": dict(jwt_table)}


@contextlib.contextmanager
def running_service(
    jwt_table: Mapping[str, Any], methods: FlightServerMethods | FlightServerMethodsFactory = create_methods
) -> Iterator[pyarrow.flight.FlightClient]:
    """The service (or `methods`) in this process with JWT auth, and a client connected to it."""
    with (
        serve(methods, config_files=CONFIG_FILES, overrides=auth_overrides(jwt_table)) as server,
        connect(server) as client,
    ):
        yield client


class JwksServer:
    """A JWKS endpoint on 127.0.0.1 and a free port, started by the test; it can serve, fail or hang on demand."""

    JWKS_PATH: Final = "/jwks.json"
    REDIRECT_PATH: Final = "/moved"

    def __init__(self, *keys: KeyPair) -> None:
        self.mode = "serve"  # or "fail" (HTTP 503) or "hang" (until `release` is set)
        self.release = threading.Event()
        self._changed = threading.Condition()
        self._hits = 0
        self._document = {"keys": [key.public_jwk() for key in keys]}
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": POLL_INTERVAL_SEC}, name="test-jwks", daemon=True
        )

    def __enter__(self) -> JwksServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(HANG_LIMIT_SEC)

    def url(self, path: str = JWKS_PATH) -> str:
        """The URL of `path` on this server."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{path}"

    @property
    def hits(self) -> int:
        """How many times the JWKS itself was requested."""
        with self._changed:
            return self._hits

    def publish(self, *keys: KeyPair) -> None:
        """Publish exactly these keys from now on."""
        self._document = {"keys": [key.public_jwk() for key in keys]}

    def wait_for_hits(self, count: int, timeout_sec: float = 10.0) -> bool:
        """Wait until the JWKS was requested `count` times in all; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: self._hits >= count, timeout_sec)

    def _counted(self) -> str:
        with self._changed:
            self._hits += 1
            self._changed.notify_all()
        return self.mode

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        jwks = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == JwksServer.REDIRECT_PATH:
                    self.send_response(302)
                    self.send_header("Location", jwks.url())
                    self.end_headers()
                    return
                if self.path != JwksServer.JWKS_PATH:
                    self.send_error(404)
                    return
                mode = jwks._counted()
                if mode == "hang":
                    jwks.release.wait(HANG_LIMIT_SEC)
                if mode == "fail":
                    self.send_error(503)
                    return
                body = json.dumps(jwks._document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler
