"""Parquet writer with VOTable metadata (VOParquet 1.0, IVOA Note 2025-01: the data-less VOTable in the key-value
metadata of the file).

Batches are parsed into Arrow (see :mod:`tapserver.formats.arrow`) and written as row groups of about
:data:`ROW_GROUP_ROWS` rows; each row group's bytes are sent as soon as it is written. The footer, and
with it the ``IVOA.VOTable-Parquet.content`` metadata (which then knows about OVERFLOW), comes last: a
stream cut by a mid-stream error has no footer and so cannot be mistaken for a complete file. Timestamps
stay ISO-8601 strings (as the FIELD, char with xtype timestamp, says); points/circles/polygons are lists
of doubles. astropy reads the result with ``Table.read(..., format="parquet.votable")``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tapserver.formats.arrow import CsvDecoder
from tapserver.votable.base import CopyFormat, TableWriter, WriteContext
from tapserver.votable.document import metadata_votable
from tapserver.votable.sqlenc import Cell, csv_cells

ROW_GROUP_ROWS = 16_384  # rows held as Arrow before a row group is written: bounds the memory


class _Sink(io.RawIOBase):
    """A write-only file that hands its bytes over on :meth:`drain`."""

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        chunk = bytes(data)
        self._parts.append(chunk)
        self._pos += len(chunk)
        return len(chunk)

    def tell(self) -> int:
        return self._pos

    def drain(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


class ParquetWriter(TableWriter):
    """VOParquet: Parquet whose file metadata holds the data-less VOTable of the result (the FIELDs with
    units, UCDs, xtypes, descriptions; the INFOs; QUERY_STATUS OVERFLOW after the TABLE when rows were
    cut), under the keys ``IVOA.VOTable-Parquet.version`` ("1.0") and ``IVOA.VOTable-Parquet.content``.
    The metadata is written with the footer, once the overflow is known."""

    copy_format: ClassVar[CopyFormat] = "csv"

    def __init__(self, context: WriteContext) -> None:
        super().__init__(context)
        self._decoder = CsvDecoder(context.columns)
        self.schema = self._decoder.schema
        self._sink = _Sink()
        # no ARROW:schema copy: the key-value metadata written with the footer is then the schema's metadata
        self._writer: pq.ParquetWriter | None = pq.ParquetWriter(self._sink, self.schema, store_schema=False)
        self._pending: list[pa.RecordBatch] = []
        self._pending_rows = 0
        self._strings = [i for i, f in enumerate(self.schema)
                         if pa.types.is_string(f.type) or pa.types.is_binary(f.type)]
        self._longest = dict.fromkeys(self._strings, 1)

    def select_list(self, cells: Sequence[Cell]) -> list[str]:
        return csv_cells(cells)

    def head(self) -> bytes:
        return self._sink.drain()  # the magic number: the first bytes leave with the first batch

    def body(self, payload: bytes, rows: int) -> Iterable[bytes]:
        batch = self._decoder.decode(payload)
        for i in self._strings:
            column = batch.column(i)
            lengths = pc.utf8_length(column) if pa.types.is_string(column.type) else pc.binary_length(column)
            longest = pc.max(lengths).as_py()
            if longest is not None and longest > self._longest[i]:
                self._longest[i] = longest
        self._pending.append(batch)
        self._pending_rows += rows
        if self._pending_rows >= ROW_GROUP_ROWS:
            return [self._write_pending()]
        return []

    def _write_pending(self) -> bytes:
        if self._pending and self._writer is not None:
            table = pa.Table.from_batches(self._pending, schema=self.schema)
            self._writer.write_table(table, row_group_size=max(len(table), 1))
        self._pending.clear()
        self._pending_rows = 0
        pa.default_memory_pool().release_unused()  # the row group's Arrow buffers go back to the system
        return self._sink.drain()

    def tail(self, overflow: bool) -> Iterable[bytes]:
        out = self._write_pending()
        assert self._writer is not None
        self._writer.add_key_value_metadata(voparquet_metadata(self.context, overflow))
        # astropy's Parquet reader sizes its string columns from these (without them it scans the values
        # and fails on a null)
        self._writer.add_key_value_metadata({f"table::len::{self.schema[i].name}": str(n)
                                             for i, n in self._longest.items()})
        self._writer.close()
        self._writer = None
        return [out + self._sink.drain()]

    def close(self) -> None:
        self._pending.clear()
        if self._writer is not None:  # abandoned mid-stream: drop the open writer without a footer
            self._writer = None


def voparquet_metadata(context: WriteContext, overflow: bool) -> dict[bytes, bytes]:
    """The VOParquet 1.0 key-value pairs of a result."""
    content = metadata_votable(context.columns, context.info, context.ids, status="OVERFLOW" if overflow else None)
    return {b"IVOA.VOTable-Parquet.version": b"1.0", b"IVOA.VOTable-Parquet.content": content}
