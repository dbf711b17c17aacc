"""IVOA quirks handled once for every endpoint: case-insensitive parameter names and the Server header."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tapserver import __version__

SERVER_HEADER = f"tapserver/{__version__}".encode()
_FORM = b"application/x-www-form-urlencoded"
_MAX_FORM_BYTES = 10_000_000


def _upper_keys(raw: str) -> str:
    return urlencode([(k.upper(), v) for k, v in parse_qsl(raw, keep_blank_values=True)])


class DALIParamsMiddleware:
    """Upper-case DALI parameter names (DALI §3.1) in query strings and url-encoded bodies; values untouched.

    Multipart bodies are left alone here: tapserver.tap.params normalises their field names when parsing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("query_string"):
            scope = dict(scope)
            scope["query_string"] = _upper_keys(scope["query_string"].decode("latin-1")).encode("latin-1")
        content_type = dict(scope.get("headers", [])).get(b"content-type", b"")
        if scope["method"] == "POST" and content_type.split(b";")[0].strip().lower() == _FORM:
            body = bytearray()
            more = True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > _MAX_FORM_BYTES:
                    break
            new_body = _upper_keys(bytes(body).decode("utf-8", "replace")).encode()
            headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
            headers.append((b"content-length", str(len(new_body)).encode()))
            scope = dict(scope)
            scope["headers"] = headers
            sent = False

            async def replay() -> Message:
                nonlocal sent
                if sent:
                    return await receive()
                sent = True
                return {"type": "http.request", "body": new_body, "more_body": False}

            await self.app(scope, replay, send)
            return
        await self.app(scope, receive, send)


class ServerHeaderMiddleware:
    """Name tapserver and its version in the Server header (taplint CAP checks it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_server(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                headers.append((b"server", SERVER_HEADER))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_server)
