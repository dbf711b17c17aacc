"""An archive with real DL3 collections ingested by `tapserver ingest`, and a client of the app serving it
(shared by the GADF data-store and SODA cutout tests)."""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path

import psycopg
from starlette.testclient import TestClient

from ingest.cli import add_arguments, run
from tapserver.app import create_app
from tapserver.config import Settings
from tests.conftest import settings_for
from tests.dbutil import migrated_database

DL3 = Path(__file__).resolve().parents[3] / "shared" / "data" / "dl3"
BASE_URL = "http://testserver"
#: collection name -> directory under DL3 (each ingested as it is staged).
COLLECTIONS = {
    "HESS-DR1": "gammapy-data-hess-dl3-dr1",
    "FACT": "joint-crab-fact",
    "MAGIC": "joint-crab-magic",
    "VERITAS": "joint-crab-veritas",
    "CTA-1DC": "gammapy-data-cta-1dc",
    "HESS-MINIMAL": "gammapy-data-tests-minimal_datastore",  # two DR1 runs again: OBS_ID collisions
}
#: field of view diameters (deg) as an operator configures them (dl3-formats.md §7)
FOV = {"HESS-DR1": 5.0, "HESS-MINIMAL": 5.0, "FACT": 4.5, "MAGIC": 3.5, "VERITAS": 3.5, "CTA-1DC": 10.0}


class Archive:
    """The ingested archive: settings, SQL access and an HTTP client of the app."""

    def __init__(self, settings: Settings, client: TestClient) -> None:
        self.settings = settings
        self.client = client
        self.url = settings.admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._conn: psycopg.Connection[tuple] | None = None

    def rows(self, sql: str, *params: object) -> list[tuple]:
        """The rows of one statement, on a connection kept for the archive's reads (autocommit)."""
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.url, autocommit=True)
        return self._conn.execute(sql, params or None).fetchall()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()

    def did(self, collection: str, obs_id: str) -> str:
        [(did,)] = self.rows("SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_collection = %s AND obs_id = %s",
                             collection, obs_id)
        return str(did)

    def events_file(self, did: str) -> Path:
        [(path,)] = self.rows("SELECT file_path FROM datalink.product WHERE obs_publisher_did = %s "
                              "AND semantics = '#this'", did)
        return Path(path)


def _ingest(settings: Settings, collection: str, path: Path, config: Path) -> None:
    config.write_text(f'collection = "{collection}"\ns_fov = {FOV[collection]}\ndata_rights = "public"\n')
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args([str(path), "--config", str(config), "-q", "-j", "1"])
    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        code = run(args, settings)
    assert code == 0, f"ingest of {path} failed"


@contextmanager
def ingested_archive(prefix: str, scratch: Path, **overrides: object) -> Iterator[Archive]:
    overrides.setdefault("data_dir", scratch / "data")  # async job results
    with migrated_database(prefix) as url:
        settings = settings_for(url.render_as_string(hide_password=False), base_url=BASE_URL,
                                data_roots=[str(DL3)], **overrides)
        for collection, directory in COLLECTIONS.items():
            _ingest(settings, collection, DL3 / directory, scratch / f"{collection}.toml")
        with TestClient(create_app(settings), base_url=BASE_URL) as client:
            archive = Archive(settings, client)
            try:
                yield archive
            finally:
                archive.close()
