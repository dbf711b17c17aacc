"""Where URL uploads may connect (:class:`UrlPolicy`): by default only globally routable addresses, never
loopback, private, link-local (cloud metadata), shared or reserved ones."""

from __future__ import annotations

import dataclasses
import fnmatch
import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tapserver.config import PUBLIC, parse_url_allow
from tapserver.errors import UsageFault

if TYPE_CHECKING:
    from tapserver.config import Settings

__all__ = ["PUBLIC", "IPAddress", "UrlPolicy", "address_kind", "ip_literal", "plain_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def plain_address(address: IPAddress) -> IPAddress:
    """The IPv4 address inside an IPv4-mapped or NAT64 IPv6 address (what the packets really reach)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address in _NAT64:
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def address_kind(address: IPAddress) -> str:
    """``public``, or why not: loopback, private, link-local, multicast, unspecified, reserved."""
    plain = plain_address(address)
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
        public, networks, hosts = parse_url_allow(self.allow)
        object.__setattr__(self, "_public", public)
        object.__setattr__(self, "_networks", networks)
        object.__setattr__(self, "_hosts", hosts)

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
        verb = "points to" if ip_literal(host) is not None else "resolves to"
        for address in addresses:
            if any(address in net or plain_address(address) in net for net in self._networks):
                continue
            kind = address_kind(address)
            shown = f"{address} ({plain_address(address)})" if plain_address(address) != address else str(address)
            if kind != "public":
                raise UsageFault(f"upload URL {url!r} {verb} {kind} address {shown}; not allowed (this "
                                 "service fetches uploads only from public addresses)")
            if not self._public:
                raise UsageFault(f"upload URL {url!r} {verb} {shown}, outside the hosts and networks this "
                                 "service fetches uploads from; not allowed")


def ip_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


