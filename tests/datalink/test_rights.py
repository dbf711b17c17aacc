"""Proprietary data: links say who may use them, files are refused to anyone not authorised."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool
from starlette.authentication import AuthCredentials, AuthenticationBackend, SimpleUser
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.testclient import TestClient

from tapserver.app import create_app
from tapserver.datalink.model import DatasetRights
from tapserver.datalink.rights import Access, NoGrants, decide, is_restricted
from tapserver.dependencies import get_access_policy
from tests.datalink.conftest import BASE_URL, DATASETS, FACT_2, World
from tests.datalink.test_links import table

EMBARGOED, RELEASED = DATASETS["embargoed"][0], DATASETS["released"][0]
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def rights(value: str | None, release: datetime | None = None) -> DatasetRights:
    return DatasetRights(did="ivo://x/y?1", obs_collection="y", data_rights=value, release_date=release)


@pytest.mark.parametrize(("value", "release", "restricted"), [
    ("public", None, False),
    (None, None, False),
    ("PUBLIC ", None, False),
    ("proprietary", NOW + timedelta(seconds=1), True),
    ("proprietary", NOW - timedelta(seconds=1), False),
    ("proprietary", (NOW + timedelta(days=1)).replace(tzinfo=None), True),  # naive = UTC
    ("proprietary", None, True),  # no release date: embargoed until one is set
    ("Proprietary", NOW - timedelta(days=1), False),
    ("secure", None, True),
    ("secure", NOW - timedelta(days=1), True),
    ("something-else", None, True),  # unknown rights fail closed
])
def test_is_restricted(value: str | None, release: datetime | None, restricted: bool) -> None:
    assert is_restricted(rights(value, release), NOW) is restricted


@dataclass(frozen=True)
class Grants:
    users: frozenset[str] = field(default_factory=frozenset)
    challenge: str | None = 'Bearer realm="tapserver"'

    def may_read(self, caller: str | None, dataset: DatasetRights) -> bool:
        return caller in self.users


def test_decide() -> None:
    secret = rights("proprietary", NOW + timedelta(days=1))
    assert decide(NoGrants(), None, rights("public"), NOW) is Access.GRANTED
    assert decide(NoGrants(), None, secret, NOW) is Access.DENIED
    assert decide(NoGrants(), "alice", secret, NOW) is Access.DENIED
    policy = Grants(frozenset({"alice"}))
    assert decide(policy, None, secret, NOW) is Access.NEEDS_AUTHENTICATION
    assert decide(policy, "bob", secret, NOW) is Access.DENIED
    assert decide(policy, "alice", secret, NOW) is Access.GRANTED


def _row(client: TestClient, did: str, **headers: str) -> dict[str, object]:
    response = client.get("/datalink/links", params={"ID": did}, headers=headers)
    assert response.status_code == 200
    return next(r for r in table(response.content) if r["semantics"] == "#this")


def test_links_of_embargoed_data_by_default(client: TestClient, world: World) -> None:
    this = _row(client, EMBARGOED)
    assert (this["link_auth"], this["link_authorized"]) == ("true", False)
    assert this["access_url"] == world.url("secret:1#events")  # the link is there, its use is not
    response = client.get("/datalink/links", params={"ID": EMBARGOED})
    provenance = [r for r in table(response.content) if r["semantics"] == "#progenitor"]
    assert provenance and all(r["link_authorized"] is True for r in provenance)


@pytest.mark.parametrize("name", ["secret:1#events", "secret:3#events", "secret:4#events"])
def test_restricted_files_are_refused_to_everyone_by_default(client: TestClient, world: World,
                                                             name: str) -> None:
    response = client.get(world.url(name))
    assert response.status_code == 403
    assert 'value="ERROR"' in response.text and "not public yet" in response.text
    assert client.get(world.url(name), headers={"Range": "bytes=0-10"}).status_code == 403
    assert client.head(world.url(name)).status_code == 403


def test_released_data_are_public(client: TestClient, world: World) -> None:
    assert _row(client, RELEASED)["link_authorized"] is True
    assert _row(client, RELEASED)["link_auth"] == "false"
    response = client.get(world.url("secret:2#events"))
    assert response.status_code == 200 and response.content == FACT_2.read_bytes()
    assert response.headers["cache-control"] == "public"


def test_metadata_of_embargoed_data_stays_searchable(world: World) -> None:
    engine = create_engine(world.settings.query_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT data_rights FROM ivoa.obscore WHERE obs_publisher_did = :d"),
                                 {"d": EMBARGOED}).scalar_one()
    finally:
        engine.dispose()
    assert found == "proprietary"


class HeaderAuth(AuthenticationBackend):
    """Test authentication: the user named in X-Test-User."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, SimpleUser] | None:
        user = conn.headers.get("x-test-user")
        return (AuthCredentials(["authenticated"]), SimpleUser(user)) if user else None


@pytest.fixture()
def authenticated(world: World) -> Iterator[TestClient]:
    app = create_app(world.settings)
    app.add_middleware(AuthenticationMiddleware, backend=HeaderAuth())
    app.dependency_overrides[get_access_policy] = lambda: Grants(frozenset({"alice"}))
    with TestClient(app, base_url=BASE_URL) as client:
        yield client


def test_anonymous_caller_is_challenged(authenticated: TestClient, world: World) -> None:
    response = authenticated.get(world.url("secret:1#events"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="tapserver"'
    assert 'value="ERROR"' in response.text


def test_authenticated_caller_without_grant_is_forbidden(authenticated: TestClient, world: World) -> None:
    response = authenticated.get(world.url("secret:1#events"), headers={"X-Test-User": "bob"})
    assert response.status_code == 403
    assert _row(authenticated, EMBARGOED, **{"X-Test-User": "bob"})["link_authorized"] is False


def test_granted_caller_gets_the_file(authenticated: TestClient, world: World) -> None:
    response = authenticated.get(world.url("secret:1#events"), headers={"X-Test-User": "alice"})
    assert response.status_code == 200 and response.content == FACT_2.read_bytes()
    assert response.headers["cache-control"] == "private"
    this = _row(authenticated, EMBARGOED, **{"X-Test-User": "alice"})
    assert (this["link_auth"], this["link_authorized"]) == ("true", True)
