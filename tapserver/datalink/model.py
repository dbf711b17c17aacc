"""What the DataLink layer talks about: datasets with their access rights, products, link rows, URLs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import quote

LINKS_STANDARD_ID = "ivo://ivoa.net/std/DataLink#links-1.1"
DATALINK_MIME = "application/x-votable+xml;content=datalink"
LINKS_PATH = "/datalink/links"
FILES_PATH = "/files"
PROVSAP_PATH = "/provsap"
# The services the links documents describe (their packages build on this one, so their paths live here).
SODA_SYNC_PATH = "/soda/sync"
SODA_SYNC_STANDARD_ID = "ivo://ivoa.net/std/SODA#sync-1.0"
GADF_PATH = "/gadf/datastore"
OBS_INDEX = "obs-index"
HDU_INDEX = "hdu-index"
TAR = "tar"
ZIP = "zip"
GADF_RESPONSE_FORMATS = (OBS_INDEX, HDU_INDEX, TAR, ZIP)
#: The async GADF bundles (a UWS job whose result is the archive), and the archive formats they offer.
GADF_ASYNC_PATH = "/gadf/async"
BUNDLE_FORMATS = (TAR, ZIP)

#: Size of the primary HDU put in front of an extension HDU served as a FITS file of its own.
FITS_BLOCK = 2880
FITS_MIME = "application/fits"
#: Content type once recorded for gzip-compressed FITS files, which are now served decompressed.
GZIP_FITS_MIME = "application/x-fits-gzip"


class DatasetRights(NamedTuple):
    """The access metadata of one ObsCore dataset (what a rights decision may look at)."""

    did: str
    obs_collection: str
    data_rights: str | None
    release_date: datetime | None  # UTC (ObsCore stores timestamps without time zone)
    proposal_id: str | None = None


class Product(NamedTuple):
    """One row of ``datalink.product``: a file, or one HDU of a FITS file, that belongs to a dataset.

    ``content_length`` is the size of the stored object: the whole file as stored, or the bytes of the
    HDU (header and padded data) for an HDU product. (Named tuples: a links request builds hundreds.)
    """

    product_id: str
    did: str
    semantics: str
    description: str | None
    content_type: str
    content_length: int | None
    content_qualifier: str | None
    local_semantics: str | None
    file_path: str
    hdu_name: str | None
    hdu_index: int | None

    @property
    def is_hdu(self) -> bool:
        return self.hdu_index is not None or self.hdu_name is not None

    @property
    def is_extension(self) -> bool:
        """An extension HDU: served behind a minimal primary HDU so that the download is a FITS file."""
        if self.hdu_index is not None:
            return self.hdu_index > 0
        return self.hdu_name is not None and self.hdu_name.strip().upper() != "PRIMARY"

    @property
    def served_content_type(self) -> str:
        """MIME type of the download: an HDU, and a gzip-compressed FITS file, are served as plain FITS."""
        return FITS_MIME if self.is_hdu or self.content_type == GZIP_FITS_MIME else self.content_type

    @property
    def served_length(self) -> int | None:
        """Bytes a client downloads from the file endpoint (known without touching the file)."""
        if self.content_length is None:
            return None
        return self.content_length + (FITS_BLOCK if self.is_extension else 0)


@dataclass(frozen=True)
class LinkRow:
    """One row of a DataLink links table (DataLink 1.1 §3.2)."""

    id: str
    semantics: str
    access_url: str | None = None
    service_def: str | None = None
    error_message: str | None = None
    description: str | None = None
    content_type: str | None = None
    content_length: int | None = None
    content_qualifier: str | None = None
    local_semantics: str | None = None
    link_auth: str | None = None  # "false" | "optional" | "true"
    link_authorized: bool | None = None

    def __post_init__(self) -> None:
        given = [v for v in (self.access_url, self.service_def, self.error_message) if v is not None]
        if len(given) != 1:
            raise ValueError("a link row has exactly one of access_url, service_def, error_message")
        if self.link_auth not in (None, "false", "optional", "true"):
            raise ValueError(f"link_auth must be false, optional or true, not {self.link_auth!r}")


@dataclass(frozen=True)
class LinksResult:
    """The links of a request: rows grouped by ID (consecutive), and whether IDs were dropped at the cap."""

    rows: Sequence[LinkRow]
    overflow: bool
    service_defs: frozenset[str] = frozenset()


_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_ASCII_ESCAPES = {c: f"%{c:02X}" for c in range(128) if chr(c) not in _UNRESERVED}


@lru_cache(maxsize=1 << 16)
def percent_encode(value: str) -> str:
    """``urllib.parse.quote(value, safe='')``, with a fast path for ASCII and a cache (links documents
    encode hundreds of identifiers per request, the same ones again and again)."""
    if value.isascii():
        return value.translate(_ASCII_ESCAPES)
    return quote(value, safe="")


def links_url(base_url: str, did: str) -> str:
    """The {links} URL of one dataset, as ObsCore access_url carries it."""
    return f"{base_url}{LINKS_PATH}?ID={percent_encode(did)}"


def file_url(base_url: str, product_id: str) -> str:
    """The download URL of one product (the id travels percent-encoded as one path segment)."""
    return f"{base_url}{FILES_PATH}/{percent_encode(product_id)}"
