"""The one request reader: query strings, url-encoded and multipart bodies, their limits (413, never a cut
body) and their control characters, through the FastAPI dependency every router uses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from lxml import etree

from tapserver import error_handlers
from tapserver.dali.params import Params
from tapserver.dali.reader import MAX_FIELD_BYTES, MAX_FILES, BodyLimits
from tapserver.dependencies import body_limits, dali_params
from tapserver.middleware import DALIParamsMiddleware

pytestmark = pytest.mark.nodb

FORM = "application/x-www-form-urlencoded"
VOTABLE_NS = "{http://www.ivoa.net/xml/VOTable/v1.3}"
LIMITS = BodyLimits(form=3 * MAX_FIELD_BYTES, multipart=5 * MAX_FIELD_BYTES)
BOUNDARY = "b0undary"


def multipart(*fields: tuple[str, str | bytes, str | None]) -> tuple[bytes, dict[str, str]]:
    """A multipart/form-data body of (name, content, filename) parts, names as given (any case)."""
    body = b""
    for name, content, filename in fields:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        data = content.encode() if isinstance(content, str) else content
        body += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    return body + f"--{BOUNDARY}--\r\n".encode(), {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    """An app with the reader behind the DALI middleware, as in tapserver.app, and small body limits."""
    app = FastAPI()
    error_handlers.install(app)
    app.add_middleware(DALIParamsMiddleware)
    app.dependency_overrides[body_limits] = lambda: LIMITS

    @app.api_route("/echo", methods=["GET", "POST"])
    async def echo(params: Params = Depends(dali_params)) -> dict[str, Any]:
        parts = {name: part.read().decode("latin-1") for name, part in params.parts.items()}
        return {"items": params.items(), "parts": parts}

    with TestClient(app) as test_client:
        yield test_client


def assert_dali_error(response: Any, status: int, message: str) -> None:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    info = etree.fromstring(response.content).find(f".//{VOTABLE_NS}INFO[@name='QUERY_STATUS']")
    assert info is not None and info.get("value") == "ERROR"
    assert message in response.text, response.text[:300]


def _chunks(data: bytes, size: int = 65536) -> Iterator[bytes]:
    """The body sent chunked: no Content-Length for the reader to check first."""
    for start in range(0, len(data), size):
        yield data[start:start + size]


# -- what is read -------------------------------------------------------------------------------------

_FILE_BODY, _FILE_HEADERS = multipart(("upload", "t,param:MyTable", None), ("query", "SELECT 1", None),
                                      ("MyTable", b"<VOTABLE>\x00\x01</VOTABLE>", "t.xml"),
                                      ("Upload", "u,param:other", None))
_REPEATED_BODY, _REPEATED_HEADERS = multipart(("id", "a", None), ("ID", "b", None), ("iD", "c", None))

READ = [
    ("GET, names in any case", dict(method="GET", url="/echo?lang=ADQL&Query=SELECT%201&maxREC=3"),
     [["LANG", "ADQL"], ["QUERY", "SELECT 1"], ["MAXREC", "3"]], {}),
    ("GET, a repeated name keeps its order", dict(method="GET", url="/echo?ID=a&id=b&Id=c"),
     [["ID", "a"], ["ID", "b"], ["ID", "c"]], {}),
    ("POST url-encoded after the query string",
     dict(method="POST", url="/echo?ID=q", content=b"id=b1&Id=b2&runid=r", headers={"Content-Type": FORM}),
     [["ID", "q"], ["ID", "b1"], ["ID", "b2"], ["RUNID", "r"]], {}),
    ("POST url-encoded: blank values kept",
     dict(method="POST", url="/echo", content=b"a=&b&c=%20", headers={"Content-Type": FORM}),
     [["A", ""], ["B", ""], ["C", " "]], {}),
    ("POST url-encoded: UTF-8 escaped or raw, + is a space",
     dict(method="POST", url="/echo", content="q=%C3%A9t%C3%A9&r=été&s=a+b".encode(),
          headers={"Content-Type": "Application/X-WWW-Form-Urlencoded; charset=UTF-8"}),
     [["Q", "été"], ["R", "été"], ["S", "a b"]], {}),
    ("POST url-encoded: TAB, LF and CR allowed",
     dict(method="POST", url="/echo", content=b"query=SELECT%091%0D%0AFROM%20t", headers={"Content-Type": FORM}),
     [["QUERY", "SELECT\t1\r\nFROM t"]], {}),
    ("POST multipart: fields in order, file parts apart under their names as sent",
     dict(method="POST", url="/echo", content=_FILE_BODY, headers=_FILE_HEADERS),
     [["UPLOAD", "t,param:MyTable"], ["QUERY", "SELECT 1"], ["UPLOAD", "u,param:other"]],
     {"MyTable": "<VOTABLE>\x00\x01</VOTABLE>"}),
    ("POST multipart: a repeated name keeps its order",
     dict(method="POST", url="/echo?ID=q", content=_REPEATED_BODY, headers=_REPEATED_HEADERS),
     [["ID", "q"], ["ID", "a"], ["ID", "b"], ["ID", "c"]], {}),
    ("POST with another body: only the query string",
     dict(method="POST", url="/echo?ID=q", content=b'{"ID": "x"}', headers={"Content-Type": "application/json"}),
     [["ID", "q"]], {}),
    ("POST url-encoded at the limit exactly",
     dict(method="POST", url="/echo",
          content=b"&".join([b"a=" + b"x" * (MAX_FIELD_BYTES - 2)] * 3)[:LIMITS.form - 1] + b"y",
          headers={"Content-Type": FORM}),
     None, {}),
    ("POST multipart: a file part larger than the url-encoded limit",
     dict(method="POST", url="/echo", content=multipart(("t", b"z" * (LIMITS.form + 1), "t.xml"))[0],
          headers=_FILE_HEADERS),
     [], {"t": "z" * (LIMITS.form + 1)}),
]


@pytest.mark.parametrize(("what", "request_", "items", "parts"), READ, ids=[row[0] for row in READ])
def test_read(client: TestClient, what: str, request_: dict[str, Any], items: list[list[str]] | None,
              parts: dict[str, str]) -> None:
    response = client.request(**request_)
    assert response.status_code == 200, response.text[:300]
    if items is not None:
        assert response.json()["items"] == items
    else:
        assert sum(len(n) + len(v) + 2 for n, v in response.json()["items"]) - 1 == LIMITS.form
    assert response.json()["parts"] == parts


# -- what is refused ----------------------------------------------------------------------------------

_BIG_FORM = b"q=" + b"x" * LIMITS.form
_BIG_MULTIPART, _ = multipart(("t", b"z" * LIMITS.multipart, "t.xml"))

REFUSED = [
    ("url-encoded over the limit, announced", dict(content=_BIG_FORM, headers={"Content-Type": FORM}),
     413, f"url-encoded request body is larger than {LIMITS.form} bytes"),
    ("url-encoded over the limit, chunked", dict(content=_chunks(_BIG_FORM), headers={"Content-Type": FORM}),
     413, f"url-encoded request body is larger than {LIMITS.form} bytes"),
    ("url-encoded one byte over the limit",
     dict(content=b"q=" + b"x" * (LIMITS.form - 1), headers={"Content-Type": FORM}),
     413, "larger than"),
    ("multipart over the limit, announced", dict(content=_BIG_MULTIPART, headers=_FILE_HEADERS),
     413, f"multipart request body is larger than {LIMITS.multipart} bytes"),
    ("multipart over the limit, chunked", dict(content=_chunks(_BIG_MULTIPART), headers=_FILE_HEADERS),
     413, f"multipart request body is larger than {LIMITS.multipart} bytes"),
    ("url-encoded field over the field limit",
     dict(content=b"q=" + b"x" * MAX_FIELD_BYTES, headers={"Content-Type": FORM}),
     400, f"larger than {MAX_FIELD_BYTES} bytes"),
    ("multipart field over the field limit",
     dict(content=multipart(("q", "x" * (MAX_FIELD_BYTES + 1), None))[0], headers=_FILE_HEADERS),
     400, "invalid multipart body"),
    ("multipart with too many files",
     dict(content=multipart(*[(f"f{i}", "x", f"f{i}") for i in range(MAX_FILES + 1)])[0], headers=_FILE_HEADERS),
     400, "Too many files"),
    ("multipart without a boundary",
     dict(content=b"--x\r\n", headers={"Content-Type": "multipart/form-data"}), 400, "invalid multipart body"),
    ("NUL in a url-encoded value", dict(content=b"ID=a%00b", headers={"Content-Type": FORM}),
     400, "parameter ID contains the control character U+0000"),
    ("ESC in a url-encoded name", dict(content=b"I%1BD=a", headers={"Content-Type": FORM}),
     400, "a parameter name contains the control character U+001B"),
    ("NUL in a multipart field",
     dict(content=multipart(("query", "SELECT 1 -- \x00", None))[0], headers=_FILE_HEADERS),
     400, "parameter QUERY contains the control character U+0000"),
    ("NUL in a multipart field name",
     dict(content=multipart(("I\x00D", "x", None))[0], headers=_FILE_HEADERS),
     400, "a parameter name contains the control character U+0000"),
]


@pytest.mark.parametrize(("what", "request_", "status", "message"), REFUSED, ids=[row[0] for row in REFUSED])
def test_refused(client: TestClient, what: str, request_: dict[str, Any], status: int, message: str) -> None:
    assert_dali_error(client.post("/echo", **request_), status, message)


@pytest.mark.parametrize("url", ["/echo?ID=a%00b", "/echo?I%00D=x"])
def test_control_characters_in_the_query_string(client: TestClient, url: str) -> None:
    assert_dali_error(client.get(url), 400, "control character U+0000")
