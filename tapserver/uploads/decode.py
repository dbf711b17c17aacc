"""Bounded decoding: an upload's bytes -> a spooled file of its decompressed content, within the budget.

astropy would decompress gzip, bzip2 and xz by itself, with no limit; here the decompressed bytes are what
the budget counts, read a chunk at a time, so reading stops at the first chunk past the limit and memory
stays bounded whatever the compression ratio.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import tempfile
import zlib
from collections.abc import Callable
from typing import IO, cast

from tapserver.errors import UsageFault
from tapserver.uploads.limits import Budget

#: In memory up to this size, then on disk: memory per upload stays small whatever the limits.
_SPOOL_BYTES = 1024 * 1024
#: Leading bytes -> (name, streaming reader), as astropy's file reader recognises them.
_COMPRESSIONS: tuple[tuple[bytes, str, Callable[[IO[bytes]], IO[bytes]]], ...] = (
    (b"\x1f\x8b", "gzip", lambda f: cast(IO[bytes], gzip.GzipFile(fileobj=f, mode="rb"))),
    (b"BZh", "bzip2", lambda f: cast(IO[bytes], bz2.BZ2File(f, "rb"))),
    (b"\xfd7zXZ\x00", "xz", lambda f: cast(IO[bytes], lzma.LZMAFile(f, "rb"))),  # noqa: SIM115 - closed by the caller
)
_DECOMPRESSION_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError, ValueError)


def _spool(source: IO[bytes], name: str, budget: Budget) -> IO[bytes]:
    """Copy a stream into a spooled temporary file, taking every byte from ``budget``."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - returned
    try:
        while True:
            chunk = source.read(budget.next_read())
            if not chunk:
                break
            budget.take(len(chunk), name)
            spool.write(chunk)
        spool.seek(0)
        return spool
    except BaseException:
        spool.close()
        raise


def spool_decoded(source: IO[bytes], name: str, budget: Budget) -> IO[bytes]:
    """The decoded content of ``source`` in a spooled file: the bytes as received, decompressed if they
    are gzip, bzip2 or xz. Both the received and the decoded bytes must fit in ``budget``; only the
    decoded ones are taken from it. UsageFault when over it or not decompressible."""
    raw = _spool(source, name, Budget(budget.left))
    head = raw.read(8)
    raw.seek(0)
    found = [(kind, opener) for magic, kind, opener in _COMPRESSIONS if head.startswith(magic)]
    if not found:
        budget.take(raw.seek(0, 2), name)
        raw.seek(0)
        return raw
    kind, opener = found[0]
    with raw:
        try:
            with opener(raw) as stream:
                return _spool(stream, name, budget)
        except UsageFault:
            raise
        except _DECOMPRESSION_ERRORS as exc:
            raise UsageFault(f"upload {name!r} is not a readable {kind} stream: {exc}") from None
