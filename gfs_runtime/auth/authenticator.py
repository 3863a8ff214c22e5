"""Per-call token extraction and verification, used by the server's single middleware."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeAlias

import pyarrow.flight

from gfs_runtime.auth.strategy import TokenVerificationStrategy
from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.errors.translate import flight_error_for
from gfs_runtime.telemetry.event_logger import get_logger

AUTHORIZATION_HEADER = "authorization"
_BEARER = "bearer "

MISSING_TOKEN: Final = "missing_token"  # noqa: S105  # a failure reason, not a secret
"""Failure reason: the call carried no token."""
INVALID_TOKEN: Final = "invalid_token"  # noqa: S105  # a failure reason, not a secret
"""Failure reason: the token was malformed, sent twice, or not accepted by the strategy."""
UNAUTHORIZED: Final = "unauthorized"
"""Failure reason: the strategy accepted the token but refused the call (FlightUnauthorizedError)."""
VERIFIER_ERROR: Final = "verifier_error"
"""Failure reason: the strategy failed with anything but an auth error (a bug or an unavailable backend)."""

AuthFailureListener: TypeAlias = Callable[[pyarrow.flight.CallInfo, str, BaseException], None]
"""Told of each refused call: its CallInfo, the failure reason and the error (never the token)."""


def _unauthenticated(msg: str) -> pyarrow.flight.FlightUnauthenticatedError:
    return ErrorInfo.for_reason(ErrorCode.UNKNOWN, msg).to_unauthenticated_error()


def _reason_for(error: BaseException) -> str:
    if isinstance(error, pyarrow.flight.FlightUnauthenticatedError):
        return INVALID_TOKEN
    if isinstance(error, pyarrow.flight.FlightUnauthorizedError):
        return UNAUTHORIZED
    return VERIFIER_ERROR


class TokenAuthenticator:
    """Finds the caller's token in the call headers and returns what the strategy makes of it."""

    def __init__(
        self,
        strategy: TokenVerificationStrategy,
        token_header_name: str | None = None,
        on_failure: AuthFailureListener | None = None,
    ) -> None:
        self._strategy = strategy
        self._custom_header = token_header_name.lower() if token_header_name else None
        self._on_failure = on_failure

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
        """Verify the call's token; every failure is a FlightError carrying ErrorInfo, reported to `on_failure`."""
        try:
            token = self.extract_token(headers)
        except pyarrow.flight.FlightUnauthenticatedError as e:
            sent = headers.get(self._custom_header or AUTHORIZATION_HEADER)
            self._failed(call_info, INVALID_TOKEN if sent else MISSING_TOKEN, e)
            raise
        try:
            return self._strategy.verify(call_info, token)
        except BaseException as e:  # a broken strategy answers a typed error, never crashes the call path
            error = flight_error_for(e)
            self._failed(call_info, _reason_for(e), e)
            raise error from None

    def _failed(self, call_info: pyarrow.flight.CallInfo, reason: str, error: BaseException) -> None:
        if self._on_failure is None:
            return
        try:
            self._on_failure(call_info, reason, error)
        except Exception:  # counting or logging a refusal must not change the answer
            get_logger("gfs_runtime.auth").error("auth_failure_listener_failed", exc_info=True)
