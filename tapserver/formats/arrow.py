"""Arrow record batches from COPY CSV batches (for the Parquet and FITS writers).

PostgreSQL writes the cells as CSV (see :func:`tapserver.votable.sqlenc.csv_cells`) and Arrow's C++
CSV reader parses a whole batch at once with the column types fixed from the VOTable metadata; arrays
(space-separated) are split and cast per column with Arrow compute. Null is an unquoted empty field;
``""`` is an empty string.
"""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from tapserver.votable.fields import ResultColumn, Shape, check_column

_SCALAR: dict[str, pa.DataType] = {
    "boolean": pa.bool_(), "unsignedByte": pa.uint8(), "short": pa.int16(), "int": pa.int32(),
    "long": pa.int64(), "float": pa.float32(), "double": pa.float64(), "char": pa.string(),
    "unicodeChar": pa.string(),
}


def is_bytes(column: ResultColumn, shape: Shape) -> bool:
    """unsignedByte arrays (SQL bytea) are Arrow binary values."""
    return column.datatype == "unsignedByte" and not shape.scalar


def arrow_type(column: ResultColumn) -> pa.DataType:
    """The Arrow type of a column: scalars by datatype, strings utf8, byte arrays binary, other arrays
    lists of the element type."""
    shape = check_column(column)
    base = _SCALAR[column.datatype]
    if shape.scalar or column.datatype in ("char", "unicodeChar"):
        return base
    if is_bytes(column, shape):
        return pa.binary()
    return pa.list_(base)


def arrow_schema(columns: Sequence[ResultColumn]) -> pa.Schema:
    return pa.schema([pa.field(c.name, arrow_type(c)) for c in columns])


class CsvDecoder:
    """Turns one COPY CSV batch into an Arrow RecordBatch of :func:`arrow_schema`."""

    def __init__(self, columns: Sequence[ResultColumn]) -> None:
        self.columns = tuple(columns)
        self.schema = arrow_schema(columns)
        self._names = [f"c{i}" for i in range(len(columns))]
        read_types: dict[str, pa.DataType] = {}
        for name, field in zip(self._names, self.schema, strict=True):
            t = field.type
            if pa.types.is_list(t) or pa.types.is_binary(t):
                read_types[name] = pa.string()
            elif t == pa.uint8():
                read_types[name] = pa.int16()
            else:
                read_types[name] = t
        self._read = pcsv.ReadOptions(column_names=self._names, use_threads=False, block_size=1 << 26)
        self._parse = pcsv.ParseOptions(newlines_in_values=True)
        self._convert = pcsv.ConvertOptions(
            column_types=read_types, strings_can_be_null=True, quoted_strings_can_be_null=False,
            null_values=[""], true_values=["true"], false_values=["false"],
        )

    def decode(self, payload: bytes) -> pa.RecordBatch:
        table = pcsv.read_csv(pa.py_buffer(payload), read_options=self._read, parse_options=self._parse,
                              convert_options=self._convert)
        arrays = []
        for i, field in enumerate(self.schema):
            arrays.append(self._finish(table.column(i).combine_chunks(), field.type))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    @staticmethod
    def _finish(array: pa.Array, target: pa.DataType) -> pa.Array:
        if pa.types.is_list(target):
            # "" is an empty array (null is null): split only the others
            empty = pc.equal(array, "")
            parts = pc.ascii_split_whitespace(pc.if_else(empty, pa.scalar(None, pa.string()), array))
            if empty.true_count:
                parts = pc.if_else(empty, pa.scalar([], parts.type), parts)
            if pa.types.is_boolean(target.value_type):  # T / F / ? (null)
                flat = parts.flatten()
                values = pc.if_else(pc.equal(flat, "?"), pa.scalar(None, pa.bool_()), pc.equal(flat, "T"))
                return pa.ListArray.from_arrays(parts.offsets, values, mask=parts.is_null())
            return parts.cast(target)
        if pa.types.is_binary(target):
            # byte arrays come as space-separated decimal bytes: reuse the list layout as binary
            empty = pc.equal(array, "")
            lists = pc.ascii_split_whitespace(pc.if_else(empty, pa.scalar(None, pa.string()), array))
            if empty.true_count:
                lists = pc.if_else(empty, pa.scalar([], lists.type), lists)
            lists = lists.cast(pa.list_(pa.uint8()))
            values = lists.flatten()
            return pa.Array.from_buffers(
                pa.binary(), len(lists),
                [lists.buffers()[0], lists.offsets.buffers()[1], values.buffers()[1]],
                null_count=lists.null_count,
            )
        if array.type != target:
            return array.cast(target)
        return array
