"""Paths and formats of the GADF data-store service (declared with the DataLink vocabulary, which describes
them)."""

from tapserver.datalink.model import (
    BUNDLE_FORMATS,
    GADF_ASYNC_PATH,
    GADF_PATH,
    GADF_RESPONSE_FORMATS,
    HDU_INDEX,
    OBS_INDEX,
    TAR,
    ZIP,
)

__all__ = ["BUNDLE_FORMATS", "BUNDLE_MEDIA_TYPES", "GADF_ASYNC_PATH", "GADF_PATH", "GADF_RESPONSE_FORMATS",
           "HDU_INDEX", "OBS_INDEX", "TAR", "ZIP"]

#: Media type of a bundle per archive format.
BUNDLE_MEDIA_TYPES = {TAR: "application/x-tar", ZIP: "application/zip"}
