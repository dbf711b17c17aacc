"""One uploaded VOTable -> an :class:`UploadedTable`: a catalog table with real SQL types and the FIELDs'
VOTable metadata, and the rows as SQL values.

The document has passed :mod:`~tapserver.uploads.screen` before astropy parses it here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

from tapserver.catalog.model import Column, Table
from tapserver.errors import UsageFault
from tapserver.uploads import values
from tapserver.uploads.values import BadValue, Converter

#: Uploads become common table expressions of the query (tapserver.uploads.binding), without schema;
#: ADQL reaches them only as TAP_UPLOAD.name.
UPLOAD_PREFIX = "tap_upload_"
#: Column names an uploaded table may not use: PostgreSQL's system columns (and ``oid``).
RESERVED_COLUMNS = frozenset({"ctid", "xmin", "xmax", "cmin", "cmax", "tableoid", "oid"})

# VOTable datatype -> PostgreSQL element type.
_SQL_TYPES = {
    "boolean": "boolean",
    "bit": "boolean",
    "unsignedByte": "smallint",
    "short": "smallint",
    "int": "integer",
    "long": "bigint",
    "float": "real",
    "double": "double precision",
    "char": "text",
    "unicodeChar": "text",
}
# DALI geometry xtypes on double arrays -> pgsphere types (CONTAINS/INTERSECTS work on them).
_GEOMETRY = {"point": "spoint", "circle": "scircle", "polygon": "spoly"}


@dataclass(frozen=True)
class _Loader:
    """How one VOTable column becomes one SQL column."""

    key: str  # the numpy field of astropy's array
    column: Column
    convert: Converter  # (value, mask) -> Python value bound in the query


@dataclass(frozen=True)
class UploadedTable:
    """A parsed upload, ready to be bound into a query."""

    name: str
    table: Table
    rows: int
    _array: Any
    _loaders: tuple[_Loader, ...]

    @property
    def sql_name(self) -> str:
        return self.table.name

    def renamed(self, name: str) -> UploadedTable:
        """The same data under another upload name (one multipart part named by two uploads)."""
        table = dataclasses.replace(self.table, name=UPLOAD_PREFIX + name.lower(),
                                    description=f"uploaded table TAP_UPLOAD.{name}")
        return dataclasses.replace(self, name=name, table=table)

    def iter_rows(self) -> Iterator[tuple[Any, ...]]:
        """The rows as Python values (NULL for masked values and NaN); UsageFault for a value
        this service cannot store, naming its column and row."""
        columns = []
        for loader in self._loaders:
            data = self._array[loader.key]
            columns.append((loader, np.ma.getdata(data), np.ma.getmaskarray(data)))
        for i in range(self.rows):
            row = []
            for loader, data, mask in columns:
                try:
                    row.append(loader.convert(data[i], mask[i]))
                except BadValue as exc:
                    raise UsageFault(f"upload {self.name!r}, column {loader.column.name!r}, row {i + 1}: "
                                     f"{exc}") from None
            yield tuple(row)


def upload_tables(tables: Iterable[UploadedTable]) -> dict[str, Table]:
    """The ``uploads`` argument of ``translate``: upload name -> table of the temporary table."""
    return {t.name: t.table for t in tables}


def read_votable(name: str, source: IO[bytes], max_rows: int) -> UploadedTable:
    """Parse the first table of a screened VOTable into an :class:`UploadedTable` named ``name``."""
    import warnings

    from astropy.io.votable import parse
    from astropy.io.votable.exceptions import VOWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VOWarning)
            warnings.simplefilter("ignore", UserWarning)
            document = parse(source, verify="ignore", table_number=0)
        table = document.get_first_table()
    except UsageFault:
        raise
    except Exception as exc:  # astropy raises many types for malformed input
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageFault(f"upload {name!r} is not a readable VOTable: {message}") from None
    array = table.array
    rows = len(array)
    if rows > max_rows:
        raise UsageFault(f"upload {name!r} has {rows} rows; at most {max_rows} are accepted")
    keys = array.dtype.names or ()
    if not table.fields:
        raise UsageFault(f"upload {name!r} has no FIELD: a table needs at least one column")
    if len(keys) != len(table.fields):
        raise UsageFault(f"upload {name!r}: the table's FIELDs do not match its data")
    loaders = []
    seen: set[str] = set()
    for key, field in zip(keys, table.fields, strict=True):
        column_name = (field.name or field.ID or "").strip()
        if not column_name:
            raise UsageFault(f"upload {name!r} has a FIELD without a name")
        if len(column_name.encode()) > 63:
            raise UsageFault(f"upload {name!r}: column name {column_name[:40]!r}... is longer than 63 bytes")
        if column_name.lower() in RESERVED_COLUMNS:
            raise UsageFault(f"upload {name!r}: column name {column_name!r} is reserved (a PostgreSQL system "
                             "column); rename the FIELD")
        if column_name.lower() in seen:
            raise UsageFault(f"upload {name!r} has two columns named {column_name!r} (names ignore case)")
        seen.add(column_name.lower())
        loaders.append(_loader(name, key, column_name, field))
    catalog_table = Table(schema="", name=UPLOAD_PREFIX + name.lower(),
                          description=f"uploaded table TAP_UPLOAD.{name}",
                          columns=tuple(loader.column for loader in loaders))
    return UploadedTable(name=name, table=catalog_table, rows=rows, _array=array, _loaders=tuple(loaders))


def _unit(field: Any) -> str | None:
    unit = getattr(field, "unit", None)
    if unit is None:
        return None
    try:
        rendered = unit.to_string(format="vounit")
    except Exception:
        rendered = str(unit)
    return rendered or None


def _is_scalar(arraysize: str | None) -> bool:
    return arraysize in (None, "", "1")


def _loader(upload: str, key: str, column_name: str, field: Any) -> _Loader:
    datatype: str = field.datatype
    arraysize: str | None = field.arraysize
    xtype: str | None = field.xtype

    def column(sql_type: str, datatype: str, arraysize: str | None, xtype: str | None) -> Column:
        return Column(column_name, sql_type, datatype, arraysize, xtype, unit=_unit(field), ucd=field.ucd or None,
                      utype=field.utype or None, description=field.description or None)

    if datatype in ("floatComplex", "doubleComplex"):
        raise UsageFault(f"upload {upload!r}: column {column_name!r} is {datatype}, which this service "
                         "cannot store")
    if datatype not in _SQL_TYPES:
        raise UsageFault(f"upload {upload!r}: column {column_name!r} has unknown datatype {datatype!r}")

    if datatype in ("char", "unicodeChar"):
        if xtype and xtype.lower() == "timestamp":
            return _Loader(key, column("timestamp without time zone", "char", "*", "timestamp"), values.timestamp)
        if arraysize is not None and "x" in arraysize:
            raise UsageFault(f"upload {upload!r}: column {column_name!r} is a multidimensional character "
                             "array, which this service cannot store")
        single = arraysize in (None, "", "1")  # arraysize="1" is deprecated (VOTable 1.3 Erratum 3)
        return _Loader(key, column("text", datatype, None if single else arraysize, xtype), values.string)

    base = _SQL_TYPES[datatype]
    if datatype == "bit":  # stored as boolean, and written back as such
        datatype = "boolean"
    geometry = _GEOMETRY.get((xtype or "").lower()) if datatype in ("double", "float") else None
    if geometry is not None and not _is_scalar(arraysize):
        return _Loader(key, column(geometry, datatype, arraysize, xtype), values.GEOMETRY_CONVERTERS[geometry])
    if _is_scalar(arraysize):
        return _Loader(key, column(base, datatype, None, xtype), values.scalar_converter(datatype))
    return _Loader(key, column(base + "[]", datatype, arraysize, xtype), values.array_converter(datatype))
