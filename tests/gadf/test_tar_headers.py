"""The tar member headers written by the bundle are those tarfile writes (PAX format), fast path or not."""

from __future__ import annotations

import io
import tarfile

import pytest

from tapserver.gadf.bundle import Member, TarBundle, _tar_header

pytestmark = pytest.mark.nodb


def _tarfile_header(member: Member) -> bytes:
    info = tarfile.TarInfo(member.name)
    info.size, info.mtime, info.mode, info.type = member.size, member.mtime, 0o644, tarfile.REGTYPE
    return info.tobuf(format=tarfile.PAX_FORMAT)


@pytest.mark.parametrize("member", [
    Member("data/HESS-DR1/hess_dl3_dr1_obs_id_023523.fits.gz", 612_345, 1_600_000_000),
    Member("obs-index.fits.gz", 0, 0),
    Member("a" * 100, 8**11 - 1, 8**11 - 1),  # the largest ustar holds
    Member("a" * 101, 5, 5),  # PAX: long name
    Member("data/é.fits", 5, 5),  # PAX: not ASCII
    Member("x", 8**11, 5),  # PAX: 8 GiB
    Member("x", 5, -1),  # PAX: before 1970
])
def test_headers_as_tarfile_writes_them(member: Member) -> None:
    assert _tar_header(member) == _tarfile_header(member)


def test_a_bundle_of_in_memory_members_reads_back() -> None:
    items = [Member(f"data/c/f{i}.fits", len(f"payload {i}" * i), 1_700_000_000 + i, data=f"payload {i}".encode() * i)
             for i in range(5)]

    def no_files(stored: object) -> io.BytesIO:
        raise AssertionError("no file members")

    tar = TarBundle(items, no_files)
    data = b"".join(tar.iter_range(0, tar.length))
    assert len(data) == tar.length and tar.length % 10240 == 0
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        assert [(m.name, m.size, m.mtime) for m in archive.getmembers()] == [(i.name, i.size, i.mtime) for i in items]
        assert all(archive.extractfile(i.name).read() == i.data for i in items)  # type: ignore[union-attr]
