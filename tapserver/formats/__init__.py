"""Output formats: one registry (VOTable BINARY2/TABLEDATA/BINARY, CSV, TSV, FITS, Parquet)."""

import os

# Arrow's default pool (mimalloc) keeps the pages each decoded batch freed committed; jemalloc hands them back,
# which lowers a streaming Parquet result's peak RSS (about 20 MB on one 4 MB batch). Arrow picks its pool at
# its first allocation, so this is set before the Arrow writers import pyarrow; an operator's own choice is kept.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

from tapserver.formats.registry import DEFAULT_FORMAT, FORMATS, OutputFormat, find_format

__all__ = ["DEFAULT_FORMAT", "FORMATS", "OutputFormat", "find_format"]
