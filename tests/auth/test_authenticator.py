"""Token extraction and verification rules, independent of the server."""

from typing import Any, cast

import pyarrow.flight
import pytest

from gfs_runtime.auth.authenticator import TokenAuthenticator
from gfs_runtime.auth.enumerated import EnumeratedTokenVerification
from gfs_runtime.auth.strategy import TokenVerificationStrategy
from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.exceptions import ConfigError
from gfs_runtime.errors.info import ErrorInfo

NO_CALL_INFO = cast(pyarrow.flight.CallInfo, None)


def _authenticator(header: str | None = None) -> TokenAuthenticator:
    return TokenAuthenticator(EnumeratedTokenVerification(["good-token"]), token_header_name=header)


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_bearer_scheme_is_case_insensitive(scheme: str) -> None:
    headers = {"authorization": [f"{scheme} good-token"]}
    assert _authenticator().authenticate(NO_CALL_INFO, headers) is None


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({}, "Authentication required"),
        ({"authorization": ["Bearer a", "Bearer b"]}, "more than once"),
        ({"authorization": ["Basic dXNlcjpwYXNz"]}, "Bearer scheme"),
        ({"authorization": ["Bearer    "]}, "Bearer scheme"),
        ({"authorization": ["Bearer wrong-token"]}, "not valid"),
    ],
)
def test_bad_credentials_are_unauthenticated_with_error_info(headers: dict[str, list[str]], fragment: str) -> None:
    with pytest.raises(pyarrow.flight.FlightUnauthenticatedError) as caught:
        _authenticator().authenticate(NO_CALL_INFO, headers)
    info = ErrorInfo.maybe_from_pyarrow_error(caught.value)
    assert info is not None
    assert fragment in info.msg
    assert "wrong-token" not in info.msg


def test_custom_header_carries_the_bare_token() -> None:
    authenticator = _authenticator(header="X-Api-Key")
    assert authenticator.extract_token({"x-api-key": ["good-token"]}) == "good-token"
    with pytest.raises(pyarrow.flight.FlightUnauthenticatedError):
        authenticator.authenticate(NO_CALL_INFO, {"authorization": ["Bearer good-token"]})


def test_enumerated_tokens_must_not_be_empty() -> None:
    with pytest.raises(ConfigError, match="enumerated_tokens"):
        EnumeratedTokenVerification([])


class _IdentityStrategy(TokenVerificationStrategy):
    def verify(self, call_info: pyarrow.flight.CallInfo, token: str) -> Any:
        if token == "boom":
            raise RuntimeError("strategy bug mentioning boom")
        if token == "forbidden":
            raise pyarrow.flight.FlightUnauthorizedError("not for you")
        return {"sub": token}


def test_what_verify_returns_is_the_identity() -> None:
    authenticator = TokenAuthenticator(_IdentityStrategy())
    assert authenticator.authenticate(NO_CALL_INFO, {"authorization": ["Bearer alice"]}) == {"sub": "alice"}


def test_strategy_crash_becomes_a_typed_internal_error() -> None:
    authenticator = TokenAuthenticator(_IdentityStrategy())
    with pytest.raises(pyarrow.flight.FlightInternalError) as caught:
        authenticator.authenticate(NO_CALL_INFO, {"authorization": ["Bearer boom"]})
    info = ErrorInfo.from_pyarrow_error(caught.value)
    assert info.code == ErrorCode.INTERNAL_ERROR
    assert "boom" not in info.msg


def test_unauthorized_from_strategy_keeps_its_type_and_gains_error_info() -> None:
    authenticator = TokenAuthenticator(_IdentityStrategy())
    with pytest.raises(pyarrow.flight.FlightUnauthorizedError) as caught:
        authenticator.authenticate(NO_CALL_INFO, {"authorization": ["Bearer forbidden"]})
    assert ErrorInfo.maybe_from_pyarrow_error(caught.value) is not None


def test_a_wrong_token_is_refused_after_the_right_one_was_accepted() -> None:
    strategy = EnumeratedTokenVerification(["good-token", "other-token"])
    assert strategy.verify(NO_CALL_INFO, "good-token") is None
    assert strategy.verify(NO_CALL_INFO, "good-token") is None  # the second time from what it remembered
    for wrong in ["good-token ", "good-toke", "good-tokenx", "other-token!", ""]:
        with pytest.raises(pyarrow.flight.FlightUnauthenticatedError):
            strategy.verify(NO_CALL_INFO, wrong)
    assert strategy.verify(NO_CALL_INFO, "other-token") is None
