"""The /tables document is rendered once per catalog and row counts, and the last eight are kept."""

from __future__ import annotations

import pytest

from tapserver.catalog import Catalog, declared_catalog
from tapserver.vosi.tables import render_tableset

pytestmark = pytest.mark.nodb


def test_same_catalog_and_counts_give_the_same_bytes() -> None:
    catalog = declared_catalog()
    first = render_tableset(catalog, nrows={"ivoa.obscore": 5})
    assert render_tableset(catalog, nrows={"ivoa.obscore": 5}) is first
    assert render_tableset(catalog, nrows={"ivoa.obscore": 6}) is not first
    assert render_tableset(catalog, detail=False, nrows={"ivoa.obscore": 5}) is not first
    other = Catalog(catalog.schemas)
    assert render_tableset(other, nrows={"ivoa.obscore": 5}) == first
    assert render_tableset(other, nrows={"ivoa.obscore": 5}) is not first


def test_the_least_recently_used_document_is_dropped() -> None:
    catalog = declared_catalog()
    docs = {n: render_tableset(catalog, nrows={"ivoa.obscore": n}) for n in range(8)}  # eight kept
    assert render_tableset(catalog, nrows={"ivoa.obscore": 0}) is docs[0]  # used again: the most recent
    render_tableset(catalog, nrows={"ivoa.obscore": 8})  # a ninth drops the least recently used: 1
    assert render_tableset(catalog, nrows={"ivoa.obscore": 2}) is docs[2]
    assert render_tableset(catalog, nrows={"ivoa.obscore": 0}) is docs[0]
    again = render_tableset(catalog, nrows={"ivoa.obscore": 1})
    assert again is not docs[1] and again == docs[1]
