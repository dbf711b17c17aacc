"""BINARY/BINARY2 rows assembled per batch with numpy from a plain binary COPY.

PostgreSQL's binary COPY already writes what VOTable BINARY wants for most cells: numbers are big-endian
values of the same widths, and a text value is a 4-byte length followed by its bytes, exactly the layout
of a variable-length ``char`` string. So the COPY selects the result columns nearly as they are (numbers
cast to the FIELD's datatype, text as text, timestamps as ISO-8601 text) and only arrays and byte strings
are encoded in SQL (:func:`tapserver.votable.sqlenc.binary_cell`). :class:`RowAssembler` then turns a batch
of COPY rows into VOTable rows with a few vectorised operations per column, whatever the row count:

* the 4-byte length of each value is read for all rows at once; a length of -1 is a NULL, which gives the
  BINARY2 null flags (``numpy.packbits``) and the value written in its place (NaN, the magic integer null,
  '?', an empty string);
* ``unicodeChar`` text becomes UCS-2 big-endian per batch: ASCII text by interleaving zero bytes, other text
  through one ``str.encode('utf-16-be')`` of the whole batch column (characters outside the BMP become
  U+FFFD); ``char`` text stays as it is when ASCII, non-ASCII characters become '?' (VOTable 1.4 ``char`` is
  7-bit: astropy and pyvo refuse other bytes);
* the output rows are gathered from the COPY bytes and the few new pieces with one fancy-indexing copy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tapserver.votable.fields import INTEGER_NULLS
from tapserver.votable.sqlenc import _NAN, _SIZE, Cell, _scalar_value, binary_cell, text_of

_NON_BMP = re.compile("[\U00010000-\U0010ffff]")
_U8 = npt.NDArray[np.uint8]
_I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class _Plan:
    """How one column travels: ``number`` (PostgreSQL's send format, ``take`` bytes from ``skip``),
    ``boolean``, ``text`` (``width`` 1 for char, 2 for unicodeChar; ``count`` when fixed-size) or ``bytes``
    (a bytea already in VOTable form). ``null`` is what a NULL becomes."""

    kind: str
    sql: str
    null: bytes
    skip: int = 0
    take: int = 0
    width: int = 1
    count: int | None = None


def _null_scalar(datatype: str, magic: bool) -> bytes:
    if datatype in _NAN:
        return bytes.fromhex(_NAN[datatype])
    if datatype == "boolean":
        return b"?"
    size = _SIZE[datatype]
    if magic:
        return (INTEGER_NULLS[datatype] % (1 << (8 * size))).to_bytes(size, "big")
    return bytes(size)


def _plan(cell: Cell, magic: bool) -> _Plan:
    dt, shp = cell.datatype, cell.shape
    if dt in ("char", "unicodeChar"):
        width = 2 if dt == "unicodeChar" else 1
        fixed = shp.scalar or not shp.variable
        count = (shp.count or 1) if fixed else None
        limit = count or shp.limit
        text = text_of(cell)
        sql = f"left({text}, {limit})" if limit else text
        null = bytes((count or 0) * width) if fixed else bytes(4)
        return _Plan("text", sql, null, width=width, count=count)
    if shp.scalar:
        null = _null_scalar(dt, magic)
        if dt == "boolean":
            return _Plan("boolean", _scalar_value(cell), null)
        if dt == "unsignedByte":  # sent as int2: keep the low byte
            return _Plan("number", _scalar_value(cell), null, skip=1, take=1)
        return _Plan("number", _scalar_value(cell), null, take=_SIZE[dt])
    # arrays and byte strings: encoded in SQL; a NULL becomes what binary_cell writes for one
    encoded = binary_cell(cell, magic=magic)
    if not shp.variable:
        n = shp.count or 1
        element = b"\x00" if dt == "unsignedByte" and cell.pg.name == "bytea" else _null_scalar(dt, magic)
        null = element * n
    else:
        null = bytes(4)
    return _Plan("bytes", f"CASE WHEN {cell.ref} IS NULL THEN NULL ELSE {encoded} END", null)


def _read_i4(b: _U8, pos: _I64) -> _I64:
    """The big-endian int32 at each position."""
    value = b[pos].astype(np.int64) << 24
    value |= b[pos + 1].astype(np.int64) << 16
    value |= b[pos + 2].astype(np.int64) << 8
    value |= b[pos + 3]
    return np.where(value >= 2**31, value - 2**32, value)


def _gather(src: _U8, starts: _I64, lengths: _I64) -> _U8:
    """The concatenation of src[starts[i]:starts[i] + lengths[i]] for every i (one fancy-indexing copy)."""
    total = int(lengths.sum())
    if not total:
        return np.empty(0, np.uint8)
    kind = np.int32 if len(src) + total < 2**31 else np.int64
    offsets = np.cumsum(lengths) - lengths
    index = np.repeat((starts - offsets).astype(kind), lengths)
    index += np.arange(total, dtype=kind)
    result: _U8 = src[index]
    return result


def _any_high_byte(b: _U8, starts: npt.NDArray[np.int64], ends: npt.NDArray[np.int64]) -> bool:
    """Whether any byte of the pieces b[starts:ends] is >= 0x80; the pieces are in payload order (so
    ``starts`` and ``ends`` interleave increasing) and none starts where another ends."""
    used = ends > starts
    if not used.any():
        return False
    bounds = np.column_stack((starts[used], ends[used])).ravel()
    if bounds[-1] == len(b):
        bounds = bounds[:-1]  # the last piece runs to the end
    return bool((np.maximum.reduceat(b, bounds)[::2] >= 0x80).any())


def _char_counts(data: _U8, lengths: _I64) -> _I64:
    """Characters per UTF-8 string (bytes that do not continue a sequence)."""
    starts = np.cumsum(lengths) - lengths
    firsts = np.concatenate(([0], np.cumsum((data & 0xC0) != 0x80)))
    return (firsts[starts + lengths] - firsts[starts]).astype(np.int64)


class RowAssembler:
    """The select list of the COPY and, per batch, the VOTable rows (BINARY2 when ``binary2``)."""

    def __init__(self, cells: Sequence[Cell], *, binary2: bool) -> None:
        self.binary2 = binary2
        self.plans = [_plan(cell, magic=not binary2) for cell in cells]
        consts = bytearray()
        self._null_at: list[int] = []
        for plan in self.plans:
            self._null_at.append(len(consts))
            consts += plan.null
        self._zeros_at = len(consts)
        widest = max([(p.count or 0) * p.width for p in self.plans] + [4])
        consts += bytes(widest)
        self._consts = np.frombuffer(bytes(consts), np.uint8)

    def select_list(self) -> list[str]:
        return [plan.sql for plan in self.plans] or ["NULL"]

    def rows(self, payload: bytes, starts: _I64) -> bytes:
        """VOTable rows of a batch of COPY rows (``starts``: where each row begins in ``payload``)."""
        n_rows = len(starts)
        if not n_rows:
            return b""
        b = np.frombuffer(payload, np.uint8)
        sources: list[_U8] = [b, self._consts]
        base = len(b)
        consts_at = base
        base += len(self._consts)

        def add(array: _U8) -> int:
            nonlocal base
            sources.append(array)
            at = base
            base += len(array)
            return at

        n_pieces = 2 * len(self.plans) + (1 if self.binary2 else 0)
        piece_at = np.zeros((n_rows, n_pieces), np.int64)
        piece_len = np.zeros((n_rows, n_pieces), np.int64)
        nulls = np.zeros((n_rows, len(self.plans)), bool)
        # where each value is, for all rows at once, one column after the other
        pos = starts.astype(np.int64) + 2  # after the field count
        columns = []
        for _ in self.plans:
            length = _read_i4(b, pos)
            size = np.maximum(length, 0)
            columns.append((pos, length < 0, pos + 4, size))
            pos = pos + 4 + size
        texts = [k for k, plan in enumerate(self.plans) if plan.kind == "text"]
        high = False
        if texts:  # row after row, the text values in column order: payload order
            text_at = np.column_stack([columns[k][2] for k in texts]).ravel()
            text_end = text_at + np.column_stack([columns[k][3] for k in texts]).ravel()
            high = _any_high_byte(b, text_at, text_end)
        col = 1 if self.binary2 else 0
        for k, plan in enumerate(self.plans):
            pos, null, data, size = columns[k]
            nulls[:, k] = null
            null_at = consts_at + self._null_at[k]
            if plan.kind == "number":
                piece_at[:, col] = np.where(null, null_at, data + plan.skip)
                piece_len[:, col] = plan.take
            elif plan.kind == "boolean":
                values = b[np.where(null, 0, data)]
                letters = np.where(null, ord("?"), np.where(values != 0, ord("T"), ord("F"))).astype(np.uint8)
                piece_at[:, col] = add(letters) + np.arange(n_rows)
                piece_len[:, col] = 1
            elif plan.kind == "bytes":
                piece_at[:, col] = np.where(null, null_at, data)
                piece_len[:, col] = np.where(null, len(plan.null), size)
            else:
                ascii_only = not high or not _any_high_byte(b, data, data + size)
                self._text(plan, ascii_only, b, pos, data, size, null, null_at, consts_at, add,
                           piece_at[:, col:col + 2], piece_len[:, col:col + 2])
            col += 2
        if self.binary2:
            flags = np.packbits(nulls, axis=1)
            width = flags.shape[1]
            piece_at[:, 0] = add(flags.ravel()) + np.arange(n_rows) * width
            piece_len[:, 0] = width
        src = np.concatenate(sources)
        return _gather(src, piece_at.ravel(), piece_len.ravel()).tobytes()

    def _text(self, plan: _Plan, ascii_only: bool, b: _U8, pos: _I64, data: _I64, size: _I64,
              null: npt.NDArray[np.bool_], null_at: int, zeros_at: int, add: object, at: _I64, length: _I64) -> None:
        """Pieces of a text column: (count, characters) when variable, (characters, padding) when fixed."""
        assert callable(add)
        zeros_at += self._zeros_at
        if ascii_only:
            chars = size
            if plan.width == 1:
                encoded_at = data  # the bytes are already in the COPY payload
            else:
                text = _gather(b, data, size)
                ucs2 = np.zeros(2 * len(text), np.uint8)
                ucs2[1::2] = text
                encoded_at = add(ucs2) + 2 * (np.cumsum(size) - size)
        else:
            text = _gather(b, data, size)
            chars = _char_counts(text, size)
            decoded = text.tobytes().decode("utf-8")
            if plan.width == 1:
                encoded = decoded.encode("ascii", "replace")
            else:
                encoded = _NON_BMP.sub("\ufffd", decoded).encode("utf-16-be")
            encoded_at = add(np.frombuffer(encoded, np.uint8)) + plan.width * (np.cumsum(chars) - chars)
        nbytes = chars * plan.width
        if plan.count is None:
            if ascii_only and plan.width == 1:
                count_at = pos  # COPY's length is the count
            else:
                count_at = add(chars.astype(">i4").view(np.uint8)) + 4 * np.arange(len(chars))
            at[:, 0] = np.where(null, null_at, count_at)
            length[:, 0] = 4
            at[:, 1] = encoded_at
            length[:, 1] = nbytes
        else:
            at[:, 0] = encoded_at
            length[:, 0] = nbytes
            at[:, 1] = zeros_at
            length[:, 1] = plan.count * plan.width - nbytes
