"""Decompression and entity bombs against a real server process: refused with a DALI error, and the
process's peak RSS rises by less than twice the upload byte limit."""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import server_process
from tests.uws.synthetic import positions, votable_bytes

LIMIT = 8_000_000
HEAD = (b'<?xml version="1.0"?>\n%s<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">'
        b'<RESOURCE><TABLE name="t"><FIELD name="s" datatype="char" arraysize="*"/><DATA><TABLEDATA>')
TAIL = b"</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"


def gzip_bomb(decoded_mb: int) -> bytes:
    """A gzip stream of a VOTable of about ``decoded_mb`` MB (10 bytes per row), compressed ~1000 times."""
    out = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b"<TR><TD>x</TD></TR>" * 50_000
    parts = [out.compress(HEAD % b"")]
    parts += [out.compress(chunk) for _ in range(decoded_mb * 1_000_000 // len(chunk))]
    parts += [out.compress(TAIL), out.flush()]
    return b"".join(parts)


def entity_bomb() -> bytes:
    """900 KB of text in an internal entity, referenced 90 times in one cell: 81 MB once expanded (an
    amplification below expat's own billion-laughs guard)."""
    doctype = b'<!DOCTYPE VOTABLE [<!ENTITY a "' + b"x" * 900_000 + b'">]>'
    return HEAD % doctype + b"<TR><TD>" + b"&a;" * 90 + b"</TD></TR>" + TAIL


def status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) * 1024
    return found


@pytest.fixture(scope="module")
def server(uws_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    data = tmp_path_factory.mktemp("bomb-data")
    env = {"TAPSERVER_UPLOAD_LIMIT_BYTES": str(LIMIT), "TAPSERVER_DATA_DIR": str(data), "TAPSERVER_WORKERS": "0"}
    with server_process(uws_database, extra_env=env) as (base, process):
        yield base, process.pid


def _upload(base: str, data: bytes) -> httpx.Response:
    return httpx.post(f"{base}/tap/sync", data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t",
                                                "UPLOAD": "t,param:t", "RESPONSEFORMAT": "csv"},
                      files={"t": ("t.xml", data)}, timeout=120)


@pytest.mark.parametrize(("bomb", "message"), [
    (lambda: gzip_bomb(200), "counted after decompression"),
    (entity_bomb, "DOCTYPE with an internal subset"),
], ids=["gzip", "entities"])
def test_bomb_refused_within_memory_bound(server: tuple[str, int], bomb: object, message: str) -> None:
    base, pid = server
    warm = _upload(base, votable_bytes(positions(3)))  # astropy and the upload path loaded before measuring
    assert warm.status_code == 200, warm.text[:300]
    data = bomb()  # type: ignore[operator]
    assert len(data) < LIMIT
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS
    before = status(pid)
    response = _upload(base, data)
    after = status(pid)
    assert response.status_code == 400 and 'value="ERROR"' in response.text, response.text[:300]
    assert message in response.text
    rise = after["VmHWM"] - before["VmRSS"]
    assert rise < 2 * LIMIT, f"peak RSS rose by {rise / 1e6:.1f} MB for a {LIMIT / 1e6:.0f} MB limit"
