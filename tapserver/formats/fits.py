"""FITS binary table writer.

A FITS header states the row count, the row width and the heap size before the data, so the result is
first spooled to a temporary Arrow IPC file (memory stays at one batch), then the header and the rows
are written from it batch by batch with numpy. The first byte therefore leaves only when the query has
finished, and every query error is raised before it (never a truncated FITS file).

Layout: an empty primary HDU, then one BINTABLE. Strings are ``wA`` with w the longest value (FITS text
is ASCII: other characters become ``?``); fixed arrays ``nD`` etc.; variable arrays (polygons, byte
strings) ``PD(max)``/``PB(max)`` with the heap. Nulls: TNULLn for integers (the VOTable magic values),
NaN for floats, an empty string for strings, 0 for logicals, zero elements for variable arrays.
TUNIT/TUCD/TUTYP/TCOMM carry unit, UCD, utype and description.

Times: MJD time columns (:func:`tapserver.votable.fields.is_mjd_time`) follow the FITS time convention
(Rots et al. 2015): TIMESYS='TT', MJDREF=0, TIMEUNIT='d', TREFPOS='TOPOCENTER' in the table header
and TCTYPn='TT', TCUNIn='d' on each such column, so that ``Table.read(..., astropy_native=True)``
gives ``Time`` columns (scale tt, format mjd).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import IO, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from astropy.io import fits

from tapserver.formats.arrow import CsvDecoder
from tapserver.votable.base import CopyFormat, TableWriter, WriteContext
from tapserver.votable.fields import INTEGER_NULLS, ResultColumn, Shape, check_column, is_mjd_time
from tapserver.votable.sqlenc import Cell, csv_cells

BLOCK = 2880
_CODE = {"boolean": "L", "unsignedByte": "B", "short": "I", "int": "J", "long": "K", "float": "E",
         "double": "D", "char": "A", "unicodeChar": "A"}
_DTYPE = {"boolean": "u1", "unsignedByte": "u1", "short": ">i2", "int": ">i4", "long": ">i8",
          "float": ">f4", "double": ">f8"}
_NON_ASCII = r"[^\x20-\x7e]"


def _ascii(value: str | None, limit: int = 68) -> str | None:
    if value is None:
        return None
    return "".join(ch if " " <= ch <= "~" else "?" for ch in value)[:limit]


class _ColumnPlan:
    """How one column is laid out in the FITS row, filled in from the spool statistics."""

    def __init__(self, column: ResultColumn, shape: Shape) -> None:
        self.column = column
        self.shape = shape
        self.text = column.datatype in ("char", "unicodeChar")
        self.variable = not self.text and not shape.scalar and shape.variable
        self.width = 1  # characters of a string / elements of a fixed array / max elements of a VLA
        if not self.text and not shape.scalar and not shape.variable:
            self.width = shape.count or 1
        self.item = np.dtype(_DTYPE[column.datatype]) if not self.text else np.dtype("u1")

    def observe(self, array: pa.Array) -> None:
        if self.text:
            lengths = pc.binary_length(array)
            longest = pc.max(lengths).as_py()
            self.width = max(self.width, longest or 0)
        elif self.variable:
            lengths = pc.binary_length(array) if pa.types.is_binary(array.type) else pc.list_value_length(array)
            longest = pc.max(lengths).as_py()
            self.width = max(self.width, longest or 0)

    def tform(self, big_heap: bool) -> str:
        code = _CODE[self.column.datatype]
        if self.variable:
            return f"{'Q' if big_heap else 'P'}{code}({self.width})"
        if self.shape.scalar and not self.text:
            return code
        return f"{self.width}{code}"

    def null(self) -> int | None:
        """TNULL of integer columns (not of variable arrays, whose null is zero elements)."""
        if self.column.datatype in INTEGER_NULLS and not self.variable:
            return INTEGER_NULLS[self.column.datatype]
        return None


def _fill(array: pa.Array, plan: _ColumnPlan) -> np.ndarray:
    """Scalars and list values as a numpy array of the FITS element type, nulls filled."""
    dt = plan.column.datatype
    if dt == "boolean":
        codes = pc.if_else(array, 84, 70).cast(pa.uint8())  # T / F
        return np.asarray(pc.fill_null(codes, 0).to_numpy(zero_copy_only=False), dtype="u1")
    if dt in ("float", "double"):
        return np.asarray(pc.fill_null(array, float("nan")).to_numpy(zero_copy_only=False), dtype=plan.item)
    null = plan.null()
    return np.asarray(pc.fill_null(array, null).to_numpy(zero_copy_only=False), dtype=plan.item)


def _fixed_bytes(array: pa.Array, width: int) -> np.ndarray:
    """A (rows, width) uint8 matrix of string/binary values, cut or NUL-padded to width."""
    array = pc.fill_null(array, "" if pa.types.is_string(array.type) else b"")
    n = len(array)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset:array.offset + n + 1]
    data = np.frombuffer(array.buffers()[2] or b"", dtype=np.uint8)
    return _scatter(offsets, data, n, width, np.zeros((n, width), dtype=np.uint8))


def _scatter(offsets: np.ndarray, values: np.ndarray, n: int, width: int, out: np.ndarray) -> np.ndarray:
    lengths = np.minimum(np.diff(offsets), width)
    total = int(lengths.sum())
    if total:
        rows = np.repeat(np.arange(n), lengths)
        starts = np.cumsum(lengths) - lengths
        within = np.arange(total) - np.repeat(starts, lengths)
        out[rows, within] = values[offsets[:-1][rows] + within]
    return out


class FitsWriter(TableWriter):
    copy_format: ClassVar[CopyFormat] = "csv"

    def __init__(self, context: WriteContext) -> None:
        super().__init__(context)
        self._decoder = CsvDecoder(context.columns)
        self._plans = [_ColumnPlan(c, check_column(c)) for c in context.columns]
        # lives until close(): the pipeline always calls it
        self._spool: IO[bytes] | None = tempfile.TemporaryFile(prefix="tapserver-fits-")  # noqa: SIM115
        self._ipc = pa.ipc.new_stream(pa.PythonFile(self._spool, mode="w"), self._decoder.schema)
        self._rows = 0
        self._heap = 0

    def select_list(self, cells: Sequence[Cell]) -> list[str]:
        return csv_cells(cells)

    def body(self, payload: bytes, rows: int) -> Iterable[bytes]:
        batch = self._decoder.decode(payload)
        arrays = []
        for plan, array in zip(self._plans, batch.columns, strict=True):
            if plan.text:
                array = pc.replace_substring_regex(array, _NON_ASCII, "?")
            plan.observe(array)
            if plan.variable:
                if pa.types.is_binary(array.type):
                    self._heap += int(pc.sum(pc.binary_length(array)).as_py() or 0)
                else:
                    self._heap += int(pc.sum(pc.list_value_length(array)).as_py() or 0) * plan.item.itemsize
            arrays.append(array)
        self._ipc.write_batch(pa.RecordBatch.from_arrays(arrays, schema=batch.schema))
        self._rows += rows
        return []

    def tail(self, overflow: bool) -> Iterator[bytes]:
        self._ipc.close()
        assert self._spool is not None
        big_heap = self._heap >= 2**31
        row_dtype = self._row_dtype(big_heap)
        yield self._primary() + self._table_header(row_dtype, big_heap)
        self._spool.seek(0)
        reader = pa.ipc.open_stream(pa.PythonFile(self._spool, mode="r"))
        with tempfile.TemporaryFile(prefix="tapserver-fits-heap-") as heap:
            heap_pos = 0
            written = 0
            for batch in reader:
                rows, heap_bytes = self._encode(batch, row_dtype, heap_pos)
                heap.write(heap_bytes)
                heap_pos += len(heap_bytes)
                written += len(rows)
                yield rows
            heap.seek(0)
            while chunk := heap.read(1 << 22):
                yield chunk
            yield bytes(-(written + heap_pos) % BLOCK)

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    # -- layout -----------------------------------------------------------------------------------

    def _row_dtype(self, big_heap: bool) -> np.dtype:
        fields: list[tuple[str, str | np.dtype, tuple[int, ...]]] = []
        for i, plan in enumerate(self._plans):
            name = f"f{i}"
            if plan.variable:
                fields.append((name, ">i8" if big_heap else ">i4", (2,)))
            elif plan.text:
                fields.append((name, "u1", (plan.width,)))
            elif plan.shape.scalar:
                fields.append((name, plan.item, ()))
            else:
                fields.append((name, plan.item, (plan.width,)))
        return np.dtype(fields)

    def _primary(self) -> bytes:
        header = fits.Header([("SIMPLE", True), ("BITPIX", 8), ("NAXIS", 0), ("EXTEND", True)])
        return header.tostring(sep="", endcard=True, padding=True).encode("ascii")

    def _table_header(self, row_dtype: np.dtype, big_heap: bool) -> bytes:
        header = fits.Header()
        header["XTENSION"] = "BINTABLE"
        header["BITPIX"] = 8
        header["NAXIS"] = 2
        header["NAXIS1"] = row_dtype.itemsize
        header["NAXIS2"] = self._rows
        header["PCOUNT"] = self._heap
        header["GCOUNT"] = 1
        header["TFIELDS"] = len(self._plans)
        for i, plan in enumerate(self._plans, start=1):
            col = plan.column
            header[f"TTYPE{i}"] = _ascii(col.name)
            header[f"TFORM{i}"] = plan.tform(big_heap)
            if plan.null() is not None:
                header[f"TNULL{i}"] = plan.null()
            for key, value in (("TUNIT", col.unit), ("TUCD", col.ucd), ("TUTYP", col.utype),
                               ("TCOMM", col.description)):
                if value:
                    header[f"{key}{i}"] = _ascii(value)
            if is_mjd_time(col):
                header[f"TCTYP{i}"] = ("TT", "time scale of the column")
                header[f"TCUNI{i}"] = ("d", "time unit of the column")
        header["EXTNAME"] = "RESULTS"
        if any(is_mjd_time(plan.column) for plan in self._plans):
            header["TIMESYS"] = ("TT", "time scale of the time columns")
            header["MJDREF"] = (0.0, "time columns are MJD")
            header["TIMEUNIT"] = ("d", "unit of the time columns")
            header["TREFPOS"] = ("TOPOCENTER", "times as observed at the telescope")
        return header.tostring(sep="", endcard=True, padding=True).encode("ascii")

    def _encode(self, batch: pa.RecordBatch, row_dtype: np.dtype, heap_pos: int) -> tuple[bytes, bytes]:
        n = batch.num_rows
        out = np.zeros(n, dtype=row_dtype)
        heap_parts: list[bytes] = []
        for i, (plan, array) in enumerate(zip(self._plans, batch.columns, strict=True)):
            name = f"f{i}"
            if plan.text:
                out[name] = _fixed_bytes(array, plan.width)
            elif plan.variable:
                if pa.types.is_binary(array.type):
                    array = pc.fill_null(array, b"")
                    offsets = np.frombuffer(array.buffers()[1], np.int32)[array.offset:array.offset + n + 1]
                    data = np.frombuffer(array.buffers()[2] or b"", np.uint8)[offsets[0]:offsets[-1]]
                    counts = np.diff(offsets)
                else:
                    counts = np.asarray(pc.fill_null(pc.list_value_length(array), 0), dtype=np.int64)
                    data = _fill(array.flatten(), plan)
                sizes = counts * plan.item.itemsize
                desc = np.empty((n, 2), dtype=np.int64)
                desc[:, 0] = counts
                desc[:, 1] = heap_pos + np.cumsum(sizes) - sizes
                out[name] = desc
                chunk = data.astype(plan.item, copy=False).tobytes()
                heap_parts.append(chunk)
                heap_pos += len(chunk)
            elif plan.shape.scalar:
                out[name] = _fill(array, plan)
            else:
                lists = pc.fill_null(array, pa.scalar([], type=array.type)) if array.null_count else array
                offsets = np.asarray(lists.offsets, dtype=np.int64)
                values = _fill(lists.values, plan)
                nan_fill = plan.column.datatype in ("float", "double")
                filler = np.nan if nan_fill else (plan.null() or 0)
                matrix = np.full((n, plan.width), filler, dtype=plan.item)
                out[name] = _scatter(offsets, values, n, plan.width, matrix)
        return out.tobytes(), b"".join(heap_parts)
