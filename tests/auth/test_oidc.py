"""OIDC bearer JWTs against a local issuer: valid, expired, wrong audience, wrong issuer, wrong signature,
unknown kid with rotation, and an unreachable issuer (fail closed, 503)."""

from __future__ import annotations

import logging
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.testclient import TestClient

from tapserver.auth.errors import InvalidToken, IssuerUnavailable
from tapserver.auth.oidc import OIDCVerifier
from tapserver.config import Settings
from tests.auth.conftest import bearer, product_url
from tests.auth.issuer import LocalIssuer
from tests.auth.test_access import assert_auth_fault
from tests.conftest import settings_for


@pytest.fixture()
def verifier(issuer: LocalIssuer, auth_settings: Settings) -> OIDCVerifier:
    return OIDCVerifier(auth_settings, min_refresh_seconds=0)


def test_valid_token(verifier: OIDCVerifier, issuer: LocalIssuer) -> None:
    user = verifier.authenticate(issuer.token(sub="alice", groups=["/crab-team", "/x/y"]))
    assert user.user_id == "alice" and user.groups == {"crab-team", "x/y"} and user.method == "oidc"


@pytest.mark.parametrize(("claims", "message"), [
    ({"lifetime": -120}, "expired"),
    ({"aud": "another-service"}, "audience"),
    ({"iss": "http://127.0.0.1:1/realms/other"}, "issuer"),
    ({"nbf": 4_000_000_000}, "not valid yet"),
])
def test_rejected_claims(verifier: OIDCVerifier, issuer: LocalIssuer, claims: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidToken, match=message):
        verifier.authenticate(issuer.token(**claims))  # type: ignore[arg-type]


def test_wrong_signature(verifier: OIDCVerifier, issuer: LocalIssuer) -> None:
    forged = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidToken, match="signature"):
        verifier.authenticate(issuer.token(key=forged))


def test_symmetric_algorithms_are_refused(verifier: OIDCVerifier, issuer: LocalIssuer) -> None:
    import jwt

    token = jwt.encode({"iss": issuer.url, "sub": "x", "aud": "tapserver", "exp": 4_000_000_000}, "secret",
                       algorithm="HS256", headers={"kid": issuer.current})
    with pytest.raises(InvalidToken, match="algorithm"):
        verifier.authenticate(token)


def test_unknown_kid_refreshes_the_key_set(verifier: OIDCVerifier, issuer: LocalIssuer) -> None:
    verifier.authenticate(issuer.token())
    fetched = issuer.jwks_requests
    verifier.authenticate(issuer.token())
    assert issuer.jwks_requests == fetched  # cached
    issuer.rotate()
    assert verifier.authenticate(issuer.token(sub="rotated")).user_id == "rotated"
    assert issuer.jwks_requests == fetched + 1
    with pytest.raises(InvalidToken, match="unknown key"):
        verifier.authenticate(issuer.token(kid="never-published", key=issuer.keys[issuer.current]))


def test_unknown_kids_refresh_the_key_set_at_most_once_per_interval(
        issuer: LocalIssuer, auth_settings: Settings) -> None:
    interval = 0.5
    verifier = OIDCVerifier(auth_settings, min_refresh_seconds=interval)
    verifier.authenticate(issuer.token())
    fetched = issuer.jwks_requests
    issuer.rotate()
    # within the interval after the last fetch, no unknown kid reaches the issuer, not even a real new key
    for kid in ("made-up-1", "made-up-2", issuer.current):
        with pytest.raises(InvalidToken, match="unknown key"):
            verifier.authenticate(issuer.token(kid=kid, key=issuer.keys[issuer.current]))
    assert issuer.jwks_requests == fetched
    time.sleep(interval * 1.2)
    # after it, one fetch finds the rotated key; the next unknown kid waits for the next interval
    assert verifier.authenticate(issuer.token(sub="rotated")).user_id == "rotated"
    assert issuer.jwks_requests == fetched + 1
    for kid in ("made-up-3", "made-up-4"):
        with pytest.raises(InvalidToken, match="unknown key"):
            verifier.authenticate(issuer.token(kid=kid, key=issuer.keys[issuer.current]))
    assert issuer.jwks_requests == fetched + 1


def test_the_key_set_expires_after_the_cache_time(issuer: LocalIssuer, auth_settings: Settings) -> None:
    verifier = OIDCVerifier(auth_settings.model_copy(update={"oidc_jwks_cache_seconds": 0.3}),
                            min_refresh_seconds=3600)
    verifier.authenticate(issuer.token())
    fetched = issuer.jwks_requests
    verifier.authenticate(issuer.token())
    assert issuer.jwks_requests == fetched
    time.sleep(0.4)
    verifier.authenticate(issuer.token())
    assert issuer.jwks_requests == fetched + 1


def test_unreachable_issuer_fails_closed(caplog: pytest.LogCaptureFixture, issuer: LocalIssuer) -> None:
    from tests.e2e.server import free_port

    settings = settings_for("postgresql://postgres@127.0.0.1:1/x", oidc_issuer=f"http://127.0.0.1:{free_port()}/r",
                            oidc_timeout=1.0)
    with caplog.at_level(logging.ERROR, logger="tapserver.auth"), pytest.raises(IssuerUnavailable):
        OIDCVerifier(settings).authenticate(issuer.token())
    assert any("unreachable" in r.getMessage() for r in caplog.records)


def test_oidc_over_http(client: TestClient, issuer: LocalIssuer) -> None:
    url = product_url("embargoed")
    assert client.get(url, headers=bearer(issuer.token(groups=["/crab-team"]))).status_code == 200
    assert client.get(url, headers=bearer(issuer.token(groups=["other"]))).status_code == 403
    assert_auth_fault(client.get(url, headers=bearer(issuer.token(lifetime=-120))))
    assert_auth_fault(client.get(url, headers=bearer(issuer.token(aud="nope"))))


def test_unreachable_issuer_over_http_is_503(auth_settings: Settings, issuer: LocalIssuer) -> None:
    from tapserver.app import create_app
    from tests.e2e.server import free_port

    settings = auth_settings.model_copy(update={"oidc_issuer": f"http://127.0.0.1:{free_port()}/r",
                                                "oidc_timeout": 1.0, "workers": 0})
    with TestClient(create_app(settings), base_url="http://testserver") as client:
        response = client.get(product_url("public"), headers=bearer(issuer.token()))
    assert response.status_code == 503
    assert b"QUERY_STATUS" in response.content
