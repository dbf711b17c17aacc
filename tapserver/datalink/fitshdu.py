"""Find one HDU in a FITS stream (plain or gzip) by reading headers only, and the primary HDU that turns
an extension into a FITS file of its own.

Only headers are parsed: data are skipped (a seek in a plain file, decompressed and dropped in a gzip
file), so memory stays at one header whatever the file size.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO

from tapserver.datalink.model import FITS_BLOCK

CARD = 80
#: Headers longer than this many blocks are refused (a corrupt file must not make us read forever).
MAX_HEADER_BLOCKS = 2000
_SKIP_CHUNK = 1 << 20
_INT = re.compile(r"^\s*([-+]?\d+)\s*(?:/.*)?$")
_LOGICAL = re.compile(r"^\s*([TF])\s*(?:/.*)?$")


class FitsFormatError(Exception):
    """The stream is not the FITS file its database record describes."""


@dataclass(frozen=True)
class HDULocation:
    """An HDU found in the (decompressed) FITS stream: its start, its header bytes as read, and the size of
    its data unit with padding. The stream is left just after the header."""

    index: int
    name: str | None
    offset: int
    header: bytes
    data_size: int  # bytes of the data unit without its padding

    @property
    def data_length(self) -> int:
        return padded(self.data_size)

    @property
    def length(self) -> int:
        return len(self.header) + self.data_length


def _string_value(raw: str) -> str | None:
    raw = raw.strip()
    if not raw.startswith("'"):
        return None
    out, i = [], 1
    while i < len(raw):
        if raw[i] == "'":
            if i + 1 < len(raw) and raw[i + 1] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out).rstrip()
        out.append(raw[i])
        i += 1
    return None


@dataclass(frozen=True)
class Header:
    """The few keywords that fix an HDU's layout."""

    cards: dict[str, str]
    raw: bytes

    def integer(self, key: str, default: int | None = None) -> int:
        raw = self.cards.get(key)
        if raw is None:
            if default is None:
                raise FitsFormatError(f"keyword {key} missing")
            return default
        match = _INT.match(raw)
        if not match:
            raise FitsFormatError(f"keyword {key} is not an integer")
        return int(match.group(1))

    def logical(self, key: str) -> bool:
        match = _LOGICAL.match(self.cards.get(key, ""))
        return bool(match and match.group(1) == "T")

    def string(self, key: str) -> str | None:
        raw = self.cards.get(key)
        return None if raw is None else _string_value(raw)

    def data_size(self, primary: bool) -> int:
        """Bytes of the data unit before padding (FITS 4.0 §4.4.1)."""
        bitpix = self.integer("BITPIX")
        if bitpix not in (8, 16, 32, 64, -32, -64):
            raise FitsFormatError(f"invalid BITPIX {bitpix}")
        naxis = self.integer("NAXIS")
        if not 0 <= naxis <= 999:
            raise FitsFormatError(f"invalid NAXIS {naxis}")
        if naxis == 0:
            return 0
        axes = [self.integer(f"NAXIS{i}") for i in range(1, naxis + 1)]
        if any(a < 0 for a in axes):
            raise FitsFormatError("negative axis length")
        random_groups = primary and axes[0] == 0 and self.logical("GROUPS")
        if primary and not random_groups:
            pcount, gcount = 0, 1
        else:
            pcount, gcount = self.integer("PCOUNT", 0), self.integer("GCOUNT", 1)
        product = 1
        for a in axes[1:] if random_groups else axes:
            product *= a
        return abs(bitpix) // 8 * gcount * (pcount + product)


def padded(size: int) -> int:
    return -(-size // FITS_BLOCK) * FITS_BLOCK


def read_header(stream: BinaryIO, primary: bool) -> Header | None:
    """Read one header from the current position; None at a clean end of stream."""
    cards: dict[str, str] = {}
    raw: list[bytes] = []
    blocks = 0
    while True:
        block = _read_exactly(stream, FITS_BLOCK)
        if not block:
            if blocks == 0:
                return None
            raise FitsFormatError("header ends before its END card")
        if len(block) < FITS_BLOCK:
            if blocks == 0 and not block.strip(b"\0 "):
                return None
            raise FitsFormatError("truncated header block")
        if blocks == 0:
            first = block[:8]
            if (primary and first != b"SIMPLE  ") or (not primary and first != b"XTENSION"):
                if not primary and not block.strip(b"\0 "):
                    return None  # zero padding after the last HDU
                raise FitsFormatError("not a FITS header")
        blocks += 1
        raw.append(block)
        text = block.decode("ascii", errors="replace")
        for start in range(0, FITS_BLOCK, CARD):
            card = text[start:start + CARD]
            key = card[:8].rstrip()
            if key == "END":
                return Header(cards, b"".join(raw))
            if card[8:10] == "= " and key not in cards:
                cards[key] = card[10:]
        if blocks >= MAX_HEADER_BLOCKS:
            raise FitsFormatError("header too long")


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    parts, remaining = [], size
    while remaining:
        chunk = stream.read(remaining)
        if not chunk:
            break
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def skip(stream: BinaryIO, count: int) -> int:
    """Read and drop ``count`` bytes (compressed streams cannot seek); returns how many there were."""
    done = 0
    while done < count:
        chunk = stream.read(min(_SKIP_CHUNK, count - done))
        if not chunk:
            break
        done += len(chunk)
    return done


def advance(stream: BinaryIO, position: int, target: int, *, seekable: bool) -> None:
    """Move forward from ``position`` to ``target``: seek, or read and drop (compressed streams)."""
    if target < position:
        raise ValueError("can only move forward")
    if seekable:
        stream.seek(target)
    elif skip(stream, target - position) < target - position:
        raise FitsFormatError("stream ends before the expected position")


def locate_hdu(stream: BinaryIO, *, index: int | None, name: str | None, seekable: bool) -> HDULocation:
    """Find the HDU with ``index`` (0 = primary) or, if index is None, the first with EXTNAME ``name``.

    When both are given the HDU at ``index`` must carry that name (``PRIMARY`` matches the primary HDU):
    a mismatch means the file changed since it was ingested. The stream is left after the HDU's header.
    """
    if index is None and name is None:
        raise ValueError("give an HDU index or name")
    wanted = name.strip().upper() if name else None
    position, number = 0, 0
    while True:
        header = read_header(stream, primary=number == 0)
        if header is None:
            raise FitsFormatError(f"no HDU {index if index is not None else name!r} in the file")
        header_bytes = len(header.raw)
        data_size = header.data_size(primary=number == 0)
        data = padded(data_size)
        extname = header.string("EXTNAME")
        label = (extname or ("PRIMARY" if number == 0 else "")).strip().upper()
        if index == number or (index is None and label == wanted):
            if wanted is not None and label != wanted:
                raise FitsFormatError(f"HDU {number} is {label or 'unnamed'}, expected {wanted}")
            return HDULocation(number, extname, position, header.raw, data_size)
        advance(stream, position + header_bytes, position + header_bytes + data, seekable=seekable)
        position += header_bytes + data
        number += 1
        if index is not None and number > index:
            raise FitsFormatError(f"no HDU {index} in the file")


def _card(key: str, value: str = "", comment: str = "") -> bytes:
    if value:
        comment = f" / {comment}" if comment else ""
        return f"{key:<8}= {value:>20}{comment}"[:CARD].ljust(CARD).encode("ascii")
    text = f"{key:<8}{comment}"
    return text[:CARD].ljust(CARD).encode("ascii")


def primary_header(comment: str) -> bytes:
    """A data-less primary HDU (one block) to put in front of an extension HDU."""
    cards = [
        _card("SIMPLE", "T", "conforms to FITS standard"),
        _card("BITPIX", "8", "array data type"),
        _card("NAXIS", "0", "number of array dimensions"),
        _card("EXTEND", "T"),
    ]
    safe = "".join(ch if " " <= ch <= "~" else "?" for ch in comment)
    for start in range(0, len(safe), 72):
        cards.append(_card("COMMENT", comment=safe[start:start + 72]))
    cards.append(_card("END"))
    block = b"".join(cards)
    if len(block) > FITS_BLOCK:
        raise ValueError("comment too long for one header block")
    return block.ljust(FITS_BLOCK, b" ")
