"""Streaming VOTable writers: BINARY2 (the default), BINARY and TABLEDATA.

BINARY/BINARY2 rows are assembled per batch from a binary COPY (:mod:`tapserver.votable.binrows`) and
base64-encoded (76-character lines, made with numpy); TABLEDATA rows are made per batch from PostgreSQL's
text COPY of the cells' literal forms (:func:`tapserver.votable.sqlenc.tabledata_cells`).

Text: VOTable 1.4 ``char`` is 7-bit ASCII, and astropy (hence pyvo) refuses anything else in a binary
``char`` cell, so in BINARY/BINARY2 a non-ASCII character of a ``char`` column is written as ``?``.
TABLEDATA keeps the text as it is (it is XML text, read fine by astropy and STIL). Columns that hold
non-ASCII text must be declared ``unicodeChar`` in the metadata (TAP_SCHEMA / the catalog): they are
written as UCS-2 big-endian (characters outside the BMP become U+FFFD) and nothing is lost.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable, Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from tapserver.votable.base import CopyFormat, TableWriter, WriteContext
from tapserver.votable.binrows import RowAssembler
from tapserver.votable.document import results_head, results_tail
from tapserver.votable.fields import INTEGER_NULLS
from tapserver.votable.sqlenc import Cell, tabledata_cells

_LINE_BYTES = 57  # 57 bytes -> one 76-character base64 line


class Base64Lines:
    """Incremental base64 with 76-character lines: whole lines per call, the remainder carried over."""

    def __init__(self) -> None:
        self._carry = b""

    def feed(self, data: bytes) -> bytes:
        if self._carry:
            data = self._carry + data
        whole = len(data) - len(data) % _LINE_BYTES
        self._carry = bytes(data[whole:])
        if not whole:
            return b""
        encoded = binascii.b2a_base64(memoryview(data)[:whole], newline=False)
        lines = np.frombuffer(encoded, dtype=np.uint8).reshape(-1, 76)
        out = np.empty((lines.shape[0], 77), dtype=np.uint8)
        out[:, :76] = lines
        out[:, 76] = 10
        return out.tobytes()

    def finish(self) -> bytes:
        carry, self._carry = self._carry, b""
        return binascii.b2a_base64(carry) if carry else b""


class _VOTableWriter(TableWriter):
    reports_errors: ClassVar[bool] = True
    data_open: ClassVar[str]
    data_close: ClassVar[str]

    def __init__(self, context: WriteContext) -> None:
        super().__init__(context)
        self._closed = False

    def null_values(self) -> list[str | None] | None:
        return None

    def head(self) -> bytes:
        return results_head(
            self.context.columns, info=self.context.info, ids=self.context.ids,
            null_values=self.null_values(), data_open=self.data_open,
        ).encode()

    def _finish(self, status: str | None, message: str | None = None) -> bytes:
        return results_tail(self.flush() + self.data_close, status, message, self.context.extra_resources)

    def flush(self) -> str:
        return ""

    def tail(self, overflow: bool) -> Iterable[bytes]:
        return [self._finish("OVERFLOW" if overflow else None)]

    def abort(self, message: str) -> bytes:
        return self._finish("ERROR", message)


class _StreamWriter(_VOTableWriter):
    copy_format: ClassVar[CopyFormat] = "rows"
    binary2: ClassVar[bool]

    def __init__(self, context: WriteContext) -> None:
        super().__init__(context)
        self._b64 = Base64Lines()
        self._rows: RowAssembler | None = None

    def select_list(self, cells: Sequence[Cell]) -> list[str]:
        self._rows = RowAssembler(cells, binary2=self.binary2)
        return self._rows.select_list()

    def body(self, payload: bytes, rows: int) -> Iterable[bytes]:
        raise NotImplementedError("BINARY rows come whole (body_rows)")

    def body_rows(self, payload: bytes, starts: npt.NDArray[np.int64]) -> Iterable[bytes]:
        assert self._rows is not None, "select_list() first"
        return [self._b64.feed(self._rows.rows(payload, starts))]

    def flush(self) -> str:
        return self._b64.finish().decode()


class Binary2Writer(_StreamWriter):
    """VOTable 1.4 BINARY2: null flags per row, so every type has a real null."""

    binary2 = True
    data_open = '<DATA><BINARY2><STREAM encoding="base64">\n'
    data_close = "</STREAM></BINARY2></DATA>\n"


class BinaryWriter(_StreamWriter):
    """VOTable BINARY: no null flags; integer nulls are the magic values declared in ``<VALUES null>``
    (the most negative value, 255 for unsignedByte), floating-point nulls NaN, booleans '?', and
    null strings/variable arrays empty."""

    binary2 = False
    data_open = '<DATA><BINARY><STREAM encoding="base64">\n'
    data_close = "</STREAM></BINARY></DATA>\n"

    def null_values(self) -> list[str | None]:
        # byte arrays (SQL bytea) have no null elements: every byte value is data
        return [str(INTEGER_NULLS[c.datatype])
                if c.datatype in INTEGER_NULLS and not (c.datatype == "unsignedByte" and c.arraysize)
                else None for c in self.context.columns]


class TabledataWriter(_VOTableWriter):
    """VOTable TABLEDATA: null cells are empty TDs (an empty string reads back as null).

    PostgreSQL writes each cell's text (text-format COPY, TAB between cells, NULL as nothing); each batch
    becomes ``<TR><TD>`` rows with a few whole-batch byte replacements (see :func:`tabledata`)."""

    copy_format: ClassVar[CopyFormat] = "text"
    data_open = "<DATA><TABLEDATA>\n"
    data_close = "</TABLEDATA></DATA>\n"

    def select_list(self, cells: Sequence[Cell]) -> list[str]:
        return tabledata_cells(cells)

    def body(self, payload: bytes, rows: int) -> Iterable[bytes]:
        return [tabledata(payload)]


# text-format COPY escapes: backslash sequences and the control characters XML 1.0 cannot carry
_COPY_ESCAPE = re.compile(rb"\\(.)|[\x00-\x08\x0b\x0c\x0e-\x1f]", re.S)
_ESCAPED = {b"\\": b"&#92;", b"t": b"&#9;", b"n": b"&#10;", b"r": b"&#13;"}
_NEEDS_WORK = re.compile(rb"[\\\x00-\x08\x0b\x0c\x0e-\x1f]")


def _unescape(match: re.Match[bytes]) -> bytes:
    char = match.group(1)
    if char is None:
        return b""  # a raw control character
    return _ESCAPED.get(char, b"")  # \b \f \v: characters XML cannot carry


def tabledata(payload: bytes) -> bytes:
    """TABLEDATA rows from text-format COPY lines (cells separated by TAB, rows ended by LF)."""
    if not payload:
        return b""
    out = payload.replace(b"&", b"&amp;").replace(b"<", b"&lt;").replace(b">", b"&gt;")
    if _NEEDS_WORK.search(out):  # raw TAB and LF only ever separate cells and rows
        out = _COPY_ESCAPE.sub(_unescape, out)
    out = out.replace(b"\t", b"</TD><TD>").replace(b"\n", b"</TD></TR>\n<TR><TD>")
    return b"<TR><TD>" + out[:-len(b"<TR><TD>")]
