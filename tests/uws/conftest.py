"""A migrated database of our own (UWS tests create and destroy jobs) with a small synthetic ObsCore."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tapserver.app import create_app
from tapserver.config import Settings, load_settings
from tapserver.web import coverage
from tests.dbutil import migrated_database, pooled_engine
from tests.uws.synthetic import OBSCORE_ROWS, SEED_SQL, positions, votable_bytes


def settings_for(url: str, data_dir: Path, **overrides: object) -> Settings:
    return load_settings(database_url=url, data_dir=data_dir, **overrides)


@pytest.fixture(scope="session", autouse=True)
def coverage_in_process() -> Iterator[None]:
    """An app started in this process that builds the archive's coverage (for a page that shows it, or in the
    warm-up where a test turns that on) unites the synthetic archive's 2000 fields of view here (about 0.3 s of
    CPU), not in a spawned Python (about 1.7 s). The spawned path is tested on the staged data
    (tests/ingest/test_footprints_hea.py).

    The apps of the session share their coverage builds: an app whose archive (database and footprints'
    fingerprint) was covered before by another app gets that MOC, as one app reuses its own while the
    fingerprint stays (CoverageCache)."""
    built: dict[tuple[str, str], coverage.Coverage] = {}
    lock = threading.Lock()

    def shared_build(fingerprint: str, engine: Engine) -> coverage.Coverage:
        key = (engine.url.render_as_string(hide_password=False), fingerprint)
        with lock:
            if key not in built:
                built[key] = coverage.build_coverage_of_archive(fingerprint, engine)
            return built[key]

    original_init = coverage.CoverageCache.__init__

    def init(self: coverage.CoverageCache, engine: Engine, ttl: float = 30.0,
             builder: Callable[[str, Engine], coverage.Coverage] = shared_build) -> None:
        original_init(self, engine, ttl, builder)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(coverage, "IN_PROCESS_FOOTPRINTS", OBSCORE_ROWS + 1)
        patch.setattr(coverage.CoverageCache, "__init__", init)
        yield


@pytest.fixture(scope="session")
def uws_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL (libpq form) of a migrated database with the synthetic ObsCore, for the whole UWS session."""
    with migrated_database("tapserver_uws") as url:
        raw = url.render_as_string(hide_password=False)
        settings = settings_for(raw, tmp_path_factory.mktemp("uws-data"))
        engine = pooled_engine(settings.admin_url)
        try:
            with engine.begin() as conn:
                conn.execute(text(SEED_SQL))
                conn.execute(text("ANALYZE ivoa.obscore"))
            _admin_engines[raw.replace("+psycopg", "")] = engine
            yield raw.replace("+psycopg", "")
        finally:
            engine.dispose()


#: The owner's engine of each UWS database (pooled: the tests' polls and cleanups reuse its connections).
_admin_engines: dict[str, Engine] = {}


@pytest.fixture()
def uws_settings(uws_database: str, tmp_path: Path) -> Settings:
    """Settings on the UWS database with a data directory of the test's own."""
    return settings_for(uws_database, tmp_path / "data", workers=2)


@pytest.fixture()
def uws_admin(uws_database: str) -> Engine:
    """The owner's engine of the UWS database (shared by the session; a connection given back is reset)."""
    return _admin_engines[uws_database]


@pytest.fixture()
def clean_jobs(uws_admin: Engine) -> Iterator[None]:
    """Start and end the test with no jobs."""
    with uws_admin.begin() as conn:
        conn.execute(text("DELETE FROM uws.job"))
    yield
    with uws_admin.begin() as conn:
        conn.execute(text("DELETE FROM uws.job"))


@pytest.fixture()
def client(uws_settings: Settings, clean_jobs: None) -> Iterator[TestClient]:
    """The app in this process with its lifespan (phase listener, 2 embedded job slots)."""
    with TestClient(create_app(uws_settings), base_url=uws_settings.base_url) as test_client:
        yield test_client


@pytest.fixture()
def served_votable() -> Iterator[tuple[str, bytes]]:
    """An HTTP server on loopback serving one VOTable at /t.xml (404 elsewhere)."""
    data = votable_bytes(positions(4), "binary2")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/t.xml":
                self.send_response(200)
                self.send_header("Content-Type", "application/x-votable+xml")
                self.end_headers()
                self.wfile.write(data)
            else:
                self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", data
    server.shutdown()
