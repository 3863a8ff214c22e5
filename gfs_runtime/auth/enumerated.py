"""Built-in strategy: the token must be one of `[enumerated_tokens] tokens`, compared in constant time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyarrow.flight

from gfs_runtime.auth.strategy import TokenVerificationStrategy
from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.exceptions import ConfigError
from gfs_runtime.errors.info import ErrorInfo

if TYPE_CHECKING:
    from gfs_runtime.server.context import ServerContext


class EnumeratedTokenVerification(TokenVerificationStrategy):
    """Accepts exactly the configured tokens; identities are not carried (verify returns None)."""

    def __init__(self, allowed_tokens: Iterable[str]) -> None:
        # loaded here, not at import: a server without token auth never pays for OpenSSL's hash module
        import hashlib  # noqa: PLC0415
        import hmac  # noqa: PLC0415

        self._sha256 = hashlib.sha256
        self._compare_digest = hmac.compare_digest
        self._digests = tuple({self._digest(token) for token in allowed_tokens})
        self._accepted: set[str] = set()
        if not self._digests:
            raise ConfigError(
                "token authentication needs at least one token",
                key="enumerated_tokens.tokens",
                expected="a non-empty list of tokens (env GFS_ENUMERATED_TOKENS__TOKENS)",
            )

    def verify(self, call_info: pyarrow.flight.CallInfo, token: str) -> Any:
        """Accept a configured token; compare every digest so timing does not tell which one matched.

        A token accepted once is remembered, so later calls with it skip hashing: the set only ever holds
        configured tokens (the config holds them too), and a lookup hashes the whole string with Python's
        keyed string hash, so its timing does not depend on how much of a wrong token matches.
        """
        if token in self._accepted:
            return None
        presented = self._digest(token)
        matched = False
        for allowed in self._digests:
            matched |= self._compare_digest(presented, allowed)
        if not matched:
            raise ErrorInfo.for_reason(
                ErrorCode.UNKNOWN, "Authentication token is not valid."
            ).to_unauthenticated_error()
        self._accepted.add(token)
        return None

    def _digest(self, token: str) -> bytes:
        return self._sha256(token.encode("utf-8")).digest()

    @classmethod
    def create(cls, ctx: ServerContext) -> TokenVerificationStrategy:
        """Read the allowed tokens from the parsed server configuration."""
        return cls(ctx.config.enumerated_tokens)
