"""Typed values: a translated (PostgreSQL) expression with what the translator knows about it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from sqlglot import exp

from tapserver.adql.errors import ADQLError
from tapserver.adql.metadata import EMPTY, Meta
from tapserver.adql.sqltypes import INTEGER, SqlType

Constant = int | float | str


@dataclass
class Value:
    """A translated value expression.

    ``const`` is the Python value of a literal (or of arithmetic on literals), for the decisions the
    translator takes at translation time (frames, unit strings, cone radii); the SQL never comes from it
    except through sqlglot literals. ``predicate`` is the boolean condition of a function that ADQL
    defines as an integer 0/1 (CONTAINS, INTERSECTS, ivo_nocasematch...), ``points`` the two spoints of
    a DISTANCE, ``coords`` the coordinates in degrees of a geometry built from constants (point:
    lon, lat; circle: lon, lat, radius; polygon: lon1, lat1, lon2, lat2...).
    """

    sql: exp.Expr
    type: SqlType
    meta: Meta = EMPTY
    name: str = "expr"
    const: Constant | None = None
    predicate: exp.Expr | None = None
    points: tuple[exp.Expr, exp.Expr] | None = None
    coords: tuple[float, ...] | None = None
    aggregate: bool = False
    has_columns: bool = False

    @property
    def is_string_literal(self) -> bool:
        return isinstance(self.const, str)

    @property
    def is_number(self) -> bool:
        return isinstance(self.const, int | float) and not isinstance(self.const, bool)

    @property
    def number(self) -> float | None:
        """The numeric value of a constant, else None."""
        return float(self.const) if isinstance(self.const, int | float) else None


@dataclass
class Call:
    """A function call being translated: its ADQL name, translated arguments and how to report errors."""

    name: str
    args: list[Value]
    fail: Callable[[str], ADQLError]
    distinct: bool = False
    star: bool = False
    extra: dict[str, object] = field(default_factory=dict)

    def value(self, sql: exp.Expr, t: SqlType, meta: Meta = EMPTY, *, predicate: exp.Expr | None = None,
              points: tuple[exp.Expr, exp.Expr] | None = None, coords: tuple[float, ...] | None = None) -> Value:
        """A result Value named after the function, with the flags (aggregate, columns) of its arguments."""
        return Value(sql=sql, type=t, meta=meta, name=self.name.lower(), predicate=predicate, points=points,
                     coords=coords, aggregate=any(a.aggregate for a in self.args),
                     has_columns=any(a.has_columns for a in self.args))


def fn(name: str, *args: exp.Expr) -> exp.Anonymous:
    """A PostgreSQL function call node."""
    return exp.Anonymous(this=name, expressions=list(args))


def paren(node: exp.Expr) -> exp.Expr:
    """``node`` wrapped in parentheses unless it is atomic."""
    if isinstance(node, exp.Column | exp.Literal | exp.Anonymous | exp.Paren | exp.Cast | exp.Null
                  | exp.Func | exp.Subquery | exp.Array | exp.Case):
        return node
    return exp.Paren(this=node)


@lru_cache(maxsize=64)
def _datatype(name: str) -> exp.DataType:
    if name.lower() in ("spoint", "scircle", "spoly", "sbox"):
        return exp.DataType.build(name, dialect="postgres", udt=True)
    return exp.DataType.build(name, dialect="postgres")


def datatype(name: str) -> exp.DataType:
    """A DataType node for a PostgreSQL type name (built once, copied)."""
    return _datatype(name).copy()


def cast(node: exp.Expr, to: str) -> exp.Cast:
    return exp.Cast(this=node, to=datatype(to))


def number(value: int | float) -> exp.Expr:
    """A numeric literal (negative values as unary minus)."""
    text = repr(value) if isinstance(value, float) else str(value)
    if text.startswith("-"):
        return exp.Neg(this=exp.Literal.number(text[1:]))
    return exp.Literal.number(text)


def as_integer(predicate: exp.Expr) -> exp.Expr:
    """ADQL's 0/1 value of a condition: NULL stays NULL."""
    return exp.Cast(this=exp.Paren(this=predicate), to=datatype("integer"))


def predicate_value(call: Call, predicate: exp.Expr) -> Value:
    return call.value(as_integer(predicate), INTEGER, predicate=predicate)


def check_types(call: Call, values: Sequence[Value], category: str, what: str) -> None:
    """Raise unless every value is of ``category`` (or NULL)."""
    for v in values:
        if v.type.category not in (category, "null"):
            raise call.fail(f"{call.name} expects {what}, not {v.type}")
