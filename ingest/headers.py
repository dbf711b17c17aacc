"""FITS reading: the HDU structure of a file from its headers, the checksum, and single table columns.

A plain file is memory-mapped; a gzip file is inflated once in memory (a gzip stream cannot be seeked, and inflating
it to the end is also what proves it complete: the gzip trailer carries a CRC). Headers are parsed card by card
(:class:`Cards`, about ten times faster than astropy's Header and checked against it in the tests). Data are never
read, except small tables (GTI) and, through :meth:`FitsFile.column`, one column of a table as a strided view of the
mapped bytes. Anything malformed raises :class:`IngestError` naming the HDU and the keyword.
"""

from __future__ import annotations

import gzip
import hashlib
import mmap
import os
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from ingest.errors import IngestError

BLOCK = 2880
CARD = 80
_END_CARD = b"END" + b" " * 77
_GZIP_MAGIC = b"\x1f\x8b"
# Binary table TFORM codes: byte width of one element and the numpy type of a scalar column.
_TFORM_WIDTH = {"L": 1, "B": 1, "I": 2, "J": 4, "K": 8, "A": 1, "E": 4, "D": 8, "C": 8, "M": 16, "P": 8, "Q": 16}
_TFORM_NUMPY = {"B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}
_TFORM = re.compile(r"^\s*(\d*)\s*([LXBIJKAEDCMPQ])")

_COMMENTARY = frozenset({"", "COMMENT", "HISTORY", "END"})
_INTEGER = re.compile(r"^[+-]?\d+$")
_UNDEFINED = object()


class Cards:
    """The keywords of one header: typed values (first occurrence wins), every value of repeated keywords, and
    the comments. Parsed directly from the 80-byte cards as the FITS standard (4.0, §4.2) defines them: string,
    logical, integer, real (E or D exponent) and complex values, CONTINUE long strings, HIERARCH keywords.
    tests/ingest/test_headers.py checks it against astropy on every card of the staged files.
    """

    def __init__(self, items: list[tuple[str, Any, str]]) -> None:
        self.items = items
        self._values: dict[str, Any] = {}
        self._comments: dict[str, str] = {}
        for key, value, comment in items:
            if key not in self._values:
                self._values[key] = value
                self._comments[key] = comment

    @classmethod
    def parse(cls, raw: bytes, keys: frozenset[str] | None = None) -> Cards:
        """Parse a header (its bytes up to and including END), or only the cards of ``keys``.
        Raises UnicodeDecodeError on bytes that are not ASCII."""
        text = raw.decode("ascii")
        items: list[tuple[str, Any, str]] = []
        for start in range(0, len(text), CARD):
            card = text[start:start + CARD]
            key = card[:8].rstrip()
            if keys is not None and key not in keys:
                continue
            if key == "CONTINUE" and items and isinstance(items[-1][1], str) and items[-1][1].endswith("&"):
                more, comment = _card_value(card[8:])
                if isinstance(more, str):
                    last_key, last_value, last_comment = items[-1]
                    items[-1] = (last_key, last_value[:-1] + more, last_comment or comment)
                continue
            if key == "HIERARCH" and "=" in card:
                name, _, rest = card[9:].partition("=")
                key, field = " ".join(name.split()), rest
            elif key in _COMMENTARY or card[8:10] != "= ":
                continue
            else:
                field = card[10:]
            value, comment = _card_value(field)
            items.append((key, None if value is _UNDEFINED else value, comment))
        return cls(items)

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def comment(self, key: str) -> str:
        return self._comments.get(key, "")

    def all(self, key: str) -> list[Any]:
        """Every value of a keyword, in order (MAGIC writes TELLIST twice)."""
        return [value for name, value, _ in self.items if name == key]


def _card_value(field: str) -> tuple[Any, str]:
    """(value, comment) of the value field of a card (columns 11-80)."""
    stripped = field.lstrip()
    if stripped.startswith("'"):
        parts: list[str] = []
        start = 1
        while True:
            quote = stripped.find("'", start)
            if quote < 0:  # unterminated: keep what there is
                parts.append(stripped[start:])
                quote = len(stripped)
                break
            if stripped[quote + 1:quote + 2] == "'":  # '' stands for one quote
                parts.append(stripped[start:quote + 1])
                start = quote + 2
                continue
            parts.append(stripped[start:quote])
            break
        return "".join(parts).rstrip(), stripped[quote + 1:].partition("/")[2].strip()
    text, _, comment = field.partition("/")
    text = text.strip()
    comment = comment.strip()
    if not text:
        return _UNDEFINED, comment
    if text in ("T", "F"):
        return text == "T", comment
    if _INTEGER.match(text):
        return int(text), comment
    if text.startswith("(") and text.endswith(")"):
        real, _, imaginary = text[1:-1].partition(",")
        try:
            return complex(_real(real), _real(imaginary)), comment
        except ValueError:
            return text, comment
    try:
        return _real(text), comment
    except ValueError:
        return text, comment  # not a valid FITS value: kept as text for the caller to judge


def _real(text: str) -> float:
    return float(text.strip().upper().replace("D", "E"))



# The cards read for every HDU while walking a file; the others are parsed when ``HDU.header`` is first used.
SUMMARY_KEYS = frozenset({"XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "NAXIS4", "NAXIS5",
                          "NAXIS6", "NAXIS7", "NAXIS8", "NAXIS9", "PCOUNT", "GCOUNT", "GROUPS", "EXTNAME",
                          "HDUCLAS1", "HDUCLAS2", "HDUCLAS3", "HDUCLAS4"})


@dataclass(frozen=True)
class HDU:
    """One header-data unit: its header and where its header and data lie in the (inflated) file."""

    index: int
    raw_header: bytes = field(repr=False)
    summary: Cards = field(repr=False)  # the SUMMARY_KEYS cards
    header_offset: int
    data_offset: int
    data_size: int

    @cached_property
    def header(self) -> Cards:
        """Every card of the header (parsed on first use)."""
        return Cards.parse(self.raw_header)

    @property
    def name(self) -> str:
        """EXTNAME (stripped), PRIMARY for the primary HDU, or '' for an unnamed extension."""
        extname = self.summary.get("EXTNAME")
        if isinstance(extname, str) and extname.strip():
            return extname.strip()
        return "PRIMARY" if self.index == 0 else ""

    @property
    def label(self) -> str:
        """How messages name this HDU: its name, or its number when it has none."""
        return self.name or f"#{self.index}"

    @property
    def size(self) -> int:
        """Bytes of the HDU (header and padded data), as the hdu-index SIZE column counts them."""
        return self.data_offset - self.header_offset + _padded(self.data_size)

    def hduclass(self, level: int) -> str:
        """HDUCLAS<level>, stripped and upper-case ('' when absent)."""
        value = self.summary.get(f"HDUCLAS{level}")
        return value.strip().upper() if isinstance(value, str) else ""


class FitsFile:
    """A FITS file opened for ingestion: checksum, size, HDU list, and access to single columns.

    Use as a context manager: the memory map is released on exit.
    """

    def __init__(self, path: Path, buffer: mmap.mmap | bytes, *, size_bytes: int, mtime: datetime,
                 checksum: str, compressed: bool) -> None:
        self.path = path
        self.size_bytes = size_bytes
        self.mtime = mtime
        self.checksum = checksum
        self.compressed = compressed
        self._buffer = buffer
        self.hdus = walk_hdus(str(path), buffer)

    def __enter__(self) -> FitsFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if isinstance(self._buffer, mmap.mmap):
            self._buffer.close()

    def find(self, predicate: Callable[[HDU], bool]) -> HDU | None:
        """The first HDU for which ``predicate`` is true."""
        return next((hdu for hdu in self.hdus if predicate(hdu)), None)

    def named(self, name: str) -> HDU | None:
        """The first HDU whose EXTNAME equals ``name`` ignoring case (hdu-index HDU_NAME values are lower-case)."""
        wanted = name.strip().upper()
        return self.find(lambda hdu: hdu.name.upper() == wanted)

    def column(self, hdu: HDU, name: str) -> np.ndarray:
        """One scalar numeric column of a binary table as float64 (TSCAL/TZERO applied).

        Only that column is converted: the rows are viewed in place (for a plain file, in the memory map), with a
        record type that exposes the one field. The column name is matched case-sensitively (HAWC has both 'RA' in
        degrees and 'ra' in radians).
        """
        where = str(self.path)
        if hdu.summary.get("XTENSION", "").strip() != "BINTABLE":
            raise IngestError(where, "not a binary table", hdu=hdu.label)
        index, offset, code = _locate_column(where, hdu, name)
        header = hdu.header
        rows = _int_keyword(where, hdu, "NAXIS2")
        row_bytes = _int_keyword(where, hdu, "NAXIS1")
        record = np.dtype({"names": ["v"], "formats": [_TFORM_NUMPY[code]], "offsets": [offset],
                           "itemsize": row_bytes})
        values = np.frombuffer(self._buffer, dtype=record, count=rows, offset=hdu.data_offset)["v"]
        scale = header.get(f"TSCAL{index}", 1.0)
        zero = header.get(f"TZERO{index}", 0.0)
        result = values.astype(np.float64)
        if scale != 1.0 or zero != 0.0:
            result = result * float(scale) + float(zero)
        return result

    def column_unit(self, hdu: HDU, name: str) -> str | None:
        """TUNITn of the named column, or None."""
        for i in range(1, int(hdu.header.get("TFIELDS", 0)) + 1):
            if str(hdu.header.get(f"TTYPE{i}", "")).strip() == name:
                unit = hdu.header.get(f"TUNIT{i}")
                return (unit.strip() or None) if isinstance(unit, str) else None
        return None


def content_type(compressed: bool) -> str:
    """MIME type of a FITS file as stored (gzip is not transparent to a client that downloads the file)."""
    return "application/x-fits-gzip" if compressed else "application/fits"


def read_fits(path: Path) -> FitsFile:
    """Open ``path`` (plain or gzip FITS), checksum it and parse every header. Raise IngestError if it is not a
    complete, well-formed FITS file."""
    where = str(path)
    try:
        stat = path.stat()
        with path.open("rb") as handle:
            magic = handle.read(2)
            handle.seek(0)
            if magic == _GZIP_MAGIC:
                raw = handle.read()
                return FitsFile(path, _inflate(where, raw), size_bytes=stat.st_size, mtime=_mtime(stat),
                                checksum="sha256:" + hashlib.sha256(raw).hexdigest(), compressed=True)
            if stat.st_size == 0:
                raise IngestError(where, "empty file")
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise IngestError(where, f"cannot read: {exc.strerror or exc}") from None
    try:
        return FitsFile(path, mapped, size_bytes=stat.st_size, mtime=_mtime(stat),
                        checksum="sha256:" + hashlib.sha256(mapped).hexdigest(), compressed=False)
    except BaseException:
        mapped.close()
        raise


def peek_hdus(path: Path, count: int = 2) -> tuple[HDU, ...]:
    """The headers of the first ``count`` HDUs, reading as little of the file as possible (to classify files).

    The data of these HDUs are not checked for completeness; :func:`read_fits` does that."""
    where = str(path)
    try:
        if not _is_gzip(path):
            with path.open("rb") as handle:
                if os.fstat(handle.fileno()).st_size == 0:
                    raise IngestError(where, "empty file")
                with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                    return walk_hdus(where, mapped, limit=count, partial=True)
        with path.open("rb") as handle:
            stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = b""
            while True:
                raw = handle.read(1 << 12)
                data += stream.decompress(raw) if raw else stream.flush()
                done = not raw or stream.eof
                try:
                    hdus = walk_hdus(where, data, limit=count, partial=not done)
                except IngestError:
                    if done:
                        raise
                    hdus = ()
                if len(hdus) >= count or done:
                    return hdus
    except (OSError, EOFError, zlib.error) as exc:
        raise IngestError(where, _gzip_reason(exc)) from None


def walk_hdus(where: str, buffer: mmap.mmap | bytes, limit: int | None = None,
              partial: bool = False) -> tuple[HDU, ...]:
    """Parse the headers of a FITS byte buffer and check that every HDU's data is present.

    With ``partial`` the buffer may be the start of a longer file: the walk stops where the buffer ends instead of
    reporting truncation.
    """
    if not buffer[:9] == b"SIMPLE  =":
        raise IngestError(where, "not a FITS file (it does not start with a SIMPLE card)")
    total = len(buffer)
    hdus: list[HDU] = []
    offset = 0
    while offset < total and (limit is None or len(hdus) < limit):
        label = f"#{len(hdus)}" if hdus else "PRIMARY"
        if partial and total - offset < BLOCK:
            break
        if hdus and buffer[offset:offset + 8] != b"XTENSION":
            if not buffer[offset:].strip(b"\0 "):
                break  # trailing padding
            raise IngestError(where, f"{total - offset} bytes of non-FITS data after the last HDU", hdu=label)
        end = _find_end_card(buffer, offset)
        if end < 0:
            if partial:
                break
            raise IngestError(where, "truncated or corrupt header (no END card)", hdu=label)
        if _find_card(buffer, b"XTENSION=", offset + CARD, end) >= 0:
            raise IngestError(where, "corrupt header (no END card before the next HDU)", hdu=label)
        header_end = offset + _padded(end + CARD - offset)
        raw = bytes(buffer[offset:end + CARD])
        summary = _parse_header(where, label, raw)
        hdu = HDU(len(hdus), raw, summary, offset, header_end, 0)
        data_size = _data_size(where, hdu)
        hdu = HDU(hdu.index, raw, summary, offset, header_end, data_size)
        if header_end + data_size > total and not partial:
            raise IngestError(where, f"truncated: the data end at byte {header_end + data_size}, "
                                     f"the file has {total}", hdu=hdu.label)
        hdus.append(hdu)
        offset = header_end + _padded(data_size)
    return tuple(hdus)


def _find_end_card(buffer: mmap.mmap | bytes, start: int) -> int:
    return _find_card(buffer, _END_CARD, start, len(buffer))


def _find_card(buffer: mmap.mmap | bytes, prefix: bytes, start: int, stop: int) -> int:
    """Offset of the first card in [start, stop) that begins with ``prefix`` (cards are 80-byte aligned)."""
    position = buffer.find(prefix, start, stop)
    while position >= 0 and (position - start) % CARD:
        position = buffer.find(prefix, position + 1, stop)
    return position


def _parse_header(where: str, label: str, raw: bytes) -> Cards:
    try:
        return Cards.parse(raw, SUMMARY_KEYS)
    except UnicodeDecodeError:
        raise IngestError(where, "corrupt header (non-ASCII bytes)", hdu=label) from None


def _data_size(where: str, hdu: HDU) -> int:
    """Bytes of data (heap included, padding excluded) from BITPIX, NAXISn, PCOUNT and GCOUNT."""
    bitpix = _int_keyword(where, hdu, "BITPIX", signed=True)
    if bitpix not in (8, 16, 32, 64, -32, -64):
        raise IngestError(where, f"invalid value {bitpix}", hdu=hdu.label, keyword="BITPIX")
    naxis = _int_keyword(where, hdu, "NAXIS")
    if naxis == 0:
        return 0
    dims = [_int_keyword(where, hdu, f"NAXIS{i}") for i in range(1, naxis + 1)]
    if hdu.summary.get("GROUPS") is True and dims[0] == 0:
        dims = dims[1:]
    elements = int(np.prod(dims, dtype=np.int64))
    pcount = _int_keyword(where, hdu, "PCOUNT", default=0)
    gcount = _int_keyword(where, hdu, "GCOUNT", default=1)
    return abs(bitpix) // 8 * gcount * (pcount + elements)


def _int_keyword(where: str, hdu: HDU, key: str, default: int | None = None, signed: bool = False) -> int:
    value = hdu.summary.get(key, default) if key in SUMMARY_KEYS else hdu.header.get(key, default)
    if value is None:
        raise IngestError(where, "missing (required by the FITS standard)", hdu=hdu.label, keyword=key)
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or (value < 0 and not signed):
        raise IngestError(where, f"invalid value {value!r}", hdu=hdu.label, keyword=key)
    return int(value)


def _locate_column(where: str, hdu: HDU, name: str) -> tuple[int, int, str]:
    """(column number, byte offset in the row, TFORM code) of a scalar numeric column."""
    header = hdu.header
    fields = _int_keyword(where, hdu, "TFIELDS")
    offset = 0
    found: tuple[int, int, str] | None = None
    for i in range(1, fields + 1):
        tform = str(header.get(f"TFORM{i}", ""))
        match = _TFORM.match(tform)
        if match is None:
            raise IngestError(where, f"invalid value {tform!r}", hdu=hdu.label, keyword=f"TFORM{i}")
        repeat = int(match.group(1)) if match.group(1) else 1
        code = match.group(2)
        if str(header.get(f"TTYPE{i}", "")).strip() == name:
            if repeat != 1 or code not in _TFORM_NUMPY:
                raise IngestError(where, f"column {name} is not a scalar number (TFORM {tform!r})",
                                  hdu=hdu.label, keyword=f"TFORM{i}")
            found = (i, offset, code)
        offset += (repeat + 7) // 8 if code == "X" else repeat * _TFORM_WIDTH[code]
    if offset != _int_keyword(where, hdu, "NAXIS1"):
        raise IngestError(where, f"the TFORMs add up to {offset} bytes per row, NAXIS1 says "
                                 f"{header.get('NAXIS1')}", hdu=hdu.label, keyword="NAXIS1")
    if found is None:
        raise IngestError(where, f"no column {name}", hdu=hdu.label, keyword="TTYPEn")
    return found


def _is_gzip(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(2) == _GZIP_MAGIC


def _inflate(where: str, raw: bytes) -> bytes:
    """The whole content of a gzip file; zlib checks the CRC-32 and length in the trailer."""
    try:
        stream = zlib.decompressobj(16 + zlib.MAX_WBITS)
        data = stream.decompress(raw)
        if not stream.eof:
            raise EOFError("compressed stream ends early")
        if stream.unused_data:  # more than one gzip member: rare, let the gzip module join them
            data = gzip.decompress(raw)
        return data
    except (OSError, EOFError, zlib.error) as exc:
        raise IngestError(where, _gzip_reason(exc)) from None


def _gzip_reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "truncated gzip file (the compressed stream ends early)"
    if isinstance(exc, zlib.error | gzip.BadGzipFile):
        return f"corrupt gzip file ({exc})"
    return f"cannot read: {getattr(exc, 'strerror', None) or exc}"


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _mtime(stat: os.stat_result) -> datetime:
    return datetime.fromtimestamp(stat.st_mtime, tz=UTC)
