"""The {links} service: for each dataset identifier, the rows of its DataLink table.

Per dataset, in this order: its products as recorded at ingest (``#this`` for the event file,
``#calibration`` for the IRFs, ``#auxiliary`` for GTI and pointing, ...), then links to the ProvSAP
record of the dataset (PROV-JSON, an SVG graph, and a service descriptor to ask ProvSAP for other
depths, directions and formats), all ``#progenitor``: the record describes what the dataset was made
from. (The current vocabulary also has ``#documentation``, but STILTS 3.4.7's datalinklint knows only
the DataLink 1.0 terms and reports it as an error; :data:`GRAPH_SEMANTICS` is the switch.)
An unknown identifier gives one ``#this`` row with a ``NotFoundFault`` error message (DataLink §3.2).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tapserver.datalink.model import (
    PROVSAP_PATH,
    LinkRow,
    LinksResult,
    Product,
    file_url,
    percent_encode,
)
from tapserver.datalink.rights import Access, AccessPolicy, decide, is_restricted, utcnow
from tapserver.datalink.storage import DatasetProducts, ProductStore

#: Most identifiers handled in one request; more are dropped and the response marked OVERFLOW.
MAX_IDS = 1000
#: XML ID of the ProvSAP service descriptor in links documents.
PROVSAP_DESCRIPTOR_ID = "provsap"
#: XML IDs of the SODA cutout and GADF data-store descriptors.
SODA_DESCRIPTOR_ID = "soda"
GADF_DESCRIPTOR_ID = "gadf"
#: A standalone descriptor (no link row refers to it): the same bundle as an async job.
GADF_ASYNC_DESCRIPTOR_ID = "gadf-async"


@dataclass(frozen=True)
class ProvenanceLink:
    """A direct link to the ProvSAP record of a dataset in one serialisation."""

    semantics: str
    response_format: str
    content_type: str
    description: str
    local_semantics: str


#: Semantics of the provenance graph link (``#documentation`` once validators know DataLink 1.1 terms).
GRAPH_SEMANTICS = "#progenitor"

PROVENANCE_LINKS = (
    ProvenanceLink("#progenitor", "PROV-JSON", "application/json",
                   "Provenance of this dataset: the activities and files it was derived from (PROV-JSON)",
                   "provenance"),
    ProvenanceLink(GRAPH_SEMANTICS, "PROV-SVG", "image/svg+xml",
                   "Provenance graph of this dataset (SVG)", "provenance-graph"),
)


def provsap_url(base_url: str, did: str, response_format: str) -> str:
    """The ProvSAP record of a dataset: its whole history (DEPTH=ALL, DIRECTION=BACK) in one format."""
    return (f"{base_url}{PROVSAP_PATH}?ID={percent_encode(did)}&DEPTH=ALL&DIRECTION=BACK"
            f"&RESPONSEFORMAT={percent_encode(response_format)}")


def vocabulary_term(value: str | None) -> str | None:
    """A term of an IVOA vocabulary as DataLink wants it: ``#term`` for the default vocabulary, or a
    full URI; a bare term (``event``) is made relative (``#event``)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.startswith("#") or ":" in value:
        return value
    return "#" + value


class LinksService:
    """Builds links tables from the products written at ingest. No HTTP in here."""

    def __init__(self, store: ProductStore, base_url: str, policy: AccessPolicy, *, max_ids: int = MAX_IDS,
                 clock: Callable[[], datetime] = utcnow) -> None:
        if max_ids < 1:
            raise ValueError("max_ids must be positive")
        self.store = store
        self.base_url = base_url.rstrip("/")
        self.policy = policy
        self.max_ids = max_ids
        self.clock = clock

    def links(self, ids: Sequence[str], caller: str | None) -> LinksResult:
        """The links of ``ids`` (duplicates and blank values dropped, order kept) for ``caller``."""
        unique = list(dict.fromkeys(i for i in ids if i.strip()))
        overflow = len(unique) > self.max_ids
        unique = unique[: self.max_ids]
        found = self.store.datasets(unique)
        now = self.clock()
        rows: list[LinkRow] = []
        service_defs: set[str] = set()
        for did in unique:
            entry = found.get(did)
            if entry is None:
                rows.append(LinkRow(id=did, semantics="#this",
                                    error_message=f"NotFoundFault: {did} is not a dataset of this service"))
                continue
            rows.extend(self._dataset_rows(entry, caller, now))
            service_defs.add(PROVSAP_DESCRIPTOR_ID)
            if any(product.semantics == "#this" for product in entry.products):
                rows.extend(self._analysis_rows(entry, caller, now))
                service_defs.update((SODA_DESCRIPTOR_ID, GADF_DESCRIPTOR_ID))
        return LinksResult(rows=tuple(rows), overflow=overflow, service_defs=frozenset(service_defs))

    def _dataset_rows(self, entry: DatasetProducts, caller: str | None, now: datetime) -> list[LinkRow]:
        did = entry.rights.did
        restricted = is_restricted(entry.rights, now)
        authorized = decide(self.policy, caller, entry.rights, now) is Access.GRANTED
        rows = [self._product_row(did, product, restricted, authorized) for product in entry.products]
        if not any(product.semantics == "#this" for product in entry.products):
            rows.insert(0, LinkRow(id=did, semantics="#this",
                                   error_message=f"NotFoundFault: no data file is recorded for {did}"))
        for link in PROVENANCE_LINKS:
            rows.append(LinkRow(
                id=did, semantics=link.semantics, access_url=provsap_url(self.base_url, did, link.response_format),
                description=link.description, content_type=link.content_type,
                local_semantics=link.local_semantics, link_auth="false", link_authorized=True))
        rows.append(LinkRow(
            id=did, semantics="#progenitor", service_def=PROVSAP_DESCRIPTOR_ID,
            description="Provenance of this dataset with a chosen depth, direction and format (ProvSAP)",
            local_semantics="provenance-query", link_auth="false", link_authorized=True))
        return rows

    def _analysis_rows(self, entry: DatasetProducts, caller: str | None, now: datetime) -> list[LinkRow]:
        """The cutout service and the GADF data store of a dataset that has an event file."""
        did = entry.rights.did
        auth = "true" if is_restricted(entry.rights, now) else "false"
        authorized = decide(self.policy, caller, entry.rights, now) is Access.GRANTED
        return [
            LinkRow(id=did, semantics="#cutout", service_def=SODA_DESCRIPTOR_ID,
                    description="Cutout of the event list in sky region, time and energy (SODA)",
                    content_type="application/fits", local_semantics="cutout", link_auth=auth,
                    link_authorized=authorized),
            LinkRow(id=did, semantics="#auxiliary", service_def=GADF_DESCRIPTOR_ID,
                    description="GADF data store for gammapy: obs-index, hdu-index or a tar/zip bundle",
                    local_semantics="gadf-datastore", link_auth=auth, link_authorized=authorized),
        ]

    def _product_row(self, did: str, product: Product, restricted: bool, authorized: bool) -> LinkRow:
        return LinkRow(
            id=did,
            semantics=product.semantics,
            access_url=file_url(self.base_url, product.product_id),
            description=product.description,
            content_type=product.served_content_type,
            content_length=product.served_length,
            content_qualifier=vocabulary_term(product.content_qualifier),
            local_semantics=product.local_semantics,
            link_auth="true" if restricted else "false",
            link_authorized=authorized,
        )
