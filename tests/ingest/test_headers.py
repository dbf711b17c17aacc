"""FITS reading: the card parser and the HDU walk agree with astropy; damaged files are named precisely."""

from __future__ import annotations

import gzip
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from ingest.errors import IngestError
from ingest.headers import SUMMARY_KEYS, Cards, read_fits
from tests.fits_in_memory import open_in_memory
from tests.ingest.conftest import DEMO, DL3, requires_dl3

pytestmark = pytest.mark.nodb

EVENTS = DEMO / "20131103_103_dl3.fits"


def _fits_files() -> list[Path]:
    files = sorted(DEMO.glob("*.fits*"))
    if DL3.is_dir():
        files += sorted(DL3.rglob("*.fits*"))
    return files


def _same(mine: object, theirs: object) -> bool:
    if isinstance(theirs, fits.card.Undefined):
        return mine is None
    if isinstance(theirs, float) and isinstance(mine, float) and math.isnan(theirs):
        return math.isnan(mine)
    return type(mine) is type(theirs) and mine == theirs


@pytest.mark.parametrize("path", _fits_files(), ids=lambda p: str(p.relative_to(p.parents[1])))
def test_every_card_and_offset_matches_astropy(path: Path) -> None:
    with read_fits(path) as mine, open_in_memory(path) as theirs:
        assert len(mine.hdus) == len(theirs)
        for hdu, reference in zip(mine.hdus, theirs, strict=True):
            info = reference.fileinfo()
            assert (hdu.header_offset, hdu.data_offset) == (info["hdrLoc"], info["datLoc"])
            assert hdu.name == (reference.name if hdu.index or reference.name != "PRIMARY" else "PRIMARY")
            seen: set[str] = set()
            for card in reference.header.cards:
                if card.keyword in ("", "COMMENT", "HISTORY") or card.keyword in seen:
                    continue
                seen.add(card.keyword)
                assert _same(hdu.header.get(card.keyword), card.value), (hdu.label, card.keyword)
                assert hdu.header.comment(card.keyword) == card.comment


@pytest.mark.parametrize("path", _fits_files(), ids=lambda p: str(p.relative_to(p.parents[1])))
def test_selected_keys_parse_like_the_whole_header(path: Path) -> None:
    """The regex scan used for the summary keys of each HDU finds what the card-by-card parser finds."""
    with read_fits(path) as mine:
        for hdu in mine.hdus:
            lazy = Cards.parse(hdu.raw_header)  # parsed card by card on demand
            whole = [item for item in lazy.items if item[0] in SUMMARY_KEYS]
            assert Cards.parse(hdu.raw_header, SUMMARY_KEYS).items == whole, hdu.label
            eager = Cards(lazy.items)  # the same cards, all parsed: the lazy accessors answer alike
            for key, _, _ in eager.items:
                assert _same(lazy.get(key), eager.get(key)) and lazy.comment(key) == eager.comment(key), key
                assert len(lazy.all(key)) == len(eager.all(key)), key
            assert len(lazy.items) == len(eager.items), hdu.label


def test_selected_keys_fall_back_for_continued_strings_and_long_names() -> None:
    header = fits.Header()
    header["EXTNAME"] = "E" * 90
    header["NAXIS"] = 0
    header["HIERARCH LONG KEY NAME"] = 3
    raw = header.tostring().encode()
    assert Cards.parse(raw, SUMMARY_KEYS)["EXTNAME"] == "E" * 90
    assert Cards.parse(raw, frozenset({"LONG KEY NAME", "NAXIS"})).items == [("NAXIS", 0, ""),
                                                                           ("LONG KEY NAME", 3, "")]
    # a key name inside a string value, at a card boundary of the value field, is not a card
    assert Cards.parse(raw.replace(b"NAXIS   = ", b"NAXIS2  = "), frozenset({"NAXIS"})).items == []


def test_special_cards() -> None:
    """CONTINUE long strings, HIERARCH keywords, D exponents, complex values, quotes and repeated keys."""
    header = fits.Header()
    header["LONGSTR"] = "x" * 100 + " end"
    header["HIERARCH CTA ACTIVITY ID"] = "b9e6"
    header["QUOTED"] = "it''s"
    header["CPLX"] = complex(1.5, -2)
    header["TELLIST"] = "MAGIC-I,MAGIC-II"
    header.append(("TELLIST", "2"))
    raw = header.tostring().encode().replace(b"CPLX    = ", b"CPLX    = ")
    raw = raw.replace(b"END" + b" " * 77, (b"DEXP    =              1.5D+02 / a D exponent").ljust(80)
                      + b"END" + b" " * 77)
    assert [key for key, _, _ in Cards.parse(raw).items] == [  # CONTINUE cards folded into LONGSTR
        "LONGSTR", "CTA ACTIVITY ID", "QUOTED", "CPLX", "TELLIST", "TELLIST", "DEXP"]
    cards = Cards.parse(raw)
    assert cards["LONGSTR"] == "x" * 100 + " end"
    assert cards["CTA ACTIVITY ID"] == "b9e6"
    assert cards["QUOTED"] == "it''s"
    assert cards["CPLX"] == complex(1.5, -2)
    assert cards["DEXP"] == 150.0 and cards.comment("DEXP") == "a D exponent"
    assert cards["TELLIST"] == "MAGIC-I,MAGIC-II" and cards.all("TELLIST") == ["MAGIC-I,MAGIC-II", "2"]


@pytest.mark.parametrize("name", ["ENERGY", "TIME"])
def test_column_matches_astropy_plain(name: str) -> None:
    with read_fits(EVENTS) as file:
        values = file.column(file.hdus[1], name)
    expected = Table.read(EVENTS, hdu="EVENTS")[name]
    np.testing.assert_array_equal(values, np.asarray(expected, dtype=np.float64))


@requires_dl3
def test_column_matches_astropy_gzip_and_float32() -> None:
    path = DL3 / "gammapy-data-hess-dl3-dr1" / "data" / "hess_dl3_dr1_obs_id_023523.fits.gz"
    with read_fits(path) as file:
        energy = file.column(file.named("EVENTS"), "ENERGY")  # type: ignore[arg-type]
        start = file.column(file.named("GTI"), "START")  # type: ignore[arg-type]
    np.testing.assert_array_equal(energy, np.asarray(Table.read(path, hdu="EVENTS")["ENERGY"], dtype=np.float64))
    np.testing.assert_array_equal(start, np.asarray(Table.read(path, hdu="GTI")["START"]))
    assert file.compressed and file.size_bytes == path.stat().st_size


def _damage(tmp_path: Path, kind: str) -> Path:
    data = EVENTS.read_bytes()
    target = tmp_path / ("bad.fits.gz" if "gzip" in kind else "bad.fits")
    if kind == "truncated":
        target.write_bytes(data[: 2880 * 4 + 100])
    elif kind == "not fits":
        target.write_text("SIMPLE? no, this is a text file\n" * 200)
    elif kind == "no END card":
        target.write_bytes(data[:2880].replace(b"END" + b" " * 77, b" " * 80) + data[2880:])
    elif kind == "empty":
        target.write_bytes(b"")
    elif kind == "truncated gzip":
        packed = gzip.compress(data)
        target.write_bytes(packed[: len(packed) // 2])
    elif kind == "corrupt gzip":
        flipped = bytearray(gzip.compress(data))
        flipped[len(flipped) // 2] ^= 0xFF
        target.write_bytes(bytes(flipped))
    elif kind == "garbage after the last HDU":
        target.write_bytes(data + b"not FITS at all" * 300)
    return target


@pytest.mark.parametrize(("kind", "reason", "hdu"), [
    ("truncated", "truncated", "EVENTS"),
    ("not fits", "not a FITS file", None),
    ("no END card", "no END card", "PRIMARY"),
    ("empty", "empty file", None),
    ("truncated gzip", "truncated gzip", None),
    ("corrupt gzip", "corrupt gzip", None),
    ("garbage after the last HDU", "non-FITS data after the last HDU", "#3"),
])
def test_damaged_files_are_named(tmp_path: Path, kind: str, reason: str, hdu: str | None) -> None:
    path = _damage(tmp_path, kind)
    with pytest.raises(IngestError) as caught:
        read_fits(path)
    error = caught.value
    assert error.path == str(path) and reason in error.reason and error.hdu == hdu
    assert str(error).startswith(f"{path}: ")


def test_read_fits_checksum_and_identity(tmp_path: Path) -> None:
    import hashlib

    copy = tmp_path / EVENTS.name
    shutil.copyfile(EVENTS, copy)
    with read_fits(copy) as file:
        assert file.checksum == "sha256:" + hashlib.sha256(copy.read_bytes()).hexdigest()
        assert [h.name for h in file.hdus] == ["PRIMARY", "EVENTS", "GTI"]
        assert file.hdus[2].size == file.hdus[2].data_offset - file.hdus[2].header_offset + 2880
