"""Paths and formats of the GADF data-store service."""

GADF_PATH = "/gadf/datastore"
OBS_INDEX = "obs-index"
HDU_INDEX = "hdu-index"
TAR = "tar"
ZIP = "zip"
GADF_RESPONSE_FORMATS = (OBS_INDEX, HDU_INDEX, TAR, ZIP)
GADF_ASYNC_PATH = "/gadf/async"
BUNDLE_FORMATS = (TAR, ZIP)
#: Media type and file name of a bundle per archive format.
BUNDLE_MEDIA_TYPES = {TAR: "application/x-tar", ZIP: "application/zip"}
