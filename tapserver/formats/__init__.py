"""Output formats: one registry (VOTable BINARY2/TABLEDATA/BINARY, CSV, TSV, FITS, Parquet)."""

from tapserver.formats.registry import DEFAULT_FORMAT, FORMATS, OutputFormat, find_format

__all__ = ["DEFAULT_FORMAT", "FORMATS", "OutputFormat", "find_format"]
