"""Identifiers of provenance records as PROV qualified names, and back.

The tables hold identifiers as text: IRIs such as ``ivo://tapserver.example/dl3?fact/obs_1``,
``urn:uuid:...`` or ``file:///data/x.fits#sha256:...``, or plain local names. PROV serialisations write them
as ``prefix:local`` qualified names whose expansion (namespace IRI + local part) is the IRI:

* an IRI is cut after the last ``/`` or ``:`` before its query, fragment or first non-ASCII character, so
  identifiers that share a path share a namespace (one prefix per directory, per DID authority, one for all
  ``urn:uuid:``) and namespaces are ASCII URIs, as XML requires;
* characters an IRI cannot hold (space, ``<>"{}|\\^```, controls) are percent-encoded;
* a local name (no scheme) is percent-encoded under :data:`LOCAL_NAMESPACE`, which :func:`identifier_of`
  removes again, so every identifier survives a serialise/import round trip (an IRI with characters it
  cannot hold comes back in its percent-encoded form, the IRI it denotes).
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

PROV_NS = "http://www.w3.org/ns/prov#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
VOPROV_NS = "http://www.ivoa.net/documents/ProvenanceDM/index.html#"
"""The IVOA Provenance DM namespace, as the ``voprov`` package declares it."""
TAPSERVER_NS = "urn:tapserver:provenance#"
"""Attributes of our tables that the Provenance DM does not define (``checksum``)."""
LOCAL_NAMESPACE = "urn:tapserver:local:"
"""Namespace of identifiers that are not IRIs (no scheme)."""

FIXED_PREFIXES = {"prov": PROV_NS, "xsd": XSD_NS, "voprov": VOPROV_NS, "tapserver": TAPSERVER_NS}
_RESERVED = {*FIXED_PREFIXES, "xsi", "xml", "xmlns", "local"}

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
# Characters percent-encoded in IRIs: those an IRI cannot hold (controls, space, <>"{}|\\^`, a % that does not
# start an escape), the brackets, and
# the non-ASCII ones a PROV-N name cannot start with (outside PN_CHARS_BASE: U+00A0-U+00BF, combining marks,
# private-use planes...).
_NOT_IN_IRI = re.compile(
    "%(?![0-9A-Fa-f]{2})|[^!#-;=?-Z_a-z~"
    "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff]"
)


def to_iri(identifier: str) -> str:
    """The IRI of a stored identifier."""
    if not _SCHEME.match(identifier):
        return LOCAL_NAMESPACE + quote(identifier, safe="")
    return _NOT_IN_IRI.sub(lambda m: quote(m.group(0), safe=""), identifier)


def identifier_of(iri: str) -> str:
    """The stored identifier of an IRI read from a PROV document (inverse of :func:`to_iri`)."""
    if iri.startswith(LOCAL_NAMESPACE):
        return unquote(iri[len(LOCAL_NAMESPACE):])
    return iri


def split_iri(iri: str) -> tuple[str, str]:
    """(namespace, local part) with ``namespace + local == iri`` and a non-empty local part."""
    if iri.startswith(LOCAL_NAMESPACE):
        return LOCAL_NAMESPACE, iri[len(LOCAL_NAMESPACE):]
    end = len(iri) - 1  # the local part keeps at least one character
    for mark in "?#":
        found = iri.find(mark)
        if 0 <= found < end:
            end = found
    non_ascii = next((i for i, char in enumerate(iri) if ord(char) > 127), None)
    if non_ascii is not None and non_ascii < end:  # XML namespace names must be ASCII URIs (libxml2)
        end = non_ascii
    cut = max(iri.rfind("/", 0, end), iri.rfind(":", 0, end))
    return iri[: cut + 1], iri[cut + 1:]


class Namespaces:
    """Prefixes for the namespaces a document uses, named after the IRI scheme (``ivo``, ``file``, ``urn``,
    then ``ivo2``...), in the order they are first needed."""

    def __init__(self) -> None:
        self._prefix_of: dict[str, str] = {}
        self._taken: set[str] = set(_RESERVED)

    def qname(self, identifier: str) -> str:
        """``prefix:local`` for a stored identifier, registering its namespace."""
        namespace, local = split_iri(to_iri(identifier))
        if not namespace:  # a bare scheme such as "x:"
            namespace, local = LOCAL_NAMESPACE, quote(identifier, safe="")
        return f"{self.prefix(namespace)}:{local}"

    def prefix(self, namespace: str) -> str:
        prefix = self._prefix_of.get(namespace)
        if prefix is None:
            if namespace == LOCAL_NAMESPACE:
                prefix = "local"
            else:
                scheme = re.sub(r"[^a-z0-9]", "", namespace.split(":", 1)[0].lower())
                base = scheme if scheme[:1].isalpha() else f"ns{scheme}"
                prefix, n = base, 1
                while prefix in self._taken:
                    n += 1
                    prefix = f"{base}{n}"
            self._taken.add(prefix)
            self._prefix_of[namespace] = prefix
        return prefix

    def declarations(self) -> dict[str, str]:
        """prefix -> namespace IRI of the namespaces registered so far."""
        return {prefix: namespace for namespace, prefix in self._prefix_of.items()}
