"""Value expressions and search conditions: ADQL nodes in, PostgreSQL nodes and typed Values out.

Every construct is translated explicitly (a node kind the translator does not know is an error), names
are resolved through :mod:`tapserver.adql.scope`, functions through the allow-list of
:mod:`tapserver.adql.functions`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import reduce

from sqlglot import exp

from tapserver.adql import geometry
from tapserver.adql.errors import ADQLError, position_of, start_of
from tapserver.adql.functions import FUNCTIONS, arity_problem, derived_unit, like
from tapserver.adql.grammar import CAST_TARGETS, CONDITION_EXPECTED
from tapserver.adql.metadata import EMPTY, Meta, ResultColumn
from tapserver.adql.scope import CteScope, Entry, Scope, Source, SourceColumn, name_matches, suggest
from tapserver.adql.sqltypes import (
    BIGINT,
    DOUBLE,
    INTEGER,
    NULL,
    NUMERIC,
    REAL,
    SMALLINT,
    TEXT,
    TIMESTAMP,
    SqlType,
    common,
    comparable,
    datatype_node,
    promote,
)
from tapserver.adql.values import Call, Constant, Value, paren
from tapserver.catalog.model import Catalog, Table

_COMPARISONS: dict[type[exp.Expr], type[exp.Expr]] = {
    exp.EQ: exp.EQ, exp.NEQ: exp.NEQ, exp.GT: exp.GT, exp.GTE: exp.GTE, exp.LT: exp.LT, exp.LTE: exp.LTE,
}
_FLIPPED: dict[type[exp.Expr], type[exp.Expr]] = {
    exp.EQ: exp.EQ, exp.NEQ: exp.NEQ, exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE,
}
_TESTS: dict[type[exp.Expr], Callable[[float, float], bool]] = {
    exp.EQ: lambda a, b: a == b, exp.NEQ: lambda a, b: a != b, exp.GT: lambda a, b: a > b,
    exp.GTE: lambda a, b: a >= b, exp.LT: lambda a, b: a < b, exp.LTE: lambda a, b: a <= b,
}
_ARITHMETIC: dict[type[exp.Expr], str] = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/"}
_CONDITIONS = (exp.Connector, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between,
               exp.In, exp.Exists, exp.Like, exp.ILike, exp.Is)
_CAST_TARGETS: dict[exp.DType, SqlType] = {
    exp.DType.INT: INTEGER, exp.DType.SMALLINT: SMALLINT, exp.DType.BIGINT: BIGINT, exp.DType.FLOAT: REAL,
    exp.DType.DOUBLE: DOUBLE, exp.DType.TIMESTAMP: TIMESTAMP,
}
_INT_RE = re.compile(r"\d+\Z")


@dataclass
class Output:
    """A column of a query's result: its (unique) name and its value."""

    name: str
    value: Value


@dataclass
class QueryResult:
    """A translated query: its SQL tree, outputs, FIELDs (top level only), TOP and OFFSET."""

    sql: exp.Query
    outputs: list[Output]
    columns: list[ResultColumn] | None = None
    top: int | None = None
    offset: int | None = None


@dataclass
class Ctx:
    """Where an expression is: its scope, the visible CTEs, the clause, whether aggregates may appear."""

    scope: Scope
    ctes: CteScope | None
    clause: str
    aggregates: bool
    outputs: list[Output] | None = None


#: A column replaced at output time: called with a function giving the SQL reference of another column
#: of the same FROM item (by name), it returns the expression to select instead of the stored column.
ColumnRewrite = Callable[[Callable[[str], exp.Expr]], exp.Expr]


def arithmetic_meta(symbol: str, left: Value, right: Value) -> Meta:
    """What ``left <symbol> right`` provably is: a sum or difference of like quantities keeps their unit (and
    their UCD when both have the same); a product or quotient of two values with units has the derived
    unit; scaling by a number (SUM(t_exptime) / 3600.0) has no known unit, and no UCD."""
    a, b = left.meta, right.meta
    if symbol in "+-":
        if a.unit != b.unit:
            return EMPTY
        return Meta(unit=a.unit, ucd=a.ucd if a.ucd == b.ucd else None)
    if symbol in "*/" and a.unit and b.unit and left.const is None and right.const is None:
        return Meta(unit=derived_unit(a.unit, b.unit, symbol))
    return EMPTY


class ExpressionTranslator:
    """Translation of value expressions and conditions; the query level is in QueryTranslator."""

    def __init__(self, text: str, catalog: Catalog, uploads: Mapping[str, Table],
                 rewrites: Mapping[str, ColumnRewrite] | None = None) -> None:
        self.text = text
        self.catalog = catalog
        self.rewrites = {name.lower(): rewrite for name, rewrite in (rewrites or {}).items()}
        self.uploads = {name.lower(): table for name, table in uploads.items()}
        self.aliases: set[str] = set()
        self.tables: list[str] = []
        self.used_uploads: list[str] = []

    # --- errors --------------------------------------------------------------------------------
    def fail(self, message: str, node: exp.Expr | None = None) -> ADQLError:
        """An ADQLError located at ``node`` (its first token with a position)."""
        offset = start_of(node) if node is not None else None
        if offset is None:
            return ADQLError(message)
        line, column = position_of(self.text, offset)
        return ADQLError(message, line=line, column=column)

    def reject(self, node: exp.Expr, allowed: set[str]) -> None:
        """Fail on any argument sqlglot filled that ADQL does not have (hints, pivots, window...)."""
        for key, value in node.args.items():
            if key not in allowed and value not in (None, False, []):
                raise self.fail(f"unsupported syntax in {node.key.upper()}: {key}", node)

    def query(self, node: exp.Expr, parent: Scope | None, ctes: CteScope | None, top: bool) -> QueryResult:
        """Translate a (sub)query (implemented by QueryTranslator)."""
        raise NotImplementedError

    # --- names ---------------------------------------------------------------------------------
    def source_for(self, column: exp.Column, scope: Scope) -> Source:
        """The FROM item a qualifier (``t.`` / ``schema.t.``) designates, innermost scope first."""
        if column.args.get("catalog"):
            raise self.fail("catalog-qualified names are not supported", column)
        table, db = column.args.get("table"), column.args.get("db")
        if not isinstance(table, exp.Identifier):
            raise self.fail("invalid qualified name", column)
        for level in scope.chain():
            found = [s for s in level.sources() if s.matches(table, db)]
            if len(found) > 1:
                raise self.fail(f"table reference {table.name!r} is ambiguous", table)
            if found:
                return found[0]
        written = f"{db.name}.{table.name}" if db is not None else table.name
        visible = [s for level in scope.chain() for s in level.sources()]
        names = [s.alias or s.table or "" for s in visible]
        hidden = next((s for s in visible if s.alias is not None and s.label.split(".")[-1].lower()
                       == table.name.lower()), None)
        hint = f"; use its alias {hidden.alias!r}" if hidden is not None else suggest(table.name, names)
        raise self.fail(f"no table {written!r} in FROM{hint}", table)

    def column_value(self, source: Source, column: SourceColumn) -> Value:
        rewrite = self.rewrites.get(f"{source.label}.{column.name}".lower()) if self.rewrites else None
        if rewrite is not None:
            def reference(name: str) -> exp.Expr:
                return source.reference(next(c for c in source.columns if c.name == name))

            return Value(rewrite(reference), column.type, column.meta, name=column.name, has_columns=True)
        return Value(source.reference(column), column.type, column.meta, name=column.name, has_columns=True)

    def entry_value(self, entry: Entry) -> Value:
        if entry.merged is None and entry.source is not None and entry.column is not None:
            return self.column_value(entry.source, entry.column)
        return Value(entry.sql(), entry.type, entry.meta, name=entry.name, has_columns=True)

    def resolve(self, node: exp.Column, ctx: Ctx) -> Value:
        """The value of a column reference: qualified, or the innermost level where the name exists."""
        ident = node.this
        if isinstance(ident, exp.Star):
            raise self.fail("* is only allowed alone in the SELECT list or in COUNT(*)", node)
        self.reject(node, {"this", "table", "db", "catalog"})
        if not isinstance(ident, exp.Identifier):
            raise self.fail("invalid column name", node)
        if node.args.get("table") is not None:
            source = self.source_for(node, ctx.scope)
            found = source.find(ident)
            if len(found) > 1:
                raise self.fail(f"column name {ident.name!r} is ambiguous in {source.label}", ident)
            if not found:
                hint = suggest(ident.name, [c.name for c in source.columns])
                raise self.fail(f"no column {ident.name!r} in {source.label}{hint}", ident)
            return self.column_value(source, found[0])
        for level in ctx.scope.chain():
            matches = level.lookup(ident)
            if len(matches) > 1:
                labels = ", ".join(sorted({e.source.label for e in matches if e.source is not None}))
                raise self.fail(f"column name {ident.name!r} is ambiguous ({labels}): qualify it", ident)
            if matches:
                return self.entry_value(matches[0])
        raise self.unknown_column(ident, ctx)

    def unknown_column(self, ident: exp.Identifier, ctx: Ctx) -> ADQLError:
        sources = ctx.scope.sources()
        where = ", ".join(s.label for s in sources) if sources else "FROM"
        candidates = [e.name for level in ctx.scope.chain() for e in level.entries()]
        hint = suggest(ident.name, candidates)
        if not hint and ctx.outputs and any(name_matches(ident.name, ident.quoted, o.name) for o in ctx.outputs):
            hint = f" (the SELECT alias {ident.name!r} cannot be used in {ctx.clause})"
        return self.fail(f"no column {ident.name!r} in {where}{hint}", ident)

    # --- value expressions ---------------------------------------------------------------------
    def value(self, node: exp.Expr, ctx: Ctx) -> Value:
        """Translate a value expression (anything else, a condition included, is an error)."""
        if isinstance(node, exp.Literal):
            return self.literal(node)
        if isinstance(node, exp.Column):
            return self.resolve(node, ctx)
        if isinstance(node, exp.Null):
            return Value(exp.Null(), NULL, name="expr")
        if isinstance(node, exp.Paren):
            self.reject(node, {"this"})
            inner = self.value(node.this, ctx)
            return replace(inner, sql=exp.Paren(this=inner.sql))
        if isinstance(node, exp.Neg):
            inner = self.value(node.this, ctx)
            if not inner.type.is_numeric and inner.type != NULL:
                raise self.fail(f"cannot negate a {inner.type}", node)
            const = -inner.const if isinstance(inner.const, int | float) else None
            return Value(exp.Neg(this=paren(inner.sql)), inner.type if inner.type != NULL else DOUBLE,
                         inner.meta.unit_only(), const=const, aggregate=inner.aggregate,
                         has_columns=inner.has_columns)
        if type(node) in _ARITHMETIC:
            return self.arithmetic(node, ctx)
        if isinstance(node, exp.DPipe):
            return self.concatenation(node, ctx)
        if isinstance(node, exp.Concat):
            return self.adjacent_strings(node)
        if isinstance(node, exp.Cast):
            return self.cast(node, ctx)
        if isinstance(node, exp.Case):
            return self.case(node, ctx)
        if isinstance(node, exp.Anonymous):
            return self.function(node, ctx)
        if isinstance(node, exp.Subquery):
            return self.scalar_subquery(node, ctx)
        if isinstance(node, _CONDITIONS):
            raise self.fail("a condition cannot be used as a value here (ADQL has no boolean values)", node)
        raise self.fail(f"unsupported construct: {node.key.upper()}", node)

    def literal(self, node: exp.Literal) -> Value:
        if node.is_string:
            return Value(exp.Literal.string(node.this), TEXT, const=node.this, name="expr")
        text = node.this
        if _INT_RE.match(text):
            number = int(text)
            t = INTEGER if number < 2**31 else BIGINT if number < 2**63 else NUMERIC
            return Value(exp.Literal.number(text), t, const=number, name="expr")
        return Value(exp.Literal.number(text), NUMERIC, const=float(text), name="expr")

    def adjacent_strings(self, node: exp.Concat) -> Value:
        parts = node.expressions
        if not all(isinstance(p, exp.Literal) and p.is_string for p in parts):
            raise self.fail("unsupported construct: CONCAT", node)
        text = "".join(p.this for p in parts)
        return Value(exp.Literal.string(text), TEXT, const=text, name="expr")

    def operand(self, original: exp.Expr, value: Value) -> exp.Expr:
        """The translated operand, parenthesized if its translation binds less tightly."""
        if type(value.sql) is type(original):
            return value.sql
        return paren(value.sql)

    def arithmetic(self, node: exp.Expr, ctx: Ctx) -> Value:
        left, right = self.value(node.this, ctx), self.value(node.expression, ctx)
        symbol = _ARITHMETIC[type(node)]
        for side in (left, right):
            if not side.type.is_numeric and side.type != NULL:
                raise self.fail(f"operator {symbol} needs numbers, not {side.type}", node)
        t = promote(left.type, right.type)
        if t == NULL:
            t = DOUBLE
        const = _fold(symbol, left.const, right.const)
        meta = arithmetic_meta(symbol, left, right)
        sql = type(node)(this=self.operand(node.this, left), expression=self.operand(node.expression, right))
        if isinstance(sql, exp.Div):
            sql.set("typed", True)  # PostgreSQL's division: integer / integer stays an integer
        return Value(sql, t, meta, const=const, aggregate=left.aggregate or right.aggregate,
                     has_columns=left.has_columns or right.has_columns)

    def concatenation(self, node: exp.DPipe, ctx: Ctx) -> Value:
        parts = []
        for side, original in ((self.value(node.this, ctx), node.this),
                               (self.value(node.expression, ctx), node.expression)):
            if side.type.is_geometry:
                raise self.fail("cannot concatenate geometries", node)
            sql = self.operand(original, side)
            parts.append((side, sql if side.type.is_text else exp.Cast(this=sql, to=datatype_node(TEXT))))
        (left, left_sql), (right, right_sql) = parts
        const = left.const + right.const if isinstance(left.const, str) and isinstance(right.const, str) else None
        return Value(exp.DPipe(this=left_sql, expression=right_sql), TEXT, const=const,
                     aggregate=left.aggregate or right.aggregate, has_columns=left.has_columns or right.has_columns)

    def cast(self, node: exp.Cast, ctx: Ctx) -> Value:
        self.reject(node, {"this", "to"})
        to = node.args["to"]
        kind = to.this
        if any(value not in (None, False, []) for key, value in to.args.items()
               if key not in ("this", "expressions", "nested")):
            kind = None
        params = to.expressions or []
        target: SqlType | None = _CAST_TARGETS.get(kind)
        if kind in (exp.DType.CHAR, exp.DType.VARCHAR):
            length = None
            if params:
                param = params[0].this if isinstance(params[0], exp.DataTypeParam) else params[0]
                if len(params) > 1 or not (isinstance(param, exp.Literal) and _INT_RE.match(str(param.this))
                                           and int(param.this) > 0):
                    raise self.fail("CAST: the length of CHAR/VARCHAR must be a positive integer", to)
                length = int(param.this)
            if kind == exp.DType.CHAR:
                target = SqlType("character", length or 1)
            else:
                target = SqlType("character varying", length) if length else TEXT
        elif params:
            raise self.fail(f"CAST: {to.sql()} takes no parameters", to)
        if target is None:
            raise self.fail(CAST_TARGETS, to)
        inner = self.value(node.this, ctx)
        if inner.type.is_geometry:
            raise self.fail("CAST cannot convert geometries", node)
        if target == TIMESTAMP and inner.type.category not in ("text", "timestamp", "null"):
            raise self.fail(f"CAST cannot convert {inner.type} to TIMESTAMP", node)
        if target.is_numeric and inner.type.category not in ("numeric", "text", "null"):
            raise self.fail(f"CAST cannot convert {inner.type} to {target}", node)
        meta = inner.meta.keep_quantity() if target.is_numeric and inner.type.is_numeric else EMPTY
        name = inner.name if inner.meta.column is not None else "cast"
        return Value(exp.Cast(this=inner.sql, to=datatype_node(target)), target, meta, name=name,
                     aggregate=inner.aggregate, has_columns=inner.has_columns)

    def case(self, node: exp.Case, ctx: Ctx) -> Value:
        self.reject(node, {"this", "ifs", "default"})
        subject = node.args.get("this")
        subject_value = self.value(subject, ctx) if subject is not None else None
        ifs, results = [], []
        for branch in node.args.get("ifs") or []:
            self.reject(branch, {"this", "true"})
            if subject_value is not None:
                test = self.value(branch.this, ctx)
                if not comparable(subject_value.type, test.type):
                    raise self.fail(f"CASE compares {subject_value.type} with {test.type}", branch.this)
                condition = test.sql
            else:
                condition = self.condition(branch.this, ctx)
            result = self.value(branch.args["true"], ctx)
            ifs.append(exp.If(this=condition, true=result.sql))
            results.append(result)
        default = node.args.get("default")
        default_value = self.value(default, ctx) if default is not None else None
        if default_value is not None:
            results.append(default_value)
        t = common([r.type for r in results])
        if t is None:
            types = ", ".join(sorted({str(r.type) for r in results}))
            raise self.fail(f"the branches of CASE mix {types}", node)
        if t == NULL:
            t = TEXT
        units = {r.meta.unit for r in results if r.type != NULL}
        parts = [subject_value] if subject_value is not None else []
        parts += results
        sql = exp.Case(this=subject_value.sql if subject_value else None, ifs=ifs,
                       default=default_value.sql if default_value else None)
        return Value(sql, t, Meta(unit=units.pop()) if len(units) == 1 else EMPTY, name="case",
                     aggregate=any(p.aggregate for p in parts), has_columns=any(p.has_columns for p in parts))

    def function(self, node: exp.Anonymous, ctx: Ctx) -> Value:
        if not isinstance(node.this, str):
            raise self.fail("a function name cannot be a delimited identifier", node)
        self.reject(node, {"this", "expressions"})
        name = node.this.upper()
        spec = FUNCTIONS.get(name)
        if spec is None:
            hint = suggest(name, FUNCTIONS)
            raise self.fail(f"unknown function {node.this}(){hint}", node)
        raw = list(node.expressions)
        distinct = star = False
        if spec.aggregate:
            if not ctx.aggregates:
                raise self.fail(f"aggregate function {name} is not allowed in {ctx.clause}", node)
            if len(raw) == 1 and isinstance(raw[0], exp.Distinct):
                self.reject(raw[0], {"expressions"})
                distinct = True
                raw = list(raw[0].expressions)
            if name == "COUNT" and len(raw) == 1 and isinstance(raw[0], exp.Star) and not distinct:
                star, raw = True, []
        elif any(isinstance(a, exp.Distinct) for a in raw):
            raise self.fail(f"DISTINCT is only allowed in aggregate functions, not in {name}", node)
        problem = arity_problem(spec, len(raw))
        if problem is None and name == "COUNT" and not star and len(raw) != 1:
            problem = f"COUNT takes 1 argument (or *), not {len(raw)}"
        if problem is not None:
            raise self.fail(problem, node)
        args = [self.value(a, ctx) for a in raw]
        call = Call(name=name, args=args, fail=lambda message: self.fail(message, node),
                    distinct=distinct, star=star)
        return spec.build(call)

    def scalar_subquery(self, node: exp.Subquery, ctx: Ctx) -> Value:
        self.reject(node, {"this"})
        inner = self.query(node.this, ctx.scope, ctx.ctes, top=False)
        if len(inner.outputs) != 1:
            raise self.fail("a subquery used as a value must return one column", node)
        output = inner.outputs[0].value
        return Value(exp.Subquery(this=inner.sql), output.type, output.meta,
                     name=inner.outputs[0].name, has_columns=True)

    # --- conditions ----------------------------------------------------------------------------
    def condition(self, node: exp.Expr, ctx: Ctx) -> exp.Expr:
        """Translate a search condition (WHERE, HAVING, ON, CASE WHEN) to a PostgreSQL boolean."""
        if node.args.get("negate"):  # sqlglot writes x NOT LIKE y as Like(negate=True)
            positive = node.copy()
            positive.set("negate", None)
            return exp.Not(this=paren(self.condition(positive, ctx)))
        if isinstance(node, exp.And | exp.Or):
            kind = type(node)
            parts = [self.condition(p, ctx) for p in _operands(node)]
            if kind is exp.And:
                parts = [exp.Paren(this=p) if isinstance(p, exp.Or) else p for p in parts]
            return reduce(lambda a, b: kind(this=a, expression=b), parts)
        if isinstance(node, exp.Not):
            self.reject(node, {"this"})
            return exp.Not(this=paren(self.condition(node.this, ctx)))
        if isinstance(node, exp.Paren):
            return exp.Paren(this=self.condition(node.this, ctx))
        if type(node) in _COMPARISONS:
            return self.comparison(node, ctx)
        if isinstance(node, exp.Between):
            self.reject(node, {"this", "low", "high"})
            values = [self.value(node.args[k], ctx) for k in ("this", "low", "high")]
            self.check_comparable(values[0], values[1], node)
            self.check_comparable(values[0], values[2], node)
            return exp.Between(this=paren(values[0].sql), low=paren(values[1].sql), high=paren(values[2].sql))
        if isinstance(node, exp.In):
            return self.in_predicate(node, ctx)
        if isinstance(node, exp.Exists):
            self.reject(node, {"this"})
            inner = self.query(node.this, ctx.scope, ctx.ctes, top=False)
            return exp.Exists(this=inner.sql)
        if isinstance(node, exp.Like | exp.ILike):
            self.reject(node, {"this", "expression"})
            value, pattern = self.value(node.this, ctx), self.value(node.expression, ctx)
            for side in (value, pattern):
                if side.type.category not in ("text", "null"):
                    raise self.fail(f"{node.key.upper()} compares strings, not {side.type}", node)
            return like(paren(value.sql), pattern, isinstance(node, exp.ILike))
        if isinstance(node, exp.Is):
            self.reject(node, {"this", "expression"})
            if not isinstance(node.expression, exp.Null):
                raise self.fail("only IS NULL and IS NOT NULL are supported", node)
            value = self.value(node.this, ctx)
            return exp.Is(this=paren(value.sql), expression=exp.Null())
        if isinstance(node, exp.Anonymous):
            value = self.value(node, ctx)
            if value.predicate is not None:
                return value.predicate
            raise self.fail(f"{node.this}(...) is a value, not a condition: compare it with something", node)
        raise self.fail(CONDITION_EXPECTED, node)

    def check_comparable(self, a: Value, b: Value, node: exp.Expr) -> None:
        if not comparable(a.type, b.type):
            raise self.fail(f"cannot compare {a.type} with {b.type}", node)

    def comparison(self, node: exp.Expr, ctx: Ctx) -> exp.Expr:
        """A comparison; CONTAINS(...) = 1 and the like become the predicate itself, DISTANCE(...) < r a
        containment in a circle (which the GiST index serves) followed by the exact test."""
        self.reject(node, {"this", "expression"})
        op = type(node)
        left, right = self.value(node.this, ctx), self.value(node.expression, ctx)
        for pred, other, test_op in ((left, right, op), (right, left, _FLIPPED[op])):
            constant = other.number
            if pred.predicate is not None and constant is not None:
                outcomes = tuple(_TESTS[test_op](v, constant) for v in (0, 1))
                if outcomes == (False, True):
                    return pred.predicate
                if outcomes == (True, False):
                    return exp.Not(this=exp.Paren(this=pred.predicate))
        for dist, other, test_op in ((left, right, op), (right, left, _FLIPPED[op])):
            radius = other.number
            if dist.points is not None and radius is not None and test_op in (exp.LT, exp.LTE) \
                    and 0 < radius <= 90:
                cone = geometry.cone(dist.points, other.sql)
                exact = _COMPARISONS[op](this=self.operand(node.this, left),
                                         expression=self.operand(node.expression, right))
                return exp.Paren(this=exp.And(this=cone, expression=exact))
        self.check_comparable(left, right, node)
        return _COMPARISONS[op](this=self.operand(node.this, left), expression=self.operand(node.expression, right))

    def in_predicate(self, node: exp.In, ctx: Ctx) -> exp.Expr:
        self.reject(node, {"this", "expressions", "query"})
        value = self.value(node.this, ctx)
        if value.type.is_geometry:
            raise self.fail("IN cannot compare geometries", node)
        query = node.args.get("query")
        if query is not None:
            inner = self.query(query.this if isinstance(query, exp.Subquery) else query, ctx.scope, ctx.ctes,
                               top=False)
            if len(inner.outputs) != 1:
                raise self.fail("the subquery of IN must return one column", query)
            self.check_comparable(value, inner.outputs[0].value, node)
            return exp.In(this=paren(value.sql), query=exp.Subquery(this=inner.sql))
        items = [self.value(item, ctx) for item in node.expressions]
        if not items:
            raise self.fail("IN needs at least one value", node)
        for item in items:
            self.check_comparable(value, item, node)
        return exp.In(this=paren(value.sql), expressions=[item.sql for item in items])


def _fold(symbol: str, a: Constant | None, b: Constant | None) -> int | float | None:
    """Arithmetic on two numeric constants as PostgreSQL does it (integer division truncates)."""
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        return None
    if symbol == "+":
        return a + b
    if symbol == "-":
        return a - b
    if symbol == "*":
        return a * b
    if not b:
        return None
    if isinstance(a, int) and isinstance(b, int):
        quotient = abs(a) // abs(b)
        return quotient if (a >= 0) == (b > 0) else -quotient
    return a / b


def _operands(node: exp.Expr) -> list[exp.Expr]:
    """The operands of a chain of the same connector (a AND b AND c), in order, parentheses kept."""
    operands, stack = [], [node]
    while stack:
        current = stack.pop()
        if type(current) is type(node):
            stack += [current.args["expression"], current.args["this"]]
        else:
            operands.append(current)
    return operands
