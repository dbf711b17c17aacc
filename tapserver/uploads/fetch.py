"""Fetching ``UPLOAD=name,http(s)://...`` within a :class:`~tapserver.uploads.url_policy.UrlPolicy`.

A URL upload is a server-side request anyone may trigger. The host is resolved once, every address is
checked, and the connection goes to a checked address (no second lookup a rebinding DNS server could
answer differently); each redirect hop is checked the same way.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import ssl
import urllib.parse
from typing import IO, Any

from tapserver.errors import UsageFault
from tapserver.uploads.params import URL_SCHEMES
from tapserver.uploads.url_policy import IPAddress, UrlPolicy, ip_literal

#: Redirects followed for one URL upload (each hop checked against the policy).
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to ``host`` (Host header) over a socket to an already checked address."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def _socket(self) -> socket.socket:
        return socket.create_connection((str(self.address), self.port), self.timeout)

    def connect(self) -> None:
        self.sock = self._socket()


class _PinnedHTTPSConnection(_PinnedHTTPConnection):
    """HTTPS likewise; the certificate is verified against the host name (also sent as SNI)."""

    default_port = http.client.HTTPS_PORT

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, address, timeout)
        self.context = ssl.create_default_context()

    def connect(self) -> None:
        self.sock = self.context.wrap_socket(self._socket(), server_hostname=self.host)


class _Download(io.RawIOBase):
    """A fetched body: reads from the response; closing closes the response and its connection."""

    def __init__(self, response: http.client.HTTPResponse, conn: http.client.HTTPConnection) -> None:
        super().__init__()
        self.response = response
        self.conn = conn

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        return self.response.read(None if size is None or size < 0 else size)

    def readinto(self, buffer: Any) -> int:
        return self.response.readinto(buffer)

    def close(self) -> None:
        if not self.closed:
            try:
                self.response.close()
            finally:
                self.conn.close()
        super().close()


def _resolve(host: str, port: int) -> list[IPAddress]:
    """Every address of ``host``, looked up once: the connection then goes to one of these."""
    literal = ip_literal(host)
    if literal is not None:
        return [literal]
    found: dict[IPAddress, None] = {}
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        found[ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])] = None
    return list(found)


def _open_once(url: str, original: str, timeout_s: float, policy: UrlPolicy) -> _Download:
    """One checked GET, redirects not followed: resolve, check every address, connect to a checked one."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UsageFault(f"cannot fetch upload {original!r}: {exc}") from None
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        raise UsageFault(f"cannot fetch upload {original!r}: {url!r} is not an http(s) URL with a host")
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        addresses = _resolve(host, port)
    except (OSError, UnicodeError, ValueError) as exc:
        raise UsageFault(f"cannot fetch upload {original!r}: cannot resolve {host!r} ({exc})") from None
    if not addresses:
        raise UsageFault(f"cannot fetch upload {original!r}: {host!r} has no address")
    policy.check(url, host, addresses)
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    kind = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
    error: Exception | None = None
    for address in addresses:
        conn = kind(host, port, address, timeout_s)
        try:
            conn.connect()
        except OSError as exc:  # unreachable or refused: the next checked address
            conn.close()
            error = exc
            continue
        try:
            conn.request("GET", target, headers={"User-Agent": "tapserver (TAP_UPLOAD)", "Connection": "close"})
            return _Download(conn.getresponse(), conn)
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            error = exc
            break
    reason = error.strerror if isinstance(error, OSError) and error.strerror else error
    raise UsageFault(f"cannot fetch upload {original!r}: {reason or type(error).__name__}") from None


def fetch_url(url: str, timeout_s: float, policy: UrlPolicy | None = None) -> IO[bytes]:
    """Open an http(s) URL for reading within ``policy`` (default: public addresses only), following at
    most :data:`MAX_REDIRECTS` redirects, each hop checked. UsageFault if refused or not fetchable."""
    policy = policy if policy is not None else UrlPolicy()
    if not policy.enabled:
        raise UsageFault("URL uploads are disabled on this service: send the table inline instead "
                         "(UPLOAD=name,param:part with a multipart part named part)")
    if not url.startswith(URL_SCHEMES):
        raise UsageFault(f"cannot fetch {url!r}: only http and https URLs are supported")
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        download = _open_once(current, url, timeout_s, policy)
        status, reason = download.response.status, download.response.reason
        if status in _REDIRECTS:
            location = download.response.getheader("Location")
            download.close()
            if not location:
                raise UsageFault(f"cannot fetch upload {url!r}: HTTP {status} without a Location")
            current = urllib.parse.urljoin(current, location.strip())
            if not current.startswith(URL_SCHEMES):
                raise UsageFault(f"cannot fetch upload {url!r}: redirected to {current!r}, which is not an "
                                 "http(s) URL")
            continue
        if not 200 <= status < 300:
            download.close()
            raise UsageFault(f"cannot fetch upload {url!r}: HTTP {status} {reason}")
        return download  # type: ignore[return-value]  # a binary file object
    raise UsageFault(f"cannot fetch upload {url!r}: more than {MAX_REDIRECTS} redirects")


