"""The function allow-list: ADQL 2.1 math, trig, aggregates, strings, conditionals, IN_UNIT, geometry and
the IVOA UDFs, each with its translation to PostgreSQL. Nothing else can be called."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlglot import exp

from tapserver.adql import geometry
from tapserver.adql.features import feature_functions
from tapserver.adql.metadata import EMPTY, Meta
from tapserver.adql.sqltypes import (
    BIGINT,
    DOUBLE,
    NULL,
    NUMERIC,
    REAL,
    TEXT,
    SqlType,
    common,
    comparable,
    promote,
)
from tapserver.adql.values import (
    Call,
    Value,
    cast,
    check_types,
    fn,
    number,
    paren,
    predicate_value,
)

Builder = Callable[[Call], Value]


@dataclass(frozen=True)
class Function:
    """An allowed function: arity, whether it aggregates, and its translation."""

    name: str
    min_args: int
    max_args: int | None
    build: Builder
    aggregate: bool = False


def arity_problem(spec: Function, arity: int) -> str | None:
    """The message for a call of ``spec`` with ``arity`` arguments, or None if the count is right."""
    if spec.min_args <= arity and (spec.max_args is None or arity <= spec.max_args):
        return None
    expected = str(spec.min_args) if spec.min_args == spec.max_args else \
        f"{spec.min_args} or more" if spec.max_args is None else f"{spec.min_args} to {spec.max_args}"
    return f"{spec.name} takes {expected} argument{'s' if expected != '1' else ''}, not {arity}"


def _double(v: Value) -> exp.Expr:
    """The argument as a double precision operand (numeric literals and NULL are cast)."""
    if v.type in (NUMERIC, NULL):
        return cast(v.sql, "DOUBLE PRECISION")
    return v.sql


def _numeric_args(call: Call) -> None:
    check_types(call, call.args, "numeric", "numbers")


def _double_function(sql_name: str, meta: Callable[[Call], Meta] = lambda c: EMPTY) -> Builder:
    def build(call: Call) -> Value:
        _numeric_args(call)
        return call.value(fn(sql_name, *(_double(a) for a in call.args)), DOUBLE, meta(call))
    return build


def _same_unit(call: Call) -> Meta:
    return Meta(unit=call.args[0].meta.unit) if call.args else EMPTY


def _abs(call: Call) -> Value:
    _numeric_args(call)
    (x,) = call.args
    t = DOUBLE if x.type == NULL else x.type
    return call.value(fn("abs", _double(x) if x.type == NULL else x.sql), t, _same_unit(call))


def _ceiling_floor(sql_name: str) -> Builder:
    def build(call: Call) -> Value:
        _numeric_args(call)
        (x,) = call.args
        t = NUMERIC if x.type == NUMERIC else DOUBLE
        arg = x.sql if x.type == NUMERIC else _double(x)
        return call.value(fn(sql_name, arg), t, _same_unit(call))
    return build


def _mod(call: Call) -> Value:
    _numeric_args(call)
    x, y = call.args
    if x.type.is_integer and y.type.is_integer:
        return call.value(fn("mod", x.sql, y.sql), promote(x.type, y.type), _same_unit(call))
    sql = fn("mod", cast(x.sql, "NUMERIC"), cast(y.sql, "NUMERIC"))
    if (x.type == NUMERIC and y.type in (NUMERIC, NULL)) or (x.type == NULL and y.type == NUMERIC):
        return call.value(sql, NUMERIC, _same_unit(call))
    return call.value(cast(sql, "DOUBLE PRECISION"), DOUBLE, _same_unit(call))


def _round_truncate(sql_name: str) -> Builder:
    """ROUND/TRUNCATE(x [, n]): decimal rounding (half away from zero), x's type kept."""
    def build(call: Call) -> Value:
        _numeric_args(call)
        x = call.args[0]
        digits = call.args[1] if len(call.args) > 1 else None
        if digits is not None and not (digits.type.is_integer or digits.type == NULL):
            raise call.fail(f"{call.name}: the number of decimals must be an integer")
        meta = call.args[0].meta.keep_quantity()
        places = [digits.sql] if digits is not None else []
        if x.type.is_integer:
            if digits is None:
                return call.value(paren(x.sql), x.type, meta)
            return call.value(cast(fn(sql_name, x.sql, *places), x.type.name), x.type, meta)
        if x.type == NUMERIC:
            return call.value(fn(sql_name, x.sql, *places), NUMERIC, meta)
        rounded = fn(sql_name, cast(x.sql, "NUMERIC"), *places)
        return call.value(cast(rounded, "DOUBLE PRECISION"), DOUBLE, meta)
    return build


def _rand(call: Call) -> Value:
    """RAND() in [0, 1); RAND(seed) seeds the generator once (per row if the seed varies)."""
    _numeric_args(call)
    if not call.args:
        return call.value(fn("random"), DOUBLE)
    seed = exp.Subquery(this=exp.Select(expressions=[fn("setseed", fn("sin", _double(call.args[0])))]),
                        alias=exp.TableAlias(this=exp.to_identifier("adql_seed")))
    seeding = exp.Subquery(this=exp.Select(expressions=[exp.Literal.number("1")], from_=exp.From(this=seed)))
    sql = exp.Case(ifs=[exp.If(this=exp.EQ(this=seeding, expression=exp.Literal.number("1")),
                               true=fn("random"))])
    return call.value(sql, DOUBLE)


def _pi(call: Call) -> Value:
    return call.value(fn("pi"), DOUBLE)


def _aggregate_arg(call: Call) -> Value:
    (x,) = call.args
    if x.aggregate:
        raise call.fail(f"{call.name}: aggregate functions cannot be nested")
    if x.type.is_geometry:
        raise call.fail(f"{call.name} cannot aggregate geometries")
    return x


def _agg_sql(call: Call, sql_name: str, x: exp.Expr) -> exp.Expr:
    arg: exp.Expr = exp.Distinct(expressions=[x]) if call.distinct else x
    return fn(sql_name, arg)


def _aggregate_value(call: Call, sql: exp.Expr, t: SqlType, meta: Meta) -> Value:
    value = call.value(sql, t, meta)
    value.aggregate = True
    return value


def _count(call: Call) -> Value:
    if call.star:
        sql: exp.Expr = fn("count", exp.Star())
    else:
        x = _aggregate_arg(call)
        sql = _agg_sql(call, "count", x.sql)
    return _aggregate_value(call, sql, BIGINT, Meta(ucd="meta.number"))


def _sum(call: Call) -> Value:
    x = _aggregate_arg(call)
    check_types(call, [x], "numeric", "numbers")
    t = {"smallint": BIGINT, "integer": BIGINT, "bigint": NUMERIC, "real": REAL, "numeric": NUMERIC}.get(
        x.type.name, DOUBLE)
    return _aggregate_value(call, _agg_sql(call, "sum", _double(x) if x.type == NULL else x.sql), t,
                            Meta(unit=x.meta.unit))


def _avg(call: Call) -> Value:
    x = _aggregate_arg(call)
    check_types(call, [x], "numeric", "numbers")
    t = NUMERIC if x.type.is_integer or x.type == NUMERIC else DOUBLE
    return _aggregate_value(call, _agg_sql(call, "avg", _double(x) if x.type == NULL else x.sql), t,
                            Meta(unit=x.meta.unit))


def _min_max(sql_name: str) -> Builder:
    def build(call: Call) -> Value:
        x = _aggregate_arg(call)
        if x.type.category not in ("numeric", "text", "timestamp", "null"):
            raise call.fail(f"{call.name} needs numbers, strings or timestamps, not {x.type}")
        return _aggregate_value(call, _agg_sql(call, sql_name, x.sql), x.type, x.meta.keep_quantity())
    return build


def _string_function(sql_name: str) -> Builder:
    def build(call: Call) -> Value:
        check_types(call, call.args, "text", "a string")
        return call.value(fn(sql_name, call.args[0].sql), TEXT)
    return build


def _conditional(sql_name: str) -> Builder:
    def build(call: Call) -> Value:
        t = common([a.type for a in call.args])
        if t is None or (t.is_geometry and sql_name != "coalesce"):
            types = ", ".join(sorted({str(a.type) for a in call.args}))
            raise call.fail(f"{call.name} cannot mix values of types {types}")
        units = {a.meta.unit for a in call.args if a.type != NULL}
        meta = Meta(unit=units.pop()) if len(units) == 1 else EMPTY
        node: exp.Expr = exp.Anonymous(this=sql_name, expressions=[a.sql for a in call.args])
        if t == NULL:
            t = TEXT
            node = cast(node, "TEXT")
        return call.value(node, t, meta)
    return build


def _nullif(call: Call) -> Value:
    a, b = call.args
    if not comparable(a.type, b.type) or a.type.is_geometry:
        raise call.fail(f"NULLIF cannot compare {a.type} with {b.type}")
    return call.value(fn("nullif", a.sql, b.sql), a.type if a.type != NULL else TEXT, a.meta.unit_only())


def _in_unit(call: Call) -> Value:
    """IN_UNIT(value, 'unit'): value times the conversion factor from its unit (astropy, VOUnits)."""
    value, target = call.args
    check_types(call, [value], "numeric", "a number")
    if not target.is_string_literal:
        raise call.fail("IN_UNIT: the unit must be a string literal, e.g. IN_UNIT(t_exptime, 'h')")
    source = value.meta.unit
    if not source:
        raise call.fail("IN_UNIT: the unit of the converted value is not known")
    factor = _conversion_factor(source, str(target.const))
    if isinstance(factor, str):
        raise call.fail(f"IN_UNIT: {factor}")
    sql = exp.Paren(this=exp.Mul(this=paren(value.sql), expression=number(factor)))
    return call.value(sql, promote(value.type, NUMERIC), Meta(unit=str(target.const), ucd=value.meta.ucd))


def _parse_unit(unit: str) -> Any:
    """An astropy unit from a VOUnit string (or astropy's generic syntax); ValueError if neither reads it."""
    from astropy import units  # imported on first use: it takes a while

    try:
        return units.Unit(unit, format="vounit")
    except ValueError:
        return units.Unit(unit)


@lru_cache(maxsize=256)
def derived_unit(left: str, right: str, symbol: str) -> str | None:
    """The VOUnit of ``left * right`` or ``left / right`` (``symbol``), or None when it cannot be derived
    or is dimensionless."""
    try:
        a, b = _parse_unit(left), _parse_unit(right)
        result = a * b if symbol == "*" else a / b
        if result.physical_type == "dimensionless" and result.scale == 1:
            return None
        return str(result.to_string("vounit"))
    except (ValueError, TypeError):
        return None


@lru_cache(maxsize=256)
def _conversion_factor(source: str, target: str) -> float | str:
    """The factor converting ``source`` to ``target`` units, or the reason why there is none."""
    from astropy import units

    try:
        target_unit = _parse_unit(target)
    except ValueError:
        return f"unknown unit {target!r}"
    try:
        source_unit = _parse_unit(source)
    except ValueError:
        return f"the unit {source!r} of the value cannot be interpreted"
    try:
        return float(source_unit.to(target_unit))
    except units.UnitConversionError:
        return f"cannot convert {source!r} to {target!r}"


def like(value: exp.Expr, pattern: Value, case_insensitive: bool) -> exp.Expr:
    """``value [I]LIKE pattern`` with ADQL's meaning: no escape character (PostgreSQL's is backslash)."""
    node: exp.Expr = (exp.ILike if case_insensitive else exp.Like)(this=value, expression=pattern.sql)
    if not (pattern.is_string_literal and "\\" not in str(pattern.const)):
        node = exp.Escape(this=node, expression=exp.Literal.string(""))
    return node


def _text_args(call: Call) -> None:
    check_types(call, call.args, "text", "strings")


def _nocasematch(call: Call) -> Value:
    _text_args(call)
    value, pattern = call.args
    return predicate_value(call, like(value.sql, pattern, case_insensitive=True))


def _hasword(call: Call) -> Value:
    _text_args(call)
    haystack, needle = call.args
    simple = exp.Literal.string("simple")
    vector = fn("to_tsvector", simple, haystack.sql)
    query = fn("plainto_tsquery", simple, needle.sql)
    return predicate_value(call, geometry.sphere_op(vector, "@@", query))


def _hashlist_has(call: Call) -> Value:
    _text_args(call)
    hashlist, item = call.args
    items = fn("string_to_array", fn("lower", hashlist.sql), exp.Literal.string("#"))
    return predicate_value(call, exp.EQ(this=fn("lower", item.sql), expression=exp.Any(this=exp.Paren(this=items))))


def _string_agg(call: Call) -> Value:
    x, delimiter = call.args
    if x.aggregate or delimiter.aggregate:
        raise call.fail("ivo_string_agg: aggregate functions cannot be nested")
    if x.type.is_geometry:
        raise call.fail("ivo_string_agg cannot aggregate geometries")
    check_types(call, [delimiter], "text", "a string delimiter")
    arg = x.sql if x.type.is_text else cast(x.sql, "TEXT")
    first: exp.Expr = exp.Distinct(expressions=[arg]) if call.distinct else arg
    return _aggregate_value(call, fn("string_agg", first, delimiter.sql), TEXT, EMPTY)


def _degrees_unit(call: Call) -> Meta:
    return Meta(unit="deg")


def _radians_unit(call: Call) -> Meta:
    return Meta(unit="rad")

_FUNCTIONS: tuple[Function, ...] = (
    # ADQL 2.1 §2.3 mathematical and trigonometric functions
    Function("ABS", 1, 1, _abs),
    Function("CEILING", 1, 1, _ceiling_floor("ceiling")),
    Function("DEGREES", 1, 1, _double_function("degrees", _degrees_unit)),
    Function("EXP", 1, 1, _double_function("exp")),
    Function("FLOOR", 1, 1, _ceiling_floor("floor")),
    Function("LOG", 1, 1, _double_function("ln")),
    Function("LOG10", 1, 1, _double_function("log10")),
    Function("MOD", 2, 2, _mod),
    Function("PI", 0, 0, _pi),
    Function("POWER", 2, 2, _double_function("power")),
    Function("RADIANS", 1, 1, _double_function("radians", _radians_unit)),
    Function("RAND", 0, 1, _rand),
    Function("ROUND", 1, 2, _round_truncate("round")),
    Function("SQRT", 1, 1, _double_function("sqrt")),
    Function("TRUNCATE", 1, 2, _round_truncate("trunc")),
    Function("ACOS", 1, 1, _double_function("acos", _radians_unit)),
    Function("ASIN", 1, 1, _double_function("asin", _radians_unit)),
    Function("ATAN", 1, 1, _double_function("atan", _radians_unit)),
    Function("ATAN2", 2, 2, _double_function("atan2", _radians_unit)),
    Function("COS", 1, 1, _double_function("cos")),
    Function("COT", 1, 1, _double_function("cot")),
    Function("SIN", 1, 1, _double_function("sin")),
    Function("TAN", 1, 1, _double_function("tan")),
    # aggregates
    Function("COUNT", 0, 1, _count, aggregate=True),
    Function("SUM", 1, 1, _sum, aggregate=True),
    Function("AVG", 1, 1, _avg, aggregate=True),
    Function("MIN", 1, 1, _min_max("min"), aggregate=True),
    Function("MAX", 1, 1, _min_max("max"), aggregate=True),
    # conditional (ADQL 2.1 §4.8, not declared: see features.py)
    Function("COALESCE", 1, None, _conditional("coalesce")),
    Function("GREATEST", 1, None, _conditional("greatest")),
    Function("LEAST", 1, None, _conditional("least")),
    Function("NULLIF", 2, 2, _nullif),
    # declared features
    Function("LOWER", 1, 1, _string_function("lower")),
    Function("UPPER", 1, 1, _string_function("upper")),
    Function("IN_UNIT", 2, 2, _in_unit),
    Function("POINT", 2, 3, geometry.point),
    Function("CIRCLE", 2, 4, geometry.circle),
    Function("POLYGON", 3, None, geometry.polygon),
    Function("BOX", 3, 5, geometry.box),
    Function("REGION", 1, 1, geometry.region),
    Function("CONTAINS", 2, 2, geometry.contains),
    Function("INTERSECTS", 2, 2, geometry.intersects),
    Function("DISTANCE", 2, 4, geometry.distance),
    Function("AREA", 1, 1, geometry.area),
    Function("CENTROID", 1, 1, geometry.centroid),
    Function("COORD1", 1, 1, geometry.coord),
    Function("COORD2", 1, 1, geometry.coord),
    Function("COORDSYS", 1, 1, geometry.coordsys),
    Function("IVO_NOCASEMATCH", 2, 2, _nocasematch),
    Function("IVO_HASWORD", 2, 2, _hasword),
    Function("IVO_HASHLIST_HAS", 2, 2, _hashlist_has),
    Function("IVO_STRING_AGG", 2, 2, _string_agg, aggregate=True),
)

CORE_FUNCTIONS = frozenset({
    "ABS", "CEILING", "DEGREES", "EXP", "FLOOR", "LOG", "LOG10", "MOD", "PI", "POWER", "RADIANS", "RAND",
    "ROUND", "SQRT", "TRUNCATE", "ACOS", "ASIN", "ATAN", "ATAN2", "COS", "COT", "SIN", "TAN",
    "COUNT", "SUM", "AVG", "MIN", "MAX",
})
"""ADQL 2.1 core functions (§2.3 and the set functions): always available, never declared."""

UNDECLARED_FUNCTIONS = frozenset({"COALESCE", "GREATEST", "LEAST", "NULLIF"})
"""Supported but not declared in the capabilities (features-adql-conditional upsets taplint 3.4.7)."""

ALLOWED_FUNCTIONS = CORE_FUNCTIONS | UNDECLARED_FUNCTIONS | feature_functions()
"""Every function a query may call (upper case)."""

FUNCTIONS: dict[str, Function] = {f.name: f for f in _FUNCTIONS}

if set(FUNCTIONS) != ALLOWED_FUNCTIONS:  # one source of truth: features.py + the two sets above
    raise RuntimeError(f"function registry and allow-list differ: {set(FUNCTIONS) ^ ALLOWED_FUNCTIONS}")
