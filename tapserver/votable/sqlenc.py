"""SQL expressions that make PostgreSQL encode result cells itself (the fast path of every writer).

Python never handles a cell by itself: the writers wrap the translated query as
``SELECT <expressions> FROM (<query>) AS q(c0, c1, ...)`` inside a ``COPY ... TO STDOUT`` and the
expressions built here turn each value into its final form:

* BINARY/BINARY2: arrays and byte strings as the exact bytes of the cell (big-endian values, 4-byte
  counts before variable arrays), made with ``float8send`` and friends; the other cells travel as
  plain values and :mod:`tapserver.votable.binrows` assembles the rows;
* TABLEDATA/CSV/TSV/Arrow: one ``text`` per cell in the DALI literal forms.

The declared VOTable datatype decides the encoding (values are cast to it); the SQL type of the
result column (from a describe of the query) decides how to read the value (timestamps, arrays, bytea).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tapserver.errors import FatalFault
from tapserver.votable.fields import INTEGER_NULLS, ResultColumn, Shape, check_column

# ---------------------------------------------------------------------------------------------------
# SQL types of result columns


@dataclass(frozen=True)
class PgType:
    """A result column's SQL type: name, pg_type category and, for arrays, the element type."""

    oid: int
    name: str
    category: str
    elem: PgType | None = None

    @property
    def is_array(self) -> bool:
        return self.elem is not None


_BUILTIN: dict[int, tuple[str, str]] = {
    16: ("bool", "B"), 17: ("bytea", "U"), 18: ("char", "Z"), 19: ("name", "S"), 20: ("int8", "N"),
    21: ("int2", "N"), 23: ("int4", "N"), 25: ("text", "S"), 26: ("oid", "N"), 700: ("float4", "N"),
    701: ("float8", "N"), 1042: ("bpchar", "S"), 1043: ("varchar", "S"), 1082: ("date", "D"),
    1083: ("time", "D"), 1114: ("timestamp", "D"), 1184: ("timestamptz", "D"), 1700: ("numeric", "N"),
    2950: ("uuid", "U"),
}
_BUILTIN_ARRAYS = {1000: 16, 1001: 17, 1005: 21, 1007: 23, 1016: 20, 1021: 700, 1022: 701, 1009: 25,
                   1015: 1043, 1014: 1042, 1115: 1114, 1182: 1082, 1185: 1184, 1231: 1700}


def builtin_type(oid: int) -> PgType | None:
    """The PgType of a built-in type OID, or None if it must be looked up in pg_type."""
    if oid in _BUILTIN:
        name, category = _BUILTIN[oid]
        return PgType(oid, name, category)
    if oid in _BUILTIN_ARRAYS:
        elem = builtin_type(_BUILTIN_ARRAYS[oid])
        assert elem is not None
        return PgType(oid, "_" + elem.name, "A", elem)
    return None


TYPE_LOOKUP_SQL = (
    "SELECT t.oid, t.typname, t.typcategory, e.oid, e.typname, e.typcategory "
    "FROM pg_type t LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A' "
    "WHERE t.oid = ANY(%s)"
)


def types_from_rows(rows: Sequence[Sequence[Any]]) -> dict[int, PgType]:
    """PgTypes from the rows of TYPE_LOOKUP_SQL."""
    found: dict[int, PgType] = {}
    for oid, name, category, eoid, ename, ecategory in rows:
        elem = PgType(eoid, ename, ecategory) if eoid is not None else None
        found[oid] = PgType(oid, name, category, elem)
    return found


# ---------------------------------------------------------------------------------------------------
# helpers

_SEND = {"short": "int2send", "int": "int4send", "long": "int8send", "float": "float4send",
         "double": "float8send"}
_PG_CAST = {"boolean": "boolean", "short": "int2", "int": "int4", "long": "int8", "float": "float4",
            "double": "float8", "unsignedByte": "int2", "char": "text", "unicodeChar": "text"}
_NAN = {"float": "7fc00000", "double": "7ff8000000000000"}
_SIZE = {"boolean": 1, "unsignedByte": 1, "short": 2, "int": 4, "long": 8, "float": 4, "double": 8}


def _hex(n_bytes: int, byte: str = "00") -> str:
    return f"'\\x{byte * n_bytes}'::bytea"


def _bytes_literal(data: bytes) -> str:
    return f"'\\x{data.hex()}'::bytea"


@dataclass(frozen=True)
class Cell:
    """One result column as the encoders see it: SQL reference, SQL type, VOTable metadata, shape."""

    ref: str
    pg: PgType
    column: ResultColumn
    shape: Shape

    @property
    def datatype(self) -> str:
        return self.column.datatype

    def fail(self, why: str) -> FatalFault:
        arraysize = f"[{self.column.arraysize}]" if self.column.arraysize else ""
        return FatalFault(
            f"result column {self.column.name!r}: cannot write SQL type {self.pg.name} as VOTable "
            f"{self.datatype}{arraysize}: {why}"
        )


def make_cells(refs: Sequence[str], pg_types: Sequence[PgType], columns: Sequence[ResultColumn]) -> list[Cell]:
    """Pair references, SQL types and metadata; checks that every pairing can be encoded."""
    if len(columns) != len(pg_types):
        raise FatalFault(
            f"the query returns {len(pg_types)} columns but {len(columns)} were described"
        )
    cells = [Cell(ref, pg, col, check_column(col)) for ref, pg, col in zip(refs, pg_types, columns, strict=True)]
    for cell in cells:
        _check(cell)
    return cells


def _check(cell: Cell) -> None:
    text = cell.datatype in ("char", "unicodeChar")
    if text:
        return  # anything has a text form
    if cell.shape.scalar:
        if cell.pg.is_array:
            raise cell.fail("an array for a scalar FIELD")
        if cell.pg.name == "bytea":
            raise cell.fail("bytea needs an unsignedByte array FIELD")
        if cell.datatype == "boolean" and cell.pg.category not in ("B", "N"):
            raise cell.fail("not a boolean")
        if cell.datatype != "boolean" and cell.pg.category not in ("N", "B"):
            raise cell.fail("not a number")
        return
    if cell.datatype == "unsignedByte" and cell.pg.name == "bytea":
        return
    if not cell.pg.is_array:
        raise cell.fail("a scalar for an array FIELD")
    elem = cell.pg.elem
    assert elem is not None
    if elem.category not in ("N", "B"):
        raise cell.fail(f"array of {elem.name}")


def _as(expr: str, pg: PgType, target: str) -> str:
    """Cast expr (of SQL type pg) to target unless it already is."""
    if pg.name == target:
        return expr
    return f"({expr})::{target}"


def _scalar_value(cell: Cell) -> str:
    """The value of a scalar numeric/boolean cell, cast to the SQL type of its VOTable datatype."""
    target = _PG_CAST[cell.datatype]
    if cell.datatype == "boolean" and cell.pg.name != "bool":
        return f"(({cell.ref}) <> 0)"
    if cell.pg.name == "bool" and target != "boolean":
        return f"({cell.ref})::int::{target}"
    return _as(cell.ref, cell.pg, target)


def text_of(cell: Cell) -> str:
    """A text expression for a char/unicodeChar cell (NULL stays NULL): timestamps in ISO-8601."""
    ref, name = cell.ref, cell.pg.name
    if name in ("timestamp", "timestamptz"):
        value = f"({ref} AT TIME ZONE 'UTC')" if name == "timestamptz" else ref
        # PostgreSQL's ISO output trims trailing fractional zeros; years outside 1..9999 (and
        # +-infinity) have no DALI form and come out null.
        return (f"CASE WHEN {value} BETWEEN '0001-01-01' AND '9999-12-31 23:59:59.999999' "
                f"THEN replace(({value})::text, ' ', 'T') END")
    if name == "date":
        return f"CASE WHEN {ref} BETWEEN '0001-01-01' AND '9999-12-31' THEN ({ref})::text END"
    if name == "bytea":
        return f"encode({ref}, 'hex')"
    if name in ("text", "varchar", "name"):
        return ref
    if name == "bpchar":
        return f"({ref})::text"
    if cell.pg.is_array:
        return f"array_to_string({ref}, ' ')"
    return f"({ref})::text"


# ---------------------------------------------------------------------------------------------------
# BINARY / BINARY2


def _bin_number(value: str, datatype: str, magic: bool) -> str:
    """Bytes of one numeric/boolean element; a NULL value becomes NaN, the magic null, or zeros."""
    if datatype == "boolean":
        return (f"CASE WHEN {value} THEN '\\x54'::bytea WHEN NOT {value} THEN '\\x46'::bytea "
                f"ELSE '\\x3f'::bytea END")
    if datatype in _NAN:
        return f"coalesce({_SEND[datatype]}({value}), '\\x{_NAN[datatype]}'::bytea)"
    send = f"substring(int2send({value}) from 2 for 1)" if datatype == "unsignedByte" else f"{_SEND[datatype]}({value})"
    if magic:
        size = _SIZE[datatype]
        fill = (INTEGER_NULLS[datatype] % (1 << (8 * size))).to_bytes(size, "big")
        return f"coalesce({send}, {_bytes_literal(fill)})"
    return f"coalesce({send}, {_hex(_SIZE[datatype])})"


def _null_element(datatype: str, magic: bool) -> bytes:
    if datatype in _NAN:
        return bytes.fromhex(_NAN[datatype])
    if datatype == "boolean":
        return b"?"
    if magic:
        size = _SIZE[datatype]
        return (INTEGER_NULLS[datatype] % (1 << (8 * size))).to_bytes(size, "big")
    return bytes(_SIZE[datatype])


def _count(expr: str) -> str:
    return f"int4send({expr})"


def binary_cell(cell: Cell, *, magic: bool) -> str:
    """A never-NULL bytea expression: the BINARY encoding of an array or byte-string cell (magic=True:
    BINARY nulls for null elements). Scalars and text are assembled by :mod:`tapserver.votable.binrows`."""
    dt, shp, ref = cell.datatype, cell.shape, cell.ref
    if dt == "unsignedByte" and cell.pg.name == "bytea":
        if not shp.variable:
            n = shp.count or 1
            return f"substring(coalesce({ref}, ''::bytea) || {_hex(n)} from 1 for {n})"
        data = ref if shp.limit is None else f"substring({ref} from 1 for {shp.limit})"
        return f"coalesce({_count(f'length({data})')} || {data}, {_hex(4)})"

    elem = cell.pg.elem
    assert elem is not None
    target = _PG_CAST[dt]
    null = _null_element(dt, magic)

    def element(expr: str) -> str:
        if dt == "boolean" and elem.name != "bool":
            value = f"(({expr}) <> 0)"
        elif elem.name == "bool" and target != "boolean":
            value = f"({expr})::int::{target}"
        else:
            value = _as(expr, elem, target)
        return _bin_number(value, dt, magic)

    if not shp.variable and (shp.count or 0) <= 16:
        n = shp.count or 1
        return " || ".join(element(f"({ref})[{i}]") for i in range(1, n + 1))
    agg = (f"(SELECT string_agg({element('x')}, ''::bytea ORDER BY o) "
           f"FROM unnest({ref}) WITH ORDINALITY AS u(x, o)"
           + (f" WHERE o <= {shp.limit or shp.count})" if (shp.limit or shp.count) else ")"))
    if not shp.variable:
        n = shp.count or 1
        # pad short arrays with null elements, cut long ones
        pad = _bytes_literal(null * n)
        return f"substring(coalesce({agg}, ''::bytea) || {pad} from 1 for {n * len(null)})"
    card = f"coalesce(cardinality({ref}), 0)"
    if shp.limit is not None:
        card = f"least({card}, {shp.limit})"
    return f"{_count(card)} || coalesce({agg}, ''::bytea)"


# ---------------------------------------------------------------------------------------------------
# text forms: TABLEDATA, CSV/TSV, Arrow


def _float_text(value: str) -> str:
    return (f"CASE WHEN {value} = 'Infinity' THEN '+Inf' WHEN {value} = '-Infinity' THEN '-Inf' "
            f"ELSE ({value})::text END")


def _element_text(expr: str, cell: Cell) -> str:
    """Text of one array element, never NULL (NaN, the magic integer null or '?' stand in)."""
    elem = cell.pg.elem
    assert elem is not None
    dt = cell.datatype
    if dt == "boolean":
        test = expr if elem.name == "bool" else f"(({expr}) <> 0)"
        return f"CASE WHEN {test} THEN 'T' WHEN NOT {test} THEN 'F' ELSE '?' END"
    target = _PG_CAST[dt]
    value = expr if elem.name == target else f"({expr})::{target}"
    if dt in ("float", "double"):
        return f"coalesce({_float_text(value)}, 'NaN')"
    return f"coalesce(({value})::text, '{INTEGER_NULLS[dt]}')"


def _array_text(ref: str, cell: Cell) -> str:
    """Space-separated elements; fixed-size arrays padded or cut to their arraysize."""
    elem = cell.pg.elem
    assert elem is not None
    dt, shp = cell.datatype, cell.shape
    if not shp.variable:
        n = shp.count or 1
        if n <= 16:
            items = ", ".join(_element_text(f"({ref})[{i}]", cell) for i in range(1, n + 1))
            return f"CASE WHEN {ref} IS NOT NULL THEN concat_ws(' ', {items}) END"
        return (f"CASE WHEN {ref} IS NOT NULL THEN array_to_string(ARRAY(SELECT "
                f"{_element_text(f'({ref})[i]', cell)} FROM generate_series(1, {n}) AS i), ' ') END")
    value = ref if shp.limit is None else f"({ref})[1:{shp.limit}]"
    if dt == "boolean":
        return (f"CASE WHEN {ref} IS NOT NULL THEN coalesce((SELECT string_agg({_element_text('x', cell)}, ' ' "
                f"ORDER BY o) FROM unnest({value}) WITH ORDINALITY AS u(x, o)), '') END")
    target = _PG_CAST[dt]
    if elem.name != target:
        value = f"({value})::{target}[]"
    if dt in ("float", "double"):
        text = f"array_to_string({value}, ' ', 'NaN')"
        return f"replace(replace({text}, '-Infinity', '-Inf'), 'Infinity', '+Inf')"
    return f"array_to_string({value}, ' ', '{INTEGER_NULLS[dt]}')"


def value_text(cell: Cell, *, style: str = "votable") -> str:
    """The text literal of a cell (NULL for null): DALI/VOTable forms.

    style ``votable`` (TABLEDATA): booleans T/F; ``csv``: booleans true/false. Numbers use PostgreSQL's
    shortest round-trip output, NaN/+Inf/-Inf; arrays are space-separated; timestamps ISO-8601.
    """
    dt, shp, ref = cell.datatype, cell.shape, cell.ref
    if dt in ("char", "unicodeChar"):
        value = text_of(cell)
        n = shp.limit or shp.count
        return f"left({value}, {n})" if n else value
    if shp.scalar:
        value = _scalar_value(cell)
        if dt == "boolean":
            true, false = ("T", "F") if style == "votable" else ("true", "false")
            return f"CASE WHEN {value} THEN '{true}' WHEN NOT {value} THEN '{false}' END"
        if dt in ("float", "double"):
            return _float_text(value)
        return f"({value})::text"
    if dt == "unsignedByte" and cell.pg.name == "bytea":
        if not shp.variable:
            n = shp.count or 1
            data = f"substring({ref} || {_hex(n)} from 1 for {n})"
        else:
            data = ref if not shp.limit else f"substring({ref} from 1 for {shp.limit})"
        return (f"CASE WHEN {ref} IS NOT NULL THEN coalesce((SELECT string_agg(get_byte({data}, i)::text, "
                f"' ' ORDER BY i) FROM generate_series(0, length({data}) - 1) AS i), '') END")
    return _array_text(ref, cell)


def tabledata_cells(cells: Sequence[Cell]) -> list[str]:
    """One text expression per cell for TABLEDATA (NULL: an empty TD). XML escaping is left to the writer."""
    out = []
    for cell in cells:
        value = value_text(cell, style="votable")
        if cell.datatype in ("float", "double") and not cell.shape.scalar and cell.shape.count:
            # a null fixed-size float array is all NaN (an empty TD does not parse as n numbers)
            value = f"coalesce({value}, '{' '.join(['NaN'] * cell.shape.count)}')"
        out.append(value)
    return out


def csv_cells(cells: Sequence[Cell]) -> list[str]:
    """One text expression per cell for CSV/TSV (COPY quotes/escapes them; NULL = empty field)."""
    return [value_text(cell, style="csv") for cell in cells]
