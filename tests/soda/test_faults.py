"""Bad cutout requests give DALI error documents with 400/401/403/404, never a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.gadf.archive import Archive

VOTABLE = "application/x-votable+xml"


def _fault(archive: Archive, params: dict[str, str] | list[tuple[str, str]], method: str = "GET") -> tuple[int, str]:
    if method == "GET":
        response = archive.client.get("/soda/sync", params=params)
    else:
        response = archive.client.post("/soda/sync", data=params)
    assert response.headers["content-type"].startswith(VOTABLE), response.headers["content-type"]
    assert 'QUERY_STATUS" value="ERROR"' in response.text
    return response.status_code, response.text


@pytest.mark.parametrize(("params", "status", "words"), [
    ({"ID": "ivo://nowhere/x?1", "CIRCLE": "83 22 1"}, 404, "not a dataset"),
    ({"ID": " ", "CIRCLE": "83 22 1"}, 400, "exactly one ID"),
    ({"CIRCLE": "83 22"}, 400, "3 numbers"),
    ({"CIRCLE": "83 22 -1"}, 400, "radius"),
    ({"CIRCLE": "83 95 1"}, 400, "not a position"),
    ({"CIRCLE": "a b c"}, 400, "numbers"),
    ({"CIRCLE": "83 nan 1"}, 400, "NaN"),
    ({"POS": "BOX 83 22 1 1"}, 400, "not supported"),
    ({"POS": "RANGE 83 84 22"}, 400, "4 numbers"),
    ({"POS": "RANGE 83 84 23 22"}, 400, "inverted"),
    ({"POS": "POLYGON 83 22 84 22"}, 400, "polygon"),
    ({"POS": "CIRCLE 83 22 1", "CIRCLE": "83 22 1"}, 400, "one spatial cut"),
    ({"POLYGON": "83 22 84 23 84 22 83 23"}, 400, "spherical"),
    ({"TIME": "53344 53343"}, 400, "inverted"),
    ({"TIME": "53343"}, 400, "two numbers"),
    ({"TIME": "60000 60001"}, 400, "NoOverlap"),
    ({"ENERGY": "10 1"}, 400, "inverted"),
    ({"ENERGY": "1000 2000"}, 400, "NoOverlap"),
    ({"BAND": "1e-18 1e-19"}, 400, "inverted"),
    ({"BAND": "1e-18 2e-18", "ENERGY": "1 2"}, 400, "not both"),
    ({"CIRCLE": "200 -60 1"}, 400, "NoOverlap"),
])
def test_bad_parameters(archive: Archive, params: dict[str, str], status: int, words: str) -> None:
    code, text = _fault(archive, {"ID": archive.did("HESS-DR1", "23523"), **params})
    assert code == status, text
    assert words.lower() in text.lower()


def test_two_ids_and_post(archive: Archive) -> None:
    did = archive.did("HESS-DR1", "23523")
    code, _ = _fault(archive, [("ID", did), ("ID", did)])
    assert code == 400
    code, text = _fault(archive, {"ID": did, "TIME": "1 0"}, method="POST")
    assert code == 400 and "inverted" in text


def test_restricted_dataset_is_refused(archive: Archive) -> None:
    did = archive.did("MAGIC", "5029748")
    archive.rows("UPDATE ivoa.obscore SET data_rights = 'proprietary', obs_release_date = NULL "
                 "WHERE obs_publisher_did = %s RETURNING 1", did)
    try:
        code, text = _fault(archive, {"ID": did, "CIRCLE": "83.6 22.0 1"})
        assert code in (401, 403), text
        assert "not public" in text
    finally:
        archive.rows("UPDATE ivoa.obscore SET data_rights = 'public' WHERE obs_publisher_did = %s RETURNING 1", did)


_NUMBER = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
                    st.integers(-400, 400).map(str), st.sampled_from(["-Inf", "+Inf", "NaN", "1e309", "", "x"]))
_WORDS = st.lists(_NUMBER, min_size=0, max_size=9).map(" ".join)
_VALUES = st.fixed_dictionaries({}, optional={
    "POS": st.tuples(st.sampled_from(["CIRCLE", "RANGE", "POLYGON", "BOX", "circle", ""]), _WORDS).map(" ".join),
    "CIRCLE": _WORDS, "POLYGON": _WORDS, "TIME": _WORDS, "BAND": _WORDS, "ENERGY": _WORDS,
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=_VALUES)
def test_random_parameters_never_give_a_500(archive: Archive, params: dict[str, str]) -> None:
    response = archive.client.get("/soda/sync", params={"ID": archive.did("FACT", "20131103103"), **params})
    assert response.status_code in (200, 400), (params, response.text[:500])
    if response.status_code == 200:
        assert response.content[:6] == b"SIMPLE"
