"""access_url at output time: the SQL expression gives exactly the URL Python builds, as the query role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool
from sqlglot import exp

from tapserver.datalink.model import links_url
from tapserver.datalink.obscore import links_url_node, links_url_sql, sql_literal, urlencode_sql
from tests.datalink.conftest import World

DIDS = [
    "ivo://tapserver.example/hess-dr1?23523",
    "ivo://tapserver.example/joint%20crab/fact?20131103_103",  # % must become %25
    "ivo://a.b/c?obs id with spaces&x=y#frag+plus",
    "ivo://a.b/c?naïve-日本-𝄞",  # 2-, 3- and 4-byte UTF-8
    "ivo://a.b/c?quote'and\"double",
    "ivo://a.b/c?semi;colon,comma=eq@at!bang$dollar(paren)*star",
    "ivo://a.b/c?tab\tnewline\nbackslash\\",
    "A-Z_a.z~0-9",
    "",
]


@pytest.fixture(scope="module")
def reader(world: World) -> Iterator[Engine]:
    engine = create_engine(world.settings.query_url, poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.mark.parametrize("base", ["http://testserver", "https://archive.example.org/tap-root/", "http://h/o'q",
                                  "http://h:8000/a%20b"])
def test_sql_matches_python(reader: Engine, base: str) -> None:
    # executed with a bound parameter: the expression must not trip the driver's placeholder syntax
    sql = text(f"SELECT {links_url_sql('t.did', base)} FROM unnest(CAST(:dids AS text[])) WITH ORDINALITY "
               "AS t(did, n) ORDER BY t.n")
    with reader.connect() as conn:
        got = conn.execute(sql, {"dids": DIDS}).scalars().all()
    assert got == [links_url(base.rstrip("/"), d) for d in DIDS]


def test_null_did_gives_null(reader: Engine) -> None:
    with reader.connect() as conn:
        value = conn.exec_driver_sql(f"SELECT {links_url_sql('NULL::text', 'http://h')}").scalar()
    assert value is None


def test_works_on_obscore_rows_as_the_query_role(reader: Engine) -> None:
    with reader.connect() as conn:
        rows = conn.execute(text(
            f"SELECT obs_publisher_did, {links_url_sql('o.obs_publisher_did', 'http://moved.example')} "
            "FROM ivoa.obscore AS o")).all()
    assert rows
    for did, url in rows:
        assert url == links_url("http://moved.example", did)


def test_urlencode_sql_alone(reader: Engine) -> None:
    with reader.connect() as conn:
        value = conn.exec_driver_sql(f"SELECT {urlencode_sql(sql_literal('a b/ü'))}").scalar()
    assert value == "a%20b%2F%C3%BC"


def test_estimated_cost_does_not_call_in_the_jit(reader: Engine) -> None:
    """A subplan that looks costly would make PostgreSQL JIT-compile every large ObsCore query."""
    rows = "(SELECT 'ivo://a.b/c?' || g AS did FROM generate_series(1, 100000) AS g) AS t"
    with reader.connect() as conn:
        plain: Any = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) SELECT t.did FROM {rows}").scalar()
        url: Any = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) SELECT {links_url_sql('t.did', 'http://h')} "
                                        f"FROM {rows}").scalar()
        jit_above = float(conn.exec_driver_sql("SHOW jit_above_cost").scalar_one())
    added = url[0]["Plan"]["Total Cost"] - plain[0]["Plan"]["Total Cost"]
    assert added / 100_000 < 1.0  # per row; a generate_series subplan was estimated at ~157
    assert url[0]["Plan"]["Total Cost"] < jit_above


def test_no_percent_sign_in_the_sql() -> None:
    sql = links_url_sql("o.obs_publisher_did", "http://h:8000/a%20b")
    assert "%" not in sql  # safe through layers that read "%" as a placeholder


def test_sql_literal_refuses_nul() -> None:
    with pytest.raises(ValueError):
        sql_literal("a\x00b")


def test_sqlglot_node_gives_the_same_urls(reader: Engine) -> None:
    did = exp.column("did", table="t")
    node = links_url_node(did, "http://h:8000/root")
    assert did.sql() == "t.did"  # the caller's node is copied, not moved
    sql = (f"SELECT {node.sql(dialect='postgres')} FROM unnest(%s::text[]) WITH ORDINALITY AS t(did, n) "
           "ORDER BY t.n")
    with reader.connect() as conn:
        raw = conn.connection.driver_connection
        assert raw is not None
        got = [row[0] for row in raw.execute(sql, (DIDS,)).fetchall()]
    assert got == [links_url("http://h:8000/root", d) for d in DIDS]
    # a second base URL gets its own template; the first is unchanged
    other = links_url_node(did, "https://elsewhere").sql(dialect="postgres")
    assert "https://elsewhere/datalink/links?ID=" in other and "h:8000" not in other
