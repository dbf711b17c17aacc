"""End to end against a real `tapserver serve`: pyvo ``AuthSession`` with bearer tokens negotiated from the
capabilities (ivo://ivoa.net/sso#token), proprietary file access, private job lists, and a search for
leaked tokens in the server log, error messages and job documents."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import pyvo
import requests
from pyvo.auth import AuthSession, securitymethods
from sqlalchemy import Engine

from tapserver.auth import TOKEN_SECURITY_METHOD
from tapserver.auth.tokens import TokenStore
from tapserver.config import Settings
from tests import stilts
from tests.auth.conftest import bearer, env_for, product_url
from tests.auth.issuer import LocalIssuer
from tests.e2e.server import running_server

QUERY = "SELECT obs_id, data_rights FROM ivoa.obscore ORDER BY obs_id"


@pytest.fixture(scope="module")
def server(database_url: str, auth_settings: Settings, issuer: LocalIssuer,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    log = tmp_path_factory.mktemp("auth-e2e") / "server.log"
    env = env_for(auth_settings) | {"TAPSERVER_OIDC_ISSUER": issuer.url, "TAPSERVER_OIDC_AUDIENCE": "tapserver"}
    with running_server(database_url, extra_env=env, log=log) as base:
        yield base, log


@pytest.fixture(scope="module")
def e2e_tokens(admin: Engine) -> dict[str, str]:
    store = TokenStore(admin)
    return {"member": store.create("e2e-alice", ["crab-team"])[1], "other": store.create("e2e-bob", [])[1]}


def auth_session(token: str | None, base: str) -> AuthSession:
    session = AuthSession()
    if token is not None:
        with_token = requests.Session()
        with_token.headers["Authorization"] = f"Bearer {token}"
        session.credentials.set(TOKEN_SECURITY_METHOD, with_token)
    # DataLink file URLs are not in the capabilities: declare the same methods for them.
    session.add_security_method_for_url(f"{base}/files", securitymethods.ANONYMOUS)
    session.add_security_method_for_url(f"{base}/files", TOKEN_SECURITY_METHOD)
    return session


def test_pyvo_token_negotiation_and_file_access(server: tuple[str, Path], e2e_tokens: dict[str, str]) -> None:
    base, _ = server
    member = auth_session(e2e_tokens["member"], base)
    service = pyvo.dal.TAPService(f"{base}/tap", session=member)
    assert len(service.run_sync(QUERY)) == 4  # metadata stays public
    url = product_url("embargoed", base)
    assert member.get(url).status_code == 200
    assert auth_session(e2e_tokens["other"], base).get(url).status_code == 403
    anonymous = auth_session(None, base).get(url)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")


def test_pyvo_async_jobs_are_private(server: tuple[str, Path], e2e_tokens: dict[str, str]) -> None:
    base, _ = server
    alice = pyvo.dal.TAPService(f"{base}/tap", session=auth_session(e2e_tokens["member"], base))
    job = alice.submit_job(QUERY)
    job.run().wait(timeout=60)
    assert len(job.fetch_result()) == 4
    assert job.owner == "e2e-alice"
    bob = auth_session(e2e_tokens["other"], base)
    assert job.job_id not in bob.get(f"{base}/tap/async").text
    assert bob.get(job.url).status_code == 403
    assert requests.get(job.url).status_code == 403
    assert job.job_id in alice._session.get(f"{base}/tap/async").text


def test_no_token_leaks(server: tuple[str, Path], e2e_tokens: dict[str, str], issuer: LocalIssuer) -> None:
    base, log = server
    jwt_token = issuer.token(sub="e2e-oidc", groups=["/crab-team"])
    secrets = [*e2e_tokens.values(), jwt_token, "tst_" + "L" * 43]
    seen: list[str] = []
    assert requests.get(product_url("embargoed", base), headers=bearer(jwt_token)).status_code == 200
    for secret in secrets[1:]:
        seen.append(requests.get(product_url("embargoed", base), headers=bearer(secret)).text)
    expired = issuer.token(lifetime=-120)
    secrets.append(expired)
    seen.append(requests.get(f"{base}/tap/async", headers=bearer(expired)).text)
    # a job with an error, and every document of it
    session = requests.Session()
    session.headers.update(bearer(e2e_tokens["member"]))
    created = session.post(f"{base}/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT nope FROM nowhere",
                                                      "PHASE": "RUN"})
    job_url = created.url
    seen.append(session.get(job_url, params={"WAIT": "10", "PHASE": "EXECUTING"}).text)
    for part in ("", "/parameters", "/error", "/owner", "/results"):
        seen.append(session.get(job_url + part).text)
    seen.append(session.get(f"{base}/tap/async").text)
    seen.append(log.read_text(errors="replace"))
    for secret in secrets:
        for text in seen:
            assert secret not in text


@pytest.mark.skipif(not stilts.installed(), reason="stilts (taplint) is not installed")
def test_taplint_capabilities_with_security_methods(server: tuple[str, Path]) -> None:
    from tests.e2e.test_taplint import run_taplint

    base, _ = server
    errors, _warnings, report = run_taplint(base, "CPV CAP")
    assert errors == 0, "\n".join(line for line in report.splitlines() if line.startswith(("E-", "E+")))
    assert "sso#token" in requests.get(f"{base}/tap/capabilities").text
