"""A PostgreSQL primary and a streaming hot standby (``pg_basebackup -R``), owned by one test run.

Both clusters live in a private directory the ``postgres`` user can reach (tests run as root; PostgreSQL
refuses to), listen on free loopback ports and are stopped and deleted at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.e2e.server import free_port
from tests.uws.procs import Processes, processes

BIN = Path("/usr/lib/postgresql/15/bin")
#: The role the servers query the standby as (created by the migrations, replicated with them).
READER = "tapserver_reader"


def available() -> bool:
    """Whether the PostgreSQL 15 server binaries (and pgsphere) are installed."""
    return (BIN / "pg_basebackup").exists() and Path("/usr/share/postgresql/15/extension/pg_sphere.control").exists()


def _as_owner(args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary as ``postgres`` when we are root (the server refuses to run as root)."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--", *args]
    return subprocess.run(args, capture_output=True, text=True, check=True, timeout=120, **kwargs)  # type: ignore[call-overload]


@dataclass
class Node:
    """One running cluster."""

    data: Path
    port: int
    log: Path

    def url(self, database: str = "postgres", user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        _as_owner([str(BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start"])

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            _as_owner([str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"])


@dataclass
class ReplicatedPair:
    """A primary and its hot standby."""

    primary: Node
    standby: Node

    def wait_replayed(self, timeout_s: float = 30.0) -> None:
        """Block until the standby has replayed everything the primary has written so far."""
        with psycopg.connect(self.primary.url(), autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
            assert row is not None
            target = row[0]
        deadline = time.monotonic() + timeout_s
        with psycopg.connect(self.standby.url(), autocommit=True) as conn:
            while True:
                done = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (target,)).fetchone()
                if done and done[0]:
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the standby did not replay up to {target} within {timeout_s:.0f} s")
                time.sleep(0.05)


_PRIMARY_CONF = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
wal_level = replica
max_wal_senders = 5
hot_standby = on
hot_standby_feedback = on
max_standby_streaming_delay = 30s
fsync = off
full_page_writes = off
shared_buffers = 64MB
"""


@contextmanager
def replicated_pair() -> Iterator[ReplicatedPair]:
    """Start a primary, clone it with ``pg_basebackup -R`` into a streaming hot standby, yield both."""
    root = Path(tempfile.mkdtemp(prefix="tapserver-replica-", dir="/var/tmp"))
    os.chmod(root, 0o755)
    sockets = root / "run"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    primary = Node(root / "primary", free_port(), root / "primary.log")
    standby = Node(root / "standby", free_port(), root / "standby.log")
    started: list[Node] = []
    try:
        # throwaway clusters: nothing is synced to disk (--no-sync here, fsync = off in the configuration)
        _as_owner([str(BIN / "initdb"), "-D", str(primary.data), "-U", "postgres", "--auth=trust",
                   "--encoding=UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"])
        with open(primary.data / "postgresql.conf", "a") as conf:
            conf.write(_PRIMARY_CONF.format(port=primary.port, sockets=sockets))
        with open(primary.data / "pg_hba.conf", "a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        primary.start()
        started.append(primary)
        _as_owner([str(BIN / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres",
                   "-D", str(standby.data), "-R", "-X", "stream", "-c", "fast", "--no-sync"])
        with open(standby.data / "postgresql.conf", "a") as conf:
            conf.write(f"port = {standby.port}\n")
        standby.start()
        started.append(standby)
        pair = ReplicatedPair(primary, standby)
        with psycopg.connect(standby.url(), autocommit=True) as conn:
            row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            assert row and row[0], "the standby is not in recovery"
        yield pair
    finally:
        for node in reversed(started):
            with suppress(subprocess.CalledProcessError):
                node.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class ScaleOut:
    """The documented scale-out topology running on a replicated pair."""

    bases: list[str]
    procs: Processes

    @property
    def pids(self) -> list[int]:
        """The servers' and the job workers' processes."""
        return [process.pid for process in self.procs.started]


@contextmanager
def scale_out(pair: ReplicatedPair, database: str, data_dir: Path, log_dir: Path, *, servers: int = 2,
              workers: int = 2, concurrency: int = 1, extra: dict[str, str] | None = None) -> Iterator[ScaleOut]:
    """``servers`` `tapserver serve` processes without embedded job slots and ``workers`` `tapserver worker`
    processes (``concurrency`` slots each) sharing the results directory ``data_dir``: jobs and everything
    written go to ``database`` on the primary, user queries to the standby (as :data:`READER`)."""
    settings = {"TAPSERVER_QUERY_DATABASE_URL": pair.standby.url(database, READER), **(extra or {})}
    with processes(pair.primary.url(database), data_dir, log_dir, extra=settings) as procs:
        bases = [procs.server(workers=0)[0] for _ in range(servers)]
        for _ in range(workers):
            procs.worker(concurrency=concurrency)
        yield ScaleOut(bases, procs)
