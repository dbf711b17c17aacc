"""Operator tokens over HTTP: DataLink file access by group, 401s for bad tokens, private job lists,
capabilities, the CLI and the audit log."""

from __future__ import annotations

import logging
import time

import pytest
from lxml import etree
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from tapserver.auth.cli import parse_expires
from tapserver.auth.tokens import TokenStore, token_hash
from tests.auth.conftest import Tokens, bearer, did, product_url

VOTABLE_NS = "http://www.ivoa.net/xml/VOTable/v1.3"


def assert_auth_fault(response: object) -> None:
    assert response.status_code == 401  # type: ignore[attr-defined]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")  # type: ignore[attr-defined]
    document = etree.fromstring(response.content)  # type: ignore[attr-defined]
    status = document.find(f".//{{{VOTABLE_NS}}}INFO[@name='QUERY_STATUS']")
    assert status is not None and status.get("value") == "ERROR"


def test_public_and_released_files_are_served_to_anonymous(client: TestClient) -> None:
    assert client.get(product_url("public")).status_code == 200
    assert client.get(product_url("released")).status_code == 200


def test_embargoed_file_needs_a_group_member(client: TestClient, tokens: Tokens) -> None:
    url = product_url("embargoed")
    anonymous = client.get(url)
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get(url, headers=bearer(tokens.other)).status_code == 403
    assert client.get(url, headers=bearer(tokens.proposer)).status_code == 403
    served = client.get(url, headers=bearer(tokens.member))
    assert served.status_code == 200 and served.content[:6] == b"SIMPLE"


def test_proposal_grant(client: TestClient, tokens: Tokens) -> None:
    url = product_url("proposal")
    assert client.get(url, headers=bearer(tokens.proposer)).status_code == 200
    assert client.get(url, headers=bearer(tokens.member)).status_code == 403


def test_links_mark_access_per_caller(client: TestClient, tokens: Tokens) -> None:
    params = {"ID": did("embargoed")}
    anonymous = client.get("/datalink/links", params=params)
    member = client.get("/datalink/links", params=params, headers=bearer(tokens.member))
    assert anonymous.status_code == member.status_code == 200
    assert anonymous.content != member.content  # link_authorized differs


@pytest.mark.parametrize("header", ["revoked", "expired", "unknown", "garbage", "jwt-like", "empty"])
def test_bad_tokens_are_401_never_anonymous(client: TestClient, tokens: Tokens, header: str) -> None:
    value = {"revoked": tokens.revoked, "expired": tokens.expired, "unknown": "tst_" + "x" * 43,
             "garbage": "not-a-token", "jwt-like": "a.b.c", "empty": ""}[header]
    for url in (product_url("public"), "/tap/async", "/tap/capabilities"):
        assert_auth_fault(client.get(url, headers={"Authorization": f"Bearer {value}"}))


def test_other_schemes_are_ignored(client: TestClient) -> None:
    assert client.get(product_url("public"), headers={"Authorization": "Basic Zm9vOmJhcg=="}).status_code == 200


def _create_job(client: TestClient, headers: dict[str, str]) -> str:
    response = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"},
                           headers=headers, follow_redirects=False)
    assert response.status_code == 303
    return str(response.headers["Location"]).rstrip("/").rsplit("/", 1)[-1]


def _job_ids(client: TestClient, headers: dict[str, str]) -> set[str]:
    response = client.get("/tap/async", headers=headers)
    assert response.status_code == 200
    document = etree.fromstring(response.content)
    return {ref.get("id") for ref in document.iter("{http://www.ivoa.net/xml/UWS/v1.0}jobref")}


def test_jobs_are_private(client: TestClient, tokens: Tokens) -> None:
    alice, bob = bearer(tokens.member), bearer(tokens.other)
    mine = _create_job(client, alice)
    anonymous_job = _create_job(client, {})
    assert mine in _job_ids(client, alice)
    assert mine not in _job_ids(client, bob)
    assert mine not in _job_ids(client, {})
    assert _job_ids(client, {}) == set()  # anonymous jobs are reached by their URL only
    assert client.get(f"/tap/async/{anonymous_job}").status_code == 200
    assert anonymous_job not in _job_ids(client, alice)
    assert client.get(f"/tap/async/{mine}", headers=alice).status_code == 200
    assert client.get(f"/tap/async/{mine}/owner", headers=alice).text == "alice"
    assert client.get(f"/tap/async/{mine}", headers=bob).status_code in (403, 404)
    assert client.get(f"/tap/async/{mine}").status_code in (403, 404)
    assert client.get(f"/tap/async/{anonymous_job}", headers=alice).status_code == 403
    assert client.delete(f"/tap/async/{mine}", headers=bob, follow_redirects=False).status_code in (403, 404)
    assert client.get(f"/tap/async/{mine}", headers=alice).status_code == 200


def test_capabilities_declare_security_methods(client: TestClient) -> None:
    document = etree.fromstring(client.get("/tap/capabilities").content)
    interfaces = document.findall(".//interface")
    assert interfaces
    for interface in interfaces:
        children = [child.tag for child in interface]
        methods = [child.get("standardID") for child in interface if child.tag == "securityMethod"]
        assert methods == [None, "ivo://ivoa.net/sso#token"]
        assert children.index("accessURL") < children.index("securityMethod")


def test_token_store_keeps_only_hashes(admin: Engine, tokens: Tokens) -> None:
    with admin.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM auth.token")).scalars().all()
    for token in tokens.all():
        assert token not in stored
        assert token_hash(token) in stored


def test_reader_role_cannot_read_tokens(auth_settings: object) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.exc import ProgrammingError
    from sqlalchemy.pool import NullPool

    engine = create_engine(auth_settings.query_url, poolclass=NullPool)  # type: ignore[attr-defined]
    try:
        with engine.connect() as conn, pytest.raises(ProgrammingError):
            conn.execute(text("SELECT * FROM auth.token"))
    finally:
        engine.dispose()


def test_revoke_by_user(admin: Engine, client: TestClient) -> None:
    store = TokenStore(admin)
    _, token = store.create("frank", ["crab-team"])
    assert client.get(product_url("embargoed"), headers=bearer(token)).status_code == 200
    assert store.revoke(user_id="frank") == 1
    assert_auth_fault(client.get(product_url("embargoed"), headers=bearer(token)))
    assert [info.state(info.created) for info in store.list("frank")] == ["revoked"]


def test_parse_expires() -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_expires("30d", now) == now + timedelta(days=30)
    assert parse_expires("12h", now) == now + timedelta(hours=12)
    assert parse_expires("2027-01-01T00:00:00") == datetime(2027, 1, 1, tzinfo=UTC)


def test_cli_create_list_revoke(auth_settings: object, capsys: pytest.CaptureFixture[str]) -> None:
    from tapserver.cli import main

    url = auth_settings.database_url  # type: ignore[attr-defined]
    env = pytest.MonkeyPatch()
    env.setenv("TAPSERVER_DATABASE_URL", url)
    try:
        from tapserver.config import get_settings

        get_settings.cache_clear()
        assert main(["token", "create", "--user", "gina", "--group", "g1", "--expires", "1d"]) == 0
        created = capsys.readouterr()
        token = created.out.strip()
        assert token.startswith("tst_") and token not in created.err
        assert main(["token", "list", "--user", "gina"]) == 0
        listing = capsys.readouterr().out
        assert "gina" in listing and "active" in listing and token not in listing
        token_id = listing.split()[0]
        assert main(["token", "revoke", token_id]) == 0
        assert main(["token", "list", "--user", "gina"]) == 0
        assert "revoked" in capsys.readouterr().out
    finally:
        env.undo()
        get_settings.cache_clear()


def test_audit_log(client: TestClient, tokens: Tokens, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tapserver.audit"):
        client.get(product_url("embargoed"), headers=bearer(tokens.member))
        client.get("/tap/sync", params={"LANG": "ADQL", "QUERY": "SELECT TOP 2 obs_id FROM ivoa.obscore"},
                   headers=bearer(tokens.other))
        time.sleep(0.05)
    records = [r.getMessage() for r in caplog.records if r.name == "tapserver.audit"]
    download = next(m for m in records if m.startswith("download"))
    assert "user=alice" in download and "status=200" in download and "bytes=0" not in download
    query = next(m for m in records if m.startswith("query"))
    assert "user=bob" in query and "status=200" in query


def test_no_token_in_logs_or_errors(client: TestClient, tokens: Tokens, issuer: object,
                                    caplog: pytest.LogCaptureFixture) -> None:
    """Every log record (all loggers, DEBUG) and every response body of failing and succeeding requests."""
    secrets = [*tokens.all(), "tst_" + "Q" * 43]
    bodies: list[str] = []
    with caplog.at_level(logging.DEBUG):
        for secret in secrets:
            for url in (product_url("embargoed"), "/tap/async", "/datalink/links?ID=" + did("embargoed")):
                bodies.append(client.get(url, headers=bearer(secret)).text)
        job = _create_job(client, bearer(tokens.member))
        for part in ("", "/parameters", "/owner", "/error", "/results"):
            bodies.append(client.get(f"/tap/async/{job}{part}", headers=bearer(tokens.member)).text)
        bodies.append(client.get("/tap/async", headers=bearer(tokens.member)).text)
    logged = caplog.text + "\n".join(repr(r.args) for r in caplog.records)
    for secret in secrets:
        assert secret not in logged
        for body in bodies:
            assert secret not in body
