"""A data store as one archive, streamed: the two index tables first, then each file once.

tar (POSIX ustar): the layout is known before the first byte, so the exact length (Content-Length), an
ETag and byte ranges (a broken download resumes with ``Range``) come for free; members are written as
512-byte ustar headers followed by the file bytes read in 1 MiB chunks. zip (stored, no compression:
FITS of events barely compresses and the gzip files are already compressed) goes through :mod:`zipfile`
writing to a sink that is drained after every chunk, so memory stays at a chunk either way. Over HTTP,
:func:`read_ahead` makes the next batch of pieces in a worker thread while the event loop sends one.
"""

from __future__ import annotations

import asyncio
import hashlib
import tarfile
import zipfile
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, BinaryIO, cast

from anyio import to_thread

from tapserver.datalink.ranges import slice_parts
from tapserver.errors import FatalFault
from tapserver.gadf.index import gzipped
from tapserver.gadf.model import TAR
from tapserver.gadf.service import HDU_INDEX_NAME, OBS_INDEX_NAME, DataStore, StoreFile

CHUNK = 1 << 20
BLOCK = 512
RECORD = 20 * BLOCK
#: Opens a bundle file for reading (through the rights and data-roots checks of /files).
Opener = Callable[[StoreFile], BinaryIO]


@dataclass(frozen=True)
class Member:
    """A bundle member: bytes held in memory (the index tables) or a file."""

    name: str
    size: int
    mtime: int
    data: bytes | None = None
    file: StoreFile | None = None


@dataclass(frozen=True)
class _Part:
    length: int
    data: bytes | None = None
    member: Member | None = None


def members(store: DataStore) -> list[Member]:
    obs, hdu = gzipped(store.obs_index()), gzipped(store.hdu_index(None))
    newest = max((f.mtime for f in store.files), default=0)
    out = [Member(OBS_INDEX_NAME, len(obs), newest, data=obs), Member(HDU_INDEX_NAME, len(hdu), newest, data=hdu)]
    out += [Member(f.name, f.size, f.mtime, file=f) for f in store.files]
    return out


def _tar_header(member: Member) -> bytes:
    """The header block(s) of a member: ustar written here when it can hold the member (ASCII name of at
    most 100 bytes, size and mtime under 8**11), the same bytes :mod:`tarfile` writes for it at ten times
    the cost; :mod:`tarfile`'s PAX headers otherwise."""
    name = member.name.encode("ascii", "replace")
    if name.decode() != member.name or len(name) > 100 or not 0 <= member.size < _OCTAL_11 \
            or not 0 <= member.mtime < _OCTAL_11:
        info = tarfile.TarInfo(member.name)
        info.size, info.mtime, info.mode, info.type = member.size, member.mtime, 0o644, tarfile.REGTYPE
        return info.tobuf(format=tarfile.PAX_FORMAT)
    header = bytearray(_USTAR_TEMPLATE)
    size, mtime = b"%011o\0" % member.size, b"%011o\0" % member.mtime
    header[0:len(name)] = name
    header[124:136] = size
    header[136:148] = mtime
    # the checksum, the sum of all bytes with its own field as 8 spaces: the template's (whose name, size
    # and mtime fields are zeros) plus the bytes written into it
    header[148:155] = b"%06o\0" % (_TEMPLATE_SUM + sum(name) + sum(size) + sum(mtime))
    return bytes(header)


_OCTAL_11 = 8**11


def _ustar_template() -> bytes:
    """A ustar header of a regular file, mode 0644, owner 0/0, no names; checksum field as spaces."""
    header = bytearray(BLOCK)
    header[100:108] = b"0000644\0"
    header[108:116] = header[116:124] = b"0000000\0"
    header[148:156] = b" " * 8
    header[156:157] = tarfile.REGTYPE
    header[257:265] = tarfile.POSIX_MAGIC
    return bytes(header)


_USTAR_TEMPLATE = _ustar_template()
_TEMPLATE_SUM = sum(_USTAR_TEMPLATE)


class TarBundle:
    """The tar archive of a data store: exact length and validators before the first byte."""

    def __init__(self, items: Sequence[Member], opener: Opener) -> None:
        self.opener = opener
        parts: list[_Part] = []
        for member in items:
            header = _tar_header(member)
            parts.append(_Part(len(header), data=header))
            parts.append(_Part(member.size, data=member.data, member=member))
            pad = -member.size % BLOCK
            if pad:
                parts.append(_Part(pad, data=bytes(pad)))
        end = 2 * BLOCK
        total = sum(p.length for p in parts) + end
        end += -total % RECORD
        parts.append(_Part(end, data=bytes(end)))
        self.parts = parts
        self.length = sum(p.length for p in parts)
        digest = hashlib.sha256(b"ustar-2")  # the header layout: another one gives other bytes
        for member in items:
            digest.update(f"{member.name}\0{member.size}\0{member.mtime}\0".encode())
            if member.data is not None:
                digest.update(hashlib.sha256(member.data).digest())
        self.etag = '"' + digest.hexdigest()[:32] + '"'
        self.last_modified = datetime.fromtimestamp(max((m.mtime for m in items), default=0), tz=UTC)

    def iter_range(self, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start`` to ``end`` (exclusive) of the archive, in chunks of about 1 MiB."""
        return coalesced(self._pieces(start, end))

    def iter_batches(self, start: int, end: int) -> Iterator[list[bytes]]:
        """:meth:`iter_range` as batches of pieces, about 1 MiB each, whose file bytes are not copied."""
        return batched(self._pieces(start, end))

    def _pieces(self, start: int, end: int) -> Iterator[bytes]:
        return slice_parts(self.parts, start, end, self._member_bytes)

    def _member_bytes(self, part: _Part, lo: int, hi: int) -> Iterator[bytes]:
        assert part.member is not None and part.member.file is not None
        return _file_bytes(self.opener, part.member.file, lo, hi)


#: Pieces under this size (tar headers, padding, the index tables) are joined with their neighbours; file
#: bytes are sent as they were read.
SMALL = 64 << 10


def batched(pieces: Iterator[bytes], size: int = CHUNK) -> Iterator[list[bytes]]:
    """The same bytes as batches of at least ``size`` bytes (the last may hold fewer), one trip to a worker
    thread each. Unlike :func:`coalesced`, file bytes are not copied: a batch lists them as they were read
    and joins only runs of small pieces, which would otherwise cost a message each. Memory: under two
    chunks, as coalesced."""
    batch: list[bytes] = []
    small: list[bytes] = []
    held = 0
    for piece in pieces:
        if len(piece) < SMALL:
            small.append(piece)
        else:
            if small:
                batch.append(b"".join(small))
                small.clear()
            batch.append(piece)
        held += len(piece)
        if held >= size:
            if small:
                batch.append(b"".join(small))
                small.clear()
            yield batch
            batch, held = [], 0
    if small:
        batch.append(b"".join(small))
    if batch:
        yield batch


async def read_ahead(batches: Iterator[Sequence[bytes]]) -> AsyncIterator[bytes]:
    """The pieces of ``batches``, each batch made in a worker thread while the pieces of the one before are
    being sent.

    A sync iterator given to a StreamingResponse alternates the two: the worker reads a chunk while the
    event loop waits, then the loop writes it to the socket while the worker waits. One batch ahead,
    reading overlaps writing, and memory stays at a few chunks. A download cut short drops the batch being
    made (and any error it raises)."""
    pending = asyncio.ensure_future(to_thread.run_sync(next, batches, None))
    try:
        while (batch := await asyncio.shield(pending)) is not None:
            pending = asyncio.ensure_future(to_thread.run_sync(next, batches, None))
            for piece in batch:
                yield piece
    finally:
        pending.add_done_callback(_dropped)


def _dropped(task: asyncio.Future[Sequence[bytes] | None]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: not reported as never retrieved


def coalesced(pieces: Iterator[bytes], size: int = CHUNK) -> Iterator[bytes]:
    """The same bytes in chunks of at least ``size`` (the last may be shorter): a server hands each chunk to
    the event loop from a worker thread, so hundreds of small tar headers and paddings cost more than the
    files themselves. Pieces are joined once (one copy); a piece of ``size`` or more that comes alone is
    passed on as it is. Memory: under two chunks."""
    pending: list[bytes] = []
    held = 0
    for piece in pieces:
        if not pending and len(piece) >= size:
            yield piece
            continue
        pending.append(piece)
        held += len(piece)
        if held >= size:
            yield b"".join(pending)
            pending.clear()
            held = 0
    if pending:
        yield b"".join(pending)


def _file_bytes(opener: Opener, stored: StoreFile, lo: int, hi: int) -> Iterator[bytes]:
    with opener(stored) as stream:
        stream.seek(lo)
        remaining = hi - lo
        while remaining:
            chunk = stream.read(min(CHUNK, remaining))
            if not chunk:
                raise FatalFault(f"{stored.name} became shorter while the bundle was sent")
            remaining -= len(chunk)
            yield chunk


class _Sink:
    """A write-only stream whose bytes are taken out after each write (zipfile needs only write/tell/flush)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.position = 0

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = bytes(self.buffer)
        self.buffer.clear()
        return out


def iter_zip(items: Sequence[Member], opener: Opener) -> Iterator[bytes]:
    """The zip archive of the members (stored, ZIP64 where needed), produced while it is read."""
    return coalesced(_zip_pieces(items, opener))


def _zip_pieces(items: Sequence[Member], opener: Opener) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(cast(IO[bytes], sink), "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for member in items:
            info = zipfile.ZipInfo(member.name, date_time=datetime.fromtimestamp(
                max(member.mtime, 315532800), tz=UTC).timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED
            with archive.open(info, "w", force_zip64=member.size > 0x7FFFFFFF) as out:
                if member.data is not None:
                    out.write(member.data)
                else:
                    assert member.file is not None
                    for chunk in _file_bytes(opener, member.file, 0, member.size):
                        out.write(chunk)
                        yield sink.take()
            yield sink.take()
    yield sink.take()


def archive_size(items: Sequence[Member], archive: str) -> int:
    """Bytes of the archive of ``items``: exact for tar, a close estimate for zip."""
    return TarBundle(items, _unopened).length if archive == TAR else estimated_zip_size(items)


def _unopened(stored: StoreFile) -> BinaryIO:
    raise FatalFault(f"{stored.name} is not read to size an archive")


def estimated_zip_size(items: Sequence[Member]) -> int:
    """Bytes of the zip archive, closely (headers, data descriptors and the central directory per member)."""
    return sum(m.size + 2 * len(m.name.encode()) + 30 + 46 + 24 + 40 for m in items) + 22

