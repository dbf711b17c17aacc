"""RESPONSEFORMAT resolution: aliases, MIME types (case-insensitive parameters), Content-Type echo."""

from __future__ import annotations

import pytest

from tapserver.errors import UsageFault
from tapserver.formats import DEFAULT_FORMAT, FORMATS, find_format

pytestmark = pytest.mark.nodb


@pytest.mark.parametrize(
    ("value", "name", "content_type"),
    [
        (None, "votable", "application/x-votable+xml"),
        ("", "votable", "application/x-votable+xml"),
        ("votable", "votable", "application/x-votable+xml"),
        ("VOTable", "votable", "application/x-votable+xml"),
        ("votable/b2", "votable", "application/x-votable+xml"),
        ("votable/td", "votable-td", "application/x-votable+xml;serialization=TABLEDATA"),
        ("votable/b", "votable-binary", "application/x-votable+xml;serialization=BINARY"),
        ("csv", "csv", "text/csv;header=present"),
        ("tsv", "tsv", "text/tab-separated-values"),
        ("fits", "fits", "application/fits"),
        ("parquet", "parquet", "application/vnd.apache.parquet"),
        ("application/x-votable+xml", "votable", "application/x-votable+xml"),
        ("application/x-votable+xml;serialization=TABLEDATA", "votable-td",
         "application/x-votable+xml;serialization=TABLEDATA"),
        ("application/x-votable+xml; serialization=tabledata", "votable-td",
         "application/x-votable+xml; serialization=tabledata"),
        ('Application/X-VOTable+XML;Serialization="BINARY2"', "votable",
         'Application/X-VOTable+XML;Serialization="BINARY2"'),
        ("application/x-votable+xml;serialization=BINARY", "votable-binary",
         "application/x-votable+xml;serialization=BINARY"),
        ("application/x-votable+xml;charset=UTF-8", "votable", "application/x-votable+xml;charset=UTF-8"),
        ("text/xml", "votable", "text/xml"),
        ("text/csv", "csv", "text/csv"),
        ("text/csv;header=present", "csv", "text/csv;header=present"),
        ("text/tab-separated-values", "tsv", "text/tab-separated-values"),
        ("application/fits", "fits", "application/fits"),
        ("application/vnd.apache.parquet", "parquet", "application/vnd.apache.parquet"),
    ],
)
def test_find_format(value: str | None, name: str, content_type: str) -> None:
    fmt = find_format(value)
    assert fmt.name == name
    assert fmt.content_type == content_type


def test_csv_header_absent() -> None:
    assert find_format("text/csv;header=absent").header is False
    assert find_format("text/csv").header is True


@pytest.mark.parametrize("value", ["xml", "text/html", "application/x-votable+xml;serialization=FITS",
                                   "application/x-votable+xml;charset=latin-1", "text/csv;header=maybe",
                                   "application/x-votable+xml;serialization", "votable/fits"])
def test_unknown_formats(value: str) -> None:
    with pytest.raises(UsageFault):
        find_format(value)


def test_registry_for_capabilities() -> None:
    assert DEFAULT_FORMAT.name == "votable"
    assert len({f.mime for f in FORMATS}) == len(FORMATS)
    ids = {f.name: f.ivo_id for f in FORMATS}
    assert ids["votable"] == "ivo://ivoa.net/std/TAPRegExt#output-votable-binary2"
    assert ids["votable-td"] == "ivo://ivoa.net/std/TAPRegExt#output-votable-td"
    assert ids["votable-binary"] == "ivo://ivoa.net/std/TAPRegExt#output-votable-binary"
    for fmt in FORMATS:
        assert fmt.label and fmt.extension and fmt.aliases
        assert find_format(fmt.mime).name == fmt.name
        for alias in fmt.aliases:
            assert find_format(alias).name == fmt.name
