"""Reading a request's DALI parameters, for every endpoint through one FastAPI dependency
(:func:`tapserver.dependencies.dali_params`).

Parameters come from the query string and, for a POST, from an ``application/x-www-form-urlencoded`` or
``multipart/form-data`` body; any other body is ignored. A body is read as it arrives and refused with a
413 as soon as it passes its limit (never cut and passed on): url-encoded bodies up to
``form_limit_bytes``, multipart bodies up to that plus ``upload_limit_bytes`` (their file parts, inline
uploads, are spooled to temporary files as they arrive and closed when the response is done).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import IO
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from tapserver.config import Settings
from tapserver.dali.params import Params
from tapserver.errors import TooLargeFault, UsageFault

FORM = "application/x-www-form-urlencoded"
MULTIPART = "multipart/form-data"
#: Largest field of a url-encoded body, and largest non-file part of a multipart body.
MAX_FIELD_BYTES = 1024 * 1024
#: Most file parts and most other fields of a multipart body.
MAX_FILES = 100
MAX_FIELDS = 1000


@dataclass(frozen=True)
class BodyLimits:
    """Largest accepted request bodies, in bytes."""

    form: int
    multipart: int

    @classmethod
    def from_settings(cls, settings: Settings) -> BodyLimits:
        """Multipart bodies carry the inline uploads besides their fields: the upload limit on top."""
        return cls(form=settings.form_limit_bytes, multipart=settings.form_limit_bytes + settings.upload_limit_bytes)


def media_type(request: Request) -> str:
    """The request's Content-Type without its parameters, in lower case."""
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _too_large(kind: str, limit: int) -> TooLargeFault:
    return TooLargeFault(f"the {kind} request body is larger than {limit} bytes, the most this service accepts")


async def _bounded(request: Request, kind: str, limit: int) -> AsyncGenerator[bytes, None]:
    """The body's chunks as they arrive; TooLargeFault as soon as more than ``limit`` bytes came (or
    Content-Length announces more)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(kind, limit)
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(kind, limit)
        yield chunk


async def _form_fields(request: Request, limit: int) -> list[tuple[str, str]]:
    """The fields of a url-encoded body (UTF-8; bytes that are not UTF-8 become U+FFFD)."""
    body = b"".join([chunk async for chunk in _bounded(request, "url-encoded", limit)])
    if any(len(field) > MAX_FIELD_BYTES for field in body.split(b"&")):
        raise UsageFault(f"a url-encoded parameter is larger than {MAX_FIELD_BYTES} bytes")
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


async def _multipart(request: Request, limit: int) -> FormData:
    parser = MultiPartParser(request.headers, _bounded(request, "multipart", limit), max_files=MAX_FILES,
                             max_fields=MAX_FIELDS, max_part_size=MAX_FIELD_BYTES)
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise UsageFault(f"invalid multipart body: {exc.message}") from None


@asynccontextmanager
async def read_params(request: Request, limits: BodyLimits) -> AsyncIterator[Params]:
    """The request's parameters; the file parts of a multipart body are open until the block ends."""
    items: list[tuple[str, str]] = list(request.query_params.multi_items())
    if request.method != "POST":
        yield Params(items)
        return
    kind = media_type(request)
    if kind == FORM:
        yield Params(items + await _form_fields(request, limits.form))
        return
    if kind != MULTIPART:
        yield Params(items)
        return
    form = await _multipart(request, limits.multipart)
    try:
        parts: dict[str, IO[bytes]] = {}
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                parts[name] = value.file
            else:
                items.append((name, value))
        yield Params(items, parts)
    finally:
        await form.close()


