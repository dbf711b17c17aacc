"""Keyword coercion (dl3-formats.md §8.7-8.9) and the small mapping rules, on hand-made headers."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.errors import IngestError
from ingest.headers import Cards
from ingest.keywords import Keywords, obs_id_text
from ingest.mapping import normalise_authority, publisher_did

pytestmark = pytest.mark.nodb


def _cards(*cards: str) -> Cards:
    raw = "".join(card.ljust(80) for card in [*cards, "END"])
    return Cards.parse(raw.encode())


@pytest.mark.parametrize(("value", "expected"), [
    (20131103103, "20131103103"), (np.int64(54809), "54809"), ("000001", "1"), ("111630", "111630"),
    (5029747.0, "5029747"), (b"5029747 ", "5029747"), ("chunks 103 - 133", "chunks 103 - 133"),
    ("", None), (None, None), (True, None), (1.5, None),
])
def test_obs_id_text(value: object, expected: str | None) -> None:
    assert obs_id_text(value) == expected


def test_numbers_strings_and_placeholders() -> None:
    kw = Keywords("f.fits", "EVENTS", _cards(
        "EQUINOX = '2000.0  '", "GEOLON  = '16.5002222222222'", "MUONEFF = 'n/a     '",
        "N_TELS  =                    4", "OBSERVER= 'string  '", "OBJECT  = '        '",
        "DEADC   =                    1", "ODD     =                  2.5", "FLAG    =                    T",
    ), fallback={"ALT_PNT": np.float32(64.34), "OBJECT": b"Crab"})
    assert kw.number("EQUINOX") == 2000.0 and kw.number("GEOLON") == pytest.approx(16.5002222222222)
    assert kw.number("DEADC") == 1.0 and kw.integer("N_TELS") == 4
    assert kw.number("MUONEFF") is None and "keyword MUONEFF: not a number" in kw.warnings[-1]
    assert kw.integer("ODD") is None and "not an integer" in kw.warnings[-1]
    assert kw.number("FLAG") is None
    assert kw.text("OBSERVER") is None  # placeholder
    assert kw.text("OBJECT") == "Crab"  # blank in the header: the obs-index row fills in
    assert kw.number("ALT_PNT") == pytest.approx(64.34, rel=1e-7)
    assert kw.number("ABSENT") is None and kw.text("ABSENT") is None


def test_required_keywords_name_hdu_and_keyword() -> None:
    kw = Keywords("f.fits", "EVENTS", _cards("TSTART  = 'soon    '"))
    with pytest.raises(IngestError) as missing:
        kw.required("TSTOP")
    assert str(missing.value) == "f.fits: HDU EVENTS: keyword TSTOP: missing (required)"
    with pytest.raises(IngestError) as unreadable:
        kw.required("TSTART")
    assert str(unreadable.value) == "f.fits: HDU EVENTS: keyword TSTART: not a number: 'soon'"


def test_duplicated_keyword() -> None:
    kw = Keywords("f.fits", "EVENTS", _cards("TELLIST = 'MAGIC-I,MAGIC-II'", "TELLIST = '2       '"))
    assert kw.text("TELLIST") == "MAGIC-I,MAGIC-II" and kw.all_values("TELLIST") == ["MAGIC-I,MAGIC-II", "2"]


def test_publisher_did() -> None:
    assert normalise_authority("example.org/") == "ivo://example.org"
    assert normalise_authority("ivo://example.org") == "ivo://example.org"
    assert publisher_did("ivo://example.org", "MAGIC/joint-crab", "5029747") == \
        "ivo://example.org/MAGIC/joint-crab?5029747"
    assert publisher_did("ivo://example.org", "HAWC pass 4", "chunks 103 - 133") == \
        "ivo://example.org/HAWC%20pass%204?chunks%20103%20-%20133"
