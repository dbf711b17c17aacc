"""A database of its own with public and proprietary datasets, an app with tokens enabled, and a local
OIDC issuer (its own RSA keys, JWKS on 127.0.0.1)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient

from tapserver.app import create_app
from tapserver.auth.tokens import TokenStore
from tapserver.config import Settings
from tapserver.datalink.model import file_url
from tests.auth.issuer import LocalIssuer, serving
from tests.conftest import settings_for
from tests.dbutil import engine_for, migrated_database

DL3 = Path(__file__).resolve().parents[3] / "shared" / "data" / "dl3"
FACT = DL3 / "joint-crab-fact" / "20131103_103_dl3.fits"
BASE_URL = "http://testserver"
AUTH = "ivo://test.example"
GRANTS = {"collection:secret": ["crab-team"], "proposal:P2": ["p2-team"]}

#: name: (collection, obs_id, data_rights, release in days from now or None, proposal)
DATASETS = {
    "public": ("fact", "1", "public", None, None),
    "released": ("secret", "2", "proprietary", -30, None),
    "embargoed": ("secret", "3", "proprietary", 365, None),
    "proposal": ("other", "4", "proprietary", 365, "P2"),
}


def did(name: str) -> str:
    collection, obs_id, *_ = DATASETS[name]
    return f"{AUTH}/{collection}?{obs_id}"


def product_url(name: str, base: str = BASE_URL) -> str:
    return file_url(base, f"{did(name)}#events")


def populate(settings: Settings) -> None:
    """Insert the datasets and one product (a FACT DL3 file) each, as the owner."""
    engine = create_engine(settings.admin_url, poolclass=NullPool)
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as conn:
        for name, (collection, obs_id, rights, days, proposal) in DATASETS.items():
            conn.execute(text(
                "INSERT INTO ivoa.obscore (calib_level, obs_collection, obs_id, obs_publisher_did, data_rights, "
                "obs_release_date, proposal_id, access_format, dataproduct_type, obs_title) VALUES (2, :c, :o, "
                ":d, :r, :t, :p, 'application/x-votable+xml;content=datalink', 'event', :n)"),
                {"c": collection, "o": obs_id, "d": did(name), "r": rights, "p": proposal, "n": name,
                 "t": None if days is None else now + timedelta(days=days)})
            conn.execute(text(
                "INSERT INTO datalink.product (product_id, obs_publisher_did, semantics, content_type, "
                "content_length, file_path) VALUES (:id, :d, '#this', 'application/fits', :n, :path)"),
                {"id": f"{did(name)}#events", "d": did(name), "n": FACT.stat().st_size, "path": str(FACT)})
    engine.dispose()


@dataclass
class Tokens:
    """Operator tokens of the test users (the secrets the leak test looks for)."""

    member: str  # alice, group crab-team
    proposer: str  # carol, group p2-team
    other: str  # bob, no group
    revoked: str
    expired: str

    def all(self) -> list[str]:
        return [self.member, self.proposer, self.other, self.revoked, self.expired]


@pytest.fixture(scope="session")
def issuer() -> Iterator[LocalIssuer]:
    with serving(LocalIssuer()) as local:
        yield local


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with migrated_database("tapserver_auth") as url:
        yield url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def auth_settings(database_url: str, issuer: LocalIssuer, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    settings = settings_for(database_url, base_url=BASE_URL, data_dir=tmp_path_factory.mktemp("auth-data"),
                            data_roots=[DL3], workers=1, auth_tokens=True, oidc_issuer=issuer.url,
                            oidc_audience="tapserver", proprietary_groups=GRANTS)
    populate(settings)
    return settings


@pytest.fixture(scope="session")
def admin(auth_settings: Settings) -> Iterator[Engine]:
    with engine_for(auth_settings.admin_url) as engine:
        yield engine


@pytest.fixture(scope="session")
def tokens(admin: Engine) -> Tokens:
    store = TokenStore(admin)
    revoked_id, revoked = store.create("dave", ["crab-team"])
    store.revoke(token_id=revoked_id)
    return Tokens(
        member=store.create("alice", ["crab-team"])[1],
        proposer=store.create("carol", ["p2-team"])[1],
        other=store.create("bob", [])[1],
        revoked=revoked,
        expired=store.create("erin", ["crab-team"], datetime.now(UTC) - timedelta(minutes=1))[1],
    )


@pytest.fixture(scope="session")
def client(auth_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(auth_settings), base_url=BASE_URL) as test_client:
        yield test_client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def env_for(settings: Settings) -> dict[str, str]:
    """TAPSERVER_* variables reproducing the auth settings for a real server process."""
    return {"TAPSERVER_AUTH_TOKENS": "true", "TAPSERVER_DATA_ROOTS": json.dumps([str(DL3)]),
            "TAPSERVER_PROPRIETARY_GROUPS": json.dumps(GRANTS), "TAPSERVER_WORKERS": "1",
            "TAPSERVER_DATA_DIR": str(settings.data_dir)}
