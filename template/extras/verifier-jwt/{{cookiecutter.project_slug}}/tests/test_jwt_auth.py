"""The JWT verifier end to end: tokens minted here, keys served by a loopback JWKS, calls by a real FlightClient."""

from __future__ import annotations

import json
import time
from collections.abc import Generator, Iterator
from typing import Any

import gfs_runtime as gf
import pyarrow.flight
import pytest
from gfs_runtime.testing import error_info_of
from jwt_support import (
    AUDIENCE,
    DROP,
    ISSUER,
    MAX_TOKEN_BYTES,
    SUBJECT,
    JwksServer,
    KeyPair,
    bearer,
    claims,
    jwks_settings,
    mint,
    mint_hs256,
    mint_unsigned,
    running_service,
)

from {{ cookiecutter.package_name }} import jwt_verifier as verifier

pytestmark = pytest.mark.timeout(30)

Client = pyarrow.flight.FlightClient
LEEWAY_SEC = 30
WELL_PAST_LEEWAY_SEC = 120
WITHIN_LEEWAY_SEC = 10
SLOW_IDP_TIMEOUT_SEC = 20.0
START_AND_ROTATION_FETCHES = 2


@pytest.fixture(scope="module")
def rsa_key() -> KeyPair:
    return KeyPair.new_rsa("rsa-1")


@pytest.fixture(scope="module")
def ec_key() -> KeyPair:
    return KeyPair.new_ec("ec-1")


@pytest.fixture(scope="module")
def stranger() -> KeyPair:
    """A key the identity provider never publishes."""
    return KeyPair.new_rsa("stranger")


@pytest.fixture(scope="module")
def idp(rsa_key: KeyPair, ec_key: KeyPair) -> Iterator[JwksServer]:
    with JwksServer(rsa_key, ec_key) as server:
        yield server


@pytest.fixture(scope="module")
def client(idp: JwksServer) -> Iterator[Client]:
    """The service trusting `idp`, with a long refresh cooldown (`jwks_settings`)."""
    with running_service(jwks_settings(idp, leeway_sec=LEEWAY_SEC)) as client:
        yield client


@pytest.fixture(scope="module")
def pem_client(rsa_key: KeyPair) -> Iterator[Client]:
    """The service trusting one static PEM public key (the RSA key's)."""
    table = {"issuer": ISSUER, "audience": AUDIENCE, "public_key": rsa_key.public_pem()}
    with running_service(table) as client:
        yield client


def flights(client: Client, token: str) -> list[pyarrow.flight.FlightInfo]:
    """ListFlights as the bearer of `token`."""
    return list(client.list_flights(options=bearer(token)))


def refusal(client: Client, token: str) -> str:
    """The message of the UNAUTHENTICATED error a call with `token` gets."""
    with pytest.raises(pyarrow.flight.FlightUnauthenticatedError) as caught:
        flights(client, token)
    return error_info_of(caught.value).msg


# --- accepted ---


def test_token_signed_with_a_published_rsa_key_is_accepted(client: Client, rsa_key: KeyPair) -> None:
    assert flights(client, mint(rsa_key, claims()))


def test_token_signed_with_a_published_ec_key_is_accepted(client: Client, ec_key: KeyPair) -> None:
    assert flights(client, mint(ec_key, claims()))


def test_audience_list_containing_the_service_is_accepted(client: Client, rsa_key: KeyPair) -> None:
    assert flights(client, mint(rsa_key, claims(aud=["another-service", AUDIENCE])))


def test_expiry_just_past_but_within_the_leeway_is_accepted(client: Client, rsa_key: KeyPair) -> None:
    assert flights(client, mint(rsa_key, claims(exp=int(time.time()) - WITHIN_LEEWAY_SEC)))


def test_nbf_and_iat_just_ahead_but_within_the_leeway_are_accepted(client: Client, rsa_key: KeyPair) -> None:
    ahead = int(time.time()) + WITHIN_LEEWAY_SEC

    assert flights(client, mint(rsa_key, claims(nbf=ahead, iat=ahead)))


class WhoAmI(gf.FlightServerMethods):
    """Answers the `whoami` action with the claims the verifier returned for the caller."""

    def do_action(
        self, context: pyarrow.flight.ServerCallContext, action: pyarrow.flight.Action
    ) -> Generator[pyarrow.flight.Result, None, None]:
        identity = verifier.caller_claims(context)
        yield pyarrow.flight.Result(json.dumps(dict(identity or {})).encode())


def test_methods_see_the_verified_claims_as_the_caller_identity(idp: JwksServer, rsa_key: KeyPair) -> None:
    token = mint(rsa_key, claims(scope="read:sales"))

    with running_service(jwks_settings(idp), methods=WhoAmI()) as client:
        results = list(client.do_action(pyarrow.flight.Action("whoami", b""), options=bearer(token)))

    identity = json.loads(results[0].body.to_pybytes())
    assert identity["sub"] == SUBJECT
    assert identity["scope"] == "read:sales"


def test_identity_repr_in_logs_shows_only_subject_and_issuer() -> None:
    identity = verifier.VerifiedClaims({"sub": SUBJECT, "iss": ISSUER, "email": "someone@example.test"})

    assert "someone@example.test" not in repr(identity)
    assert SUBJECT in repr(identity)


def test_env_var_sets_a_jwt_setting(monkeypatch: pytest.MonkeyPatch, idp: JwksServer, rsa_key: KeyPair) -> None:
    env_issuer = "https://issuer-from-env.example.test/"
    monkeypatch.setenv("GFS_JWT__ISSUER", env_issuer)
    table = jwks_settings(idp)
    del table["issuer"]  # the test's overrides would win over the env var

    with running_service(table) as client:
        assert flights(client, mint(rsa_key, claims(iss=env_issuer)))
        assert verifier.REASON_ISSUER in refusal(client, mint(rsa_key, claims()))


# --- refused: the token itself ---


def test_call_without_a_token_is_refused(client: Client) -> None:
    with pytest.raises(pyarrow.flight.FlightUnauthenticatedError):
        list(client.list_flights())


def test_token_over_the_size_cap_is_refused_before_parsing(client: Client, rsa_key: KeyPair) -> None:
    valid_but_large = mint(rsa_key, claims(padding="x" * MAX_TOKEN_BYTES))
    garbage = "x" * (MAX_TOKEN_BYTES + 1)

    assert verifier.REASON_TOO_LARGE in refusal(client, valid_but_large)
    assert verifier.REASON_TOO_LARGE in refusal(client, garbage)


def test_malformed_token_is_refused(client: Client) -> None:
    assert verifier.REASON_MALFORMED in refusal(client, "not-a-jwt")


def test_alg_none_token_is_refused(client: Client, rsa_key: KeyPair) -> None:
    assert verifier.REASON_ALGORITHM in refusal(client, mint_unsigned(rsa_key.kid, claims()))


@pytest.mark.parametrize("form", ["pem", "jwk"])
def test_hs256_token_keyed_with_the_public_key_is_refused(client: Client, rsa_key: KeyPair, form: str) -> None:
    public_key = rsa_key.public_pem() if form == "pem" else json.dumps(rsa_key.public_jwk())

    assert verifier.REASON_ALGORITHM in refusal(client, mint_hs256(public_key.encode(), rsa_key.kid, claims()))


def test_asymmetric_algorithm_missing_from_the_allow_list_is_refused(client: Client, rsa_key: KeyPair) -> None:
    assert verifier.REASON_ALGORITHM in refusal(client, mint(rsa_key, claims(), algorithm="PS256"))


def test_algorithm_the_named_key_is_not_published_for_is_refused(
    client: Client, rsa_key: KeyPair, ec_key: KeyPair
) -> None:
    token = mint(ec_key, claims(), headers={"kid": rsa_key.kid})

    assert verifier.REASON_KEY_MISMATCH in refusal(client, token)


@pytest.mark.parametrize("header", ["jku", "x5u", "jwk"])
def test_header_pointing_at_a_key_is_refused(
    client: Client, idp: JwksServer, rsa_key: KeyPair, stranger: KeyPair, header: str
) -> None:
    value: Any = stranger.public_jwk() if header == "jwk" else idp.url()

    token = mint(rsa_key, claims(), headers={header: value})

    assert verifier.REASON_KEY_LOCATION in refusal(client, token)


def test_token_without_a_key_id_is_refused(client: Client, rsa_key: KeyPair) -> None:
    token = mint(rsa_key, claims(), with_kid=False)

    assert verifier.REASON_NO_KEY_ID in refusal(client, token)


def test_signature_by_another_key_under_a_published_kid_is_refused(
    client: Client, rsa_key: KeyPair, stranger: KeyPair
) -> None:
    token = mint(stranger, claims(), headers={"kid": rsa_key.kid})

    assert verifier.REASON_SIGNATURE in refusal(client, token)


def test_tampered_claims_are_refused(client: Client, rsa_key: KeyPair) -> None:
    header, _, signature = mint(rsa_key, claims()).split(".")
    forged_payload = mint(rsa_key, claims(sub="admin")).split(".")[1]

    assert verifier.REASON_SIGNATURE in refusal(client, f"{header}.{forged_payload}.{signature}")


def test_unknown_kid_is_refused_without_a_refetch_within_the_cooldown(
    client: Client, idp: JwksServer, stranger: KeyPair
) -> None:
    fetched = idp.hits

    for _ in range(3):
        assert verifier.REASON_UNKNOWN_KEY in refusal(client, mint(stranger, claims()))

    assert idp.hits == fetched


# --- refused: the claims ---


@pytest.mark.parametrize("claim", ["exp", "iss", "aud", "sub"])
def test_token_missing_a_required_claim_is_refused(client: Client, rsa_key: KeyPair, claim: str) -> None:
    message = refusal(client, mint(rsa_key, claims(**{claim: DROP})))

    assert verifier.REASON_MISSING_CLAIM in message
    assert f"({claim})" in message


def test_configured_extra_required_claim_is_enforced(idp: JwksServer, rsa_key: KeyPair) -> None:
    with running_service(jwks_settings(idp, required_claims=["sub", "tenant"])) as client:
        assert flights(client, mint(rsa_key, claims(tenant="acme")))
        assert "(tenant)" in refusal(client, mint(rsa_key, claims()))


@pytest.mark.parametrize(("claim", "value"), [("exp", "9999999999"), ("exp", True), ("nbf", "0"), ("iat", "0")])
def test_time_claim_that_is_not_a_number_is_refused(client: Client, rsa_key: KeyPair, claim: str, value: Any) -> None:
    assert verifier.REASON_NOT_A_NUMBER in refusal(client, mint(rsa_key, claims(**{claim: value})))


def test_token_expired_beyond_the_leeway_is_refused(client: Client, rsa_key: KeyPair) -> None:
    token = mint(rsa_key, claims(exp=int(time.time()) - WELL_PAST_LEEWAY_SEC))

    assert verifier.REASON_EXPIRED in refusal(client, token)


def test_token_not_valid_yet_beyond_the_leeway_is_refused(client: Client, rsa_key: KeyPair) -> None:
    token = mint(rsa_key, claims(nbf=int(time.time()) + WELL_PAST_LEEWAY_SEC))

    assert verifier.REASON_NOT_YET_VALID in refusal(client, token)


def test_token_issued_in_the_future_beyond_the_leeway_is_refused(client: Client, rsa_key: KeyPair) -> None:
    token = mint(rsa_key, claims(iat=int(time.time()) + WELL_PAST_LEEWAY_SEC))

    assert verifier.REASON_ISSUED_IN_FUTURE in refusal(client, token)


@pytest.mark.parametrize(
    "issuer",
    ["https://idp.example.test", "https://idp.example.test/other", "HTTPS://IDP.EXAMPLE.TEST/", "https://evil.test/"],
)
def test_issuer_not_exactly_the_configured_one_is_refused(client: Client, rsa_key: KeyPair, issuer: str) -> None:
    assert verifier.REASON_ISSUER in refusal(client, mint(rsa_key, claims(iss=issuer)))


def test_issuer_given_as_a_list_is_refused(client: Client, rsa_key: KeyPair) -> None:
    assert verifier.REASON_ISSUER in refusal(client, mint(rsa_key, claims(iss=[ISSUER])))


@pytest.mark.parametrize("audience", ["another-service", ["a", "b"], AUDIENCE.upper(), [f"{AUDIENCE} "], 7])
def test_audience_without_the_service_is_refused(client: Client, rsa_key: KeyPair, audience: Any) -> None:
    assert verifier.REASON_AUDIENCE in refusal(client, mint(rsa_key, claims(aud=audience)))


# --- the JWKS: rotation, outages, redirects ---


def test_rotated_in_key_is_fetched_when_a_token_names_it(rsa_key: KeyPair) -> None:
    new_key = KeyPair.new_rsa("rsa-2")
    with JwksServer(rsa_key) as idp, running_service(jwks_settings(idp, jwks_refresh_cooldown_sec=0)) as client:
        assert idp.hits == 1  # fetched at start-up
        idp.publish(rsa_key, new_key)

        assert flights(client, mint(new_key, claims()))
        assert idp.hits == START_AND_ROTATION_FETCHES
        assert flights(client, mint(rsa_key, claims()))
        assert idp.hits == START_AND_ROTATION_FETCHES


def test_cached_keys_keep_verifying_while_the_identity_provider_fails(rsa_key: KeyPair) -> None:
    table_changes = {"jwks_cache_ttl_sec": 0, "jwks_refresh_cooldown_sec": 0}
    with JwksServer(rsa_key) as idp, running_service(jwks_settings(idp, **table_changes)) as client:
        idp.mode = "fail"

        assert flights(client, mint(rsa_key, claims()))  # stale: starts a background refresh, which fails
        assert idp.wait_for_hits(2)
        assert flights(client, mint(rsa_key, claims()))


def test_slow_identity_provider_does_not_delay_calls_with_cached_keys(rsa_key: KeyPair) -> None:
    table_changes = {"jwks_cache_ttl_sec": 0, "jwks_refresh_cooldown_sec": 0, "jwks_timeout_sec": SLOW_IDP_TIMEOUT_SEC}
    with JwksServer(rsa_key) as idp, running_service(jwks_settings(idp, **table_changes)) as client:
        idp.mode = "hang"
        started = time.monotonic()

        assert flights(client, mint(rsa_key, claims()))  # starts the background refresh, which hangs
        assert idp.wait_for_hits(2)
        assert flights(client, mint(rsa_key, claims()))

        assert time.monotonic() - started < SLOW_IDP_TIMEOUT_SEC / 2
        idp.release.set()


def test_jwks_redirect_is_not_followed(rsa_key: KeyPair) -> None:
    with JwksServer(rsa_key) as idp:
        table = jwks_settings(idp, jwks_url=idp.url(JwksServer.REDIRECT_PATH), jwks_refresh_cooldown_sec=0)
        with running_service(table) as client, pytest.raises(pyarrow.flight.FlightUnavailableError) as caught:
            flights(client, mint(rsa_key, claims()))

        assert verifier.REASON_KEYS_UNAVAILABLE in error_info_of(caught.value).msg
        assert idp.hits == 0


# --- a static PEM public key ---


def test_static_public_key_verifies_tokens(pem_client: Client, rsa_key: KeyPair) -> None:
    assert flights(pem_client, mint(rsa_key, claims(), with_kid=False))


def test_static_public_key_refuses_a_token_signed_by_another_key(pem_client: Client, stranger: KeyPair) -> None:
    assert verifier.REASON_SIGNATURE in refusal(pem_client, mint(stranger, claims()))


def test_static_public_key_refuses_hs256_keyed_with_its_pem(pem_client: Client, rsa_key: KeyPair) -> None:
    token = mint_hs256(rsa_key.public_pem().encode(), rsa_key.kid, claims())

    assert verifier.REASON_ALGORITHM in refusal(pem_client, token)


def test_static_public_key_refuses_an_algorithm_of_another_key_type(pem_client: Client, ec_key: KeyPair) -> None:
    assert verifier.REASON_KEY_MISMATCH in refusal(pem_client, mint(ec_key, claims()))
