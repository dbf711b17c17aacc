"""Run Python code as ``python -c CODE ARGS...`` would, in a process forked from an interpreter that has imported
some heavy modules already (gammapy, pyvo, psycopg and tapserver's writers take 0.4 to 3 s of CPU to import).

The helper is a fresh interpreter started with the test's environment; it imports the modules it is given, then
forks one child per :meth:`Preloaded.run`. The child runs the code as ``python -c`` runs it: a new ``__main__``
module (fresh globals: the code's own import statements still run, so a missing import still fails),
``sys.argv == ["-c", *args]``, its own working directory, stdin from /dev/null, stdout and stderr captured, an
uncaught exception printed as the interpreter prints it with exit status 1, ``sys.exit`` honoured, and the atexit
handlers run at the end. What differs from a new interpreter is only that the preloaded modules (and what they
import) are in ``sys.modules`` from the start.

The helper waits for its children, so their CPU time is counted in the helper's, and the helper's in the test
process's when :meth:`Preloaded.close` has waited for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

HELPER = r"""
import atexit, importlib, json, os, sys, traceback, types

for name in sys.argv[1:]:
    importlib.import_module(name)
# requests on stdin, replies on a copy of stdout; what the helper itself prints goes to its log (stderr)
channel_in, channel_out = os.fdopen(0, "r"), os.fdopen(os.dup(1), "w")
sys.stdout.flush()
os.dup2(2, 1)


def child(request):
    os.chdir(request["cwd"])
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, fd)
        os.close(out)
    sys.argv = ["-c", *request["args"]]
    main = types.ModuleType("__main__")
    sys.modules["__main__"] = main
    code = 0
    try:
        exec(compile(request["code"], "<string>", "exec"), main.__dict__)
    except SystemExit as exc:
        if exc.code is None:
            code = 0
        elif isinstance(exc.code, int):
            code = exc.code
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException as exc:  # printed as the interpreter prints it: from the code's frame on
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
        code = 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    return code


sys.stderr.flush()
channel_out.write("ready\n")
channel_out.flush()
for line in channel_in:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            status = child(request)
        finally:
            os._exit(status)
    _, status = os.waitpid(pid, 0)
    channel_out.write(json.dumps({"returncode": os.waitstatus_to_exitcode(status)}) + "\n")
    channel_out.flush()
"""


class Preloaded:
    """A helper interpreter that has imported ``modules``; :meth:`run` runs code in a child forked from it."""

    def __init__(self, modules: Iterable[str], *, env: dict[str, str] | None = None, timeout: float = 300) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="tapserver-preloaded-")
        self._log = Path(self._dir.name) / "helper.log"
        with open(self._log, "wb") as log:
            self._process = subprocess.Popen([sys.executable, "-c", HELPER, *modules], env=env, stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=log, start_new_session=True)
        self._runs = 0
        self._read_line(timeout, "start")

    def _read_line(self, timeout: float, what: str) -> str:
        assert self._process.stdout is not None
        fd = self._process.stdout.fileno()
        data = b""
        deadline = time.monotonic() + timeout
        while not data.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                self.close(kill=True)
                raise subprocess.TimeoutExpired(what, timeout)
            chunk = os.read(fd, 4096)
            if not chunk:
                self._process.wait()
                raise RuntimeError(f"the preloaded interpreter exited ({what}):\n{self._log.read_text()[-3000:]}")
            data += chunk
        return data.decode()

    def run(self, code: str, *args: str, cwd: str | Path | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``python -c code *args`` in ``cwd`` (forked from the helper): its exit status, stdout and stderr."""
        assert self._process.stdin is not None
        self._runs += 1
        out, err = (Path(self._dir.name) / f"{self._runs}.{name}" for name in ("out", "err"))
        request = {"code": code, "args": list(args), "cwd": str(cwd or os.getcwd()), "stdout": str(out),
                   "stderr": str(err)}
        self._process.stdin.write(json.dumps(request).encode() + b"\n")
        self._process.stdin.flush()
        returncode = json.loads(self._read_line(timeout, "run"))["returncode"]
        return subprocess.CompletedProcess(["python", "-c", code, *args], returncode, out.read_text(), err.read_text())

    def close(self, *, kill: bool = False) -> None:
        """End the helper (killed with a child still running if ``kill``) and wait for it."""
        if self._process.poll() is None:
            assert self._process.stdin is not None
            with contextlib.suppress(OSError):
                self._process.stdin.close()
            try:
                self._process.wait(timeout=1 if kill else 30)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._dir.cleanup()

    def __enter__(self) -> Preloaded:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
