"""Hostile TAP_UPLOAD VOTables: never a file or URL opened, bounded decoding, a DALI error (400) for every
refused upload, through /tap/sync and /tap/async."""

from __future__ import annotations

import base64
import bz2
import gzip
import http.server
import io
import lzma
import threading
from collections.abc import Callable, Iterator

import pytest
from astropy.io.votable import parse_single_table
from fastapi.testclient import TestClient
from lxml import etree

from tapserver.app import create_app
from tapserver.errors import UsageFault
from tapserver.uploads import UploadLimits, parse_upload_param, read_uploads
from tapserver.uploads.screen import screen_votable
from tests.uws.conftest import settings_for
from tests.uws.synthetic import positions, votable_bytes
from tests.uws.test_api import U, phase_of, wait_final

HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n{doctype}<VOTABLE version="1.4" '
        'xmlns="http://www.ivoa.net/xml/VOTable/v1.3" xmlns:xlink="http://www.w3.org/1999/xlink">'
        '<RESOURCE><TABLE name="t">{fields}<DATA>{data}</DATA></TABLE></RESOURCE></VOTABLE>')
LINE = '<FIELD name="line" datatype="char" arraysize="*"/>'


def document(data: str, fields: str = LINE, doctype: str = "") -> bytes:
    return HEAD.format(doctype=doctype, fields=fields, data=data).encode()


def tabledata(*rows: tuple[str, ...]) -> str:
    return "<TABLEDATA>" + "".join("<TR>" + "".join(f"<TD>{v}</TD>" for v in row) + "</TR>" for row in rows) + \
        "</TABLEDATA>"


class Watched:
    """A loopback HTTP server that records every request it gets (none may arrive)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        watched = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                watched.requests.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"AAAA")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stream"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def client(uws_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The app in this process (two embedded job slots), shared by the tests of this module."""
    settings = settings_for(uws_database, tmp_path_factory.mktemp("hostile-data"), workers=2)
    with TestClient(create_app(settings), base_url=settings.base_url) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def watched() -> Iterator[Watched]:
    server = Watched()
    yield server
    server.server.shutdown()
    server.server.server_close()


HREFS = {
    "passwd": "file:///etc/passwd",
    "environ": "file:///proc/self/environ",
    "file-relative": "file:passwd",
    "loopback": "{loopback}",
    "public-looking": "http://93.184.216.34/t.bin",
    "ftp": "ftp://ftp.example.org/t.bin",
    "relative": "../../../../etc/passwd",
    "data": "data:application/octet-stream;base64,AAAABXJvb3Q6",
}
#: (serialisation, STREAM attribute) -> DATA content around an href stream.
STREAMS = {
    "binary": '<BINARY><STREAM href="{href}"/></BINARY>',
    "binary2": '<BINARY2><STREAM href="{href}"/></BINARY2>',
    "fits": '<FITS extnum="1"><STREAM href="{href}"/></FITS>',
    "binary-base64-href": '<BINARY><STREAM encoding="base64" href="{href}">AAAABHJvb3Q=</STREAM></BINARY>',
    "binary-gzip": '<BINARY><STREAM encoding="gzip" href="{href}"/></BINARY>',
    "xlink": '<BINARY><STREAM xlink:href="{href}"/></BINARY>',
}


def _error_text(response: object) -> str:
    text: str = response.text  # type: ignore[attr-defined]
    assert 'name="QUERY_STATUS" value="ERROR"' in text, text[:500]
    return text


def sync_upload(client: TestClient, files: dict[str, bytes], upload: str = "t,param:t",
                query: str = "SELECT * FROM TAP_UPLOAD.t") -> object:
    return client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query, "UPLOAD": upload,
                                          "RESPONSEFORMAT": "csv"},
                       files={name: (f"{name}.xml", data) for name, data in files.items()})


@pytest.mark.parametrize(("stream", "href"), [("binary", h) for h in sorted(HREFS)]
                         + [(s, "passwd") for s in sorted(STREAMS) if s != "binary"])
def test_stream_href_refused_sync(client: TestClient, watched: Watched, stream: str, href: str) -> None:
    target = HREFS[href].format(loopback=watched.url)
    data = document(STREAMS[stream].format(href=target))
    response = sync_upload(client, {"t": data})
    assert response.status_code == 400, response.text[:300]  # type: ignore[attr-defined]
    text = _error_text(response)
    assert "root:" not in text and "TAPSERVER_DATABASE_URL" not in text
    assert "STREAM with an href" in text or "FITS serialisation" in text
    assert watched.requests == []


@pytest.mark.parametrize(("stream", "href"), [("binary2", "environ"), ("fits", "passwd"),
                                              ("binary", "loopback")])
def test_stream_href_refused_async(client: TestClient, watched: Watched, stream: str, href: str) -> None:
    target = HREFS[href].format(loopback=watched.url)
    response = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t",
                                               "UPLOAD": "t,param:t", "PHASE": "RUN", "RESPONSEFORMAT": "csv"},
                           files={"t": ("t.xml", document(STREAMS[stream].format(href=target)))},
                           follow_redirects=False)
    assert response.status_code == 303
    job = response.headers["location"].removeprefix(str(client.base_url))
    doc = wait_final(client, job)
    assert phase_of(doc) == "ERROR", etree.tostring(doc)
    message = doc.findtext(f"{U}errorSummary/{U}message") or ""
    assert "STREAM with an href" in message or "FITS serialisation" in message, message
    assert client.get(job + "/results/result").status_code >= 400
    assert watched.requests == []


def test_inline_binary_streams_still_read(client: TestClient) -> None:
    """Inline base64 BINARY and BINARY2 streams (what pyvo and astropy write) keep working."""
    for fmt in ("binary", "binary2"):
        response = sync_upload(client, {"t": votable_bytes(positions(3), fmt)}, query="SELECT id FROM TAP_UPLOAD.t")
        assert response.status_code == 200, response.text[:300]  # type: ignore[attr-defined]
        assert response.text.split() == ["id", "1", "2", "3"]  # type: ignore[attr-defined]


ENTITY = '<!DOCTYPE VOTABLE [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
REFUSED: dict[str, tuple[bytes, str]] = {
    "internal entity": (document(tabledata(("&b;",)), doctype=ENTITY), "DOCTYPE with an internal subset"),
    "external entity": (document(tabledata(("&x;",)), doctype='<!DOCTYPE VOTABLE [<!ENTITY x SYSTEM '
                                 '"file:///etc/passwd">]>'), "DOCTYPE with an internal subset"),
    "default attribute": (document('<BINARY><STREAM/></BINARY>', doctype='<!DOCTYPE VOTABLE [<!ATTLIST STREAM '
                                   'href CDATA "file:///etc/passwd">]>'), "DOCTYPE with an internal subset"),
    "no FIELD": (document("<TABLEDATA><TR></TR></TABLEDATA>", fields=""), "has no FIELD"),
    "no FIELD, no data": (document("", fields=""), "has no FIELD"),
    "ctid": (document(tabledata(("1",)), fields='<FIELD name="ctid" datatype="int"/>'), "reserved"),
    "xmin": (document(tabledata(("1",)), fields='<FIELD name="xmin" datatype="int"/>'), "reserved"),
    "TableOID": (document(tabledata(("1",)), fields='<FIELD name="TableOID" datatype="int"/>'), "reserved"),
    "1601 FIELDs": (document(tabledata(tuple("1" for _ in range(1601))),
                             fields="".join(f'<FIELD name="c{i}" datatype="int"/>' for i in range(1601))),
                    "more than 1600 FIELDs"),
    "circle radius 100": (document(tabledata(("10 20 100",)), fields='<FIELD name="c" datatype="double" '
                                   'arraysize="3" xtype="circle"/>'), "circle radius 100.0"),
    "circle radius -5": (document(tabledata(("10 20 -5",)), fields='<FIELD name="c" datatype="double" '
                                  'arraysize="3" xtype="circle"/>'), "circle radius -5.0"),
    "degenerate polygon": (document(tabledata(("1 1 1 1 1 1",)), fields='<FIELD name="p" datatype="double" '
                                    'arraysize="*" xtype="polygon"/>'), "three distinct vertices"),
    "self-crossing polygon": (document(tabledata(("0 0 10 0 0 10 10 10",)), fields='<FIELD name="p" '
                                       'datatype="double" arraysize="*" xtype="polygon"/>'), "cannot be read"),
    "coordinate 1e999": (document(tabledata(("1e999 20",)), fields='<FIELD name="p" datatype="double" '
                                  'arraysize="2" xtype="point"/>'), "not finite"),
    "coordinate inf": (document(tabledata(("10 -inf",)), fields='<FIELD name="p" datatype="double" '
                                'arraysize="2" xtype="point"/>'), "not finite"),
    "dec 95": (document(tabledata(("10 95",)), fields='<FIELD name="p" datatype="double" arraysize="2" '
                        'xtype="point"/>'), "latitude 95.0 is outside"),
    "polygon dec -91": (document(tabledata(("0 0 10 0 5 -91",)), fields='<FIELD name="p" datatype="double" '
                                 'arraysize="*" xtype="polygon"/>'), "latitude -91.0 is outside"),
    "arraysize x rows": (document(tabledata(*[("",)] * 20), fields='<FIELD name="c" datatype="char" '
                                  'arraysize="10000000"/>'), "bytes per row"),
    "nrows": (document(tabledata(("x",))).replace(b'<TABLE name="t">', b'<TABLE name="t" nrows="999999999999">'),
              "has more than"),
    "gzip of gzip": (gzip.compress(gzip.compress(document(tabledata(("x",))))), "not a readable VOTable"),
    "gzip of garbage": (b"\x1f\x8b" + b"garbage" * 10, "not a readable gzip stream"),
    "not XML": (b"\x00\x01binary", "not a readable VOTable"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_upload_is_a_dali_error(client: TestClient, case: str) -> None:
    data, message = REFUSED[case]
    response = sync_upload(client, {"t": data})
    assert response.status_code == 400, response.text[:300]  # type: ignore[attr-defined]
    assert message in _error_text(response)


@pytest.mark.parametrize("case", ["ctid", "self-crossing polygon"])
def test_refused_upload_async_job_error(client: TestClient, case: str) -> None:
    data, message = REFUSED[case]
    response = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t",
                                               "UPLOAD": "t,param:t", "PHASE": "RUN"},
                           files={"t": ("t.xml", data)}, follow_redirects=False)
    job = response.headers["location"].removeprefix(str(client.base_url))
    doc = wait_final(client, job)
    assert phase_of(doc) == "ERROR" and message in (doc.findtext(f"{U}errorSummary/{U}message") or "")


def test_valid_geometries_kept(client: TestClient) -> None:
    fields = ('<FIELD name="c" datatype="double" arraysize="3" xtype="circle"/>'
              '<FIELD name="p" datatype="double" arraysize="*" xtype="polygon"/>'
              '<FIELD name="q" datatype="double" arraysize="2" xtype="point"/>')
    data = document(tabledata(("10 20 90", "0 0 10 0 10 10 0 10", "350 -90"), ("0 0 0", "", "NaN NaN")), fields)
    response = sync_upload(client, {"t": data}, query="SELECT c, p, q FROM TAP_UPLOAD.t")
    assert response.status_code == 200, response.text[:300]  # type: ignore[attr-defined]
    lines = response.text.splitlines()  # type: ignore[attr-defined]
    assert lines[0] == "c,p,q" and lines[1].startswith("10 20 90,0 0 10") and lines[1].endswith(",350 -90")
    assert lines[2] == "0 0 0,,"


def test_same_part_named_twice(client: TestClient) -> None:
    query = "SELECT COUNT(*) AS n FROM TAP_UPLOAD.t AS a JOIN TAP_UPLOAD.u AS b ON a.id = b.id"
    data = votable_bytes(positions(3))
    response = sync_upload(client, {"t": data}, upload="t,param:t;u,param:t", query=query)
    assert response.status_code == 200, response.text[:300]  # type: ignore[attr-defined]
    assert response.text.split() == ["n", "3"]  # type: ignore[attr-defined]
    job = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": query, "UPLOAD": "t,param:t;u,param:t",
                                          "PHASE": "RUN"}, files={"t": ("t.xml", data)}, follow_redirects=False)
    job_url = job.headers["location"].removeprefix(str(client.base_url))
    assert phase_of(wait_final(client, job_url)) == "COMPLETED"
    result = parse_single_table(io.BytesIO(client.get(job_url + "/results/result").content)).to_table()
    assert list(result["n"]) == [3]


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {"gzip": gzip.compress, "bzip2": bz2.compress,
                                                    "xz": lzma.compress}


@pytest.mark.parametrize("kind", sorted(COMPRESSORS))
def test_compressed_uploads_counted_decoded(kind: str) -> None:
    """A compressed upload is read when its decoded size fits, refused when only its compressed size does."""
    compress = COMPRESSORS[kind]
    small = votable_bytes(positions(5))
    refs = parse_upload_param(["t,param:t"])
    (table,) = read_uploads(refs, lambda part: io.BytesIO(compress(small)), UploadLimits(len(small), 10))
    assert table.rows == 5
    bomb = compress(document(tabledata(*[("x" * 1000,)] * 2000)))  # about 2 MB of XML
    assert len(bomb) < 100_000
    with pytest.raises(UsageFault, match="counted after decompression"):
        read_uploads(refs, lambda part: io.BytesIO(bomb), UploadLimits(1_000_000, 10_000))


@pytest.mark.parametrize(("arraysize", "message"), [("0", "dimension of 0"), ("2x0", "dimension of 0"),
                                                    ("-1", "dimension of -1"), ("abc", "invalid literal")])
def test_unreadable_arraysize_screened(arraysize: str, message: str) -> None:
    """Zero-size BINARY rows would make astropy read rows forever: refused before it parses."""
    data = document('<BINARY><STREAM encoding="base64">AAAA</STREAM></BINARY>',
                    fields=f'<FIELD name="c" datatype="char" arraysize="{arraysize}"/>')
    with pytest.raises(UsageFault, match=message):
        screen_votable("t", io.BytesIO(data), 10, 1000)


def test_rows_counted_while_parsing() -> None:
    """TABLEDATA rows are counted before astropy builds any array: the refusal names the limit only."""
    refs = parse_upload_param(["t,param:t"])
    data = document(tabledata(*[("x",)] * 50))
    with pytest.raises(UsageFault, match="has more than 10 rows; at most 10 are accepted"):
        read_uploads(refs, lambda part: io.BytesIO(data), UploadLimits(1_000_000, 10))


def test_inline_base64_fits_is_not_followed() -> None:
    """Even a FITS element without href is refused (astropy reads FITS only through an href)."""
    fits = document(f'<FITS extnum="1"><STREAM encoding="base64">{base64.b64encode(b"SIMPLE").decode()}'
                    '</STREAM></FITS>')
    with pytest.raises(UsageFault, match="FITS serialisation"):
        read_uploads(parse_upload_param(["t,param:t"]), lambda part: io.BytesIO(fits), UploadLimits(100_000, 10))
