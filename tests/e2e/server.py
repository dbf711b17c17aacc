"""Run `tapserver serve` as a real process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_server(database_url: str, *, extra_env: dict[str, str] | None = None, workers: int = 1,
                   log: Path | None = None) -> Iterator[str]:
    """Start the server against ``database_url``; yield its base URL (``http://127.0.0.1:PORT``)."""
    with server_process(database_url, extra_env=extra_env, workers=workers, log=log) as (base, _process):
        yield base


@contextmanager
def server_process(database_url: str, *, extra_env: dict[str, str] | None = None, workers: int = 1,
                   log: Path | None = None) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """As :func:`running_server`, yielding the base URL and the server process."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAPSERVER_")}
    env.update({"TAPSERVER_DATABASE_URL": database_url, "TAPSERVER_BASE_URL": base})
    # No background warm-up of the page caches (about a second of CPU per server) unless a test asks for it:
    # the pages' tests do, the others serve no landing page.
    env["TAPSERVER_WEB_WARM_UP"] = "false"
    env.update(extra_env or {})
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "tapserver.cli", "serve", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning"],
        env=env, stdout=out, stderr=subprocess.STDOUT,
    )
    try:
        wait_until_available(base, process)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def wait_until_available(base: str, process: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    """Return once the server at ``base`` answers /tap/availability with 200; RuntimeError if its process
    exits first or ``timeout_s`` passes."""
    deadline = time.monotonic() + timeout_s
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"tapserver serve exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/tap/availability", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"tapserver serve did not come up within {timeout_s:.0f} s")
        time.sleep(0.1)
