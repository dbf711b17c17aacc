"""Install tapserver with pip from what docker/Dockerfile copies (pip builds the wheel and installs it, as the
image's `pip install .` does), without extras, into a fresh virtual environment; in a background thread, so
that the half minute pip takes overlaps with the other tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "docker" / "Dockerfile"


# Imports every module of the shipped packages (run in the installed environment, outside the checkout).
IMPORT_ALL = """
import importlib, pkgutil
for package in ("tapserver", "ingest", "migrations"):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if info.name != "migrations.env" and not info.name.startswith("migrations.versions."):
            importlib.import_module(info.name)
"""


def dockerfile_sources(dockerfile: Path = DOCKERFILE) -> list[str]:
    """The paths of the build context that the Dockerfile's COPY instructions take (the image's sources)."""
    sources = []
    for line in dockerfile.read_text().splitlines():
        words = line.split()
        if words and words[0].upper() == "COPY" and not any(w.startswith("--from") for w in words):
            sources += words[1:-1]
    return sources


#: A memory file system for the environment where one is mounted with room to spare.
SHM = Path("/dev/shm")
SHM_FREE_BYTES = 4 << 30


def scratch_dir() -> str | None:
    """Where the environment is made: pip writes about half a gigabyte there and the end of the session
    deletes it, which on a disk costs the kernel several CPU-seconds of journaling and writeback while the other
    tests run; in memory it costs a fraction. The default temporary directory where no large tmpfs is mounted
    with exec permission."""
    try:
        stats = os.statvfs(SHM)
    except OSError:
        return None
    executable = not stats.f_flag & os.ST_NOEXEC  # console scripts and extension modules run from it
    if executable and os.access(SHM, os.W_OK) and stats.f_bavail * stats.f_frsize >= SHM_FREE_BYTES:
        return str(SHM)
    return None


def clean_environment() -> dict[str, str]:
    """The environment of this process without what would make the checkout importable or pick a database.
    pip's own configuration (index, certificates) stays: the install resolves as an operator's would."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONDONTWRITEBYTECODE")
    return {k: v for k, v in os.environ.items() if not k.startswith("TAPSERVER_") and k not in drop}


@dataclass
class Installed:
    """A virtual environment holding only the tapserver wheel and its runtime dependencies."""

    venv: Path
    workdir: Path  # outside the checkout: the commands run here
    env: dict[str, str]
    seconds: dict[str, float] = field(default_factory=dict)  # step -> wall time

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def pip(self) -> list[str]:
        """pip (this interpreter's, a current release) acting on the environment: it holds no pip of its own."""
        return [sys.executable, "-m", "pip", "--python", str(self.bin / "python")]


class WheelInstall:
    """The steps run one after the other in a thread; :meth:`result` waits for them."""

    def __init__(self) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="tapserver-wheel-", dir=scratch_dir()))
        venv, workdir = self.base / "venv", self.base / "run"
        workdir.mkdir()
        env = clean_environment()
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        self.installed = Installed(venv, workdir, env)
        self._error: BaseException | None = None
        self._process: subprocess.Popen[str] | None = None
        self._cancelled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wheel-install", daemon=True)

    def start(self) -> WheelInstall:
        self._thread.start()
        return self

    def _step(self, name: str, args: list[str | Path], timeout: float) -> None:
        if self._cancelled.is_set():
            raise RuntimeError("cancelled")
        started = time.monotonic()
        self._process = subprocess.Popen([str(a) for a in args], env=self.installed.env, cwd=self.base, text=True,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            output, _ = self._process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            output, _ = self._process.communicate()
            raise RuntimeError(f"{name} took more than {timeout:.0f} s:\n{output}") from None
        if self._process.returncode != 0:
            raise RuntimeError(f"{name} failed ({' '.join(map(str, args))}):\n{output}")
        self.installed.seconds[name] = time.monotonic() - started

    def _run(self) -> None:
        context, venv = self.base / "context", self.installed.venv
        pip = ["--disable-pip-version-check", "--no-input", "-q"]
        try:
            # The Dockerfile's build context and nothing else (no build/ or *.egg-info of the checkout).
            for source in dockerfile_sources():
                if (ROOT / source).is_dir():
                    shutil.copytree(ROOT / source, context / source,
                                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
                else:
                    context.mkdir(exist_ok=True)
                    shutil.copy2(ROOT / source, context / source)
            # Without pip: ensurepip would install (and compile) the pip bundled with this Python build, an old
            # release that resolves several times slower against a large index than a current one; the image's
            # `pip install .` runs the current pip of its base image. pip installs into the environment all the
            # same, by its --python option, and the environment ends up with the wheel and its dependencies only.
            self._step("venv", [sys.executable, "-m", "venv", "--without-pip", venv], 300)
            # As the Dockerfile's `pip install .`: pip builds the wheel from the context (in an isolated build
            # environment, with the [build-system] requirements) and installs it. No extras. --no-compile:
            # modules are compiled when first imported, not all of astropy and pyarrow. (No `pip check` after it:
            # pip's resolver has checked the same requirements, those of every distribution in this new
            # environment, before it installed them, and fails the install if one is not met.)
            self._step("install", [*self.installed.pip, "install", *pip, "--no-compile", context], 900)
            # Every module imports (also those the commands below load lazily), and is compiled on the way.
            self._step("import", [venv / "bin" / "python", "-c", IMPORT_ALL], 300)
        except BaseException as exc:  # handed to the test by result()
            self._error = exc

    def result(self, timeout: float = 1200) -> Installed:
        """The environment once installed (AssertionError with pip's output if a step failed)."""
        if self._thread.ident is None:
            self.start()
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"installing the wheel took more than {timeout:.0f} s")
        if self._error is not None:
            raise AssertionError(str(self._error))
        return self.installed

    def close(self) -> None:
        """Stop a step still running and remove the files."""
        self._cancelled.set()
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
        if self._thread.is_alive():
            self._thread.join(60)
        shutil.rmtree(self.base, ignore_errors=True)
