"""Published tables: declared once here, written to TAP_SCHEMA, read back at run time."""

from __future__ import annotations

from tapserver.catalog.model import Catalog, Column, ForeignKey, Schema, Table, col, votable_type
from tapserver.catalog.obsconfig import OBSCONFIG
from tapserver.catalog.obscore import OBSCORE
from tapserver.catalog.obscore_hea import OBSCORE_HEA
from tapserver.catalog.provenance import PROVENANCE_TABLES
from tapserver.catalog.tap_schema import TAP_SCHEMA_TABLES

DECLARED_SCHEMAS: tuple[Schema, ...] = (
    Schema("ivoa", "IVOA standard data models: ObsCore 1.1 and its High-Energy extension", (OBSCORE, OBSCORE_HEA)),
    Schema("obsconfig", "Observing configuration of each observation (array, pointing, conditions)",
           (OBSCONFIG,)),
    Schema("provenance", "IVOA Provenance DM 1.0 (ProvTAP): how each dataset was made",
           PROVENANCE_TABLES, utype="ivo://ivoa.net/std/ProvenanceDM"),
    Schema("tap_schema", "TAP_SCHEMA 1.1: metadata of the published tables", TAP_SCHEMA_TABLES),
)


def declared_catalog() -> Catalog:
    """The catalog as declared in code (what `tapserver db upgrade` writes to TAP_SCHEMA)."""
    return Catalog(DECLARED_SCHEMAS)


__all__ = [
    "DECLARED_SCHEMAS",
    "Catalog",
    "Column",
    "ForeignKey",
    "Schema",
    "Table",
    "col",
    "declared_catalog",
    "votable_type",
]
