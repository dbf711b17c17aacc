"""TAP_UPLOAD (TAP 1.1 §2.7.6, DALI §3.4.5): UPLOAD parameters -> tables the query can read.

Shared by sync queries and async jobs:

1. :mod:`.params`: the ``UPLOAD`` values (``name,param:part`` for a multipart part, ``name,https://...`` for
   a URL; several per value separated by ``;``) -> :class:`UploadRef` s, names checked.
2. :mod:`.read` drives the reading of each table: :mod:`.fetch` gets URLs within the :mod:`.url_policy`;
   :mod:`.decode` decompresses within the byte budget of :mod:`.limits` (decoded bytes count);
   :mod:`.screen` refuses, before the VOTable parser sees the document, STREAM hrefs (the parser would
   open them), entity declarations, and more rows or columns than allowed; :mod:`.votable` parses it
   with astropy into an :class:`UploadedTable` (SQL types, VOTable metadata), and :mod:`.values` turns
   cells into SQL values, checking geometries.
3. :mod:`.binding` puts the tables in front of the translated query as common table expressions (typed
   arrays, unnested): nothing is written, so uploads work on a read-only hot standby too.
"""

from tapserver.uploads.binding import bind_uploads
from tapserver.uploads.fetch import MAX_REDIRECTS, fetch_url
from tapserver.uploads.limits import MAX_COLUMNS, UploadLimits, copy_stream, upload_limits
from tapserver.uploads.params import (
    INLINE_SCHEME,
    NAME_PATTERN,
    URL_SCHEMES,
    UploadRef,
    inline_part_names,
    parse_upload_param,
)
from tapserver.uploads.read import read_uploads
from tapserver.uploads.url_policy import PUBLIC, UrlPolicy, address_kind
from tapserver.uploads.votable import UploadedTable, read_votable, upload_tables

__all__ = [
    "INLINE_SCHEME",
    "MAX_COLUMNS",
    "MAX_REDIRECTS",
    "NAME_PATTERN",
    "PUBLIC",
    "URL_SCHEMES",
    "UploadLimits",
    "UploadRef",
    "UploadedTable",
    "UrlPolicy",
    "address_kind",
    "bind_uploads",
    "copy_stream",
    "fetch_url",
    "inline_part_names",
    "parse_upload_param",
    "read_uploads",
    "read_votable",
    "upload_limits",
    "upload_tables",
]
