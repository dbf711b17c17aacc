"""/files/{product id}: whole files byte for byte, HDUs as FITS files of their own, ranges, validators."""

from __future__ import annotations

import io
import os

import httpx
import pytest
from astropy.io import fits
from astropy.table import Table
from starlette.testclient import TestClient

from tests.datalink.conftest import FACT, HESS, World, decompressed, hdu_bytes, sha256


def get(client: TestClient, world: World, name: str, **headers: str) -> httpx.Response:
    return client.get(world.url(name), headers=headers)


def test_whole_file_is_served_as_stored(client: TestClient, world: World) -> None:
    response = get(client, world, "fact:103#events")
    assert response.status_code == 200
    assert sha256(response.content) == sha256(FACT.read_bytes())
    assert response.headers["content-length"] == str(FACT.stat().st_size)
    assert response.headers["content-type"] == "application/fits"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["content-disposition"] == 'attachment; filename="20131103_103_dl3.fits"'
    assert response.headers["etag"].startswith('"') and response.headers["last-modified"].endswith("GMT")


@pytest.mark.parametrize("encoding", ["identity", "gzip", None])
def test_gzip_file_is_served_as_the_fits_file_it_holds(client: TestClient, world: World,
                                                        encoding: str | None) -> None:
    headers = {} if encoding is None else {"Accept-Encoding": encoding}
    response = get(client, world, "hess:020136#events", **headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fits"
    assert "content-encoding" not in response.headers
    assert response.headers["content-disposition"] == 'attachment; filename="hess_dl3_dr1_obs_id_020136.fits"'
    body = response.content
    assert int(response.headers["content-length"]) == len(body) == len(decompressed(HESS))
    # astropy reads the download as the file itself: same HDUs, same event table
    with fits.open(io.BytesIO(body)) as served, fits.open(HESS) as source:
        assert [h.name for h in served] == [h.name for h in source]
        assert served["EVENTS"].header == source["EVENTS"].header
        assert served["EVENTS"].data.tobytes() == source["EVENTS"].data.tobytes()
    assert len(Table.read(io.BytesIO(body), hdu="EVENTS")) == len(Table.read(HESS, hdu="EVENTS"))


@pytest.mark.parametrize("header", ["bytes=0-2879", "bytes=100000-", "bytes=-5000", "bytes=12345-400000",
                                    "bytes=0-99999999"])
def test_range_on_a_gzip_file_addresses_the_fits_bytes(client: TestClient, world: World, header: str) -> None:
    fits_bytes = decompressed(HESS)
    response = get(client, world, "hess:020136#events", Range=header)
    assert response.status_code == 206
    first, last = response.headers["content-range"].removeprefix("bytes ").split("/")[0].split("-")
    assert response.headers["content-range"].endswith(f"/{len(fits_bytes)}")
    assert response.content == fits_bytes[int(first):int(last) + 1]
    assert response.content == fits_bytes[_slice(header, len(fits_bytes))]


def _slice(header: str, length: int) -> slice:
    start, end = header.removeprefix("bytes=").split("-")
    if not start:
        return slice(length - int(end), None)
    return slice(int(start), None if not end else int(end) + 1)


def test_head_of_a_gzip_file_gives_the_fits_length(client: TestClient, world: World) -> None:
    response = client.head(world.url("hess:020136#events"))
    assert response.status_code == 200 and response.content == b""
    assert int(response.headers["content-length"]) == len(decompressed(HESS))
    assert response.headers["content-type"] == "application/fits"


@pytest.mark.parametrize(("name", "index"), [("aeff", 3), ("edisp", 4), ("psf", 5), ("bkg", 6), ("gti", 2)])
def test_hdu_of_a_gzip_file_is_a_fits_file_of_its_own(client: TestClient, world: World, name: str,
                                                       index: int) -> None:
    response = get(client, world, f"hess:020136#{name}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/fits"
    expected = hdu_bytes(HESS, index)
    body = response.content
    assert len(body) == 2880 + len(expected) == int(response.headers["content-length"])
    assert sha256(body[2880:]) == sha256(expected)  # the HDU verbatim behind a data-less primary HDU
    with fits.open(io.BytesIO(body)) as served, fits.open(HESS) as source:
        assert len(served) == 2 and served[0].data is None
        assert served[1].name == name.upper()
        assert served[1].header == source[index].header
        assert served[1].data.tobytes() == source[index].data.tobytes()
        assert fits.open(io.BytesIO(body), checksum=True)  # CHECKSUM/DATASUM, if any, still hold
    assert response.headers["content-disposition"] == \
        f'attachment; filename="hess_dl3_dr1_obs_id_020136_{name}.fits"'


def test_hdu_of_a_plain_file(client: TestClient, world: World) -> None:
    response = get(client, world, "fact:103#gti")
    assert response.status_code == 200
    assert response.content[2880:] == hdu_bytes(FACT, 2)
    with fits.open(io.BytesIO(response.content)) as served:
        assert served[1].name == "GTI"


def test_primary_hdu_is_served_alone(client: TestClient, world: World) -> None:
    response = get(client, world, "hess:020136#primary")
    assert response.status_code == 200
    assert response.content == hdu_bytes(HESS, 0)


def test_hdu_found_by_name(client: TestClient, world: World) -> None:
    response = get(client, world, "traps:1#by-name")
    assert response.status_code == 200
    assert response.content[2880:] == hdu_bytes(HESS, 5)


def test_missing_padding_of_the_last_hdu_is_supplied(client: TestClient, world: World) -> None:
    response = get(client, world, "traps:1#unpadded")
    assert response.status_code == 200
    full = (world.root / "full.fits").read_bytes()
    # The table HDU as it should have been stored: the padding of its data unit rebuilt as zeros.
    assert len(response.content) == len(full) and response.content[2880:] == full[2880:]
    with fits.open(io.BytesIO(response.content)) as served:
        assert list(served[1].data["X"]) == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("name", ["traps:1#truncated", "traps:1#wrong-hdu", "traps:1#no-such-hdu"])
def test_file_not_matching_its_record_is_a_server_error(client: TestClient, world: World, name: str) -> None:
    response = get(client, world, name)
    assert response.status_code == 500
    assert 'value="ERROR"' in response.text and "does not match its record" in response.text


@pytest.mark.parametrize("name", ["fact:103#events", "hess:020136#events", "hess:020136#edisp"])
def test_range_in_the_middle(client: TestClient, world: World, name: str) -> None:
    whole = get(client, world, name).content
    start, end = len(whole) // 3, 2 * len(whole) // 3
    response = get(client, world, name, Range=f"bytes={start}-{end}")
    assert response.status_code == 206
    assert response.content == whole[start:end + 1]
    assert response.headers["content-range"] == f"bytes {start}-{end}/{len(whole)}"
    assert response.headers["content-length"] == str(end - start + 1)


def test_range_crossing_the_added_primary_header(client: TestClient, world: World) -> None:
    whole = get(client, world, "hess:020136#aeff").content
    response = get(client, world, "hess:020136#aeff", Range="bytes=2000-9000")
    assert response.status_code == 206 and response.content == whole[2000:9001]


@pytest.mark.parametrize(("header", "expected"), [
    ("bytes=-100", slice(-100, None)),
    ("bytes=100-", slice(100, None)),
    ("bytes=0-0", slice(0, 1)),
    ("bytes=5-99999999", slice(5, None)),
    ("bytes=-99999999", slice(0, None)),
])
def test_range_forms(client: TestClient, world: World, header: str, expected: slice) -> None:
    whole = FACT.read_bytes()
    response = get(client, world, "fact:103#events", Range=header)
    assert response.status_code == 206
    assert response.content == whole[expected]


@pytest.mark.parametrize("header", ["bytes=0-1,5-6", "items=0-10", "bytes=abc", "bytes=9-2"])
def test_ranges_not_honoured_give_the_whole_file(client: TestClient, world: World, header: str) -> None:
    response = get(client, world, "fact:103#events", Range=header)
    assert response.status_code == 200
    assert response.content == FACT.read_bytes()


@pytest.mark.parametrize("header", [f"bytes={FACT.stat().st_size}-", "bytes=-0", f"bytes={'9' * 5000}-"])
def test_unsatisfiable_range(client: TestClient, world: World, header: str) -> None:
    response = get(client, world, "fact:103#events", Range=header)
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{FACT.stat().st_size}"


def test_conditional_requests(client: TestClient, world: World) -> None:
    first = get(client, world, "hess:020136#psf")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert get(client, world, "hess:020136#psf").headers["etag"] == etag  # stable
    assert get(client, world, "hess:020136#aeff").headers["etag"] != etag  # per product
    not_modified = get(client, world, "hess:020136#psf", **{"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert get(client, world, "hess:020136#psf", **{"If-None-Match": '"other"'}).status_code == 200
    assert get(client, world, "hess:020136#psf", **{"If-Modified-Since": modified}).status_code == 304
    ranged = get(client, world, "hess:020136#psf", Range="bytes=0-9", **{"If-Range": etag})
    assert ranged.status_code == 206 and ranged.content == first.content[:10]
    stale = get(client, world, "hess:020136#psf", Range="bytes=0-9", **{"If-Range": '"stale"'})
    assert stale.status_code == 200 and stale.content == first.content


def test_head(client: TestClient, world: World) -> None:
    response = client.head(world.url("hess:020136#bkg"))
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) == 2880 + len(hdu_bytes(HESS, 6))
    partial = client.head(world.url("hess:020136#bkg"), headers={"Range": "bytes=10-19"})
    assert partial.status_code == 206 and partial.headers["content-length"] == "10"


def test_etag_changes_when_the_file_changes(client: TestClient, world: World) -> None:
    path = world.root / "inner.fits"
    before = get(client, world, "traps:1#inner")
    assert before.status_code == 200 and before.content == FACT.read_bytes()
    stat = path.stat()
    try:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
        after = get(client, world, "traps:1#inner")
        assert after.status_code == 200 and after.headers["etag"] != before.headers["etag"]
        assert get(client, world, "traps:1#inner",
                   **{"If-None-Match": before.headers["etag"]}).status_code == 200
    finally:
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_unknown_product(client: TestClient) -> None:
    response = client.get("/files/ivo%3A%2F%2Ftest.example%2Ffact%3F103%23nothing")
    assert response.status_code == 404
    assert 'value="ERROR"' in response.text
