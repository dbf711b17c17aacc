"""SODA 1.0 cutouts of GADF event lists: :mod:`params` (the cut) -> :mod:`service` (rights, files) ->
:mod:`eventfile` (the streamed FITS), :mod:`storage` (field-of-view overlap in SQL), :mod:`routes` (HTTP)."""

from tapserver.dali.capabilities import ExtraCapability
from tapserver.soda.model import SODA_SYNC_PATH, SODA_SYNC_STANDARD_ID

#: The SODA sync capability for /tap/capabilities.
CAPABILITY = ExtraCapability(standard_id=SODA_SYNC_STANDARD_ID, path=SODA_SYNC_PATH, version="1.0")

__all__ = ["CAPABILITY"]
