"""Table metadata: the one description of a published table, used for TAP_SCHEMA, /tables, FIELDs and ADQL."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace

from tapserver.catalog.identifiers import adql_name, database_name

# PostgreSQL type -> (VOTable datatype, arraysize, xtype). One mapping for the whole server.
_PG_TO_VOTABLE: dict[str, tuple[str, str | None, str | None]] = {
    "text": ("char", "*", None),
    "character varying": ("char", "*", None),
    "double precision": ("double", None, None),
    "real": ("float", None, None),
    "bigint": ("long", None, None),
    "integer": ("int", None, None),
    "smallint": ("short", None, None),
    "boolean": ("boolean", None, None),
    "timestamp without time zone": ("char", "*", "timestamp"),
    "timestamp": ("char", "*", "timestamp"),
    "date": ("char", "*", "timestamp"),
    "bytea": ("unsignedByte", "*", None),
    "spoint": ("double", "2", "point"),
    "scircle": ("double", "3", "circle"),
    "spoly": ("double", "*", "polygon"),
    "sbox": ("double", "4", "polygon"),
}

GEOMETRY_TYPES = frozenset({"spoint", "scircle", "spoly", "sbox"})


def votable_type(sql_type: str) -> tuple[str, str | None, str | None]:
    """VOTable (datatype, arraysize, xtype) for a PostgreSQL type name as format_type() prints it."""
    base = sql_type.lower().split("(")[0].strip()
    if base.startswith("character varying") or base.startswith("varchar"):
        return ("char", "*", None)
    if base.startswith("character") or base == "char":
        return ("char", "*", None)
    if base.startswith("timestamp"):
        return ("char", "*", "timestamp")
    try:
        return _PG_TO_VOTABLE[base]
    except KeyError:
        return ("char", "*", None)


@dataclass(frozen=True)
class Column:
    """One column of a published table, with its SQL type and its VOTable metadata."""

    name: str
    sql_type: str
    datatype: str
    arraysize: str | None = None
    xtype: str | None = None
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    description: str | None = None
    principal: bool = False
    indexed: bool = False
    std: bool = False
    nullable: bool = True
    sql_name: str | None = None
    """The PostgreSQL column name when it is not ``name`` (a regular identifier listed in upper case)."""

    @property
    def size(self) -> int | None:
        """The deprecated TAP_SCHEMA ``size``: the integer of a one-dimensional arraysize."""
        if self.arraysize is None or "x" in self.arraysize:
            return None
        digits = self.arraysize.rstrip("*")
        return int(digits) if digits else None

    @property
    def listed_name(self) -> str:
        """The name as TAP_SCHEMA lists it (delimited when ADQL needs quotes to reach the column)."""
        return self.name if self.sql_name is not None else adql_name(self.name)

    @property
    def is_geometry(self) -> bool:
        return self.sql_type in GEOMETRY_TYPES


def col(
    name: str,
    sql_type: str,
    description: str,
    *,
    unit: str | None = None,
    ucd: str | None = None,
    utype: str | None = None,
    datatype: str | None = None,
    arraysize: str | None = None,
    xtype: str | None = None,
    principal: bool = False,
    indexed: bool = False,
    std: bool = False,
    nullable: bool = True,
) -> Column:
    """Declare a column; VOTable type fields default to the mapping of its SQL type."""
    d, a, x = votable_type(sql_type)
    if datatype is not None:
        d, a, x = datatype, arraysize, xtype
    else:
        a = arraysize if arraysize is not None else a
        x = xtype if xtype is not None else x
    return Column(
        name=name,
        sql_type=sql_type,
        datatype=d,
        arraysize=a,
        xtype=x,
        unit=unit,
        ucd=ucd,
        utype=utype,
        description=description,
        principal=principal,
        indexed=indexed,
        std=std,
        nullable=nullable,
    )


@dataclass(frozen=True)
class ForeignKey:
    """A foreign key as TAP_SCHEMA.keys/key_columns describe it (table names qualified)."""

    key_id: str
    from_table: str
    target_table: str
    columns: tuple[tuple[str, str], ...]
    description: str | None = None
    utype: str | None = None


@dataclass(frozen=True)
class Table:
    """A published table or view."""

    schema: str
    name: str
    description: str | None
    columns: tuple[Column, ...]
    utype: str | None = None
    table_type: str = "table"
    foreign_keys: tuple[ForeignKey, ...] = ()
    _by_name: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({c.name.lower(): c for c in self.columns})

    @property
    def qualified(self) -> str:
        """The table name as TAP_SCHEMA.tables.table_name gives it (``schema.table``)."""
        return f"{self.schema}.{self.name}"

    @property
    def db_schema(self) -> str:
        """The PostgreSQL schema name (``schema`` as listed, folded or unquoted by ADQL's rules)."""
        return database_name(self.schema)

    @property
    def db_name(self) -> str:
        """The PostgreSQL table name (``name`` as listed, folded or unquoted by ADQL's rules)."""
        return database_name(self.name)

    def column(self, name: str) -> Column | None:
        """Look a column up by name, ignoring case (ADQL regular identifiers)."""
        return self._by_name.get(name.lower())

    def with_columns(self, columns: Iterable[Column]) -> Table:
        return replace(self, columns=tuple(columns), _by_name={})


@dataclass(frozen=True)
class Schema:
    """A published schema and its tables, in display order."""

    name: str
    description: str | None
    tables: tuple[Table, ...]
    utype: str | None = None


class Catalog:
    """The published tables, looked up with ADQL's case rules. Built from TAP_SCHEMA or from declarations."""

    def __init__(self, schemas: Iterable[Schema]) -> None:
        self.schemas: tuple[Schema, ...] = tuple(schemas)
        self._tables: dict[str, Table] = {}
        for schema in self.schemas:
            for table in schema.tables:
                self._tables[table.qualified.lower()] = table

    def __iter__(self) -> Iterator[Table]:
        for schema in self.schemas:
            yield from schema.tables

    def __len__(self) -> int:
        return len(self._tables)

    def table(self, name: str, schema: str | None = None) -> Table | None:
        """Find a table by (optionally schema-qualified) name, ignoring case."""
        if schema is not None:
            return self._tables.get(f"{schema}.{name}".lower())
        if "." in name:
            return self._tables.get(name.lower())
        matches = [t for t in self._tables.values() if t.name.lower() == name.lower()]
        return matches[0] if len(matches) == 1 else None

    def table_names(self) -> list[str]:
        return [t.qualified for t in self]

    @property
    def foreign_keys(self) -> list[ForeignKey]:
        return [fk for t in self for fk in t.foreign_keys]
