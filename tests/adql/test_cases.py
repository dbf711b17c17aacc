"""The ADQL corpus on the real database: each translation, run as the query role, gives the reference result."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection

from tapserver.adql import translate
from tests.adql.cases import CASES, Case
from tests.adql.compare import assert_same_rows, check_metadata, run
from tests.adql.conftest import AdqlDatabase


def test_corpus_is_large_and_distinct() -> None:
    assert len(CASES) >= 250
    assert len({c.adql for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(case: Case, adql_db: AdqlDatabase, reader_conn: Connection) -> None:
    translation = translate(case.adql, adql_db.catalog)
    rows, description = run(reader_conn, translation.sql)
    check_metadata(description, translation.columns)
    expected, _ = run(reader_conn, case.reference)
    assert_same_rows(rows, expected, case.ordered)
