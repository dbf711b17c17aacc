"""A real server over a database holding the FACT demo data, shared by the end-to-end tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dbutil import migrated_database
from tests.e2e.server import run, running_server

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "demo"


def _tapserver(*args: str, database_url: str) -> tuple[int, str]:
    """``tapserver ARGS`` against ``database_url``: its exit status and output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAPSERVER_")}
    env["TAPSERVER_DATABASE_URL"] = database_url
    return run(args, env)


@pytest.fixture(scope="session")
def demo_database() -> Iterator[str]:
    """A migrated database with the demo data ingested through the CLI, as `make demo` does."""
    with migrated_database("tapserver_demo") as url:
        raw = url.render_as_string(hide_password=False).replace("+psycopg", "")
        args = ("ingest", str(DEMO / "data" / "fact"), "--config", str(DEMO / "fact.toml"), "--quiet")
        code, output = _tapserver(*args, database_url=raw)
        assert code == 0, f"tapserver {' '.join(args)} failed:\n{output}"
        yield raw


@pytest.fixture(scope="session")
def demo_server(demo_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL of `tapserver serve` over the demo database."""
    data = tmp_path_factory.mktemp("server-data")
    env = {"TAPSERVER_DATA_DIR": str(data), "TAPSERVER_DATA_ROOTS": f'["{DEMO / "data"}"]'}
    with running_server(demo_database, extra_env=env, log=data / "server.log") as base:
        yield base
