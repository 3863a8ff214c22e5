"""Built-in strategy: the token must be one of `[enumerated_tokens] tokens`, compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import pyarrow.flight

from gfs_runtime.auth.strategy import TokenVerificationStrategy
from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.exceptions import ConfigError
from gfs_runtime.errors.info import ErrorInfo

if TYPE_CHECKING:
    from gfs_runtime.server.context import ServerContext


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


class EnumeratedTokenVerification(TokenVerificationStrategy):
    """Accepts exactly the configured tokens; identities are not carried (verify returns None)."""

    def __init__(self, allowed_tokens: Iterable[str]) -> None:
        self._digests = tuple({_digest(token) for token in allowed_tokens})
        if not self._digests:
            raise ConfigError(
                "token authentication needs at least one token",
                key="enumerated_tokens.tokens",
                expected="a non-empty list of tokens (env GFS_ENUMERATED_TOKENS__TOKENS)",
            )

    def verify(self, call_info: pyarrow.flight.CallInfo, token: str) -> Any:
        """Accept a configured token; compare every digest so timing does not tell which one matched."""
        presented = _digest(token)
        matched = False
        for allowed in self._digests:
            matched |= hmac.compare_digest(presented, allowed)
        if not matched:
            raise ErrorInfo.for_reason(
                ErrorCode.UNKNOWN, "Authentication token is not valid."
            ).to_unauthenticated_error()
        return None

    @classmethod
    def create(cls, ctx: ServerContext) -> TokenVerificationStrategy:
        """Read the allowed tokens from the parsed server configuration."""
        return cls(ctx.config.enumerated_tokens)
