"""Fault-test helpers: a throwaway PostgreSQL cluster that tests may stop and start."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tapserver.app import create_app
from tapserver.config import load_settings
from tapserver.migrate import upgrade
from tests.dbutil import throwaway_database
from tests.e2e.server import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class Cluster:
    """A PostgreSQL 15 cluster of its own (as the postgres OS user), on a free loopback port."""

    data: Path
    port: int
    user: str | None  # OS user to run the server as (None: the current user)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/tapserver"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = [str(PG_BIN / args[0]), *args[1:]]
        if self.user:
            command = ["runuser", "-u", self.user, "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=60)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "30", "-l", str(self.data / "server.log"),
                  "-o", f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-m", "immediate", "stop", check=False)


def _cluster_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    return "postgres"


@pytest.fixture(scope="module")
def pg_cluster() -> Iterator[Cluster]:
    """Start a throwaway cluster with a migrated ``tapserver`` database; stop and remove it afterwards."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL 15 server binaries not installed")
    user = _cluster_user()
    root = Path(tempfile.mkdtemp(prefix="tapserver_faultpg_"))
    data = root / "data"
    data.mkdir()
    if user:
        shutil.chown(root, user)
        shutil.chown(data, user)
    cluster = Cluster(data=data, port=free_port(), user=user)
    try:
        cluster._run("initdb", "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
        cluster.start()
        cluster._run("createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres", "tapserver")
        env = {k: v for k, v in os.environ.items() if not k.startswith("TAPSERVER_")}
        env["TAPSERVER_DATABASE_URL"] = cluster.url
        subprocess.run([sys.executable, "-m", "tapserver.cli", "db", "upgrade"], env=env,
                       check=True, capture_output=True, timeout=120)
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


@pytest.fixture(scope="package")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on a migrated database of its own (fuzzing creates and deletes jobs), lifespan running, no
    job workers (jobs stay PENDING), and an empty data root."""
    with throwaway_database("tapserver_fuzz") as url:
        settings = load_settings(database_url=url.render_as_string(hide_password=False),
                                 data_dir=tmp_path_factory.mktemp("fuzzdata"), workers=0, sync_timeout=5,
                                 data_roots=[tmp_path_factory.mktemp("fuzzroot")])
        upgrade(settings)
        app = create_app(settings)
        with TestClient(app, base_url=settings.base_url) as client:
            yield client
        app.state.server.close()
