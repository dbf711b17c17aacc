"""CSV (RFC 4180) and TSV writers: PostgreSQL's COPY formats the lines, we add the header.

Cells use the DALI literal forms: numbers as PostgreSQL's shortest round-trip text with NaN/+Inf/-Inf,
booleans true/false, timestamps ISO-8601 (``2020-01-01T12:00:00.5``), arrays (points, circles,
polygons) space-separated. Null is an empty field.

CSV: fields holding a comma, quote, CR or LF are quoted with doubled quotes; an empty string is ``""``
and so stays distinct from null. Lines end with LF.
TSV: TAB, LF, CR and backslash inside values are written as ``\\t``, ``\\n``, ``\\r``, ``\\\\`` (the
PostgreSQL text-COPY / "linear TSV" convention), since a value may not contain a TAB.

Neither format can carry an OVERFLOW or ERROR marker: overflow is silent (see ResultStream.overflow)
and a failure after the first byte cuts the stream short.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from tapserver.votable.base import CopyFormat, TableWriter, WriteContext
from tapserver.votable.sqlenc import Cell, csv_cells


def _csv_field(name: str) -> str:
    if any(ch in name for ch in ',"\r\n') or name == "":
        return '"' + name.replace('"', '""') + '"'
    return name


def _tsv_field(name: str) -> str:
    return name.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class CsvWriter(TableWriter):
    copy_format: ClassVar[CopyFormat] = "csv"

    def __init__(self, context: WriteContext, *, header: bool = True) -> None:
        super().__init__(context)
        self.header = header

    def select_list(self, cells: Sequence[Cell]) -> list[str]:
        return csv_cells(cells)

    def head(self) -> bytes:
        if not self.header:
            return b""
        return (",".join(_csv_field(c.name) for c in self.context.columns) + "\n").encode()

    def body(self, payload: bytes, rows: int) -> Iterable[bytes]:
        return [payload]

    def tail(self, overflow: bool) -> Iterable[bytes]:
        return []


class TsvWriter(CsvWriter):
    copy_format: ClassVar[CopyFormat] = "text"

    def head(self) -> bytes:
        return ("\t".join(_tsv_field(c.name) for c in self.context.columns) + "\n").encode()
