"""Fuzzing: whatever the text, translate() either succeeds or raises a UsageFault."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tapserver.adql import translate
from tapserver.catalog import declared_catalog
from tapserver.errors import UsageFault
from tests.adql.cases import CASES

pytestmark = pytest.mark.nodb

CATALOG = declared_catalog()

VOCABULARY = [
    "SELECT", "TOP", "5", "DISTINCT", "*", "FROM", "ivoa.obscore", "obsconfig.obsconfig", "o", "c", "AS",
    "WHERE", "AND", "OR", "NOT", "(", ")", ",", ".", "=", "<>", "<", ">", "<=", ">=", "+", "-", "/", "||",
    "s_ra", "s_dec", "obs_id", "s_region", "t_min", "o.s_ra", "c.n_tels", "target_name", '"size"', "1", "2.5",
    "1e3", "'ICRS'", "'Crab%'", "''", "NULL", "IS", "IN", "BETWEEN", "LIKE", "ILIKE", "EXISTS", "JOIN", "ON",
    "LEFT", "OUTER", "NATURAL", "USING", "CROSS", "GROUP BY", "HAVING", "ORDER BY", "ASC", "DESC", "OFFSET",
    "UNION", "ALL", "INTERSECT", "EXCEPT", "WITH", "CASE", "WHEN", "THEN", "ELSE", "END", "CAST", "INTEGER",
    "DOUBLE PRECISION", "VARCHAR(3)", "COUNT", "SUM", "AVG", "MIN", "MAX", "POINT", "CIRCLE", "POLYGON", "BOX",
    "REGION", "CONTAINS", "INTERSECTS", "DISTANCE", "AREA", "CENTROID", "COORD1", "COORD2", "COORDSYS",
    "IN_UNIT", "'deg'", "ROUND", "TRUNCATE", "MOD", "RAND", "LOG", "COALESCE", "NULLIF", "GREATEST", "LOWER",
    "ivo_hasword", "ivo_string_agg", ";", "--", "\n", "TAP_UPLOAD.t", "pg_sleep", "'\\'", "\"\"", "0x1",
]


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=40))
def test_token_soup(words: list[str]) -> None:
    _check(" ".join(words))


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(max_size=200))
def test_random_text(text: str) -> None:
    _check(text)
    _check("SELECT " + text + " FROM ivoa.obscore")


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(CASES), st.data())
def test_mutated_corpus(case: object, data: st.DataObject) -> None:
    words = case.adql.split()  # type: ignore[attr-defined]
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        position = data.draw(st.integers(min_value=0, max_value=len(words)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace", "swap"]))
        if action == "insert":
            words.insert(position, data.draw(st.sampled_from(VOCABULARY)))
        elif words and position < len(words):
            if action == "delete":
                del words[position]
            elif action == "replace":
                words[position] = data.draw(st.sampled_from(VOCABULARY))
            elif position + 1 < len(words):
                words[position], words[position + 1] = words[position + 1], words[position]
    _check(" ".join(words))


def _check(text: str) -> None:
    try:
        translation = translate(text, CATALOG, maxrec=10)
    except UsageFault as fault:
        assert str(fault)
    else:
        assert translation.sql.startswith(("SELECT", "WITH", "(")), translation.sql
