"""What each kind of DL3 product is called in DataLink: semantics, ``content_qualifier``, ``local_semantics``.

``content_qualifier`` says what the linked resource is, as a term of an IVOA vocabulary (DataLink 1.1 §3.2.9):

* the event list: ``#event`` of the product-type vocabulary (the default vocabulary, hence the bare
  fragment). The High-Energy ObsCore note proposes ``hea-event-list`` for it; that term is not in the
  vocabulary yet, and ``event`` is what ObsCore 1.1 clients know (``dataproduct_type`` says the same);
* response functions: the terms the note proposes for its response-type vocabulary
  (``http://www.ivoa.net/rdf/response-type``; VEP-25): ``aeff``, ``edisp``, ``psf``, ``bkgrate`` for a
  background model, and the top term ``response-function`` for RAD_MAX (the energy-dependent cut of a
  point-like IRF, for which the note has no narrower term). Not in the default vocabulary, so written as
  full URIs;
* GTI and pointing tables: no IVOA vocabulary names them; their qualifier is the page of the GADF 0.3
  specification that defines the HDU class (:data:`GADF`), a resolvable definition of what the link holds.

``local_semantics`` is the kind itself (``events``, ``gti``, ``aeff`` ...): the same label on the same link
of every dataset, which is what DataLink 1.1 asks of it, and what this service stores in
``datalink.product.local_semantics`` (so that the kind is a column, not only a fragment of the product id).
"""

from __future__ import annotations

from dataclasses import dataclass

RESPONSE_TYPE_VOCABULARY = "http://www.ivoa.net/rdf/response-type"
#: The gamma-astro-data-formats specification (version 0.3) whose pages define the GTI and POINTING HDUs.
GADF = "https://gamma-astro-data-formats.readthedocs.io/en/v0.3"


@dataclass(frozen=True)
class ProductKind:
    """One kind of DL3 product (``local_semantics``) and how DataLink describes it."""

    name: str
    semantics: str
    content_qualifier: str
    description: str


def _response(name: str, term: str, description: str) -> ProductKind:
    return ProductKind(name, "#calibration", f"{RESPONSE_TYPE_VOCABULARY}#{term}", description)


KINDS: dict[str, ProductKind] = {kind.name: kind for kind in (
    ProductKind("events", "#this", "#event", "DL3 event list"),
    ProductKind("gti", "#auxiliary", f"{GADF}/events/gti.html", "Good time intervals"),
    ProductKind("pointing", "#auxiliary", f"{GADF}/events/pointing.html", "Pointing history"),
    _response("aeff", "aeff", "Effective area"),
    _response("edisp", "edisp", "Energy dispersion"),
    _response("psf", "psf", "Point spread function"),
    _response("bkg", "bkgrate", "Background model"),
    _response("rad_max", "response-function", "Energy-dependent RAD_MAX (point-like cut)"),
)}
#: Link order of the kinds on a dataset's DataLink table.
KIND_ORDER = tuple(KINDS)


def kind_of(name: str) -> ProductKind | None:
    """The kind called ``name`` (case-insensitive), or None for a kind this service does not know."""
    return KINDS.get(name.strip().lower())


def kind_from_product_id(product_id: str) -> ProductKind | None:
    """The kind encoded in a product id written by the ingester (``<did>#<kind>`` or ``<did>#<kind>-<n>``)."""
    _, sep, fragment = product_id.rpartition("#")
    if not sep:
        return None
    name, dash, number = fragment.rpartition("-")
    if dash and number.isdigit():
        fragment = name
    return kind_of(fragment)
