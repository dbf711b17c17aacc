"""Paths and identifiers of the SODA endpoint."""

SODA_SYNC_PATH = "/soda/sync"
SODA_SYNC_STANDARD_ID = "ivo://ivoa.net/std/SODA#sync-1.0"
