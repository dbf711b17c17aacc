"""ObsCore ``access_url`` built at output time: the {links} URL of a row from its publisher DID.

The stored DID is the durable fact; the URL depends on where the server runs (``TAPSERVER_BASE_URL``),
so the query layer replaces ``ivoa.obscore.access_url`` in the select list by :func:`links_url_sql`
applied to the row's ``obs_publisher_did``: :func:`obscore_rewrites` is the hook the TAP service gives
the ADQL translator. Moving the server then needs no re-ingest.

The SQL percent-encodes exactly like Python's ``urllib.parse.quote(did, safe='')`` (what
:func:`tapserver.datalink.model.links_url` does): unreserved characters ``A-Z a-z 0-9 - . _ ~`` stay,
every other UTF-8 byte becomes ``%XX`` (upper-case hex). Three paths, the cheapest that applies:

1. only unreserved characters and ``: / ? %`` (every DID the ingester writes): four ``replace`` calls,
   about 1 µs a row;
2. printable ASCII: one ``replace`` per reserved character, about 3 µs a row;
3. anything else (non-ASCII, control characters): character by character in a scalar subquery, about
   60 µs a row. Its row estimate is kept small on purpose: a costly-looking subplan would push
   PostgreSQL's JIT (hundreds of ms of compilation) onto every large ObsCore query.

Only built-in functions are used, so the read-only query role needs no grant and no migration is
involved; the text holds no ``%`` (``chr(37)`` and the regex escape ``\x25`` stand for it), so it
survives layers that read ``%`` as a placeholder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import quote

from sqlglot import exp

from tapserver.adql import ColumnRewrite
from tapserver.adql.dialect import to_sql
from tapserver.datalink.model import LINKS_PATH

#: The ObsCore column computed at output time.
ACCESS_URL = "ivoa.obscore.access_url"

_PCT = "chr(37)"
_SIMPLE = r"[^A-Za-z0-9._~:/?\x25-]"
_PRINTABLE = "^[ -~]*$"
#: Printable ASCII characters that quote(safe='') encodes, "%" first (it must be encoded before the rest).
_RESERVED = sorted((chr(c) for c in range(0x20, 0x7F) if quote(chr(c), safe="") != chr(c)),
                   key=lambda ch: ch != "%")


def sql_literal(value: str) -> str:
    """A standard SQL string literal (standard_conforming_strings is on in every supported PostgreSQL)."""
    if "\x00" in value:
        raise ValueError("NUL cannot appear in an SQL literal")
    return "'" + value.replace("'", "''") + "'"


def _char_sql(ch: str) -> str:
    return f"chr({ord(ch)})" if ch in "%'\\" else f"'{ch}'"


def _replace_all(expr: str, chars: list[str]) -> str:
    for ch in chars:
        expr = f"replace({expr}, {_char_sql(ch)}, {_PCT} || '{ord(ch):02X}')"
    return expr


def urlencode_sql(expr: str) -> str:
    """SQL text percent-encoding the text expression ``expr`` (NULL stays NULL). ``expr`` is repeated:
    pass a column reference or another cheap, deterministic expression."""
    simple = _replace_all(expr, ["%", ":", "/", "?"])
    printable = _replace_all(expr, _RESERVED)
    by_char = (
        "(SELECT string_agg(CASE WHEN ch ~ '^[A-Za-z0-9._~-]$' THEN ch "
        f"ELSE regexp_replace(upper(encode(convert_to(ch, 'UTF8'), 'hex')), '(..)', {_PCT} || '\\1', 'g') "
        f"END, '' ORDER BY n) FROM unnest(string_to_array({expr}, NULL)) WITH ORDINALITY AS dl_chars(ch, n))"
    )
    return (f"(CASE WHEN {expr} !~ '{_SIMPLE}' THEN {simple} "
            f"WHEN {expr} ~ '{_PRINTABLE}' THEN {printable} ELSE {by_char} END)")


def links_url_sql(did_expr: str, base_url: str) -> str:
    """SQL text for ``'<base>/datalink/links?ID=' || <percent-encoded did_expr>`` (NULL when the DID is
    NULL; the empty string gives the URL with an empty ID)."""
    pieces = f"{base_url.rstrip('/')}{LINKS_PATH}?ID=".split("%")
    prefix = f" || {_PCT} || ".join(sql_literal(piece) for piece in pieces)
    return f"({prefix} || {urlencode_sql(did_expr)})"


@lru_cache(maxsize=64)
def _links_url_text(did_sql: str, base_url: str) -> str:
    return links_url_sql(did_sql, base_url)


def links_url_node(did: exp.Expr, base_url: str) -> exp.Expr:
    """:func:`links_url_sql` as a sqlglot (PostgreSQL) expression around the expression ``did`` (for the
    ADQL translator, which builds its SQL as sqlglot trees).

    The node is the SQL text itself (a verbatim ``Var`` in parentheses), not a parsed tree: the
    expression has about 260 nodes, and copying such a tree and generating its SQL for every query
    that selects ``access_url`` cost a cone search more than the rest of its translation (about 15 ms
    under load). ``did`` is rendered once with the translator's PostgreSQL dialect; the caller's node
    is left alone. Nothing after the translation looks inside the expression (no column rewriting).
    """
    return exp.Paren(this=exp.Var(this=_links_url_text(to_sql(did), base_url)))


@dataclass(frozen=True)
class LinksUrlRewrite:
    """The ADQL translator's rewrite of ``access_url``: the {links} URL of the row's publisher DID
    (hashable, so that translations stay cached per base URL)."""

    base_url: str

    def __call__(self, column: Callable[[str], exp.Expr]) -> exp.Expr:
        return links_url_node(column("obs_publisher_did"), self.base_url)


def obscore_rewrites(base_url: str) -> dict[str, ColumnRewrite]:
    """The column rewrites of ObsCore for ``translate()``: ``access_url`` built from ``base_url``."""
    return {ACCESS_URL: LinksUrlRewrite(base_url)}
