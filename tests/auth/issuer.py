"""A local OIDC issuer for tests: its own RSA keys, a JWKS and discovery document served on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class LocalIssuer:
    """Signs tokens with its current key; ``rotate()`` makes a new key (and kid) current."""

    def __init__(self) -> None:
        self.url = ""
        self.keys: dict[str, rsa.RSAPrivateKey] = {}
        self.current = ""
        self.jwks_requests = 0
        self._serial = 0
        self.rotate()

    def rotate(self) -> str:
        self._serial += 1
        kid = f"key-{self._serial}"
        self.keys[kid] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.current = kid
        return kid

    def jwks(self) -> dict[str, Any]:
        keys = []
        for kid, key in self.keys.items():
            jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
            jwk.update(kid=kid, use="sig", alg="RS256")
            keys.append(jwk)
        return {"keys": keys}

    def token(self, *, sub: str = "alice", groups: list[str] | None = None, aud: str = "tapserver",
              lifetime: float = 300, key: rsa.RSAPrivateKey | None = None, kid: str | None = None,
              **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": self.url, "sub": sub, "aud": aud, "iat": now, "nbf": now, "exp": now + int(lifetime),
                   "groups": groups if groups is not None else ["/crab-team"], **claims}
        kid = kid or self.current
        return jwt.encode(payload, key or self.keys[kid], algorithm="RS256", headers={"kid": kid})


@contextmanager
def serving(issuer: LocalIssuer) -> Iterator[LocalIssuer]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.endswith("/.well-known/openid-configuration"):
                body = {"issuer": issuer.url, "jwks_uri": issuer.url + "/jwks"}
            elif self.path.endswith("/jwks"):
                issuer.jwks_requests += 1
                body = issuer.jwks()
            else:
                self.send_error(404)
                return
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    issuer.url = f"http://127.0.0.1:{server.server_address[1]}/realms/test"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
