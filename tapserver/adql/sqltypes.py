"""The types the translator tracks: PostgreSQL types of values, and their VOTable rendering."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlglot import exp

from tapserver.catalog.model import GEOMETRY_TYPES


@dataclass(frozen=True)
class SqlType:
    """A PostgreSQL type as the translator sees it; ``length`` is n of char(n)/varchar(n)."""

    name: str
    length: int | None = None

    @property
    def category(self) -> str:
        """numeric, text, timestamp, boolean, geometry, null or other."""
        return _CATEGORY.get(self.name, "other")

    @property
    def is_numeric(self) -> bool:
        return self.category == "numeric"

    @property
    def is_integer(self) -> bool:
        return self.name in _INTEGERS

    @property
    def is_geometry(self) -> bool:
        return self.name in GEOMETRY_TYPES

    @property
    def is_text(self) -> bool:
        return self.category == "text"

    def __str__(self) -> str:
        return _ADQL_NAMES.get(self.name, self.name.upper())


SMALLINT = SqlType("smallint")
INTEGER = SqlType("integer")
BIGINT = SqlType("bigint")
NUMERIC = SqlType("numeric")
REAL = SqlType("real")
DOUBLE = SqlType("double precision")
TEXT = SqlType("text")
TIMESTAMP = SqlType("timestamp")
BOOLEAN = SqlType("boolean")
NULL = SqlType("null")
SPOINT = SqlType("spoint")
SCIRCLE = SqlType("scircle")
SPOLY = SqlType("spoly")
SBOX = SqlType("sbox")

_INTEGERS = ("smallint", "integer", "bigint")
# Order of the implicit numeric promotions of PostgreSQL's arithmetic operators.
_NUMERIC_RANK = {"smallint": 0, "integer": 1, "bigint": 2, "numeric": 3, "real": 4, "double precision": 5}
_CATEGORY = {
    **{name: "numeric" for name in _NUMERIC_RANK},
    "text": "text", "character": "text", "character varying": "text",
    "timestamp": "timestamp", "date": "timestamp",
    "boolean": "boolean", "null": "null",
    **{name: "geometry" for name in GEOMETRY_TYPES},
}
_ADQL_NAMES = {
    "smallint": "SMALLINT", "integer": "INTEGER", "bigint": "BIGINT", "numeric": "NUMERIC", "real": "REAL",
    "double precision": "DOUBLE PRECISION", "text": "VARCHAR", "character": "CHAR",
    "character varying": "VARCHAR", "timestamp": "TIMESTAMP", "date": "DATE", "boolean": "BOOLEAN",
    "null": "NULL", "spoint": "POINT", "scircle": "CIRCLE", "spoly": "POLYGON", "sbox": "BOX",
}


def from_pg(sql_type: str) -> SqlType:
    """The SqlType of a PostgreSQL type name as format_type() prints it (e.g. 'character varying(10)')."""
    text = sql_type.strip().lower()
    base, _, rest = text.partition("(")
    base = base.strip()
    length = None
    if rest and not text.endswith("[]"):
        digits = rest.split(")")[0].split(",")[0].strip()
        length = int(digits) if digits.isdigit() else None
    if text.endswith("[]"):
        return SqlType(text)
    if base.startswith("timestamp"):
        return SqlType("timestamp") if "with time zone" not in text else SqlType("timestamptz")
    if base in ("double precision", "float8", "float"):
        return DOUBLE
    if base in ("real", "float4"):
        return REAL
    if base in ("integer", "int", "int4"):
        return INTEGER
    if base in ("bigint", "int8"):
        return BIGINT
    if base in ("smallint", "int2"):
        return SMALLINT
    if base in ("numeric", "decimal"):
        return NUMERIC
    if base in ("text", "character varying", "varchar"):
        return SqlType("character varying", length) if length else TEXT
    if base in ("character", "char", "bpchar"):
        return SqlType("character", length or 1)
    if base in ("boolean", "bool"):
        return BOOLEAN
    return SqlType(base)


def promote(a: SqlType, b: SqlType) -> SqlType:
    """Result type of PostgreSQL's + - * / on two numeric operands."""
    if a.name == "null":
        return b
    if b.name == "null":
        return a
    ra, rb = _NUMERIC_RANK[a.name], _NUMERIC_RANK[b.name]
    if max(ra, rb) == _NUMERIC_RANK["real"] and min(ra, rb) != _NUMERIC_RANK["real"]:
        return DOUBLE  # real op integer/numeric is resolved as double precision
    return a if ra >= rb else b


def common(types: list[SqlType]) -> SqlType | None:
    """The type of CASE/COALESCE/UNION over ``types`` (None when the categories cannot mix)."""
    known = [t for t in types if t.name != "null"]
    if not known:
        return NULL
    categories = {t.category for t in known}
    if len(categories) != 1:
        return None
    category = categories.pop()
    if category == "numeric":
        best = max(known, key=lambda t: _NUMERIC_RANK[t.name])
        return best
    if category == "text":
        return TEXT if len({t for t in known}) > 1 else known[0]
    if category == "geometry":
        names = {t.name for t in known}
        return known[0] if len(names) == 1 else None
    return known[0] if len({t.name for t in known}) == 1 else None


def comparable(a: SqlType, b: SqlType) -> bool:
    """Whether ADQL allows comparing values of these types."""
    if "null" in (a.name, b.name):
        return True
    ca, cb = a.category, b.category
    if "geometry" in (ca, cb) or "boolean" in (ca, cb):
        return False
    if ca == cb:
        return ca != "other" or a.name == b.name
    return {ca, cb} == {"text", "timestamp"}  # ISO 8601 strings compare with timestamps


def votable(t: SqlType) -> tuple[str, str | None, str | None]:
    """VOTable (datatype, arraysize, xtype) of a computed value of type ``t`` (after output conversion)."""
    name = t.name
    if name in ("smallint",):
        return ("short", None, None)
    if name == "integer":
        return ("int", None, None)
    if name == "bigint":
        return ("long", None, None)
    if name == "real":
        return ("float", None, None)
    if name in ("double precision", "numeric"):
        return ("double", None, None)
    if name == "boolean":
        return ("boolean", None, None)
    if name in ("timestamp", "date", "timestamptz"):
        return ("char", "*", "timestamp")
    if name == "character":
        return ("char", str(t.length or 1), None)
    if name == "character varying" and t.length:
        return ("char", f"{t.length}*", None)
    if name == "spoint":
        return ("double", "2", "point")
    if name == "scircle":
        return ("double", "3", "circle")
    if name in ("spoly", "sbox"):
        return ("double", "*", "polygon")
    return ("char", "*", None)


def datatype_node(t: SqlType) -> exp.DataType:
    """The sqlglot DataType that casts a value to ``t`` in PostgreSQL."""
    if t.name == "character":
        return _datatype(f"CHAR({t.length or 1})").copy()
    if t.name == "character varying":
        return _datatype(f"VARCHAR({t.length})" if t.length else "VARCHAR").copy()
    return _datatype(t.name).copy()


@lru_cache(maxsize=256)
def _datatype(name: str) -> exp.DataType:
    return exp.DataType.build(name, dialect="postgres")
