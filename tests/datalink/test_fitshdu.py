"""HDU location from headers only, checked against astropy on every FITS file of the shared DL3 data."""

from __future__ import annotations

import gzip
import io
import warnings
from pathlib import Path
from typing import BinaryIO

import pytest
from astropy.io import fits

from tapserver.datalink import fitshdu
from tapserver.datalink.files import CHUNK, ProductFile
from tapserver.datalink.fitshdu import FitsFormatError, locate_hdu, primary_header
from tapserver.datalink.model import Product
from tests.datalink.conftest import DL3, HESS, decompressed, hdu_bytes
from tests.fits_in_memory import open_in_memory

pytestmark = pytest.mark.nodb

FILES = sorted(p for p in DL3.rglob("*") if p.is_file() and p.name.endswith((".fits", ".fits.gz", ".fit")))


def _open(path: Path) -> tuple[BinaryIO, bool]:
    raw = path.open("rb")
    if raw.read(2) == b"\x1f\x8b":
        raw.seek(0)
        return gzip.GzipFile(fileobj=raw), False  # type: ignore[return-value]
    raw.seek(0)
    return raw, True


def _astropy_layout(path: Path) -> list[tuple[int, int, str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with open_in_memory(path, lazy_load_hdus=False) as hdul:
            layout = []
            for i, hdu in enumerate(hdul):
                info = hdul.fileinfo(i)
                layout.append((info["hdrLoc"], info["datLoc"] - info["hdrLoc"] + info["datSpan"], hdu.name))
    return layout


def test_there_is_data_to_check() -> None:
    assert len(FILES) > 200


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(DL3)))
def test_locations_match_astropy(path: Path) -> None:
    layout = _astropy_layout(path)
    indices = sorted({0, 1, len(layout) - 1} & set(range(len(layout))))
    for index in indices:
        stream, seekable = _open(path)
        with stream:
            found = locate_hdu(stream, index=index, name=None, seekable=seekable)
            assert (found.offset, found.length) == layout[index][:2]
            # the stream is left right after the header: the data follow
            assert len(found.header) % 2880 == 0 and found.header.startswith((b"SIMPLE  ", b"XTENSION"))
    name = layout[-1][2]
    if not name:
        return
    stream, seekable = _open(path)
    with stream:
        by_name = locate_hdu(stream, index=None, name=name.lower(), seekable=seekable)
    assert by_name.offset == next(offset for offset, _, n in layout if n == name)


def test_index_and_name_must_agree() -> None:
    stream, seekable = _open(HESS)
    with stream, pytest.raises(FitsFormatError, match="expected PSF"):
        locate_hdu(stream, index=3, name="PSF", seekable=seekable)


def test_missing_hdu() -> None:
    stream, seekable = _open(HESS)
    with stream, pytest.raises(FitsFormatError):
        locate_hdu(stream, index=12, name=None, seekable=seekable)
    stream, seekable = _open(HESS)
    with stream, pytest.raises(FitsFormatError):
        locate_hdu(stream, index=None, name="NOPE", seekable=seekable)


@pytest.mark.parametrize("data", [b"", b"not a fits file" * 300, b"SIMPLE  =" + b" " * 2871])
def test_not_fits(data: bytes) -> None:
    with pytest.raises(FitsFormatError):
        locate_hdu(io.BytesIO(data), index=1, name=None, seekable=True)


def test_endless_header_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fitshdu, "MAX_HEADER_BLOCKS", 3)
    card = b"SIMPLE  =                    T".ljust(80) + b"COMMENT".ljust(80) * 35
    with pytest.raises(FitsFormatError, match="too long"):
        locate_hdu(io.BytesIO(card * 5), index=0, name=None, seekable=True)


def test_primary_header_is_valid_fits() -> None:
    block = primary_header("AEFF of hess_dl3_dr1_obs_id_020136.fits.gz \u00e9" + "x" * 200)
    assert len(block) == 2880
    header = fits.Header.fromstring(block.decode("ascii"))
    assert header["SIMPLE"] is True and header["NAXIS"] == 0 and header["EXTEND"] is True
    hdu = fits.PrimaryHDU(header=header)
    hdu.verify("exception")


def _product(path: Path, index: int | None, name: str | None) -> ProductFile:
    raw = path.open("rb")
    product = Product(product_id="p", did="d", semantics="#this", description=None, content_type="x",
                      content_length=None, content_qualifier=None, local_semantics=None, file_path=str(path),
                      hdu_name=name, hdu_index=index)
    from datetime import UTC, datetime

    return ProductFile(product=product, content_type="application/fits", filename="f.fits",
                       source_name=path.name, etag='"x"', last_modified=datetime.now(UTC), restricted=False,
                       raw=raw, size=path.stat().st_size)


def test_chunks_are_bounded_and_the_file_is_closed(tmp_path: Path) -> None:
    big = tmp_path / "big.fits.gz"
    content = decompressed(HESS) * 3
    big.write_bytes(gzip.compress(content, compresslevel=1))
    opened = _product(big, None, None)
    opened.prepare()
    assert opened.length == len(content)  # a gzip file is served decompressed
    chunks = list(opened.iter_range(0, opened.length))
    assert max(len(c) for c in chunks) <= CHUNK and len(chunks) > 1
    assert b"".join(chunks) == content
    assert opened.raw.closed

    hdu = _product(HESS, 4, "EDISP")
    hdu.prepare()
    middle = list(hdu.iter_range(100_000, 300_000))
    assert max(len(c) for c in middle) <= CHUNK
    expected = primary_header(f"EDISP of {HESS.name}") + hdu_bytes(HESS, 4)
    assert b"".join(middle) == expected[100_000:300_000]
    assert hdu.raw.closed
