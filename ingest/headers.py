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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any, cast

import numpy as np
from isal import isal_zlib

from ingest.errors import IngestError

BLOCK = 2880
CARD = 80
_END_CARD = b"END" + b" " * 77
_GZIP_MAGIC = b"\x1f\x8b"
# Binary table TFORM codes: byte width of one element and the numpy type of a scalar column.
_TFORM_WIDTH = {"L": 1, "B": 1, "I": 2, "J": 4, "K": 8, "A": 1, "E": 4, "D": 8, "C": 8, "M": 16, "P": 8, "Q": 16}
_TFORM_NUMPY = {"B": "u1", "I": ">i2", "J": ">i4", "K": ">i8", "E": ">f4", "D": ">f8"}
_TFORM = re.compile(r"^\s*(\d*)\s*([LXBIJKAEDCMPQ])")

# The stubs of python-isal declare its error as an instance, not a class.
_ISAL_ERROR = cast(type[Exception], isal_zlib.error)
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
        if keys is not None:
            selected = _parse_selected(text, keys)
            if selected is None:  # rare: walk every card (CONTINUE cards belong to the card before them)
                selected = [item for item in _LazyCards(text).items if item[0] in keys]
            return cls(selected)
        return _LazyCards(text)

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


class _LazyCards(Cards):
    """A whole header whose cards are parsed when asked for: one pass finds where each keyword is, and a value
    is parsed on first use (an ingest reads a few dozen of the hundreds of cards of a file's headers).
    tests/ingest/test_headers.py checks every card of the staged files against astropy."""

    def __init__(self, text: str) -> None:  # Cards.__init__ is not called: nothing is parsed yet
        self._text = text
        self._positions: dict[str, list[int]] = {}
        self._parsed: dict[int, tuple[Any, str]] = {}
        for start in range(0, len(text), CARD):
            key = text[start:start + 8].rstrip()
            if key == "HIERARCH" and "=" in text[start:start + CARD]:
                key = " ".join(text[start + 9:start + CARD].partition("=")[0].split())
            elif key in _COMMENTARY or text[start + 8:start + 10] != "= ":
                continue
            self._positions.setdefault(key, []).append(start)

    @cached_property
    def items(self) -> list[tuple[str, Any, str]]:  # type: ignore[override]
        every = sorted((start, key) for key, starts in self._positions.items() for start in starts)
        return [(key, *self._card(start)) for start, key in every]

    def _card(self, start: int) -> tuple[Any, str]:
        """(value, comment) of the card at ``start``, with the CONTINUE cards that extend a string ending in &."""
        known = self._parsed.get(start)
        if known is not None:
            return known
        text = self._text
        card = text[start:start + CARD]
        field = card[9:].partition("=")[2] if card.startswith("HIERARCH") else card[10:]
        value, comment = _card_value(field)
        value = None if value is _UNDEFINED else value
        following = start + CARD
        while following < len(text) and isinstance(value, str) and value.endswith("&"):
            next_card = text[following:following + CARD]
            key = next_card[:8].rstrip()
            if key == "CONTINUE":
                more, more_comment = _card_value(next_card[8:])
                if isinstance(more, str):
                    value, comment = value[:-1] + more, comment or more_comment
            elif (key == "HIERARCH" and "=" in next_card) or (key not in _COMMENTARY and next_card[8:10] == "= "):
                break
            following += CARD
        self._parsed[start] = (value, comment)
        return value, comment

    def get(self, key: str, default: Any = None) -> Any:
        starts = self._positions.get(key)
        return self._card(starts[0])[0] if starts else default

    def __contains__(self, key: object) -> bool:
        return key in self._positions

    def __getitem__(self, key: str) -> Any:
        starts = self._positions.get(key)
        if not starts:
            raise KeyError(key)
        return self._card(starts[0])[0]

    def comment(self, key: str) -> str:
        starts = self._positions.get(key)
        return self._card(starts[0])[1] if starts else ""

    def all(self, key: str) -> list[Any]:
        return [self._card(start)[0] for start in self._positions.get(key, ())]


@lru_cache(maxsize=16)
def _key_pattern(keys: frozenset[str]) -> re.Pattern[str]:
    """A regex matching the name and value indicator of a card of one of ``keys`` (8-column key field + '= ')."""
    return re.compile("|".join(re.escape(k.ljust(8) + "= ") for k in sorted(keys)))


def _parse_selected(text: str, keys: frozenset[str]) -> list[tuple[str, Any, str]] | None:
    """The cards of ``keys``, found by one regex scan instead of a loop over every card (the summary of each HDU
    is read while walking a file, so this is on the hot path). None when a card found needs the general parser
    (a long string continued on CONTINUE cards)."""
    if any(len(key) > 8 for key in keys):
        return None
    items: list[tuple[str, Any, str]] = []
    for match in _key_pattern(keys).finditer(text):
        start = match.start()
        if start % CARD:
            continue
        value, comment = _card_value(text[start + 10:start + CARD])
        if isinstance(value, str) and value.endswith("&"):
            return None
        items.append((text[start:start + 8].rstrip(), None if value is _UNDEFINED else value, comment))
    return items


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


@dataclass(frozen=True)
class ListedHDU:
    """An HDU known from an hdu-index only (name and SIZE), in a gzip file not inflated that far: see
    :meth:`FitsFile.rest_from_index`. Its position in the file is not known and its header was not read."""

    name: str
    size: int
    index: None = None

    @property
    def label(self) -> str:
        return self.name

    @property
    def summary(self) -> Cards:
        return _NO_CARDS

    @property
    def header(self) -> Cards:
        return _NO_CARDS

    def hduclass(self, level: int) -> str:
        return ""


_NO_CARDS = Cards([])


class FitsFile:
    """A FITS file opened for ingestion: checksum, size, HDU list, and access to single columns.

    Use as a context manager: the memory map is released on exit.
    """

    def __init__(self, path: Path, buffer: mmap.mmap | bytes | bytearray, *, size_bytes: int, mtime: datetime,
                 checksum: str, compressed: bool, inflater: _Inflater | None = None) -> None:
        self.path = path
        self.size_bytes = size_bytes
        self.mtime = mtime
        self.checksum = checksum
        self.compressed = compressed
        self._buffer = buffer
        self._inflater = inflater
        self._pending: HDU | None = None
        if inflater is None:
            self._walked = list(walk_hdus(str(path), buffer))
            self._complete = True
        else:
            self._buffer = inflater.data
            self._walked = []
            self._complete = False

    @property
    def hdus(self) -> tuple[HDU, ...]:
        """Every HDU of the file (a lazily read gzip file is inflated to its end and its trailer checked)."""
        while self._walk_more():
            pass
        return tuple(self._walked)

    @property
    def walked(self) -> tuple[HDU, ...]:
        """The HDUs read so far (all of them unless the file was opened lazily)."""
        return tuple(self._walked)

    def _walk_more(self) -> bool:
        """Inflate the next piece of a lazily read gzip file and take the HDUs now complete, header and data.
        False once the whole file has been walked."""
        if self._complete:
            return False
        inflater = self._inflater
        assert inflater is not None
        more = inflater.more()
        where, data = str(self.path), inflater.data
        offset = self._end
        while True:
            # An HDU whose header was read but whose data are not all inflated yet waits in _pending.
            # (At the end of the stream it is read again, without ``partial``, so that truncation is reported.)
            hdu = (self._pending if more else None) or _next_hdu(where, data, offset, len(self._walked),
                                                                  partial=more)
            self._pending = None
            if hdu is None:
                break
            if more and hdu.data_offset + hdu.data_size > len(data):
                self._pending = hdu
                break
            self._walked.append(hdu)
            offset = hdu.data_offset + _padded(hdu.data_size)
        if not more:
            self._complete = True
        return True

    @property
    def _end(self) -> int:
        last = self._walked[-1] if self._walked else None
        return 0 if last is None else last.data_offset + _padded(last.data_size)

    def rest_from_index(self, listed: Sequence[tuple[str, int | None]]) -> tuple[ListedHDU, ...] | None:
        """The HDUs not yet read of a lazily read gzip file, as an hdu-index describes them ((name, SIZE) of every
        HDU it lists in this file), when that description is proven to cover exactly the rest of the file: the
        HDUs read so far must be listed, every other listed HDU must have a SIZE and a name not yet seen, and the
        sizes must add up to the uncompressed length in the gzip trailer. A truncated file fails that test (its
        last bytes are not a trailer). None when the proof fails: the caller then reads the whole file."""
        if self._complete or self._inflater is None:
            return None
        seen = {hdu.name.upper() for hdu in self._walked if hdu.index > 0}
        rest: list[ListedHDU] = []
        names: set[str] = set()
        for name, size in listed:
            key = name.strip().upper()
            if key in seen:
                continue
            if size is None or size <= 0 or size % BLOCK or not key or key in names:
                return None
            names.add(key)
            rest.append(ListedHDU(key, size))  # upper case: EXTNAMEs are matched ignoring case
        if len(seen) != len(self._walked) - 1 or not seen <= {n.strip().upper() for n, _ in listed}:
            return None
        expected = self._end + sum(hdu.size for hdu in rest)
        if self._inflater.trailer_size != expected % (1 << 32):
            return None
        return tuple(rest)

    def __enter__(self) -> FitsFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        if isinstance(self._buffer, mmap.mmap):
            self._buffer.close()

    def find(self, predicate: Callable[[HDU], bool]) -> HDU | None:
        """The first HDU for which ``predicate`` is true (a lazily read file is read only as far as needed)."""
        checked = 0
        while True:
            for hdu in self._walked[checked:]:
                if predicate(hdu):
                    return hdu
            checked = len(self._walked)
            if not self._walk_more():
                return None

    def named(self, name: str) -> HDU | None:
        """The first HDU whose EXTNAME equals ``name`` ignoring case (hdu-index HDU_NAME values are lower-case)."""
        wanted = name.strip().upper()
        return self.find(lambda hdu: hdu.name.upper() == wanted)

    def column(self, hdu: HDU, name: str, *, cells: bool = False) -> np.ndarray:
        """One numeric column of a binary table as float64 (TSCAL/TZERO applied): a scalar column, or with
        ``cells`` every element of a fixed-size array column (the IRF axes: one row of arrays), flattened.

        Only that column is converted: the rows are viewed in place (for a plain file, in the memory map), with a
        record type that exposes the one field. The column name is matched case-sensitively (HAWC has both 'RA' in
        degrees and 'ra' in radians).
        """
        where = str(self.path)
        if hdu.summary.get("XTENSION", "").strip() != "BINTABLE":
            raise IngestError(where, "not a binary table", hdu=hdu.label)
        index, offset, code, repeat = _locate_column(where, hdu, name, cells=cells)
        header = hdu.header
        rows = _int_keyword(where, hdu, "NAXIS2")
        row_bytes = _int_keyword(where, hdu, "NAXIS1")
        element = _TFORM_NUMPY[code] if repeat == 1 else (_TFORM_NUMPY[code], (repeat,))
        record = np.dtype({"names": ["v"], "formats": [element], "offsets": [offset], "itemsize": row_bytes})
        buffer = self._buffer
        if isinstance(buffer, bytearray):  # a growing buffer must not keep a view exported
            buffer = bytes(buffer[hdu.data_offset:hdu.data_offset + rows * row_bytes])
            values = np.frombuffer(buffer, dtype=record, count=rows)["v"]
        else:
            values = np.frombuffer(buffer, dtype=record, count=rows, offset=hdu.data_offset)["v"]
        scale = header.get(f"TSCAL{index}", 1.0)
        zero = header.get(f"TZERO{index}", 0.0)
        result = values.astype(np.float64).reshape(-1)
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


_TTYPE = re.compile(r"TTYPE(\d{1,3}) *= ")


def column_names(hdu: HDU) -> list[str]:
    """TTYPE1..TTYPEn (n = TFIELDS) of a table HDU, stripped, found without parsing the rest of its header (used
    to classify every file while discovering them)."""
    text = hdu.raw_header.decode("ascii", "replace")
    fields = hdu.header.get("TFIELDS") if "TFIELDS" in hdu.summary else _first_value(text, "TFIELDS")
    count = fields if isinstance(fields, int) and not isinstance(fields, bool) else 0
    names: dict[int, str] = {}
    for match in _TTYPE.finditer(text):
        start = match.start()
        number = int(match.group(1))
        if start % CARD or not 1 <= number <= count or number in names or start + 8 != match.end() - 2:
            continue
        value, _ = _card_value(text[start + 10:start + CARD])
        names[number] = value.strip() if isinstance(value, str) else ""
    return [names.get(i, "") for i in range(1, count + 1)]


def _first_value(text: str, key: str) -> Any:
    pattern = key.ljust(8) + "= "
    start = text.find(pattern)
    while start >= 0 and start % CARD:
        start = text.find(pattern, start + 1)
    if start < 0:
        return None
    value, _ = _card_value(text[start + 10:start + CARD])
    return None if value is _UNDEFINED else value


def content_type(compressed: bool) -> str:
    """MIME type of a FITS file as stored (gzip is not transparent to a client that downloads the file)."""
    return "application/x-fits-gzip" if compressed else "application/fits"


def read_fits(path: Path, *, lazy: bool = False) -> FitsFile:
    """Open ``path`` (plain or gzip FITS), checksum it and parse every header. Raise IngestError if it is not a
    complete, well-formed FITS file.

    With ``lazy`` a gzip file is inflated only as far as its HDUs are asked for (:meth:`FitsFile.find`), and
    problems further on are raised when they are reached; :attr:`FitsFile.hdus` reads it all."""
    where = str(path)
    try:
        stat = path.stat()
        with path.open("rb") as handle:
            magic = handle.read(2)
            handle.seek(0)
            if magic == _GZIP_MAGIC:
                raw = handle.read()
                checksum = "sha256:" + hashlib.sha256(raw).hexdigest()
                if lazy:
                    return FitsFile(path, b"", size_bytes=stat.st_size, mtime=_mtime(stat), checksum=checksum,
                                    compressed=True, inflater=_Inflater(where, raw))
                return FitsFile(path, _inflate(where, raw), size_bytes=stat.st_size, mtime=_mtime(stat),
                                checksum=checksum, compressed=True)
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


def walk_hdus(where: str, buffer: mmap.mmap | bytes | bytearray, limit: int | None = None,
              partial: bool = False) -> tuple[HDU, ...]:
    """Parse the headers of a FITS byte buffer and check that every HDU's data is present.

    With ``partial`` the buffer may be the start of a longer file: the walk stops where the buffer ends instead of
    reporting truncation.
    """
    hdus: list[HDU] = []
    offset = 0
    while limit is None or len(hdus) < limit:
        hdu = _next_hdu(where, buffer, offset, len(hdus), partial)
        if hdu is None:
            break
        hdus.append(hdu)
        offset = hdu.data_offset + _padded(hdu.data_size)
    return tuple(hdus)


def _next_hdu(where: str, buffer: mmap.mmap | bytes | bytearray, offset: int, number: int,
              partial: bool) -> HDU | None:
    """The HDU whose header starts at ``offset`` (HDU ``number`` of the file), or None at the end of the file
    (or, with ``partial``, where the buffer ends before its header does)."""
    total = len(buffer)
    if number == 0 and buffer[:9] != b"SIMPLE  =":
        if partial and total < 9:
            return None
        raise IngestError(where, "not a FITS file (it does not start with a SIMPLE card)")
    if offset >= total:
        return None
    label = f"#{number}" if number else "PRIMARY"
    if partial and total - offset < BLOCK:
        return None
    if number and buffer[offset:offset + 8] != b"XTENSION":
        if not buffer[offset:].strip(b"\0 "):
            return None  # trailing padding
        raise IngestError(where, f"{total - offset} bytes of non-FITS data after the last HDU", hdu=label)
    end = _find_end_card(buffer, offset)
    if end < 0:
        if partial:
            return None
        raise IngestError(where, "truncated or corrupt header (no END card)", hdu=label)
    if _find_card(buffer, b"XTENSION=", offset + CARD, end) >= 0:
        raise IngestError(where, "corrupt header (no END card before the next HDU)", hdu=label)
    header_end = offset + _padded(end + CARD - offset)
    raw = bytes(buffer[offset:end + CARD])
    summary = _parse_header(where, label, raw)
    data_size = _data_size(where, HDU(number, raw, summary, offset, header_end, 0))
    hdu = HDU(number, raw, summary, offset, header_end, data_size)
    if header_end + data_size > total and not partial:
        raise IngestError(where, f"truncated: the data end at byte {header_end + data_size}, "
                                 f"the file has {total}", hdu=hdu.label)
    return hdu


def _find_end_card(buffer: mmap.mmap | bytes | bytearray, start: int) -> int:
    return _find_card(buffer, _END_CARD, start, len(buffer))


def _find_card(buffer: mmap.mmap | bytes | bytearray, prefix: bytes, start: int, stop: int) -> int:
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


def _locate_column(where: str, hdu: HDU, name: str, *, cells: bool = False) -> tuple[int, int, str, int]:
    """(column number, byte offset in the row, TFORM code, repeat) of a numeric column: scalar, or with
    ``cells`` of any fixed size."""
    header = hdu.header
    fields = _int_keyword(where, hdu, "TFIELDS")
    offset = 0
    found: tuple[int, int, str, int] | None = None
    for i in range(1, fields + 1):
        tform = str(header.get(f"TFORM{i}", ""))
        match = _TFORM.match(tform)
        if match is None:
            raise IngestError(where, f"invalid value {tform!r}", hdu=hdu.label, keyword=f"TFORM{i}")
        repeat = int(match.group(1)) if match.group(1) else 1
        code = match.group(2)
        if str(header.get(f"TTYPE{i}", "")).strip() == name:
            if (repeat != 1 and not (cells and repeat > 0)) or code not in _TFORM_NUMPY:
                raise IngestError(where, f"column {name} is not a {'number' if cells else 'scalar number'} "
                                         f"(TFORM {tform!r})", hdu=hdu.label, keyword=f"TFORM{i}")
            found = (i, offset, code, repeat)
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


class _Inflater:
    """Inflates a gzip file piece by piece into :attr:`data`, checking its end as :func:`_inflate` does."""

    PIECE = 1 << 16  # bytes of output per step: a file is inflated at most this far beyond what is used

    def __init__(self, where: str, raw: bytes) -> None:
        self.where = where
        self.data = bytearray()
        self._raw = raw
        self._stream = isal_zlib.decompressobj(16 + zlib.MAX_WBITS)
        self._input: bytes = raw
        self._done = False

    @property
    def trailer_size(self) -> int:
        """The uncompressed length (modulo 2**32) the gzip trailer claims."""
        return int.from_bytes(self._raw[-4:], "little") if len(self._raw) >= 18 else -1

    def more(self) -> bool:
        """Inflate the next piece; False when the stream is complete (raises IngestError if it is not sound)."""
        if self._done:
            return False
        try:
            self.data += self._stream.decompress(self._input, self.PIECE)
            self._input = self._stream.unconsumed_tail
            if self._stream.eof:
                self._done = True
                if self._stream.unused_data:  # more than one gzip member: rare, let the gzip module join them
                    self.data[:] = gzip.decompress(self._raw)
                return False
            if not self._input:
                self.data += self._stream.flush()
                if not self._stream.eof:
                    raise EOFError("compressed stream ends early")
        except (OSError, EOFError, zlib.error, _ISAL_ERROR) as exc:
            raise IngestError(self.where, _gzip_reason(exc)) from None
        return True


def _inflate(where: str, raw: bytes) -> bytes:
    """The whole content of a gzip file; the CRC-32 and length in the trailer are checked.

    ISA-L's inflate (python-isal) takes about 30 % less time than zlib's on these files, and inflating is most of
    the time of an ingest of gzip files."""
    try:
        stream = isal_zlib.decompressobj(16 + zlib.MAX_WBITS)
        data = stream.decompress(raw)
        if not stream.eof:
            raise EOFError("compressed stream ends early")
        if stream.unused_data:  # more than one gzip member: rare, let the gzip module join them
            data = gzip.decompress(raw)
        return data
    except (OSError, EOFError, zlib.error, _ISAL_ERROR) as exc:
        raise IngestError(where, _gzip_reason(exc)) from None


def _gzip_reason(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "truncated gzip file (the compressed stream ends early)"
    if isinstance(exc, zlib.error | _ISAL_ERROR | gzip.BadGzipFile):
        return f"corrupt gzip file ({exc})"
    return f"cannot read: {getattr(exc, 'strerror', None) or exc}"


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _mtime(stat: os.stat_result) -> datetime:
    return datetime.fromtimestamp(stat.st_mtime, tz=UTC)
