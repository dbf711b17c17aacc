"""TAP_UPLOAD (TAP 1.1 §2.7.6, DALI §3.4.5): UPLOAD parameters -> temporary tables the query can read.

Shared by sync queries and async jobs:

1. :func:`parse_upload_param` turns the ``UPLOAD`` values (``name,param:part`` for a multipart part,
   ``name,https://...`` for a URL; several per value separated by ``;``, several values allowed) into
   :class:`UploadRef` s, checking the names (ADQL regular identifiers, unique ignoring case).
2. :func:`read_uploads` reads each VOTable (any serialisation astropy reads) within the byte and row
   limits and describes it as an :class:`UploadedTable`: a catalog :class:`~tapserver.catalog.model.Table`
   whose schema/name are those of the temporary table (what ``translate(uploads=...)`` wants), with
   real SQL types and the FIELDs' VOTable metadata (datatype, arraysize, xtype, unit, UCD, utype).
3. :func:`temporary_tables` creates and fills the tables on the query connection in a read-write
   transaction of their own (the query then runs in its read-only one on the same session) and drops
   them afterwards, so a pooled connection never carries one into another request.

URL uploads (:func:`fetch_url`) are a server-side request anyone may trigger, so they follow a
:class:`UrlPolicy` (``TAPSERVER_UPLOAD_URL_ENABLED`` / ``TAPSERVER_UPLOAD_URL_ALLOW``): by default only
globally routable addresses, never loopback, private, link-local (cloud metadata), shared or reserved ones.
The host is resolved once, every address is checked, and the connection goes to a checked address (no
second lookup a rebinding DNS server could answer differently); each redirect hop is checked the same way.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import http.client
import io
import ipaddress
import math
import re
import socket
import ssl
import tempfile
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import numpy as np
from psycopg import sql
from sqlalchemy import Connection, text

from tapserver.catalog.model import Column, Table
from tapserver.errors import UsageFault

if TYPE_CHECKING:
    from tapserver.config import Settings

#: Upload names: legal ADQL regular identifiers (TAP §2.7.6), short enough for a PostgreSQL table name.
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")
TEMP_SCHEMA = "pg_temp"
TEMP_PREFIX = "tap_upload_"
URL_SCHEMES = ("http://", "https://")
INLINE_SCHEME = "param:"
_SPOOL_BYTES = 8 * 1024 * 1024
_CHUNK = 1024 * 1024

# VOTable datatype -> PostgreSQL element type.
_SQL_TYPES = {
    "boolean": "boolean",
    "bit": "boolean",
    "unsignedByte": "smallint",
    "short": "smallint",
    "int": "integer",
    "long": "bigint",
    "float": "real",
    "double": "double precision",
    "char": "text",
    "unicodeChar": "text",
}
# DALI geometry xtypes on double arrays -> pgsphere types (CONTAINS/INTERSECTS work on them).
_GEOMETRY = {"point": "spoint", "circle": "scircle", "polygon": "spoly"}


@dataclass(frozen=True)
class UploadRef:
    """One ``name,uri`` pair of an UPLOAD parameter."""

    name: str
    uri: str

    @property
    def part(self) -> str | None:
        """The multipart part name for ``param:`` URIs, else None."""
        return self.uri[len(INLINE_SCHEME):] if self.uri.startswith(INLINE_SCHEME) else None


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: ``UrlPolicy.allow`` entry: every globally routable address.
PUBLIC = "public"
#: Redirects followed for one URL upload (each hop checked against the policy).
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_HOST_PATTERN = re.compile(r"^[a-z0-9_*]([a-z0-9_*.-]*[a-z0-9_*])?$")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _plain(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped or NAT64 IPv6 address (what the packets really reach)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_kind(address: IPAddress) -> str:
    """``public``, or why not: loopback, private, link-local, multicast, unspecified, reserved."""
    plain = _plain(address)
    for kind, test in (("a loopback", plain.is_loopback), ("an unspecified", plain.is_unspecified),
                       ("a link-local", plain.is_link_local), ("a multicast", plain.is_multicast),
                       ("a private", plain.is_private)):
        if test:
            return kind
    return "public" if plain.is_global else "a reserved"


@dataclass(frozen=True)
class UrlPolicy:
    """Where URL uploads may connect. ``allow`` entries: ``public`` (any globally routable address), IP
    networks (``10.1.0.0/16``, ``::1/128``, a bare address) and host names or ``fnmatch`` patterns
    (``*.example.org``: such hosts may resolve to any address). A URL is fetched when its host matches a
    host entry, or when every address it resolves to is public (with ``public``) or in a listed network.
    ValueError for an entry that is none of these."""

    enabled: bool = True
    allow: tuple[str, ...] = (PUBLIC,)
    _public: bool = dataclasses.field(init=False, repr=False, compare=False, default=False)
    _networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = dataclasses.field(
        init=False, repr=False, compare=False, default=())
    _hosts: tuple[str, ...] = dataclasses.field(init=False, repr=False, compare=False, default=())

    def __post_init__(self) -> None:
        public, networks, hosts = False, [], []
        for entry in self.allow:
            item = entry.strip().lower()
            if item == PUBLIC:
                public = True
                continue
            try:
                networks.append(ipaddress.ip_network(item, strict=False))
                continue
            except ValueError:
                pass
            if not _HOST_PATTERN.match(item):
                raise ValueError(f"{entry!r} is neither {PUBLIC!r}, an IP network nor a host name (pattern)")
            hosts.append(item)
        object.__setattr__(self, "_public", public)
        object.__setattr__(self, "_networks", tuple(networks))
        object.__setattr__(self, "_hosts", tuple(hosts))

    @classmethod
    def from_settings(cls, settings: Settings) -> UrlPolicy:
        return cls(enabled=settings.upload_url_enabled, allow=tuple(settings.upload_url_allow))

    def host_listed(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(fnmatch.fnmatchcase(host, pattern) for pattern in self._hosts)

    def check(self, url: str, host: str, addresses: Sequence[IPAddress]) -> None:
        """UsageFault unless ``host`` (resolved to ``addresses``) may be fetched."""
        if self.host_listed(host):
            return
        verb = "points to" if _ip_literal(host) is not None else "resolves to"
        for address in addresses:
            if any(address in net or _plain(address) in net for net in self._networks):
                continue
            kind = address_kind(address)
            shown = f"{address} ({_plain(address)})" if _plain(address) != address else str(address)
            if kind != "public":
                raise UsageFault(f"upload URL {url!r} {verb} {kind} address {shown}; not allowed (this "
                                 "service fetches uploads only from public addresses)")
            if not self._public:
                raise UsageFault(f"upload URL {url!r} {verb} {shown}, outside the hosts and networks this "
                                 "service fetches uploads from; not allowed")


def _ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


@dataclass(frozen=True)
class UploadLimits:
    """What one request may upload: bytes (all tables together), rows (per table), URL fetch timeout
    and where URLs may point."""

    max_bytes: int
    max_rows: int
    url_timeout_s: float = 30.0
    url_policy: UrlPolicy = UrlPolicy()


def upload_limits(settings: Settings) -> UploadLimits:
    """The upload limits and URL policy of the configured service."""
    return UploadLimits(settings.upload_limit_bytes, settings.upload_limit_rows,
                        url_policy=UrlPolicy.from_settings(settings))


def parse_upload_param(values: Iterable[str]) -> list[UploadRef]:
    """Parse UPLOAD values into references (UsageFault for malformed ones, bad names, duplicates)."""
    refs: list[UploadRef] = []
    seen: set[str] = set()
    for value in values:
        for item in value.split(";"):
            item = item.strip()
            if not item:
                continue
            name, sep, uri = item.partition(",")
            name, uri = name.strip(), uri.strip()
            if not sep or not uri:
                raise UsageFault(f"UPLOAD must be 'table_name,URI', got {item!r}")
            if not NAME_PATTERN.match(name):
                raise UsageFault(f"upload table name {name!r} is not a valid ADQL identifier (letters, digits "
                                 "and '_', starting with a letter, at most 50 characters)")
            if name.lower() in seen:
                raise UsageFault(f"upload table name {name!r} is used more than once")
            if not (uri.startswith(URL_SCHEMES) or (uri.startswith(INLINE_SCHEME) and len(uri) > len(INLINE_SCHEME))):
                raise UsageFault(f"upload {name!r}: unsupported URI {uri!r} (use param:PART for an inline "
                                 "multipart part, or an http(s) URL)")
            seen.add(name.lower())
            refs.append(UploadRef(name, uri))
    return refs


@dataclass(frozen=True)
class _Loader:
    """How one VOTable column becomes one SQL column."""

    key: str  # the numpy field of astropy's array
    column: Column
    convert: Callable[[Any, Any], Any]  # (value, mask) -> Python value for COPY


@dataclass(frozen=True)
class UploadedTable:
    """A parsed upload, ready to become a temporary table."""

    name: str
    table: Table
    rows: int
    _array: Any
    _loaders: tuple[_Loader, ...]

    @property
    def sql_name(self) -> str:
        return self.table.name

    def iter_rows(self) -> Iterator[tuple[Any, ...]]:
        """The rows as Python values for COPY (NULL for masked values and NaN)."""
        columns = []
        for loader in self._loaders:
            data = self._array[loader.key]
            values = np.ma.getdata(data)
            mask = np.ma.getmaskarray(data)
            columns.append((loader.convert, values, mask))
        for i in range(self.rows):
            yield tuple(convert(values[i], mask[i]) for convert, values, mask in columns)


def upload_tables(tables: Iterable[UploadedTable]) -> dict[str, Table]:
    """The ``uploads`` argument of ``translate``: upload name -> table of the temporary table."""
    return {t.name: t.table for t in tables}


# -- reading -------------------------------------------------------------------------------------------

class _Budget:
    """Bytes still allowed for this request's uploads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.left = limit

    def take(self, n: int, name: str) -> None:
        self.left -= n
        if self.left < 0:
            raise UsageFault(f"upload {name!r} is too large: the uploads of one request may hold at most "
                             f"{self.limit} bytes")


def _spool(source: IO[bytes], name: str, budget: _Budget) -> IO[bytes]:
    """Copy a stream into a spooled temporary file, within the byte budget."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - returned
    try:
        while True:
            chunk = source.read(_CHUNK)
            if not chunk:
                break
            budget.take(len(chunk), name)
            spool.write(chunk)
        spool.seek(0)
        return spool
    except BaseException:
        spool.close()
        raise


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
    literal = _ip_literal(host)
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


def read_uploads(refs: Sequence[UploadRef], open_part: Callable[[str], IO[bytes] | None],
                 limits: UploadLimits, *, fetch: Callable[[str, float], IO[bytes]] | None = None,
                 ) -> list[UploadedTable]:
    """Read every referenced VOTable: inline parts through ``open_part(part_name)`` (None: no such
    part), URLs through ``fetch`` (default: :func:`fetch_url` with ``limits.url_policy``). UsageFault
    for anything missing, unreadable or over the limits."""
    budget = _Budget(limits.max_bytes)
    tables = []
    for ref in refs:
        part = ref.part
        if part is not None:
            source = open_part(part)
            if source is None:
                raise UsageFault(f"upload {ref.name!r} refers to param:{part}, but the request has no "
                                 f"multipart part named {part!r}")
        else:
            source = (fetch(ref.uri, limits.url_timeout_s) if fetch is not None
                      else fetch_url(ref.uri, limits.url_timeout_s, limits.url_policy))
        try:
            with _spool(source, ref.name, budget) as spooled:
                tables.append(read_votable(ref.name, spooled, limits.max_rows))
        finally:
            source.close()
    return tables


def read_votable(name: str, source: IO[bytes], max_rows: int) -> UploadedTable:
    """Parse the first table of a VOTable into an :class:`UploadedTable` named ``name``."""
    import warnings

    from astropy.io.votable import parse
    from astropy.io.votable.exceptions import VOWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", VOWarning)
            warnings.simplefilter("ignore", UserWarning)
            document = parse(source, verify="ignore")
        table = document.get_first_table()
    except UsageFault:
        raise
    except Exception as exc:  # astropy raises many types for malformed input
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageFault(f"upload {name!r} is not a readable VOTable: {message}") from None
    array = table.array
    rows = len(array)
    if rows > max_rows:
        raise UsageFault(f"upload {name!r} has {rows} rows; at most {max_rows} are accepted")
    keys = array.dtype.names or ()
    if len(keys) != len(table.fields):
        raise UsageFault(f"upload {name!r}: the table's FIELDs do not match its data")
    loaders = []
    seen: set[str] = set()
    for key, field in zip(keys, table.fields, strict=True):
        column_name = (field.name or field.ID or "").strip()
        if not column_name:
            raise UsageFault(f"upload {name!r} has a FIELD without a name")
        if len(column_name.encode()) > 63:
            raise UsageFault(f"upload {name!r}: column name {column_name[:40]!r}... is longer than 63 bytes")
        if column_name.lower() in seen:
            raise UsageFault(f"upload {name!r} has two columns named {column_name!r} (names ignore case)")
        seen.add(column_name.lower())
        loaders.append(_loader(name, key, column_name, field))
    catalog_table = Table(schema=TEMP_SCHEMA, name=TEMP_PREFIX + name.lower(),
                          description=f"uploaded table TAP_UPLOAD.{name}",
                          columns=tuple(loader.column for loader in loaders))
    return UploadedTable(name=name, table=catalog_table, rows=rows, _array=array, _loaders=tuple(loaders))


def _unit(field: Any) -> str | None:
    unit = getattr(field, "unit", None)
    if unit is None:
        return None
    try:
        rendered = unit.to_string(format="vounit")
    except Exception:
        rendered = str(unit)
    return rendered or None


def _is_scalar(arraysize: str | None) -> bool:
    return arraysize in (None, "", "1")


def _loader(upload: str, key: str, column_name: str, field: Any) -> _Loader:
    datatype: str = field.datatype
    arraysize: str | None = field.arraysize
    xtype: str | None = field.xtype

    def column(sql_type: str, datatype: str, arraysize: str | None, xtype: str | None) -> Column:
        return Column(column_name, sql_type, datatype, arraysize, xtype, unit=_unit(field), ucd=field.ucd or None,
                      utype=field.utype or None, description=field.description or None)

    if datatype in ("floatComplex", "doubleComplex"):
        raise UsageFault(f"upload {upload!r}: column {column_name!r} is {datatype}, which this service "
                         "cannot store")
    if datatype not in _SQL_TYPES:
        raise UsageFault(f"upload {upload!r}: column {column_name!r} has unknown datatype {datatype!r}")

    if datatype in ("char", "unicodeChar"):
        if xtype and xtype.lower() == "timestamp":
            return _Loader(key, column("timestamp without time zone", "char", "*", "timestamp"), _timestamp)
        if arraysize is not None and "x" in arraysize:
            raise UsageFault(f"upload {upload!r}: column {column_name!r} is a multidimensional character "
                             "array, which this service cannot store")
        single = arraysize in (None, "", "1")  # arraysize="1" is deprecated (VOTable 1.3 Erratum 3)
        return _Loader(key, column("text", datatype, None if single else arraysize, xtype), _string)

    base = _SQL_TYPES[datatype]
    if datatype == "bit":  # stored as boolean, and written back as such
        datatype = "boolean"
    geometry = _GEOMETRY.get((xtype or "").lower()) if datatype in ("double", "float") else None
    if geometry is not None and not _is_scalar(arraysize):
        return _Loader(key, column(geometry, datatype, arraysize, xtype), _GEOMETRY_CONVERTERS[geometry])
    if _is_scalar(arraysize):
        return _Loader(key, column(base, datatype, None, xtype), _scalar_converter(datatype))
    return _Loader(key, column(base + "[]", datatype, arraysize, xtype), _array_converter(datatype))


# -- value conversion (value, mask) -> COPY value ----------------------------------------------------

def _masked(mask: Any) -> bool:
    return bool(np.all(mask)) if np.ndim(mask) else bool(mask)


def _string(value: Any, mask: Any) -> str | None:
    if _masked(mask) or value is None or value is np.ma.masked:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).replace("\x00", "")


def _timestamp(value: Any, mask: Any) -> str | None:
    text_value = _string(value, mask)
    if text_value is None or not text_value.strip():
        return None
    return text_value.strip()


def _scalar_converter(datatype: str) -> Callable[[Any, Any], Any]:
    if datatype in ("boolean", "bit"):
        def boolean(value: Any, mask: Any) -> bool | None:
            return None if _masked(mask) else bool(value)
        return boolean
    if datatype in ("float", "double"):
        def floating(value: Any, mask: Any) -> float | None:
            if _masked(mask):
                return None
            number = float(value)
            return None if math.isnan(number) else number
        return floating

    def integer(value: Any, mask: Any) -> int | None:
        return None if _masked(mask) else int(value)
    return integer


def _elements(value: Any, mask: Any) -> list[Any] | None:
    if value is None or value is np.ma.masked:
        return None
    data = np.ma.getdata(value)
    if isinstance(value, np.ma.MaskedArray):
        item_mask = np.ma.getmaskarray(value)
    else:
        item_mask = np.broadcast_to(mask, np.shape(data))
    flat = np.ravel(data).tolist()
    flat_mask = np.ravel(item_mask).tolist() if np.ndim(item_mask) else [bool(item_mask)] * len(flat)
    return [None if m else v for v, m in zip(flat, flat_mask, strict=False)]


def _array_converter(datatype: str) -> Callable[[Any, Any], Any]:
    floating = datatype in ("float", "double")
    boolean = datatype in ("boolean", "bit")

    def convert(value: Any, mask: Any) -> list[Any] | None:
        if np.ndim(mask) == 0 and bool(mask):
            return None
        items = _elements(value, mask)
        if items is None:
            return None
        if floating:
            return [None if v is None or (isinstance(v, float) and math.isnan(v)) else v for v in items]
        if boolean:
            return [None if v is None else bool(v) for v in items]
        return [None if v is None else int(v) for v in items]
    return convert


def _numbers(value: Any, mask: Any, count: int | None) -> list[float] | None:
    items = _elements(value, mask)
    if items is None or any(v is None or (isinstance(v, float) and math.isnan(v)) for v in items):
        return None
    if count is not None and len(items) != count:
        return None
    return [float(v) for v in items]


def _spoint(value: Any, mask: Any) -> str | None:
    nums = _numbers(value, mask, 2)
    return None if nums is None else f"({nums[0]!r}d,{nums[1]!r}d)"


def _scircle(value: Any, mask: Any) -> str | None:
    nums = _numbers(value, mask, 3)
    return None if nums is None else f"<({nums[0]!r}d,{nums[1]!r}d),{nums[2]!r}d>"


def _spoly(value: Any, mask: Any) -> str | None:
    nums = _numbers(value, mask, None)
    if nums is None or len(nums) < 6 or len(nums) % 2:
        return None
    return "{" + ",".join(f"({nums[i]!r}d,{nums[i + 1]!r}d)" for i in range(0, len(nums), 2)) + "}"


_GEOMETRY_CONVERTERS: Mapping[str, Callable[[Any, Any], str | None]] = {
    "spoint": _spoint, "scircle": _scircle, "spoly": _spoly,
}


# -- temporary tables ----------------------------------------------------------------------------------

def _driver(conn: Connection) -> Any:
    from tapserver.tap.results import driver_connection

    return driver_connection(conn)


def create_temporary_tables(conn: Connection, tables: Sequence[UploadedTable]) -> None:
    """Create and fill the tables in a read-write transaction of their own, committed on return.

    ``conn`` must not be in a transaction. Data errors (a value PostgreSQL rejects) become UsageFaults.
    """
    import psycopg

    if not tables:
        return
    if conn.in_transaction():
        conn.rollback()
    conn.execute(text("SET TRANSACTION READ WRITE"))
    raw = _driver(conn)
    try:
        with raw.cursor() as cur:
            for table in tables:
                target = sql.Identifier(TEMP_SCHEMA, table.sql_name)
                columns = sql.SQL(", ").join(
                    sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in table.table.columns
                )
                cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(target))
                cur.execute(sql.SQL("CREATE TEMPORARY TABLE {} ({})").format(target, columns))
                names = sql.SQL(", ").join(sql.Identifier(c.name) for c in table.table.columns)
                with cur.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(target, names)) as copy:
                    for row in table.iter_rows():
                        copy.write_row(row)
                cur.execute(sql.SQL("ANALYZE {}").format(target))
    except psycopg.DataError as exc:
        conn.rollback()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageFault(f"an uploaded value could not be stored: {first}") from None
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def drop_temporary_tables(conn: Connection, tables: Sequence[UploadedTable]) -> None:
    """Drop the tables (in a read-write transaction); invalidate the connection if that fails, so the
    pool never hands out a session that still holds them."""
    if not tables:
        return
    try:
        if conn.in_transaction():
            conn.rollback()
        conn.execute(text("SET TRANSACTION READ WRITE"))
        targets = sql.SQL(", ").join(sql.Identifier(TEMP_SCHEMA, t.sql_name) for t in tables)
        with _driver(conn).cursor() as cur:
            cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(targets))
        conn.commit()
    except Exception:
        conn.invalidate()


@contextmanager
def temporary_tables(conn: Connection, tables: Sequence[UploadedTable]) -> Iterator[None]:
    """Create the tables for the duration of the block (the query runs inside), then drop them."""
    create_temporary_tables(conn, tables)
    try:
        yield
    finally:
        drop_temporary_tables(conn, tables)


def copy_stream(source: IO[bytes], write: Callable[[bytes], object], limit: int, name: str) -> int:
    """Copy at most ``limit`` bytes (UsageFault past it); returns the byte count. For storing inline
    uploads of async jobs until they run."""
    copied = 0
    while True:
        chunk = source.read(_CHUNK)
        if not chunk:
            return copied
        copied += len(chunk)
        if copied > limit:
            raise UsageFault(f"upload {name!r} is too large: at most {limit} bytes are accepted")
        write(chunk)


__all__ = [
    "UploadLimits",
    "UploadRef",
    "UploadedTable",
    "UrlPolicy",
    "copy_stream",
    "create_temporary_tables",
    "drop_temporary_tables",
    "fetch_url",
    "parse_upload_param",
    "read_uploads",
    "read_votable",
    "temporary_tables",
    "upload_limits",
    "upload_tables",
]
