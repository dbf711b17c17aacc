"""Gzip-compressed files served decompressed: their decompressed length, measured once per file version.

A gzip trailer holds the length modulo 2**32 of its last member only, so the length is measured by inflating
the file (every member, as ``gzip`` does). The answer is cached by the ETag of the file version (device, inode,
size and modification time are part of it), so a file is measured once until it changes.
"""

from __future__ import annotations

import threading
import zlib
from typing import Any, BinaryIO

from cachetools import LRUCache

GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
_CACHE_SIZE = 4096


def is_gzip(head: bytes) -> bool:
    return head[:2] == GZIP_MAGIC


def decompressed_length(stream: BinaryIO) -> int:
    """Bytes of the decompressed content of a gzip stream (all members), read from its current position, in
    bounded memory. Raises :class:`zlib.error` for a corrupt stream and :class:`EOFError` for a truncated one."""
    total = 0
    inflater: Any = None
    while chunk := stream.read(_CHUNK):
        while chunk:
            if inflater is None:
                chunk = chunk.lstrip(b"\x00")  # NUL padding between members is allowed
                if not chunk:
                    break
                inflater = zlib.decompressobj(wbits=31)
            total += len(inflater.decompress(chunk, _CHUNK))
            if inflater.eof:
                chunk, inflater = inflater.unused_data, None
            else:
                chunk = inflater.unconsumed_tail
    if inflater is not None:
        raise EOFError("the gzip stream ends inside a member")
    return total


def trailer_length(stream: BinaryIO, size: int) -> int | None:
    """The decompressed length a gzip file of ``size`` bytes records in its trailer (ISIZE, the length modulo
    2**32 of its last member), or None when it cannot be the whole length: a file of 4 GiB or more, or an
    ISIZE below what DEFLATE's largest ratio (1032:1) allows for this size (the length wrapped)."""
    if size < 18 or size >= 1 << 32:
        return None
    stream.seek(size - 4)
    recorded = int.from_bytes(stream.read(4), "little")
    stream.seek(0)
    return recorded if recorded * 1032 >= size - 18 else None


class LengthCache:
    """Decompressed lengths by file-version key (an ETag), least recently used dropped first. Thread-safe."""

    def __init__(self, size: int = _CACHE_SIZE) -> None:
        self.size = size
        self._lengths: LRUCache[str, int] = LRUCache(maxsize=size)
        self._lock = threading.Lock()  # cachetools caches are not thread-safe

    def get(self, key: str, stream: BinaryIO) -> int:
        """The decompressed length of ``stream`` (measured from offset 0 unless cached under ``key``)."""
        with self._lock:
            cached = self._lengths.get(key)
        if cached is not None:
            return cached
        stream.seek(0)
        length = decompressed_length(stream)
        stream.seek(0)
        with self._lock:
            self._lengths[key] = length
        return length


LENGTHS = LengthCache()
