"""Paths and identifiers of the SODA endpoint (declared with the DataLink vocabulary, which describes them)."""

from tapserver.datalink.model import SODA_SYNC_PATH, SODA_SYNC_STANDARD_ID

__all__ = ["SODA_SYNC_PATH", "SODA_SYNC_STANDARD_ID"]
