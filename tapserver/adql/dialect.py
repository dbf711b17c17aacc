"""The two sqlglot dialects of the engine: ``ADQL`` (what users write) and ``PgSphere`` (what we run).

The ADQL tokenizer knows only ADQL's keywords, operators and literals: any other word is a plain
identifier (so ``DROP``, ``pg_sleep`` or ``INSERT`` can only fail name resolution), any other character
ends up in a token that :mod:`tapserver.adql.syntax` rejects with its position. The parser turns every
function call into ``exp.Anonymous`` so that the translator alone decides what a function means.

The PgSphere dialect is PostgreSQL's generator plus the pgsphere operators (``<@``, ``&&``, ``<->``)
and the text-search match ``@@`` as explicit nodes, and quotes every identifier PostgreSQL reserves.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sqlglot import exp, parser, tokens
from sqlglot.dialects.dialect import Dialect
from sqlglot.dialects.postgres import Postgres
from sqlglot.generators.postgres import PostgresGenerator
from sqlglot.tokens import TokenType

# ADQL 2.1 keywords the grammar needs (everything else tokenizes as an identifier).
_WORDS = (
    "ALL", "AND", "AS", "ASC", "BETWEEN", "CASE", "CROSS", "DESC", "DISTINCT", "ELSE", "END", "EXCEPT",
    "EXISTS", "FROM", "FULL", "HAVING", "ILIKE", "IN", "INNER", "INTERSECT", "IS", "JOIN", "LEFT",
    "LIKE", "NATURAL", "NOT", "NULL", "OFFSET", "ON", "OR", "OUTER", "RIGHT", "SELECT", "THEN", "UNION",
    "USING", "WHEN", "WHERE", "WITH", "LIMIT",
)
_PHRASES = ("GROUP BY", "ORDER BY")
# CAST targets of ADQL 2.1 §4.7.
CAST_TYPES = ("INTEGER", "SMALLINT", "BIGINT", "REAL", "DOUBLE PRECISION", "CHAR", "VARCHAR", "TIMESTAMP")
_OPERATORS = ("<=", ">=", "<>", "!=", "||")
# "|" and "!" are single tokens so that "a||b" and "a!=b" split without spaces ("|" alone is refused).
_PUNCTUATION = "(),.-=><+;/*'\"|!"

# Token types a valid ADQL query may contain (syntax.py rejects any other with its position).
ALLOWED_TOKENS = frozenset(
    {tokens.Tokenizer.KEYWORDS[w] for w in (*_WORDS, *_PHRASES, *CAST_TYPES, *_OPERATORS)}
    | {tokens.Tokenizer.SINGLE_TOKENS[c] for c in _PUNCTUATION if c not in "'\"|!"}
    | {TokenType.TOP, TokenType.NUMBER, TokenType.STRING, TokenType.IDENTIFIER, TokenType.VAR}
)


class ADQL(Dialect):
    """ADQL 2.1 as sqlglot reads it: TOP, delimited identifiers, ``--`` comments, '' in strings."""

    NULL_ORDERING = "nulls_are_large"  # as PostgreSQL, so no NULLS FIRST/LAST is ever added

    class Tokenizer(tokens.Tokenizer):
        SINGLE_TOKENS = {c: t for c, t in tokens.Tokenizer.SINGLE_TOKENS.items() if c in _PUNCTUATION}
        KEYWORDS = {
            **{k: v for k, v in tokens.Tokenizer.KEYWORDS.items()
               if k in (*_WORDS, *_PHRASES, *CAST_TYPES, *_OPERATORS)},
            "TOP": TokenType.TOP,
        }
        COMMENTS = ["--"]
        COMMANDS: ClassVar[set[TokenType]] = set()
        COMMAND_PREFIX_TOKENS: ClassVar[set[TokenType]] = set()
        STRING_ESCAPES = ["'"]
        IDENTIFIERS = ['"']
        QUOTES = ["'"]
        NESTED_COMMENTS = False

    class Parser(parser.Parser):
        FUNCTIONS: ClassVar[dict[str, Any]] = {}
        FUNCTION_PARSERS = {"CAST": parser.Parser.FUNCTION_PARSERS["CAST"]}
        NO_PAREN_FUNCTIONS: ClassVar[dict[Any, Any]] = {}
        NO_PAREN_FUNCTION_PARSERS = {"CASE": parser.Parser.NO_PAREN_FUNCTION_PARSERS["CASE"]}

        def _parse_csv(self, parse_method: Any, sep: TokenType = TokenType.COMMA) -> list[Any]:
            # Unlike sqlglot's, an empty item ("a,,b", "SELECT a, FROM") is an error.
            item = parse_method()
            items = [] if item is None else [item]
            while self._match(sep):
                if item is None:
                    self.raise_error("Expecting an expression before ','", self._prev)
                item = parse_method()
                if item is None:
                    self.raise_error("Expecting an expression after ','", self._prev)
                items.append(item)
            return items

        def _parse_bitwise(self) -> exp.Expr | None:
            # ADQL 2.1 has no bitwise operators (sqlglot would read "a >> b" as a shift): only ||.
            this = self._parse_term()
            while self._match(TokenType.DPIPE):
                this = self.expression(exp.DPipe(this=this, expression=self._parse_term()))
            return this

        def _parse_join(self, *args: Any, **kwargs: Any) -> exp.Join | None:
            # Mark comma-separated FROM items: sqlglot represents them like a JOIN without ON.
            comma = self._curr is not None and self._curr.token_type == TokenType.COMMA
            join = super()._parse_join(*args, **kwargs)
            if join is not None and comma:
                join.meta["comma"] = True
            return join


class SphereOp(exp.Expression, exp.Binary):
    """A pgsphere (or text-search) binary operator: ``this <op> expression``."""

    arg_types = {"this": True, "expression": True, "op": True}


SPHERE_OPERATORS = frozenset({"<@", "&&", "<->", "@@"})

# PostgreSQL keywords that are not "unreserved" (pg_get_keywords() catcode <> 'U', PostgreSQL 15):
# an identifier spelled like one of them is quoted in the generated SQL.
PG_RESERVED = frozenset((
    "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "authorization",
    "between", "bigint", "binary", "bit", "boolean", "both", "case", "cast", "char", "character",
    "check", "coalesce", "collate", "collation", "column", "concurrently", "constraint", "create",
    "cross", "current_catalog", "current_date", "current_role", "current_schema", "current_time",
    "current_timestamp", "current_user", "dec", "decimal", "default", "deferrable", "desc", "distinct",
    "do", "else", "end", "except", "exists", "extract", "false", "fetch", "float", "for", "foreign",
    "freeze", "from", "full", "grant", "greatest", "group", "grouping", "having", "ilike", "in",
    "initially", "inner", "inout", "int", "integer", "intersect", "interval", "into", "is", "isnull",
    "join", "lateral", "leading", "least", "left", "like", "limit", "localtime", "localtimestamp",
    "national", "natural", "nchar", "none", "normalize", "not", "notnull", "null", "nullif", "numeric",
    "offset", "on", "only", "or", "order", "out", "outer", "overlaps", "overlay", "placing", "position",
    "precision", "primary", "real", "references", "returning", "right", "row", "select", "session_user",
    "setof", "similar", "smallint", "some", "substring", "symmetric", "table", "tablesample", "then",
    "time", "timestamp", "to", "trailing", "treat", "trim", "true", "union", "unique", "user", "using",
    "values", "varchar", "variadic", "verbose", "when", "where", "window", "with", "xmlattributes",
    "xmlconcat", "xmlelement", "xmlexists", "xmlforest", "xmlnamespaces", "xmlparse", "xmlpi",
    "xmlroot", "xmlserialize", "xmltable",
))


def _sphere_op_sql(self: PostgresGenerator, expression: SphereOp) -> str:
    op = expression.args["op"]
    if op not in SPHERE_OPERATORS:  # defensive: the node is only ever built by the translator
        raise ValueError(f"not a pgsphere operator: {op!r}")
    return f"{self.sql(expression, 'this')} {op} {self.sql(expression, 'expression')}"


class PgSphereGenerator(PostgresGenerator):
    """PostgreSQL generator with pgsphere operators and quoting of PostgreSQL's reserved words."""

    RESERVED_KEYWORDS = set(PG_RESERVED)
    TRANSFORMS = {**PostgresGenerator.TRANSFORMS, SphereOp: _sphere_op_sql}


class PgSphere(Postgres):
    """PostgreSQL + pgsphere, the target of the translation."""

    Generator = PgSphereGenerator


ADQL_DIALECT = ADQL()
PG_DIALECT = PgSphere()


def to_sql(expression: exp.Expr) -> str:
    """PostgreSQL text of a translated tree (comments are never emitted)."""
    return PG_DIALECT.generate(expression, copy=False, comments=False, normalize_functions="lower")
