"""STILTS (taplint, votlint, datalinklint, tpipe) as every test runs it: one command line, one set of JVM options.

A STILTS run is short-lived and mostly single-threaded, so the JVM's defaults cost more than the work on a
small machine: the C2 compiler's threads recompile hot code the run hardly reuses, and G1 starts a collector
thread per core. With the client compiler only (``TieredStopAtLevel=1``) and the serial collector, a taplint
run of all stages over the demo server takes under half the CPU time (about 1.9 s instead of 4.3 s of user
time) and reports the same. The ``stilts`` script passes leading ``-X``/``-D`` arguments to ``java``.
"""

from __future__ import annotations

import shutil
import subprocess

#: Options for the JVM that runs STILTS.
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def installed() -> bool:
    """Whether the ``stilts`` command is on the PATH."""
    return shutil.which("stilts") is not None


def command(*args: str) -> list[str]:
    """The command line running STILTS with ``args`` (a task and its parameters, as on the shell)."""
    return ["stilts", *JVM_OPTIONS, *args]


def run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run STILTS with ``args``; its exit status is left to the caller (taplint exits 0 even with errors)."""
    return subprocess.run(command(*args), capture_output=True, text=True, timeout=timeout, check=False)
