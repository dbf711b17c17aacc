"""Real `tapserver serve` and job worker processes for end-to-end UWS tests (killable with SIGKILL)."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from tests.e2e.server import Process, free_port, start, wait_until_available


def _env(database_url: str, data_dir: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAPSERVER_")}
    env.update({"TAPSERVER_DATABASE_URL": database_url, "TAPSERVER_DATA_DIR": str(data_dir),
                "TAPSERVER_WEB_WARM_UP": "false"})  # these servers serve no page: no warm-up of the page caches
    env.update(extra)
    return env


@dataclass
class Processes:
    """Started processes, all stopped (SIGKILL if need be) when the context ends."""

    database_url: str
    data_dir: Path
    log_dir: Path
    extra: dict[str, str] = field(default_factory=dict)
    started: list[Process] = field(default_factory=list)

    def server(self, *, workers: int, port: int | None = None, wait: bool = True) -> tuple[str, Process]:
        """A `tapserver serve` process and its base URL, once it answers (``wait=False``: at once; the caller
        waits with `wait_until_available`, so that several processes start side by side)."""
        port = port or free_port()
        base = f"http://127.0.0.1:{port}"
        env = _env(self.database_url, self.data_dir,
                   {**self.extra, "TAPSERVER_BASE_URL": base, "TAPSERVER_WORKERS": str(workers)})
        process = start(["serve", "--port", str(port), "--log-level", "warning"], env,
                        self.log_dir / f"serve-{port}-{len(self.started)}.log")
        self.started.append(process)
        if wait:
            wait_until_available(base, process)
        return base, process

    def worker(self, *, concurrency: int) -> Process:
        env = _env(self.database_url, self.data_dir, {**self.extra, "TAPSERVER_WORKERS": str(concurrency)})
        process = start(["worker", "--concurrency", str(concurrency), "--log-level", "info"], env,
                        self.log_dir / f"worker-{len(self.started)}.log")
        self.started.append(process)
        return process

    @staticmethod
    def kill(process: Process) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.terminate()
        for process in self.started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill(process)


@contextmanager
def processes(database_url: str, data_dir: Path, log_dir: Path,
              extra: dict[str, str] | None = None) -> Iterator[Processes]:
    """Processes over ``database_url`` sharing ``data_dir``; ``extra`` settings go to every process."""
    procs = Processes(database_url, data_dir, log_dir, dict(extra or {}))
    try:
        yield procs
    finally:
        procs.stop_all()
