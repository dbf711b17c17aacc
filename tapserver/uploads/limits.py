"""What one request may upload, and the byte budget that enforces it while reading."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING

from tapserver.errors import UsageFault
from tapserver.uploads.url_policy import UrlPolicy

if TYPE_CHECKING:
    from tapserver.config import Settings

#: Most FIELDs of one uploaded table (PostgreSQL's limit on the columns of a table).
MAX_COLUMNS = 1600
CHUNK = 256 * 1024


@dataclass(frozen=True)
class UploadLimits:
    """What one request may upload: decoded bytes (all tables together), rows (per table), URL fetch
    timeout and where URLs may point."""

    max_bytes: int
    max_rows: int
    url_timeout_s: float = 30.0
    url_policy: UrlPolicy = field(default_factory=UrlPolicy)


def upload_limits(settings: Settings) -> UploadLimits:
    """The upload limits and URL policy of the configured service."""
    return UploadLimits(settings.upload_limit_bytes, settings.upload_limit_rows,
                        url_policy=UrlPolicy.from_settings(settings))


class Budget:
    """Bytes still allowed for this request's uploads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def take(self, n: int, name: str) -> None:
        self.left -= n
        if self.left < 0:
            raise UsageFault(f"upload {name!r} is too large: the uploads of one request may hold at most "
                             f"{self.limit} bytes (counted after decompression)")

    def next_read(self) -> int:
        """How much to read next: a chunk, or one byte past what is left (to detect the excess early)."""
        return max(1, min(CHUNK, self.left + 1))


def copy_stream(source: IO[bytes], write: Callable[[bytes], object], limit: int, name: str) -> int:
    """Copy at most ``limit`` bytes (UsageFault past it); returns the byte count. For storing inline
    uploads of async jobs until they run."""
    copied = 0
    while True:
        chunk = source.read(CHUNK)
        if not chunk:
            return copied
        copied += len(chunk)
        if copied > limit:
            raise UsageFault(f"upload {name!r} is too large: at most {limit} bytes are accepted")
        write(chunk)
