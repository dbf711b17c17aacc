"""STILTS (taplint, votlint, datalinklint, tpipe) as every test runs it: one command line, one set of JVM options.

A STILTS run is short-lived and mostly single-threaded, so the JVM's defaults cost more than the work on a
small machine: the C2 compiler's threads recompile hot code the run hardly reuses, and G1 starts a collector
thread per core. With the client compiler only (``TieredStopAtLevel=1``) and the serial collector, a taplint
run of all stages over the demo server takes under half the CPU time (about 1.9 s instead of 4.3 s of user
time) and reports the same. The ``stilts`` script passes leading ``-X``/``-D`` arguments to ``java``.

Most of what remains of a short run (votlint, datalinklint of one document: about 0.37 s of CPU) is the JVM
loading and verifying STILTS's classes. The first run (of a user, for this jar and this java) writes them to a
class-data-sharing archive in the temporary directory as it exits (``ArchiveClassesAtExit``); later runs map it
(``SharedArchiveFile``: about 0.28 s for the same run). The JVM checks that the archive matches its class path
and ignores one that does not, and its CDS log lines are turned off, so that no run's output depends on it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

#: Options for the JVM that runs STILTS.
JVM_OPTIONS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def installed() -> bool:
    """Whether the ``stilts`` command is on the PATH."""
    return shutil.which("stilts") is not None


#: The JVM's messages about the class-data archive (one it cannot map, classes it cannot archive) are not shown.
CDS_QUIET = "-Xlog:cds=off,cds+dynamic=off"


def archive() -> Path | None:
    """Where the class-data archive of this STILTS jar run by this java is (or is to be written)."""
    found = [shutil.which("stilts"), shutil.which("java"), "/usr/share/java/starlink-ttools.jar"]
    key = hashlib.sha256()
    for name in found:
        if name is None or not os.path.exists(name):
            continue
        path = os.path.realpath(name)
        stat = os.stat(path)
        key.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns};".encode())
    if found[0] is None:
        return None
    return Path(tempfile.gettempdir()) / f"tapserver-stilts-{os.getuid()}-{key.hexdigest()[:16]}.jsa"


def command(*args: str, cds: tuple[str, ...] = ()) -> list[str]:
    """The command line running STILTS with ``args`` (a task and its parameters, as on the shell)."""
    return ["stilts", *JVM_OPTIONS, *cds, *args]


def run(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run STILTS with ``args``; its exit status is left to the caller (taplint exits 0 even with errors)."""
    shared, written = archive(), None
    if shared is None:
        cds: tuple[str, ...] = ()
    elif shared.exists():
        cds = (f"-XX:SharedArchiveFile={shared}", CDS_QUIET)
    else:  # written under a name of its own, then renamed: a run that maps it never sees half an archive
        written = shared.with_name(f"{shared.stem}.{os.getpid()}.tmp")
        cds = (f"-XX:ArchiveClassesAtExit={written}", CDS_QUIET)
    try:
        result = subprocess.run(command(*args, cds=cds), capture_output=True, text=True, timeout=timeout, check=False)
    except BaseException:  # a JVM killed (timeout) may have left half an archive
        if written is not None:
            written.unlink(missing_ok=True)
        raise
    if shared is not None and written is not None and written.exists():
        os.replace(written, shared)
    return result
