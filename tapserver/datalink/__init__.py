"""DataLink 1.1: the {links} endpoint, service descriptors for TAP results, and file access.

Layers: :mod:`routes` (HTTP) -> :mod:`links` / :mod:`files` (services) -> :mod:`storage` (SQL).
For the TAP side: :func:`service_descriptor` (the RESOURCE that makes ObsCore results DataLink-aware)
and :func:`links_url_sql` (ObsCore ``access_url`` computed at output time from the base URL).
"""

from tapserver.dali.capabilities import ExtraCapability
from tapserver.datalink.descriptors import service_descriptor
from tapserver.datalink.model import DATALINK_MIME, LINKS_PATH, LINKS_STANDARD_ID, file_url, links_url
from tapserver.datalink.obscore import links_url_sql

#: The {links} capability for /tap/capabilities.
CAPABILITY = ExtraCapability(standard_id=LINKS_STANDARD_ID, path=LINKS_PATH, version="1.1")

__all__ = [
    "CAPABILITY",
    "DATALINK_MIME",
    "LINKS_PATH",
    "LINKS_STANDARD_ID",
    "file_url",
    "links_url",
    "links_url_sql",
    "service_descriptor",
]
