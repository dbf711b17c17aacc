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
from sqlalchemy import text

from tapserver.app import create_app
from tapserver.config import load_settings
from tests.dbutil import migrated_database
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


#: A real DL3 file served as a product of the fuzzing database, and a FIFO in the same data root.
FUZZ_FILE = Path(__file__).resolve().parents[3] / "shared" / "data" / "dl3" / "joint-crab-fact" / \
    "20131103_103_dl3.fits"
FUZZ_DID = "ivo://fuzz.example/fact?103"
FUZZ_PRODUCTS = {"file": f"{FUZZ_DID}#events", "fifo": f"{FUZZ_DID}#fifo"}


@pytest.fixture(scope="package")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app on a migrated database of its own (fuzzing creates and deletes jobs), lifespan running, no
    job workers (jobs stay PENDING), with one dataset whose products are a real DL3 file and a FIFO."""
    root = tmp_path_factory.mktemp("fuzzroot")
    shutil.copyfile(FUZZ_FILE, root / "events.fits")
    os.mkfifo(root / "pipe.fits")
    with migrated_database("tapserver_fuzz") as url:
        settings = load_settings(database_url=url.render_as_string(hide_password=False),
                                 data_dir=tmp_path_factory.mktemp("fuzzdata"), workers=0, sync_timeout=5,
                                 data_roots=[root])
        app = create_app(settings)
        with TestClient(app, base_url=settings.base_url) as client:
            with app.state.factory.engines.admin.begin() as conn:
                conn.execute(text(
                    "INSERT INTO ivoa.obscore (calib_level, obs_collection, obs_id, obs_publisher_did, data_rights, "
                    "dataproduct_type) VALUES (2, 'fact', '103', :d, 'public', 'event')"), {"d": FUZZ_DID})
                for name, path in (("file", root / "events.fits"), ("fifo", root / "pipe.fits")):
                    conn.execute(text(
                        "INSERT INTO datalink.product (product_id, obs_publisher_did, semantics, content_type, "
                        "file_path) VALUES (:p, :d, '#this', 'application/fits', :f)"),
                        {"p": FUZZ_PRODUCTS[name], "d": FUZZ_DID, "f": str(path)})
            yield client
        app.state.factory.close()
