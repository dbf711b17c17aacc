"""Fuzzing: schemathesis cases from /api/openapi.json, and random DALI parameters on /tap/sync: never a 500.

Most TAP endpoints read their (case-insensitive) DALI parameters themselves, so the OpenAPI document declares
few of them; the second test sends hypothesis-generated parameters to the sync endpoint directly.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

EXAMPLES = 6


@pytest.fixture(scope="module")
def fuzz_app(fuzz_client: TestClient) -> FastAPI:
    app: FastAPI = fuzz_client.app  # type: ignore[assignment]
    return app


def test_openapi_operations_never_fail_with_500(fuzz_app: FastAPI) -> None:
    """Every operation of the OpenAPI document (bar /files, which serves archive files and has its own
    security tests), EXAMPLES generated cases each, sent in-process to the running app."""
    # The schemathesis pytest plugin (from_fixture) does not work with pytest 9: drive hypothesis here.
    # (Imported here: every pytest-xdist worker imports this module to collect it; one runs this test.)
    import schemathesis
    from schemathesis.python import asgi

    api = schemathesis.openapi.from_asgi("/api/openapi.json", fuzz_app)
    operations = [result.ok() for result in api.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 30
    tested, statuses = 0, []
    try:
        for operation in operations:
            if operation.path.startswith("/files/"):
                continue

            @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy())
            def check(case: Any) -> None:
                response = case.call()
                statuses.append(response.status_code)
                assert response.status_code < 500, f"{case.method} {case.formatted_path} {case.query}: " \
                    f"{response.status_code} {response.text[:300]}"

            check()
            tested += 1
    finally:
        # schemathesis's ASGI transport runs the app's lifespan (job events, caches) for its calls; without its
        # pytest plugin nothing ends it before the interpreter exits, long after this database is dropped.
        asgi.shutdown_lifespans()
    assert tested >= 30
    assert statuses.count(200) >= 10 and len(statuses) >= tested, sorted(set(statuses))  # the app answered


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
_ADQL = st.one_of(
    _TEXT,
    st.sampled_from([
        "SELECT TOP 2 * FROM tap_schema.tables", "SELECT", "SELECT 1/0 AS x FROM tap_schema.schemas",
        "SELECT TOP 1 POINT('ICRS', 10, 20) AS p FROM tap_schema.schemas",
        "SELECT * FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 1, 2, 3)) = 1",
        "SELECT TOP -1 * FROM tap_schema.tables", "SELECT ' FROM x", "SELECT TOP 99999999999999999999 1 AS x",
    ]),
    st.builds(lambda col, tab: f"SELECT {col} FROM {tab}", _TEXT, st.sampled_from(["tap_schema.tables",
                                                                                  "ivoa.obscore", "nope"])),
)
_PARAMS = st.fixed_dictionaries(
    {"QUERY": _ADQL},
    optional={
        "LANG": st.sampled_from(["ADQL", "ADQL-2.0", "adql", "SQL", ""]),
        "REQUEST": st.sampled_from(["doQuery", "getCapabilities", "x"]),
        "MAXREC": st.one_of(st.integers(-5, 10**12).map(str), _TEXT),
        "FORMAT": st.one_of(st.sampled_from(["votable", "csv", "tsv", "fits", "json", "parquet",
                                             "votable/td", "text/html"]), _TEXT),
        "RESPONSEFORMAT": _TEXT,
        "UPLOAD": _TEXT,
        "RUNID": _TEXT,
    },
)


@settings(max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
@given(params=_PARAMS, post=st.booleans())
def test_sync_parameters_never_fail_with_500(fuzz_client: TestClient, params: dict[str, str], post: bool) -> None:
    response = fuzz_client.post("/tap/sync", data=params) if post else fuzz_client.get("/tap/sync", params=params)
    assert response.status_code < 500, (params, response.status_code, response.text[:500])
