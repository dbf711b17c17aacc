"""astropy reading a FITS file (gzipped or not) from a copy in memory."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from astropy.io import fits
from isal import igzip


def open_in_memory(path: Path, **kwargs: Any) -> fits.HDUList:
    """``fits.open(path, **kwargs)``, the file read whole (and inflated, with ISA-L) first. For tests that read many
    staged files with astropy: astropy reads a gzipped file through Python's gzip module, which inflates it
    with zlib and, when an HDU is read after one further on, decompresses the stream again from its start."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":  # gzip, whatever the file is called
        data = igzip.decompress(data)
    return fits.open(io.BytesIO(data), **kwargs)
