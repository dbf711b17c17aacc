"""Run `tapserver serve` (or another `tapserver` command) as a real process on a free loopback port, for
end-to-end tests.

Most of a server's start-up is Python importing tapserver and its dependencies (about 2 s of CPU, as much as
the rest of a short test). So the processes are forked from one interpreter per test process that has
imported them already: a ``multiprocessing`` fork server, started at the first server. The child sets its
environment, sends its output to the log and runs ``tapserver.cli.main`` with the arguments the console
script gets: the same code path as ``python -m tapserver.cli``, in a process of its own that the test can
signal and kill. ``fresh=True`` runs the command line instead, where a test is about the start from scratch.
"""

from __future__ import annotations

import multiprocessing
import os
import pkgutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Protocol

#: What the fork server imports once besides every tapserver module: the rest of what `tapserver serve` and
#: `tapserver worker` import by the time they serve (uvicorn's parts, MOCs for the landing page), and the main
#: module (the ``pytest`` script; a forked child would import it again unless its fork server has).
PRELOAD = ["__main__", "uvicorn", "uvicorn.supervisors", "uvicorn.protocols.http.h11_impl", "uvicorn.lifespan.on",
           "uvicorn.loops.auto", "mocpy", "astropy.table"]


def _preload() -> list[str]:
    import ingest
    import tapserver

    modules = [*PRELOAD, "tapserver", "ingest"]
    for package in (tapserver, ingest):
        modules += [module.name for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")]
    return modules


_context: ForkServerContext | None = None


class Process(Protocol):
    """What the tests use of a server or worker process (a subset of :class:`subprocess.Popen`)."""

    @property
    def pid(self) -> int: ...
    @property
    def returncode(self) -> int | None: ...
    def poll(self) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int: ...
    def send_signal(self, sig: int) -> None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run_cli(args: list[str], env: dict[str, str], log: str | None) -> None:
    """In the forked child: the environment and output of a process started with ``env``, then the CLI."""
    os.environ.clear()
    os.environ.update(env)
    out = os.open(log or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    from tapserver.cli import main

    sys.exit(main(args))


class Forked:
    """A `tapserver` command running in a process forked from the fork server, seen as a Popen."""

    def __init__(self, args: Sequence[str], env: dict[str, str], log: Path | None) -> None:
        global _context
        if _context is None:
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(_preload())
        self.args = ["tapserver", *args]
        self._process = _context.Process(target=_run_cli, args=(list(args), env, str(log) if log else None),
                                         name=" ".join(self.args), daemon=False)
        self._process.start()

    @property
    def pid(self) -> int:
        assert self._process.pid is not None
        return self._process.pid

    @property
    def returncode(self) -> int | None:
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def wait(self, timeout: float | None = None) -> int:
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return self._process.exitcode

    def send_signal(self, sig: int) -> None:
        if self._process.exitcode is None:
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


def start(args: Sequence[str], env: dict[str, str], log: Path | None = None, *, fresh: bool = False) -> Process:
    """Start ``tapserver ARGS`` with exactly the environment ``env``, output to ``log`` (or nowhere)."""
    if not fresh:
        return Forked(args, env, log)
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - the child has its own copy
    try:
        return subprocess.Popen([sys.executable, "-m", "tapserver.cli", *args], env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    finally:
        if log:
            out.close()  # type: ignore[union-attr]


def run(args: Sequence[str], env: dict[str, str], *, timeout: float = 600) -> tuple[int, str]:
    """Run ``tapserver ARGS`` (forked as the servers are) to its end: its exit status and its output."""
    with tempfile.TemporaryDirectory(prefix="tapserver-run-") as tmp:
        log = Path(tmp) / "output.txt"
        process = start(args, env, log)
        try:
            code = process.wait(timeout=timeout)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        return code, log.read_text(errors="replace")


def stop(process: Process, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if the process has not ended within ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_server(database_url: str, *, extra_env: dict[str, str] | None = None, workers: int = 1,
                   log: Path | None = None, fresh: bool = False) -> Iterator[str]:
    """Start the server against ``database_url``; yield its base URL (``http://127.0.0.1:PORT``)."""
    with server_process(database_url, extra_env=extra_env, workers=workers, log=log, fresh=fresh) as (base, _):
        yield base


@contextmanager
def server_process(database_url: str, *, extra_env: dict[str, str] | None = None, workers: int = 1,
                   log: Path | None = None, fresh: bool = False) -> Iterator[tuple[str, Process]]:
    """As :func:`running_server`, yielding the base URL and the server process."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAPSERVER_")}
    env.update({"TAPSERVER_DATABASE_URL": database_url, "TAPSERVER_BASE_URL": base})
    # No background warm-up of the page caches (about a second of CPU per server) unless a test asks for it:
    # the pages' tests do, the others serve no landing page.
    env["TAPSERVER_WEB_WARM_UP"] = "false"
    env.update(extra_env or {})
    args = ["serve", "--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    # several uvicorn workers are spawned interpreters that import the app by the main module's path
    process = start(args, env, log, fresh=fresh or workers > 1)
    try:
        wait_until_available(base, process)
        yield base, process
    finally:
        stop(process)


def wait_until_available(base: str, process: Process, timeout_s: float = 60.0) -> None:
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
        time.sleep(0.05)
