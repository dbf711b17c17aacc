"""VOTable output: result column metadata, streaming writers (BINARY2, BINARY, TABLEDATA), error documents."""

from tapserver.votable.document import render_error_votable
from tapserver.votable.fields import ResultColumn, field_ids

__all__ = ["ResultColumn", "field_ids", "render_error_votable"]
