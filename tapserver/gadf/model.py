"""Paths and formats of the GADF data-store service (declared with the DataLink vocabulary, which describes
them)."""

from tapserver.datalink.model import GADF_PATH, GADF_RESPONSE_FORMATS, HDU_INDEX, OBS_INDEX, TAR, ZIP

__all__ = ["GADF_PATH", "GADF_RESPONSE_FORMATS", "HDU_INDEX", "OBS_INDEX", "TAR", "ZIP"]
