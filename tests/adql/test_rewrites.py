"""Column rewrites given to translate(): the caller (the TAP service with DataLink) decides which stored
columns are replaced at output time, the ADQL engine only applies them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlglot import exp

from tapserver.adql import ColumnRewrite, translate
from tapserver.adql.dialect import to_sql
from tapserver.catalog import Table, col, declared_catalog
from tapserver.datalink.obscore import obscore_rewrites

pytestmark = pytest.mark.nodb

CATALOG = declared_catalog()
UPLOAD = Table(schema="pg_temp", name="up_t", description="an upload", columns=(col("access_url", "text", "URL"),
                                                                 col("obs_publisher_did", "text", "DID")))


@dataclass(frozen=True)
class Tagged:
    """Replaces a column by '<tag>' || <the row's obs_publisher_did>."""

    tag: str

    def __call__(self, column: Callable[[str], exp.Expr]) -> exp.Expr:
        return exp.Paren(this=exp.Var(this=f"'{self.tag}' || {to_sql(column('obs_publisher_did'))}"))


REWRITE = {"ivoa.obscore.access_url": Tagged("R1")}


@pytest.mark.parametrize(("adql", "rewrites", "present", "absent"), [
    # no rewrite: the stored column
    ("SELECT access_url FROM ivoa.obscore", None, ["access_url"], ["'R1'"]),
    # the rewrite, on the row's DID, under the column's name
    ("SELECT access_url FROM ivoa.obscore", REWRITE, ["'R1' || ", "obs_publisher_did", "AS access_url"], []),
    ("SELECT o.access_url FROM ivoa.obscore AS o", REWRITE, ["'R1' || o.obs_publisher_did"], []),
    # names are matched case-insensitively, as ADQL reads them
    ("SELECT ACCESS_URL FROM IVOA.ObsCore", {"IVOA.ObsCore.Access_URL": Tagged("R1")}, ["'R1' || "], []),
    # in a condition too: the value is the rewritten one wherever the column is used
    ("SELECT obs_id FROM ivoa.obscore WHERE access_url LIKE 'x%'", REWRITE, ["'R1' || "], []),
    # another table's column of the same name is left alone
    ("SELECT access_url FROM TAP_UPLOAD.t", REWRITE, ["access_url"], ["'R1'"]),
    # another column of the same table is left alone
    ("SELECT obs_id FROM ivoa.obscore", REWRITE, ["obs_id"], ["'R1'"]),
    # the DataLink rewrite the TAP service gives
    ("SELECT access_url FROM ivoa.obscore", obscore_rewrites("http://h:1/x"), ["'http://h:1/x/datalink/links?ID='"],
     []),
])
def test_rewrites(adql: str, rewrites: dict[str, ColumnRewrite] | None, present: list[str],
                  absent: list[str]) -> None:
    sql = translate(adql, CATALOG, rewrites=rewrites, uploads={"t": UPLOAD}).sql
    for text in present:
        assert text in sql, (text, sql)
    for text in absent:
        assert text not in sql, (text, sql)


def test_translations_are_cached_per_rewrite() -> None:
    adql = "SELECT TOP 3 access_url FROM ivoa.obscore WHERE obs_id = 'cache-per-rewrite'"
    first = translate(adql, CATALOG, rewrites={"ivoa.obscore.access_url": Tagged("A")})
    assert translate(adql, CATALOG, rewrites={"ivoa.obscore.access_url": Tagged("A")}) is first  # equal hook
    other = translate(adql, CATALOG, rewrites={"ivoa.obscore.access_url": Tagged("B")})
    plain = translate(adql, CATALOG)
    assert "'A' || " in first.sql and "'B' || " in other.sql and "'A'" not in plain.sql and "'B'" not in plain.sql
    assert translate(adql, CATALOG, rewrites=obscore_rewrites("http://a")) is translate(
        adql, CATALOG, rewrites=obscore_rewrites("http://a"))
