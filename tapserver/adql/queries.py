"""Queries: SELECT, set operations, WITH, FROM and joins, the select list, GROUP BY and ORDER BY.

Every FROM item gets an alias unique in the statement (never one of the geometry templates' names), so
that each column reference of the SQL binds where the translator resolved it.
"""

from __future__ import annotations

import re
from dataclasses import replace

from sqlglot import exp

from tapserver.adql import geometry
from tapserver.adql.errors import ADQLError
from tapserver.adql.expressions import Ctx, ExpressionTranslator, Output, QueryResult
from tapserver.adql.metadata import EMPTY, Meta, ResultColumn, of_column, result_column, unique_names
from tapserver.adql.scope import (
    Cte,
    CteScope,
    Joined,
    Leaf,
    Rel,
    Scope,
    Source,
    SourceColumn,
    identifier,
    name_matches,
    suggest,
)
from tapserver.adql.sqltypes import DOUBLE, NULL, NUMERIC, SqlType, common, comparable, datatype_node, from_pg
from tapserver.adql.values import Value
from tapserver.catalog.model import Table

UPLOAD_SCHEMA = "tap_upload"
FORBIDDEN_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast", "public", "uws", "datalink",
                               "ingest"})
"""Schemas never readable through ADQL, even if TAP_SCHEMA listed them."""
_INT_RE = re.compile(r"\d+\Z")
MAX_COUNT = 2**63 - 1
"""Largest TOP and OFFSET: PostgreSQL's LIMIT and OFFSET are bigint."""


class QueryTranslator(ExpressionTranslator):
    """Translates one ADQL query (create one per query: it holds the statement's aliases)."""

    # --- queries -------------------------------------------------------------------------------
    def query(self, node: exp.Expr, parent: Scope | None, ctes: CteScope | None, top: bool) -> QueryResult:
        """Translate a query; ``parent`` is the enclosing level for correlated names, ``top`` the outermost
        query (whose geometries become DALI/STC-S values and whose columns get FIELDs)."""
        while isinstance(node, exp.Subquery) and not node.alias and isinstance(node.this, exp.Query):
            self.reject(node, {"this"})
            node = node.this
        if isinstance(node, exp.Select):
            return self.select(node, parent, ctes, top)
        if isinstance(node, exp.SetOperation):
            return self.set_operation(node, parent, ctes, top)
        raise self.fail("a query (SELECT ...) is expected here", node)

    def with_clause(self, node: exp.Expr, parent: Scope | None,
                    ctes: CteScope | None) -> tuple[exp.With | None, CteScope | None]:
        """The WITH of a query: each CTE sees the earlier ones, the enclosing queries' CTEs and columns."""
        with_ = node.args.get("with_")
        if with_ is None:
            return None, ctes
        self.reject(with_, {"expressions"})
        scope = CteScope(ctes, [])
        out = []
        for cte in with_.expressions:
            self.reject(cte, {"this", "alias"})
            alias = cte.args["alias"]
            self.reject(alias, {"this", "columns"})
            ident = alias.this
            if any(name_matches(ident.name, ident.quoted, c.name) for c in scope.ctes):
                raise self.fail(f"the WITH query name {ident.name!r} is used twice", ident)
            inner = self.query(cte.this, parent, scope, top=False)
            names = [o.name for o in inner.outputs]
            column_list = alias.args.get("columns") or []
            if column_list:
                if len(column_list) != len(names):
                    raise self.fail(f"{ident.name}: {len(column_list)} column names for "
                                    f"{len(names)} columns", alias)
                names = unique_names([c.name if c.quoted else c.name.lower() for c in column_list])
            name = ident.name if ident.quoted else ident.name.lower()
            sql_name = self.alias_for(name)
            columns = [SourceColumn(n, o.value.type, o.value.meta) for n, o in zip(names, inner.outputs,
                                                                                  strict=True)]
            scope.ctes.append(Cte(name, sql_name, columns))
            out_alias = exp.TableAlias(this=identifier(sql_name),
                                       columns=[identifier(n) for n in names] if column_list else None)
            out.append(exp.CTE(this=inner.sql, alias=out_alias))
        return exp.With(expressions=out), scope

    def select(self, node: exp.Select, parent: Scope | None, ctes: CteScope | None, top: bool) -> QueryResult:
        """One SELECT: FROM first (it defines the names), then the select list and the other clauses."""
        self.reject(node, {"expressions", "from_", "joins", "where", "group", "having", "order", "limit",
                            "offset", "distinct", "with_", "kind"})
        if node.args.get("kind"):
            raise self.fail("unsupported SELECT form", node)
        with_sql, ctes = self.with_clause(node, parent, ctes)
        scope = Scope(parent)
        from_sql, joins_sql = self.from_clause(node, scope, ctes)
        ctx = Ctx(scope, ctes, "the SELECT list", aggregates=True)
        outputs = self.projections(node, ctx)
        result = exp.Select(expressions=[], from_=from_sql)
        if joins_sql:
            result.set("joins", joins_sql)
        if with_sql is not None:
            result.set("with_", with_sql)
        distinct = node.args.get("distinct")
        if distinct is not None:
            self.reject(distinct, set())
            result.set("distinct", exp.Distinct())
        where = node.args.get("where")
        if where is not None:
            result.set("where", exp.Where(this=self.condition(
                where.this, Ctx(scope, ctes, "WHERE", aggregates=False, outputs=outputs))))
        group = node.args.get("group")
        if group is not None:
            self.reject(group, {"expressions"})
            result.set("group", exp.Group(expressions=[
                self.group_item(item, Ctx(scope, ctes, "GROUP BY", aggregates=False, outputs=outputs))
                for item in group.expressions]))
        having = node.args.get("having")
        if having is not None:
            result.set("having", exp.Having(this=self.condition(
                having.this, Ctx(scope, ctes, "HAVING", aggregates=True, outputs=outputs))))
        order = node.args.get("order")
        if order is not None:
            result.set("order", self.order_by(order, Ctx(scope, ctes, "ORDER BY", aggregates=True,
                                                          outputs=outputs)))
        top_n = self.count(node.args.get("limit"), "TOP")
        offset = self.count(node.args.get("offset"), "OFFSET")
        if top_n is not None:
            result.set("limit", exp.Limit(expression=exp.Literal.number(top_n)))
        if offset is not None:
            result.set("offset", exp.Offset(expression=exp.Literal.number(offset)))
        columns = None
        expressions: list[exp.Expr] = []
        for output in outputs:
            sql, column = self.output(output) if top else (output.value.sql, None)
            if isinstance(sql, exp.Column) and sql.name == output.name:
                expressions.append(sql)  # PostgreSQL names it after the column already
            else:
                expressions.append(exp.Alias(this=sql, alias=identifier(output.name)))
            if column is not None:
                columns = (columns or []) + [column]
        result.set("expressions", expressions)
        return QueryResult(result, outputs, columns, top_n, offset)

    def count(self, node: exp.Expr | None, what: str) -> int | None:
        if node is None:
            return None
        self.reject(node, {"expression"})
        value = node.args.get("expression")
        if not (isinstance(value, exp.Literal) and not value.is_string and _INT_RE.match(value.this)):
            raise self.fail(f"{what} must be followed by an unsigned integer", node)
        if int(value.this) > MAX_COUNT:
            raise self.fail(f"{what} must be at most {MAX_COUNT}", node)
        return int(value.this)

    def set_operation(self, node: exp.SetOperation, parent: Scope | None, ctes: CteScope | None,
                      top: bool) -> QueryResult:
        self.reject(node, {"this", "expression", "distinct", "with_", "order", "offset", "limit"})
        if node.args.get("limit") is not None:
            raise self.fail("TOP applies to a SELECT, not to a whole UNION/INTERSECT/EXCEPT", node)
        with_sql, ctes = self.with_clause(node, parent, ctes)
        left = self.query(node.this, parent, ctes, top)
        right = self.query(node.expression, parent, ctes, top)
        word = node.key.upper()
        if len(left.outputs) != len(right.outputs):
            raise self.fail(f"each query of a {word} must have the same number of columns "
                            f"({len(left.outputs)} and {len(right.outputs)})", node)
        outputs = []
        for index, (a, b) in enumerate(zip(left.outputs, right.outputs, strict=True)):
            t = common([a.value.type, b.value.type])
            if t is None:
                raise self.fail(f"column {index + 1} of the {word} mixes {a.value.type} and {b.value.type}",
                                node)
            meta = a.value.meta if a.value.meta == b.value.meta else Meta(
                unit=a.value.meta.unit if a.value.meta.unit == b.value.meta.unit else None)
            outputs.append(Output(a.name, Value(a.value.sql, t, meta, name=a.name)))
        distinct = node.args.get("distinct")
        branches = [exp.Subquery(this=q.sql) if isinstance(q.sql, exp.SetOperation) else q.sql
                    for q in (left, right)]
        result = type(node)(this=branches[0], expression=branches[1], distinct=bool(distinct))
        if with_sql is not None:
            result.set("with_", with_sql)
        order = node.args.get("order")
        if order is not None:
            result.set("order", self.order_by(order, Ctx(Scope(parent), ctes, "ORDER BY", aggregates=False,
                                                          outputs=outputs), set_operation=True))
        offset = self.count(node.args.get("offset"), "OFFSET")
        if offset is not None:
            result.set("offset", exp.Offset(expression=exp.Literal.number(offset)))
        columns = None
        if top and left.columns is not None and right.columns is not None:
            columns = [self.merge_columns(a, b, o) for a, b, o in
                       zip(left.columns, right.columns, outputs, strict=True)]
        return QueryResult(result, outputs, columns, None, offset)

    def merge_columns(self, a: ResultColumn, b: ResultColumn, output: Output) -> ResultColumn:
        if (a.datatype, a.arraysize, a.xtype) == (b.datatype, b.arraysize, b.xtype) and a.sql_type == b.sql_type:
            return a if a == replace(b, name=a.name) else replace(
                a, ucd=a.ucd if a.ucd == b.ucd else None, utype=a.utype if a.utype == b.utype else None,
                description=a.description if a.description == b.description else None,
                unit=a.unit if a.unit == b.unit else None, table=None, column=None)
        value = output.value
        if value.type.is_geometry:
            return replace(result_column(output.name, value.type, EMPTY, "double precision[]"),
                           unit=a.unit if a.unit == b.unit else None)
        sql_type = "double precision" if value.type == NUMERIC else value.type.name
        return result_column(output.name, value.type, Meta(unit=value.meta.unit), sql_type)

    # --- FROM ----------------------------------------------------------------------------------
    def alias_for(self, preferred: str) -> str:
        """An alias for the SQL, unique in the statement and never one of the templates' names."""
        base = preferred.lower()
        if not re.fullmatch(r"[a-z][a-z0-9_]*", base) or len(base) > 50:
            base = "t"
        if base.startswith(geometry.TEMPLATE_PREFIX):
            base = "t_" + base
        candidate, counter = base, 1
        while candidate in self.aliases:
            counter += 1
            candidate = f"{base}_{counter}"
        self.aliases.add(candidate)
        return candidate

    def from_clause(self, node: exp.Select, scope: Scope,
                    ctes: CteScope | None) -> tuple[exp.From, list[exp.Join]]:
        from_ = node.args.get("from_")
        if from_ is None:
            raise self.fail("a FROM clause is required", node)
        self.reject(from_, {"this"})
        first_sql, rel = self.from_item(from_.this, scope, ctes)
        rels: list[Rel] = []
        joins_sql: list[exp.Join] = []
        for join in node.args.get("joins") or []:
            if join.meta.get("comma"):
                self.reject(join, {"this"})
                rels.append(rel)
                sql, rel = self.from_item(join.this, scope, ctes)
                joins_sql.append(exp.Join(this=sql))
            else:
                rel, join_sql = self.join(join, rel, scope, ctes)
                joins_sql.append(join_sql)
        rels.append(rel)
        self.check_exposed_names(rels, node)
        scope.set_rels(rels)
        return exp.From(this=first_sql), joins_sql

    def check_exposed_names(self, rels: list[Rel], node: exp.Select) -> None:
        """Refuse two FROM items of one query level with the same name (alias, or table name without one):
        a qualified column could not say which it means (SQL refuses it too)."""
        seen: set[str] = set()
        for source in (s for rel in rels for s in rel.sources()):
            name = source.alias if source.alias is not None else source.table
            if name is None:
                continue
            key = name if source.alias_quoted else name.lower()
            if key in seen and source.alias is not None:
                raise self.fail(f"the name {name!r} is given to two FROM items of one query", node.args.get("from_"))
            if key in seen:
                raise self.fail(f"the table {name!r} appears twice in FROM without aliases: give each occurrence "
                                f"an alias of its own (FROM {name} AS a, {name} AS b)", node.args.get("from_"))
            seen.add(key)

    def join(self, join: exp.Join, left: Rel, scope: Scope, ctes: CteScope | None) -> tuple[Rel, exp.Join]:
        self.reject(join, {"this", "side", "kind", "method", "on", "using"})
        side = (join.args.get("side") or "").upper()
        kind = (join.args.get("kind") or "").upper()
        natural = (join.args.get("method") or "").upper() == "NATURAL"
        if join.args.get("method") and not natural:
            raise self.fail(f"unsupported join method {join.args['method']}", join)
        right_sql, right = self.from_item(join.this, scope, ctes)
        on, using = join.args.get("on"), join.args.get("using")
        out = exp.Join(this=right_sql)
        if side:
            out.set("side", side)
        if kind:
            out.set("kind", kind)
        merged: list[str] = []
        if kind == "CROSS" or natural:
            if on is not None or using:
                raise self.fail(f"{'NATURAL' if natural else 'CROSS'} JOIN takes no ON or USING", join)
            if natural:
                out.set("method", "NATURAL")
                left_names = [e.name for e in left.entries()]
                right_names = {e.name for e in right.entries()}
                merged = [n for n in dict.fromkeys(left_names) if n in right_names]
                for name in merged:
                    self.check_merge(name, left, right, join)
        elif on is not None:
            on_scope = Scope(scope.parent, [left, right])
            out.set("on", self.condition(on, Ctx(on_scope, ctes, "ON", aggregates=False)))
        elif using:
            for ident in using:
                left_matches = [e.name for e in left.entries() if name_matches(ident.name, ident.quoted, e.name)]
                right_matches = [e.name for e in right.entries()
                                 if name_matches(ident.name, ident.quoted, e.name)]
                if not left_matches or not right_matches:
                    side_name = "left" if not left_matches else "right"
                    raise self.fail(f"USING column {ident.name!r} is not in the {side_name} side of the join",
                                    ident)
                if len(set(left_matches)) > 1 or len(set(right_matches)) > 1 or \
                        left_matches[0] != right_matches[0]:
                    raise self.fail(f"USING column {ident.name!r} is ambiguous", ident)
                name = left_matches[0]
                self.check_merge(name, left, right, ident)
                merged.append(name)
            out.set("using", [identifier(_sql_name(left, n)) for n in merged])
        else:
            raise self.fail("a JOIN needs ON or USING (or NATURAL JOIN / CROSS JOIN)", join)
        return Joined(left, right, side, merged), out

    def check_merge(self, name: str, left: Rel, right: Rel, node: exp.Expr) -> None:
        for rel in (left, right):
            if sum(1 for e in rel.entries() if e.name == name) > 1:
                raise self.fail(f"column {name!r} appears more than once in a side of the join", node)
        a = next(e for e in left.entries() if e.name == name)
        b = next(e for e in right.entries() if e.name == name)
        if a.type != b.type and not comparable(a.type, b.type):
            raise self.fail(f"join column {name!r} is {a.type} on one side and {b.type} on the other", node)

    def from_item(self, node: exp.Expr, scope: Scope, ctes: CteScope | None) -> tuple[exp.Expr, Rel]:
        if isinstance(node, exp.Table) and node.args.get("joins"):
            return self.join_group(node, scope, ctes)
        if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Table):
            if node.alias:
                raise self.fail("a parenthesized join cannot have an alias", node)
            sql, rel = self.from_item(node.this, scope, ctes)
            return (exp.Subquery(this=sql) if node.this.args.get("joins") else sql), rel
        if isinstance(node, exp.Subquery):
            return self.derived_table(node, scope, ctes)
        if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
            return self.table(node, ctes)
        raise self.fail("a table, a subquery or a join is expected in FROM", node)

    def join_group(self, node: exp.Table, scope: Scope, ctes: CteScope | None) -> tuple[exp.Expr, Rel]:
        joins = node.args["joins"]
        bare = node.copy()
        bare.set("joins", None)
        first_sql, rel = self.from_item(bare, scope, ctes)
        joins_sql = []
        for join in joins:
            if join.meta.get("comma"):
                raise self.fail("a comma cannot separate tables inside parentheses", join)
            rel, join_sql = self.join(join, rel, scope, ctes)
            joins_sql.append(join_sql)
        first_sql.set("joins", joins_sql)
        return first_sql, rel

    def derived_table(self, node: exp.Subquery, scope: Scope, ctes: CteScope | None) -> tuple[exp.Expr, Rel]:
        self.reject(node, {"this", "alias"})
        alias = node.args.get("alias")
        if alias is None:
            raise self.fail("a subquery in FROM needs an alias: (SELECT ...) AS name", node)
        self.reject(alias, {"this"})
        inner = self.query(node.this, scope.parent, ctes, top=False)
        ident = alias.this
        name = ident.name if ident.quoted else ident.name.lower()
        sql_alias = self.alias_for(name)
        source = Source(label=f"subquery {ident.name}", sql_alias=sql_alias, alias=name,
                        alias_quoted=ident.quoted,
                        columns=[SourceColumn(o.name, o.value.type, o.value.meta) for o in inner.outputs])
        sql = exp.Subquery(this=inner.sql, alias=exp.TableAlias(this=identifier(sql_alias)))
        return sql, Leaf(source)

    def table(self, node: exp.Table, ctes: CteScope | None) -> tuple[exp.Expr, Rel]:
        if node.args.get("catalog") is not None:
            raise self.fail("catalog-qualified table names (catalog.schema.table) are not supported", node)
        self.reject(node, {"this", "db", "alias"})
        name, schema = node.this, node.args.get("db")
        if not isinstance(name, exp.Identifier) or (schema is not None and not isinstance(schema, exp.Identifier)):
            raise self.fail("invalid table name", node)
        alias = node.args.get("alias")
        alias_ident = None
        if alias is not None:
            self.reject(alias, {"this"})
            alias_ident = alias.this
        user_alias = None
        if alias_ident is not None:
            user_alias = alias_ident.name if alias_ident.quoted else alias_ident.name.lower()
        cte = ctes.find(name) if ctes is not None and schema is None else None
        if cte is not None:
            sql_alias = self.alias_for(user_alias or cte.name)
            source = Source(label=cte.name, sql_alias=sql_alias, columns=list(cte.columns), alias=user_alias,
                            alias_quoted=bool(alias_ident is not None and alias_ident.quoted),
                            table=cte.name if user_alias is None else None)
            sql: exp.Expr = exp.Table(this=identifier(cte.sql_name))
        else:
            table, sql_schema, sql_name, label, upload = self.lookup_table(name, schema, ctes)
            sql_alias = self.alias_for(user_alias or sql_name)
            columns = [SourceColumn(c.name, from_pg(c.sql_type), of_column(c, label), c.sql_name)
                       for c in table.columns]
            source = Source(label=label, sql_alias=sql_alias, columns=columns, alias=user_alias,
                            alias_quoted=bool(alias_ident is not None and alias_ident.quoted),
                            table=sql_name if user_alias is None else None,
                            schema=(UPLOAD_SCHEMA if upload else sql_schema) if user_alias is None else None)
            sql = exp.Table(this=identifier(sql_name), db=identifier(sql_schema) if sql_schema else None)
        if sql_alias != (sql.name if isinstance(sql, exp.Table) else None):
            sql.set("alias", exp.TableAlias(this=identifier(sql_alias)))
        return sql, Leaf(source)

    def lookup_table(self, name: exp.Identifier, schema: exp.Identifier | None,
                     ctes: CteScope | None) -> tuple[Table, str | None, str, str, bool]:
        """(table, SQL schema, SQL name, label, is_upload) of a table reference."""
        if schema is not None and name_matches(schema.name, schema.quoted, UPLOAD_SCHEMA):
            for upload_name, table in self.uploads.items():
                if name_matches(name.name, name.quoted, upload_name):
                    self.used_uploads.append(upload_name)
                    return table, table.schema or None, table.name, f"TAP_UPLOAD.{upload_name}", True
            hint = suggest(name.name, self.uploads) if self.uploads else " (this request has no upload)"
            raise self.fail(f"no uploaded table {name.name!r}{hint}", name)
        if schema is not None and _forbidden(schema.name):
            raise self.fail(f"schema {schema.name!r} is not published", schema)
        published = [t for t in self.catalog if not _forbidden(t.db_schema)]
        if schema is not None:
            schemas = {t.schema for t in published if name_matches(schema.name, schema.quoted, t.db_schema)}
            if not schemas:
                names = sorted({t.schema for t in published})
                raise self.fail(f"no schema {schema.name!r}{suggest(schema.name, names)} "
                                f"(published schemas: {', '.join(names)})", schema)
            matches = [t for t in published
                       if t.schema in schemas and name_matches(name.name, name.quoted, t.db_name)]
        else:
            matches = [t for t in published if name_matches(name.name, name.quoted, t.db_name)]
        if len(matches) > 1:
            raise self.fail(f"table name {name.name!r} is ambiguous: qualify it with its schema "
                            f"({', '.join(t.qualified for t in matches)})", name)
        if not matches:
            written = f"{schema.name}.{name.name}" if schema is not None else name.name
            candidates = [t.qualified for t in published] + [t.name for t in published] + \
                (ctes.names() if ctes is not None else [])
            raise self.fail(f"no table {written!r}{suggest(written, candidates)}", name)
        table = matches[0]
        self.tables.append(table.qualified)
        return table, table.db_schema, table.db_name, table.qualified, False

    # --- select list ---------------------------------------------------------------------------
    def projections(self, node: exp.Select, ctx: Ctx) -> list[Output]:
        items: list[tuple[str, Value]] = []
        for item in node.expressions:
            if isinstance(item, exp.Star):
                self.reject(item, set())
                entries = ctx.scope.entries()
                items += [(e.name, self.entry_value(e)) for e in entries]
            elif isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
                self.reject(item, {"this", "table", "db"})
                source = self.source_for(item, ctx.scope)
                items += [(c.name, self.column_value(source, c)) for c in source.columns]
            elif isinstance(item, exp.Alias):
                self.reject(item, {"this", "alias"})
                alias = item.args["alias"]
                value = self.value(item.this, ctx)
                items.append((alias.name, value))
            else:
                value = self.value(item, ctx)
                items.append((value.name, value))
        names = unique_names([n for n, _ in items])
        return [Output(n, v) for n, (_, v) in zip(names, items, strict=True)]

    def output(self, output: Output) -> tuple[exp.Expr, ResultColumn]:
        """The top-level SQL of an output column (geometries as DALI/STC-S) and its FIELD."""
        value = output.value
        column = value.meta.column
        if value.type.is_geometry:
            if column is not None and column.datatype in ("char", "unicodeChar"):
                return geometry.to_stcs(value), result_column(output.name, value.type, value.meta, "text")
            return geometry.to_dali(value), result_column(output.name, value.type, value.meta,
                                                          "double precision[]")
        if value.type == NUMERIC:
            return exp.Cast(this=value.sql, to=datatype_node(DOUBLE)), \
                result_column(output.name, DOUBLE, value.meta, "double precision")
        sql_type = column.sql_type if column is not None else (
            "text" if value.type == NULL else _pg_name(value.type))
        return value.sql, result_column(output.name, value.type, value.meta, sql_type)

    # --- GROUP BY / ORDER BY -------------------------------------------------------------------
    def group_item(self, item: exp.Expr, ctx: Ctx) -> exp.Expr:
        outputs = ctx.outputs or []
        if isinstance(item, exp.Literal) and not item.is_string and _INT_RE.match(item.this):
            position = int(item.this)
            if not 1 <= position <= len(outputs):
                raise self.fail(f"GROUP BY position {position} is not in the SELECT list", item)
            if outputs[position - 1].value.aggregate:
                raise self.fail("cannot GROUP BY an aggregate", item)
            return outputs[position - 1].value.sql.copy()
        if isinstance(item, exp.Column) and item.args.get("table") is None and isinstance(item.this, exp.Identifier):
            try:
                return self.value(item, ctx).sql
            except ADQLError:
                ident = item.this
                for output in outputs:
                    if name_matches(ident.name, ident.quoted, output.name):
                        if output.value.aggregate:
                            raise self.fail("cannot GROUP BY an aggregate", item) from None
                        return output.value.sql.copy()
                raise
        value = self.value(item, ctx)
        if value.aggregate:
            raise self.fail("cannot GROUP BY an aggregate", item)
        return value.sql

    def order_by(self, order: exp.Order, ctx: Ctx, set_operation: bool = False) -> exp.Order:
        self.reject(order, {"expressions"})
        outputs = ctx.outputs or []
        items = []
        for ordered in order.expressions:
            self.reject(ordered, {"this", "desc", "nulls_first"})
            key = ordered.this
            sql: exp.Expr | None = None
            if isinstance(key, exp.Literal) and not key.is_string and _INT_RE.match(key.this):
                position = int(key.this)
                if not 1 <= position <= len(outputs):
                    raise self.fail(f"ORDER BY position {position} is not in the SELECT list", key)
                sql = exp.Literal.number(position)
            elif isinstance(key, exp.Column) and key.args.get("table") is None \
                    and isinstance(key.this, exp.Identifier):
                ident = key.this
                named = [o for o in outputs if name_matches(ident.name, ident.quoted, o.name)]
                if named:
                    sql = exp.Column(this=identifier(named[0].name))
            if sql is None:
                if set_operation:
                    raise self.fail("ORDER BY of a UNION/INTERSECT/EXCEPT takes output column names or "
                                    "positions", key)
                value = self.value(key, ctx)
                if value.type.is_geometry:
                    raise self.fail("cannot ORDER BY a geometry", key)
                sql = value.sql
            desc = bool(ordered.args.get("desc"))
            nulls_first = ordered.args.get("nulls_first")
            items.append(exp.Ordered(this=sql, desc=desc, nulls_first=bool(nulls_first)))
        return exp.Order(expressions=items)


def _sql_name(rel: Rel, name: str) -> str:
    """The PostgreSQL name of the column ``name`` of a join side."""
    entry = next(e for e in rel.entries() if e.name == name)
    return entry.column.sql_name or name if entry.column is not None else name


def _forbidden(schema: str) -> bool:
    """Whether a schema is one ADQL never reads (system and internal schemas)."""
    name = schema.lower()
    return name in FORBIDDEN_SCHEMAS or name.startswith("pg_")


def _pg_name(t: SqlType) -> str:
    if t.name == "character":
        return f"character({t.length or 1})"
    if t.name == "character varying" and t.length:
        return f"character varying({t.length})"
    return {"timestamp": "timestamp without time zone"}.get(t.name, t.name)
