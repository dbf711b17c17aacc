"""Errors of the ingester: one line naming the file, the HDU, the keyword and the reason."""

from __future__ import annotations


class IngestError(Exception):
    """A file cannot be ingested. ``str()`` is the one line shown to the operator."""

    def __init__(self, path: str, reason: str, *, hdu: str | None = None, keyword: str | None = None) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason
        self.hdu = hdu
        self.keyword = keyword

    def __str__(self) -> str:
        parts = [self.path]
        if self.hdu is not None:
            parts.append(f"HDU {self.hdu}")
        if self.keyword is not None:
            parts.append(f"keyword {self.keyword}")
        parts.append(self.reason)
        return ": ".join(parts)

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only arguments do not survive the default pickling (results come back from worker processes).
        return (_rebuild, (self.path, self.reason, self.hdu, self.keyword))


def _rebuild(path: str, reason: str, hdu: str | None, keyword: str | None) -> IngestError:
    return IngestError(path, reason, hdu=hdu, keyword=keyword)


class ConfigError(Exception):
    """The collection configuration (file or options) is invalid; the message names the key."""
