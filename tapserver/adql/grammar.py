"""The ADQL 2.1 grammar rules sqlglot's permissive parser does not enforce, checked on the parsed tree.

sqlglot reads a superset of SQL: it accepts a SELECT without FROM, ``x IN 5``, ``x IS 3``, a bare
column as a search condition, five-part names, a WITH inside a subquery, any type name in CAST and
calls with any number of arguments. :func:`check` refuses each of these with the position of the
offending construct, so that ``parse`` judges a query as the ADQL grammar does (the IVOA lyonetia
validation sets are the reference, see tests/adql/test_lyonetia.py). Semantic checks that need the
catalog (names, types, unknown functions) stay in the translator.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from tapserver.adql.functions import FUNCTIONS, arity_problem

Fail = Callable[[str, exp.Expr], Exception]

# Nodes that are search conditions by themselves (ADQL <predicate>).
_PREDICATES = (
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike, exp.In, exp.Between, exp.Is,
    exp.Exists,
)
# Functions accepted as a whole search condition (a leniency: ADQL wants CONTAINS(...) = 1).
_PREDICATE_FUNCTIONS = frozenset({"CONTAINS", "INTERSECTS"})
# Functions whose value is a geometry: not a character value, so not an operand of ||.
_GEOMETRY_FUNCTIONS = frozenset({"POINT", "CIRCLE", "BOX", "POLYGON", "REGION", "CENTROID"})
CONDITION_EXPECTED = "a condition is expected here (a comparison, LIKE, IN, BETWEEN, EXISTS, IS NULL...)"
CAST_TARGETS = "CAST can convert to INTEGER, SMALLINT, BIGINT, REAL, DOUBLE PRECISION, CHAR(n), VARCHAR(n) or TIMESTAMP"
_GEOMETRY_CASTS = frozenset({"POINT", "CIRCLE", "POLYGON"})
# CAST targets of ADQL 2.1 §4.7, as sqlglot types them.
_CAST_TYPES = frozenset({
    exp.DataType.Type.INT, exp.DataType.Type.SMALLINT, exp.DataType.Type.BIGINT, exp.DataType.Type.FLOAT,
    exp.DataType.Type.DOUBLE, exp.DataType.Type.CHAR, exp.DataType.Type.VARCHAR, exp.DataType.Type.TIMESTAMP,
})


def is_condition(node: exp.Expr) -> bool:
    """Whether ``node`` is an ADQL search condition (a predicate, or AND/OR/NOT of them)."""
    stack = [node]  # iterative: chains of thousands of OR are valid
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Paren | exp.Not):
            stack.append(node.this)
        elif isinstance(node, exp.And | exp.Or):
            stack += [node.this, node.expression]
        elif isinstance(node, exp.Anonymous):
            if not (isinstance(node.this, str) and node.this.upper() in _PREDICATE_FUNCTIONS):
                return False
        elif not isinstance(node, _PREDICATES):
            return False
    return True


def check(tree: exp.Query, fail: Fail) -> None:
    """Raise ``fail(message, node)`` at the first construct the ADQL grammar does not allow (one walk)."""
    for node in tree.walk():
        if isinstance(node, exp.Select | exp.SetOperation):
            if node.args.get("with_") is not None and node is not tree:
                raise fail("WITH is only allowed at the start of the whole query, not in a subquery", node)
            if isinstance(node, exp.Select):
                _check_select(node, fail)
        elif isinstance(node, exp.Join):
            _check_from_item(node.this, fail)
            on = node.args.get("on")
            if on is not None and not is_condition(on):
                raise fail(f"ON: {CONDITION_EXPECTED}", on)
        elif isinstance(node, exp.Dot):
            raise fail("too many parts in a name (at most schema.table.column, or catalog.schema.table)", node)
        elif isinstance(node, exp.In):
            if node.args.get("field") is not None or not (node.args.get("query") or node.expressions):
                raise fail("IN must be followed by a parenthesized list of values or a subquery", node)
        elif isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise fail("only IS NULL and IS NOT NULL are supported", node)
        elif isinstance(node, exp.Cast):
            if node.to.this not in _CAST_TYPES and not _geometry_type(node.to):
                raise fail(CAST_TARGETS, node)
        elif isinstance(node, exp.DPipe):
            for side in (node.this, node.expression):
                if isinstance(side, exp.Anonymous) and str(side.this).upper() in _GEOMETRY_FUNCTIONS:
                    raise fail(f"{str(side.this).upper()}(...) is a geometry, not a string: it cannot be "
                               "concatenated with ||", side)
        elif isinstance(node, exp.Anonymous):
            _check_arity(node, fail)


def _check_from_item(item: exp.Expr, fail: Fail) -> None:
    if isinstance(item, exp.Subquery) and isinstance(item.this, exp.Query) and not item.alias:
        raise fail("a subquery in FROM needs an alias: (SELECT ...) AS name", item)


def _check_select(select: exp.Select, fail: Fail) -> None:
    if select.args.get("from_") is None:
        raise fail("a SELECT needs a FROM clause", select)
    _check_from_item(select.args["from_"].this, fail)
    for clause in ("where", "having"):
        node = select.args.get(clause)
        if node is not None and not is_condition(node.this):
            raise fail(f"{clause.upper()}: {CONDITION_EXPECTED}", node.this)
    group = select.args.get("group")
    if group is not None and not group.expressions:
        raise fail("GROUP BY must be followed by at least one column", group)


def _geometry_type(to: exp.DataType) -> bool:
    """CAST to POINT, CIRCLE or POLYGON (ADQL 2.1 optional geometry casts; the translator decides)."""
    return to.this == exp.DataType.Type.USERDEFINED and str(to.args.get("kind")).upper() in _GEOMETRY_CASTS


def _check_arity(node: exp.Anonymous, fail: Fail) -> None:
    name = str(node.this).upper()
    spec = FUNCTIONS.get(name)
    if spec is None:
        return  # unknown functions are refused by the translator, which knows the UDFs it serves
    raw = list(node.expressions)
    if len(raw) == 1 and isinstance(raw[0], exp.Distinct):
        raw = list(raw[0].expressions)
    problem = arity_problem(spec, len(raw))
    if problem is not None:
        raise fail(problem, node)
