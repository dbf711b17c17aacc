"""What one ingested observation becomes: ObsCore and ObsConfig rows, DataLink products, the files read."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SourceFile:
    """A file the ingester read, as recorded in ingest.source_file and as a provenance entity."""

    path: str  # absolute
    checksum: str  # "sha256:<hex>" of the bytes as stored
    size_bytes: int
    mtime: datetime
    content_type: str
    role: str  # events, irf, gti, hdu-index, obs-index


@dataclass(frozen=True)
class Product:
    """One row of datalink.product."""

    product_id: str
    semantics: str
    description: str
    content_type: str
    content_length: int
    file_path: str
    checksum: str
    sort_order: int
    hdu_name: str | None = None
    hdu_index: int | None = None
    content_qualifier: str | None = None
    local_semantics: str | None = None

    def row(self, did: str) -> dict[str, Any]:
        """The datalink.product row (dataclasses.asdict would deep-copy: this is on the hot path)."""
        return {"obs_publisher_did": did, **{f.name: getattr(self, f.name) for f in fields(self)}}


@dataclass(frozen=True)
class Observation:
    """Everything the loader writes for one event file. ``obscore`` holds column values (s_region is built by
    the database from ``region``: centre and radius in radians)."""

    obscore: dict[str, Any]
    obsconfig: dict[str, Any]
    region: tuple[float, float, float] | None
    products: tuple[Product, ...]
    sources: tuple[SourceFile, ...]  # the event file first
    derivations: tuple[tuple[str, str], ...] = ()  # (derived path, progenitor path): index -> events
    hea: dict[str, Any] = field(default_factory=dict)  # the ivoa.obscore_hea row
    warnings: tuple[str, ...] = field(default=())

    @property
    def did(self) -> str:
        return str(self.obscore["obs_publisher_did"])

    @property
    def key(self) -> tuple[str, str]:
        return str(self.obscore["obs_collection"]), str(self.obscore["obs_id"])

    @property
    def events(self) -> SourceFile:
        return self.sources[0]
