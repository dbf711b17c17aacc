"""Where job files live: results and inline uploads, behind an interface so object storage can be added.

Objects are addressed by keys ``jobs/<job_id>/<name>``; the key is what ``uws.result.location`` and
``uws.inline_upload.location`` store. Writers stream (no object is ever held in memory) and publish
atomically: a reader sees either nothing or the whole object.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_JOBS = "jobs"


def object_key(job_id: str, name: str) -> str:
    """The key of a job's object; ValueError for names that could escape the job's folder."""
    if not _NAME.match(job_id) or not _NAME.match(name) or ".." in name:
        raise ValueError(f"invalid object name {job_id!r}/{name!r}")
    return f"{_JOBS}/{job_id}/{name}"


class ObjectWriter(ABC):
    """A new object being written; invisible until :meth:`commit`."""

    key: str
    size: int = 0

    @abstractmethod
    def write(self, data: bytes) -> None: ...

    @abstractmethod
    def commit(self) -> str:
        """Publish the object; returns its key."""

    @abstractmethod
    def discard(self) -> None:
        """Drop what was written (no-op after commit)."""

    def __enter__(self) -> ObjectWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.discard()


class ResultsStore(ABC):
    """Storage of job results and uploads."""

    @abstractmethod
    def create(self, job_id: str, name: str) -> ObjectWriter:
        """Start writing object ``name`` of the job (replacing any previous one on commit)."""

    @abstractmethod
    def open(self, key: str) -> BinaryIO:
        """Read an object; FileNotFoundError if it does not exist."""

    @abstractmethod
    def delete_job(self, job_id: str) -> None:
        """Remove every object of a job (missing objects are not an error)."""

    @abstractmethod
    def job_ids(self, older_than_s: float = 0.0) -> Iterator[str]:
        """Ids of the jobs that have objects, written more than ``older_than_s`` ago (to find objects
        whose job is gone)."""


class _FileWriter(ObjectWriter):
    def __init__(self, final: Path, key: str) -> None:
        self.key = key
        self.size = 0
        self._final = final
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=final.parent)
        self._tmp = Path(tmp)
        self._file: BinaryIO | None = os.fdopen(fd, "wb")
        self._done = False

    def write(self, data: bytes) -> None:
        if self._file is None:
            raise ValueError("writer already closed")
        self._file.write(data)
        self.size += len(data)

    def commit(self) -> str:
        if self._file is None:
            raise ValueError("writer already closed")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        self._file = None
        os.replace(self._tmp, self._final)
        self._done = True
        return self.key

    def discard(self) -> None:
        if self._done:
            return
        if self._file is not None:
            self._file.close()
            self._file = None
        self._tmp.unlink(missing_ok=True)
        self._done = True


class FileResultsStore(ResultsStore):
    """Objects as files under ``root`` (the data directory): ``root/jobs/<job_id>/<name>``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if len(parts) != 3 or parts[0] != _JOBS:
            raise FileNotFoundError(key)
        object_key(parts[1], parts[2])  # validates
        return self.root / key

    def create(self, job_id: str, name: str) -> ObjectWriter:
        key = object_key(job_id, name)
        return _FileWriter(self.root / key, key)

    def open(self, key: str) -> BinaryIO:
        return open(self._path(key), "rb")

    def delete_job(self, job_id: str) -> None:
        if not _NAME.match(job_id):
            return
        shutil.rmtree(self.root / _JOBS / job_id, ignore_errors=True)

    def job_ids(self, older_than_s: float = 0.0) -> Iterator[str]:
        base = self.root / _JOBS
        cutoff = time.time() - older_than_s
        try:
            with os.scandir(base) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False) and entry.stat().st_mtime <= cutoff:
                            yield entry.name
                    except FileNotFoundError:
                        continue
        except FileNotFoundError:
            return
