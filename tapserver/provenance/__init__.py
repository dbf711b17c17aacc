"""Provenance: ProvSAP (graph walk and PROV serialisations) and imports into the ProvTAP tables.

ProvSAP has no IVOA standard identifier: the capability uses the one the ProvDAL draft declared
(provenance.md §3), which registries and clients treat as a non-standard capability.
"""

from __future__ import annotations

from tapserver.dali.capabilities import ExtraCapability

STANDARD_ID = "ivo://ivoa.net/std/ProvenanceDM#ProvDAL-1.0"
CAPABILITY = ExtraCapability(standard_id=STANDARD_ID, path="/provsap")

__all__ = ["CAPABILITY", "STANDARD_ID"]
