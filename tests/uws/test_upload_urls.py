"""URL uploads (UPLOAD=name,http...): the SSRF guard. No database needed."""

from __future__ import annotations

import http.server
import io
import socket
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tapserver.config import SettingsError, load_settings
from tapserver.errors import UsageFault
from tapserver.uploads import UploadLimits, UrlPolicy, fetch_url, parse_upload_param, read_uploads
from tapserver.vosi.capabilities import render_capabilities
from tests.uws.synthetic import positions, votable_bytes

pytestmark = pytest.mark.nodb

LOOPBACK = UrlPolicy(allow=("public", "127.0.0.0/8"))


class Served:
    def __init__(self, base: str, port: int) -> None:
        self.base = base
        self.port = port
        self.hosts: list[str] = []  # Host header of every request for /t.xml


@pytest.fixture()
def served() -> Iterator[Served]:
    """Loopback HTTP server: /t.xml (a VOTable), /go?to=URL (302 to URL), /loop (302 to itself)."""
    data = votable_bytes(positions(3))
    state: list[Served] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path == "/t.xml":
                state[0].hosts.append(self.headers.get("Host", ""))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-votable+xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            elif url.path in ("/go", "/loop"):
                self.send_response(302)
                self.send_header("Location", parse_qs(url.query)["to"][0] if url.path == "/go" else "/loop")
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    state.append(Served(f"http://127.0.0.1:{port}", port))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state[0]
    server.shutdown()
    server.server_close()


def fetch(url: str, policy: UrlPolicy = UrlPolicy()) -> bytes:
    with fetch_url(url, 5.0, policy) as body:
        return body.read()


@pytest.mark.parametrize(("url", "message"), [
    ("http://127.0.0.1:{port}/t.xml", "points to a loopback address 127.0.0.1; not allowed"),
    ("http://127.8.9.10/t.xml", "points to a loopback address 127.8.9.10"),
    ("http://10.0.0.1/t.xml", "points to a private address 10.0.0.1; not allowed"),
    ("http://172.16.5.4/", "private address 172.16.5.4"),
    ("https://192.168.1.20/x", "private address 192.168.1.20"),
    ("http://169.254.169.254/latest/meta-data/", "link-local address 169.254.169.254"),
    ("http://100.64.0.1/", "reserved address 100.64.0.1"),
    ("http://0.0.0.0:{port}/t.xml", "unspecified address 0.0.0.0"),
    ("http://[::1]:{port}/t.xml", "points to a loopback address ::1"),
    ("http://[::ffff:127.0.0.1]:{port}/t.xml", "loopback address ::ffff:.* (127.0.0.1)"),
    ("http://[::ffff:10.1.2.3]/", "private address ::ffff:.* (10.1.2.3)"),
    ("http://[64:ff9b::a9fe:a9fe]/", "link-local address 64:ff9b::a9fe:a9fe (169.254.169.254)"),  # NAT64
    ("http://[fe80::1]/", "link-local address fe80::1"),
    ("http://[fd00::1]/", "private address fd00::1"),
    ("http://localhost:{port}/t.xml", "resolves to a loopback address"),
    ("http://2130706433:{port}/t.xml", "resolves to a loopback address 127.0.0.1"),  # 127.0.0.1 as a number
])
def test_refused_by_default(served: Served, url: str, message: str) -> None:
    pattern = message.replace(".", r"\.").replace(r"\.*", ".*").replace("(", r"\(").replace(")", r"\)")
    with pytest.raises(UsageFault, match="upload URL .* " + pattern):
        fetch(url.format(port=served.port))
    assert served.hosts == []  # nothing reached the server


@pytest.mark.parametrize("target", [
    "http://169.254.169.254/latest/meta-data/",
    "http://10.0.0.7/t.xml",
    "http://[::1]:{port}/t.xml",
    "http://127.0.0.2:{port}/t.xml",
])
def test_redirect_into_a_refused_address(served: Served, target: str) -> None:
    """The first hop is allowed (127.0.0.1 listed), the redirect target is checked again and refused."""
    policy = UrlPolicy(allow=("public", "127.0.0.1/32"))
    url = f"{served.base}/go?to={target.format(port=served.port)}"
    with pytest.raises(UsageFault, match="not allowed") as raised:
        fetch(url, policy)
    assert urlsplit(target).hostname in str(raised.value)  # type: ignore[operator]
    assert served.hosts == []


def test_allowed_when_listed(served: Served) -> None:
    assert fetch(f"{served.base}/t.xml", LOOPBACK).startswith(b"<?xml")
    assert fetch(f"{served.base}/go?to=/t.xml", LOOPBACK).startswith(b"<?xml")  # a relative redirect
    assert fetch(f"{served.base}/go?to={served.base}/t.xml", UrlPolicy(allow=("127.0.0.1",))).startswith(b"<?xml")
    # a host name entry allows whatever the host resolves to
    assert fetch(f"http://localhost:{served.port}/t.xml", UrlPolicy(allow=("localhost",))).startswith(b"<?xml")
    limits = UploadLimits(max_bytes=100_000, max_rows=10, url_policy=LOOPBACK)
    (table,) = read_uploads(parse_upload_param([f"t,{served.base}/t.xml"]), lambda part: None, limits)
    assert table.rows == 3


def test_public_address_outside_an_explicit_list() -> None:
    with pytest.raises(UsageFault, match=r"points to 93\.184\.216\.34, outside the hosts and networks"):
        fetch("http://93.184.216.34/t.xml", UrlPolicy(allow=("10.0.0.0/8", "*.example.org")))


def test_host_patterns() -> None:
    policy = UrlPolicy(allow=("*.Example.org", "data.test"))
    assert policy.host_listed("a.example.org") and policy.host_listed("A.B.EXAMPLE.ORG.")
    assert policy.host_listed("data.test")
    assert not policy.host_listed("example.org") and not policy.host_listed("data.test.evil.com")


def test_size_budget_and_status_still_apply(served: Served) -> None:
    limits = UploadLimits(max_bytes=100, max_rows=10, url_policy=LOOPBACK)
    with pytest.raises(UsageFault, match="too large"):
        read_uploads(parse_upload_param([f"t,{served.base}/t.xml"]), lambda part: None, limits)
    with pytest.raises(UsageFault, match="HTTP 404"):
        fetch(f"{served.base}/missing", LOOPBACK)
    with pytest.raises(UsageFault, match="more than 5 redirects"):
        fetch(f"{served.base}/loop", LOOPBACK)


def test_connects_to_the_checked_address(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """The host is resolved once: a DNS answer changing after the check (rebinding) is never used."""
    real = socket.getaddrinfo
    answers = iter(["127.0.0.1", "10.0.0.1", "10.0.0.1"])
    lookups: list[str] = []

    def fake(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "rebind.test":
            lookups.append(host)
            return real(next(answers), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    policy = UrlPolicy(allow=("127.0.0.0/8",))
    assert fetch(f"http://rebind.test:{served.port}/t.xml", policy).startswith(b"<?xml")
    assert lookups == ["rebind.test"]
    assert served.hosts == [f"rebind.test:{served.port}"]  # the Host header names the host, not the address
    with pytest.raises(UsageFault, match=r"resolves to a private address 10\.0\.0\.1"):
        fetch(f"http://rebind.test:{served.port}/t.xml", policy)


def test_url_uploads_disabled(served: Served) -> None:
    with pytest.raises(UsageFault, match="URL uploads are disabled on this service"):
        fetch(f"{served.base}/t.xml", UrlPolicy(enabled=False, allow=("127.0.0.0/8",)))
    assert served.hosts == []
    # inline uploads still work
    limits = UploadLimits(max_bytes=100_000, max_rows=10, url_policy=UrlPolicy(enabled=False))
    data = votable_bytes(positions(2))
    (table,) = read_uploads(parse_upload_param(["t,param:p"]), lambda part: io.BytesIO(data), limits)
    assert table.rows == 2


def test_settings() -> None:
    settings = load_settings(upload_url_allow=["public", "10.1.0.0/16", "::1", "*.example.org"])
    policy = UploadLimits(1, 1, url_policy=UrlPolicy.from_settings(settings)).url_policy
    assert policy.enabled and policy.allow == ("public", "10.1.0.0/16", "::1", "*.example.org")
    assert load_settings().upload_url_allow == ["public"] and load_settings().upload_url_enabled
    with pytest.raises(SettingsError, match=r"TAPSERVER_UPLOAD_URL_ALLOW: .*'not a host!'"):
        load_settings(upload_url_allow=["public", "not a host!"])


def test_capabilities_without_url_uploads() -> None:
    def methods(**overrides: object) -> set[str]:
        document = render_capabilities(load_settings(**overrides), [], [], uploads=True).decode()
        return {m for m in ("upload-inline", "upload-http", "upload-https") if f"TAPRegExt#{m}" in document}

    assert methods() == {"upload-inline", "upload-http", "upload-https"}
    assert methods(upload_url_enabled=False) == {"upload-inline"}
