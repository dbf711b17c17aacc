"""The UPLOAD parameter (TAP 1.1 §2.7.6, DALI §3.4.5): ``name,param:part`` and ``name,https://...`` pairs."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from tapserver.errors import UsageFault

#: Upload names: legal ADQL regular identifiers (TAP §2.7.6), short enough for a PostgreSQL table name.
NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,49}$")
URL_SCHEMES = ("http://", "https://")
INLINE_SCHEME = "param:"


@dataclass(frozen=True)
class UploadRef:
    """One ``name,uri`` pair of an UPLOAD parameter."""

    name: str
    uri: str

    @property
    def part(self) -> str | None:
        """The multipart part name for ``param:`` URIs, else None."""
        return self.uri[len(INLINE_SCHEME):] if self.uri.startswith(INLINE_SCHEME) else None


def upload_items(values: Iterable[str]) -> Iterator[tuple[str, str, str]]:
    """The items of UPLOAD values (several per value, separated by ``;``) as ``(item, name, uri)``, stripped;
    an item without a comma has an empty URI."""
    for value in values:
        for item in value.split(";"):
            item = item.strip()
            if item:
                name, _, uri = item.partition(",")
                yield item, name.strip(), uri.strip()


def inline_part_names(values: Iterable[str]) -> list[str]:
    """The multipart part names that UPLOAD values refer to (``name,param:PART``), leniently: nothing is
    refused here (:func:`parse_upload_param` refuses malformed values when the upload is read)."""
    return [uri[len(INLINE_SCHEME):] for _, _, uri in upload_items(values)
            if uri.startswith(INLINE_SCHEME) and len(uri) > len(INLINE_SCHEME)]


def parse_upload_param(values: Iterable[str]) -> list[UploadRef]:
    """Parse UPLOAD values into references (UsageFault for malformed ones, bad names, duplicates)."""
    refs: list[UploadRef] = []
    seen: set[str] = set()
    for item, name, uri in upload_items(values):
        if not uri:
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
