"""Identifiers survive every PROV serialisation: stored id -> qualified name -> PROV-JSON/N/XML -> stored id."""

from __future__ import annotations

import warnings

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prov.model import ProvDocument

from tapserver.provenance.identifiers import LOCAL_NAMESPACE, Namespaces, identifier_of, split_iri, to_iri

pytestmark = pytest.mark.nodb

TEXT = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=40)
IRI_LIKE = st.builds(lambda scheme, rest: f"{scheme}:{rest}",
                     st.sampled_from(["ivo", "file", "urn", "http", "x-y.z+w"]), TEXT)


def round_trip(identifier: str, fmt: str) -> str:
    names = Namespaces()
    qname = names.qname(identifier)
    document = ProvDocument()
    for prefix, uri in names.declarations().items():
        document.add_namespace(prefix, uri)
    document.entity(qname)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parsed = ProvDocument.deserialize(content=document.serialize(format=fmt), format=fmt)
    (record,) = parsed.get_records()
    return identifier_of(record.identifier.uri)


@settings(max_examples=200, deadline=None)
@given(identifier=st.one_of(TEXT, IRI_LIKE), fmt=st.sampled_from(["json", "xml", "provn"]))
def test_any_identifier_round_trips(identifier: str, fmt: str) -> None:
    # an IRI comes back as the IRI it denotes (characters an IRI cannot hold percent-encoded), anything else as is
    assert round_trip(identifier, fmt) == identifier_of(to_iri(identifier))
    if "%" not in identifier and to_iri(identifier) == identifier:
        assert round_trip(identifier, fmt) == identifier


@pytest.mark.parametrize(("identifier", "qname", "namespace"), [
    ("ivo://tapserver.example/hess-dr1?20136", "ivo:hess-dr1?20136", "ivo://tapserver.example/"),
    ("urn:uuid:6f1c1a35-8a0e-4a53-9f0e-1f0d3c7a2b11", "urn:6f1c1a35-8a0e-4a53-9f0e-1f0d3c7a2b11", "urn:uuid:"),
    ("file:///data/dl3/run_1.fits.gz#sha256:ab", "file:run_1.fits.gz#sha256:ab", "file:///data/dl3/"),
    ("tapserver ingest/0.1.0", "local:tapserver%20ingest%2F0.1.0", LOCAL_NAMESPACE),
    ("http://x/dir/", "http:dir/", "http://x/"),
])
def test_readable_qualified_names(identifier: str, qname: str, namespace: str) -> None:
    names = Namespaces()
    assert names.qname(identifier) == qname
    assert namespace in names.declarations().values()


def test_prefixes_are_numbered_per_scheme() -> None:
    names = Namespaces()
    assert [names.qname(i) for i in ("urn:a:x", "urn:b:y", "urn:a:z")] == ["urn:x", "urn2:y", "urn:z"]
    assert split_iri("urn:b:y") == ("urn:b:", "y")
