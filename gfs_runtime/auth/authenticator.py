"""Per-call token extraction and verification, used by the server's single middleware."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow.flight

from gfs_runtime.auth.strategy import TokenVerificationStrategy
from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.errors.translate import flight_error_for

AUTHORIZATION_HEADER = "authorization"
_BEARER = "bearer "


def _unauthenticated(msg: str) -> pyarrow.flight.FlightUnauthenticatedError:
    return ErrorInfo.for_reason(ErrorCode.UNKNOWN, msg).to_unauthenticated_error()


class TokenAuthenticator:
    """Finds the caller's token in the call headers and returns what the strategy makes of it."""

    def __init__(self, strategy: TokenVerificationStrategy, token_header_name: str | None = None) -> None:
        self._strategy = strategy
        self._custom_header = token_header_name.lower() if token_header_name else None

    def extract_token(self, headers: Mapping[str, Sequence[str]]) -> str:
        """The token from the custom header or from ``Authorization: Bearer <token>`` (scheme any case)."""
        header = self._custom_header or AUTHORIZATION_HEADER
        values = headers.get(header)
        if not values:
            raise _unauthenticated(f"Authentication required: send a token in the '{header}' header.")
        if len(values) > 1:
            raise _unauthenticated(f"Authentication failed: the '{header}' header was sent more than once.")
        value = values[0].strip()
        if self._custom_header is None:
            if value[: len(_BEARER)].lower() != _BEARER:
                raise _unauthenticated("Authentication failed: the Authorization header must use the Bearer scheme.")
            value = value[len(_BEARER) :].strip()
        if not value:
            raise _unauthenticated("Authentication failed: the token is empty.")
        return value

    def authenticate(self, call_info: pyarrow.flight.CallInfo, headers: Mapping[str, Sequence[str]]) -> Any:
        """Verify the call's token; every failure is a FlightError carrying ErrorInfo."""
        token = self.extract_token(headers)
        try:
            return self._strategy.verify(call_info, token)
        except BaseException as e:  # a broken strategy answers a typed error, never crashes the call path
            raise flight_error_for(e) from None
