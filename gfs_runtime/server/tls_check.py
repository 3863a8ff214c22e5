"""Checks TLS material with OpenSSL before the server binds, so bad settings fail with a clean error."""

from __future__ import annotations

import os
import ssl
import tempfile
from typing import Final

from gfs_runtime.config import ServerConfig
from gfs_runtime.errors.exceptions import ConfigError

_CERTIFICATE_KEY: Final = "server.tls_certificate"
_PRIVATE_KEY_KEY: Final = "server.tls_private_key"
_ROOT_CERTIFICATE_KEY: Final = "server.tls_root_certificate"


def _check_certificates(pem: bytes, key: str) -> None:
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=pem.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as e:
        reason = getattr(e, "reason", None) or type(e).__name__
        raise ConfigError(f"is not a loadable PEM certificate ({reason})", key=key) from None


def _write_private(directory: str, name: str, data: bytes) -> str:
    path = os.path.join(directory, name)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(data)
    return path


def _no_password() -> bytes:
    # never let OpenSSL prompt on the terminal for an encrypted key
    return b""


def check_tls_material(config: ServerConfig) -> None:
    """Refuse TLS material OpenSSL cannot load: a garbage certificate or key, or a key of another certificate.

    The key is loaded from a file in a private temporary directory deleted right after; errors name the
    setting and OpenSSL's reason, never any of the key.
    """
    if not config.use_tls or config.tls_cert_and_key is None:
        return
    certificate, private_key = config.tls_cert_and_key
    _check_certificates(certificate, _CERTIFICATE_KEY)
    if config.tls_root_cert is not None:
        _check_certificates(config.tls_root_cert, _ROOT_CERTIFICATE_KEY)
    with tempfile.TemporaryDirectory(prefix="gfs-tls-check-") as directory:
        cert_path = _write_private(directory, "certificate.pem", certificate)
        key_path = _write_private(directory, "private-key.pem", private_key)
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(cert_path, key_path, password=_no_password)
        except ssl.SSLError as e:
            if e.reason == "KEY_VALUES_MISMATCH":
                raise ConfigError(
                    "does not match the certificate in server.tls_certificate", key=_PRIVATE_KEY_KEY
                ) from None
            reason = f" ({e.reason})" if e.reason else ""
            raise ConfigError(
                f"is not a loadable PEM private key{reason}",
                key=_PRIVATE_KEY_KEY,
                expected="an unencrypted PEM private key",
            ) from None
