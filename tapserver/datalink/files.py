"""File access: a product id becomes an open file (or one HDU of it) that is streamed by byte range.

Safety: the only input is the product id, looked up in the database; the stored path is used only if,
with every symlink resolved, it lies inside one of the configured data roots (``Settings.data_roots``,
resolved too). With no roots configured no file is served. The file is opened without following a
final symlink, must be a regular file, and on Linux the path of the open descriptor is checked against
the roots again, so a path swapped between the check and the open is refused as well.

Representations: a whole-file product is served as the FITS file it holds: a plain file byte for byte, a
gzip file decompressed as it streams (``application/fits``, named without ``.gz``; its length is measured
once per file version, see :mod:`tapserver.datalink.inflate`). Clients then need no gzip support and ranges
address the FITS bytes (docs/architecture.md says why this and not ``Content-Encoding``). An HDU product is
served as a FITS file: the primary HDU as it is, an extension behind a one-block data-less primary HDU; the
HDU itself is copied verbatim (its CHECKSUM/DATASUM stay valid), from a plain or a gzip file, decompressing
as it streams.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import re
import stat
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, cast

from tapserver.datalink.fitshdu import FitsFormatError, HDULocation, locate_hdu, primary_header, skip
from tapserver.datalink.inflate import LENGTHS, is_gzip
from tapserver.datalink.model import FITS_BLOCK, FITS_MIME, DatasetRights, Product
from tapserver.datalink.ranges import slice_parts
from tapserver.datalink.rights import AccessPolicy, is_restricted, require, utcnow
from tapserver.datalink.storage import ProductStore
from tapserver.errors import FatalFault, NotFoundFault

log = logging.getLogger("tapserver.datalink")

CHUNK = 1 << 20
#: Changes whenever the bytes served for the same file change (it is part of every ETag).
REPRESENTATION_VERSION = "2"
_FILENAME_BAD = re.compile(r"[^A-Za-z0-9._-]+")
_FITS_SUFFIX = re.compile(r"\.(fits?|fts)(\.gz|\.fz)?$", re.IGNORECASE)
_GZ_SUFFIX = re.compile(r"\.gz$", re.IGNORECASE)


class DataRoots:
    """The directories files may be served from (resolved once; compared after resolving each path)."""

    def __init__(self, roots: Sequence[Path | str]) -> None:
        self.roots = tuple(os.path.realpath(os.fspath(root)) for root in roots)

    def __bool__(self) -> bool:
        return bool(self.roots)

    def contains(self, real_path: str) -> bool:
        return any(real_path == root or real_path.startswith(root.rstrip(os.sep) + os.sep) for root in self.roots)

    def resolve(self, stored: str) -> str | None:
        """The real path of ``stored`` if it is absolute and lies inside a root, else None."""
        if not stored or "\x00" in stored or not os.path.isabs(stored):
            return None
        real = os.path.realpath(stored)
        return real if self.contains(real) else None

    def resolver(self) -> RealPaths:
        """:meth:`resolve` for the many files of one bundle (see :class:`RealPaths`)."""
        return RealPaths(self)

    def open_descriptor(self, real: str) -> int:
        """Open ``real`` (a path :meth:`resolve` gave) read-only; refuse anything but a regular file still
        inside the roots (OSError). The only way files are opened for clients.

        Opened non-blocking, so that a FIFO or a device is refused at once rather than waiting for a writer;
        a regular file is then switched back to blocking reads.
        """
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(real, flags)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise PermissionError("not a regular file")
            os.set_blocking(fd, True)
            proc = f"/proc/self/fd/{fd}"
            if os.path.islink(proc) and not self.contains(os.readlink(proc)):
                raise PermissionError("the path left the data roots while being opened")
        except BaseException:
            os.close(fd)
            raise
        return fd


class RealPaths:
    """:meth:`DataRoots.resolve` for many paths that share directories: each directory's real path is found
    once (kept for the life of this object: one bundle), then per file one ``lstat`` of its last component,
    and a last component that is a symlink is resolved in full.

    The result is :meth:`DataRoots.resolve`'s for every path: ``os.path.realpath`` resolves the components
    in order, so the real path of ``dir/name`` is the real path of ``dir`` joined with ``name`` unless
    ``name`` is a symlink. A realpath walks every component (seven ``lstat`` calls for a file of the H.E.S.S.
    release), which per file cost more than the rest of planning a bundle.
    """

    def __init__(self, roots: DataRoots) -> None:
        self.roots = roots
        self._directories: dict[str, str] = {}

    def resolve(self, stored: str) -> str | None:
        """The real path of ``stored`` if it is absolute and lies inside a root, else None."""
        found = self._lookup(stored)
        return found[0] if found is not None else None

    def status(self, stored: str) -> tuple[str, os.stat_result] | None:
        """The real path of ``stored`` and ``os.stat`` of it; None when it lies outside the roots or does not
        exist."""
        found = self._lookup(stored)
        if found is None:
            return None
        real, st = found
        if st is None:
            return None
        return real, st

    def _lookup(self, stored: str) -> tuple[str, os.stat_result | None] | None:
        if not stored or "\x00" in stored or not os.path.isabs(stored):
            return None
        directory, name = os.path.split(stored)
        if name in ("", ".", ".."):
            real = os.path.realpath(stored)
            return (real, _stat(real)) if self.roots.contains(real) else None
        parent = self._directories.get(directory)
        if parent is None:
            parent = self._directories[directory] = os.path.realpath(directory)
        real = os.path.join(parent, name)
        try:
            st: os.stat_result | None = os.lstat(real)
        except OSError:
            st = None  # missing: realpath keeps the name as it is
        if st is not None and stat.S_ISLNK(st.st_mode):
            real = os.path.realpath(real)
            st = _stat(real)
        return (real, st) if self.roots.contains(real) else None


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def download_name(product: Product, real_path: str, *, decompressed: bool = False) -> str:
    """File name offered to the client (Content-Disposition): the stored name (without ``.gz`` when the
    file is served decompressed), or ``<stem>_<hdu>.fits`` for an HDU."""
    base = os.path.basename(real_path)
    if decompressed:
        base = _GZ_SUFFIX.sub("", base)
        if not _FITS_SUFFIX.search(base):
            base += ".fits"
    if product.is_hdu:
        label = product.hdu_name or f"hdu{product.hdu_index}"
        base = f"{_FITS_SUFFIX.sub('', base)}_{label.lower()}.fits"
    return _FILENAME_BAD.sub("_", base).strip("._") or "product.fits"


@dataclass
class _Part:
    """A piece of the representation: bytes in memory, or ``length`` bytes of the source stream from
    ``offset``, of which the first ``required`` must exist (the rest is FITS padding, which a file may
    lack after its last HDU: it is then sent as zeros)."""

    length: int
    data: bytes | None = None
    offset: int = 0
    required: int = 0


@dataclass
class ProductFile:
    """An opened product: validators first (cheap), then :meth:`prepare` fixes length and layout.

    Every ``ProductFile`` serves one request: :meth:`iter_range` (or :meth:`close`) releases the file.
    """

    product: Product
    content_type: str
    filename: str
    source_name: str
    etag: str
    last_modified: datetime
    restricted: bool
    raw: BinaryIO
    size: int
    length: int = field(default=0, init=False)
    _stream: BinaryIO | None = field(default=None, init=False)
    _seekable: bool = field(default=True, init=False)
    _position: int = field(default=0, init=False)
    _parts: list[_Part] = field(default_factory=list, init=False)
    _prepared: bool = field(default=False, init=False)
    _compressed: bool = field(default=False, init=False)

    def prepare(self) -> None:
        """Locate the HDU (reading headers only) so that :attr:`length` is exact. Raises FatalFault when
        the file does not match its record."""
        if self._prepared:
            return
        product = self.product
        self._compressed = is_gzip(self.raw.read(2))
        self.raw.seek(0)
        if not product.is_hdu and not (self._compressed and self.content_type == FITS_MIME):
            self._stream, self._seekable = self.raw, True
            self._parts = [_Part(length=self.size, offset=0, required=self.size)]
        else:
            try:
                self._parts = self._hdu_parts(product) if product.is_hdu else self._inflated_parts()
            except (FitsFormatError, EOFError, OSError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
                log.error("product %s: %s does not match its record: %s", product.product_id,
                          self.source_name, exc)
                self.close()
                raise FatalFault(f"the file of product {product.product_id} does not match its record") from exc
        self.length = sum(part.length for part in self._parts)
        self._prepared = True

    def _inflated_parts(self) -> list[_Part]:
        length = LENGTHS.get(self.etag, self.raw)
        self._stream, self._seekable = cast(BinaryIO, gzip.GzipFile(fileobj=self.raw, mode="rb")), False
        return [_Part(length=length, offset=0, required=length)]

    def _hdu_parts(self, product: Product) -> list[_Part]:
        stream: BinaryIO = self.raw
        if self._compressed:
            stream = cast(BinaryIO, gzip.GzipFile(fileobj=self.raw, mode="rb"))
        self._stream, self._seekable = stream, stream is self.raw
        location: HDULocation = locate_hdu(stream, index=product.hdu_index, name=product.hdu_name,
                                           seekable=self._seekable)
        data_start = location.offset + len(location.header)
        self._position = data_start
        if self._seekable and self.size < data_start + location.data_size:
            raise FitsFormatError(f"HDU {location.index} is truncated")
        parts = []
        if location.index > 0:
            label = location.name or f"HDU {location.index}"
            parts.append(_Part(length=FITS_BLOCK, data=primary_header(f"{label} of {self.source_name}")))
        parts.append(_Part(length=len(location.header), data=location.header))
        parts.append(_Part(length=location.data_length, offset=data_start, required=location.data_size))
        return parts

    def iter_range(self, start: int, end: int) -> Iterator[bytes]:
        """Bytes ``start`` to ``end`` (exclusive) of the representation, in chunks; closes the file at
        the end. A compressed source only moves forward, hence one range per opened product."""
        try:
            self.prepare()
            yield from slice_parts(self._parts, start, end, self._read)
        finally:
            self.close()

    def _read(self, part: _Part, lo: int, hi: int) -> Iterator[bytes]:
        stream = self._stream
        assert stream is not None
        target = part.offset + lo
        if self._seekable:
            stream.seek(target)
            self._position = target
        elif target > self._position:
            self._position += skip(stream, target - self._position)
        elif target < self._position:
            raise ValueError("a compressed source cannot move backwards")
        local = self._position - part.offset
        while lo <= local < hi:
            chunk = stream.read(min(CHUNK, hi - local))
            if not chunk:
                break
            self._position += len(chunk)
            local += len(chunk)
            yield chunk
        if local < hi:  # the source ended
            if local < part.required:
                raise FitsFormatError(f"{self.source_name} ended {part.required - local} bytes early")
            zeros = hi - max(lo, local)
            while zeros > 0:
                n = min(CHUNK, zeros)
                yield bytes(n)
                zeros -= n

    def close(self) -> None:
        if self._stream is not None and self._stream is not self.raw:
            self._stream.close()
        self.raw.close()


def _etag(product: Product, st: os.stat_result) -> str:
    key = "\0".join(str(v) for v in (REPRESENTATION_VERSION, product.product_id, product.hdu_index,
                                      product.hdu_name, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


class FileService:
    """Opens products for download after the rights check. No HTTP in here."""

    def __init__(self, store: ProductStore, roots: DataRoots, policy: AccessPolicy, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.store = store
        self.roots = roots
        self.policy = policy
        self.clock = clock

    def open(self, product_id: str, caller: str | None) -> ProductFile:
        found = self.store.product(product_id)
        if found is None:
            raise NotFoundFault(f"no product {product_id}")
        product, rights = found
        return self.open_product(product, rights, caller)

    def open_product(self, product: Product, rights: DatasetRights, caller: str | None) -> ProductFile:
        """As :meth:`open`, for a product already read with its dataset's rights (no database query)."""
        product_id = product.product_id
        now = self.clock()
        self._check_access(product, rights, caller, now)
        real = self._resolve(product)
        try:
            fd = self.roots.open_descriptor(real)
        except FileNotFoundError:
            log.error("product %s: file %s is missing", product_id, real)
            raise NotFoundFault(f"the file of product {product_id} is not available") from None
        except OSError as exc:
            log.error("product %s: refusing %s: %s", product_id, real, exc)
            raise NotFoundFault(f"the file of product {product_id} is not available") from None
        st = os.fstat(fd)
        return ProductFile(
            product=product,
            content_type=product.served_content_type,
            filename=download_name(product, real, decompressed=product.served_content_type == FITS_MIME
                                   and is_gzip(os.pread(fd, 2, 0))),
            source_name=os.path.basename(real),
            etag=_etag(product, st),
            last_modified=datetime.fromtimestamp(int(st.st_mtime), tz=UTC),
            restricted=is_restricted(rights, now),
            raw=os.fdopen(fd, "rb"),
            size=st.st_size,
        )

    def _check_access(self, product: Product, rights: DatasetRights, caller: str | None, now: datetime) -> None:
        require(self.policy, caller, rights, now,
                f"product {product.product_id} belongs to a dataset that is not public yet", "use it")

    def _resolve(self, product: Product) -> str:
        if not self.roots:
            log.warning("product %s refused: no data roots are configured (TAPSERVER_DATA_ROOTS)",
                        product.product_id)
            raise NotFoundFault(f"the file of product {product.product_id} is not available")
        real = self.roots.resolve(product.file_path)
        if real is None:
            log.warning("product %s refused: %s is outside the data roots", product.product_id, product.file_path)
            raise NotFoundFault(f"the file of product {product.product_id} is not available")
        return real
