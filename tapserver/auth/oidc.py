"""OIDC bearer JWTs (INDIGO IAM, Keycloak): signature checked against the issuer's JWKS.

PyJWT's :class:`jwt.PyJWKClient` fetches and caches the JWKS: it is kept for ``oidc_jwks_cache_seconds``
and fetched again when a token names an unknown ``kid`` (key rotation), at most once per
``min_refresh_seconds`` after the last fetch (its ``cooldown_duration``), so tokens with made-up ``kid``s
cannot make the server hammer the issuer. Its rules on keys apply: signing keys need a ``kid``, and the JWKS
URL is not followed through redirects (the discovery document is). ``exp``, ``nbf``, ``iss`` and (when
configured) ``aud`` are verified. An unreachable issuer raises :class:`IssuerUnavailable`: the caller
fails closed (HTTP 503), it never falls back to anonymous.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import httpx
import jwt

from tapserver.auth.errors import InvalidToken, IssuerUnavailable
from tapserver.auth.identity import AuthenticatedUser
from tapserver.config import Settings

log = logging.getLogger("tapserver.auth")

#: Asymmetric algorithms only: an HS* token would let anyone who knows a public key forge tokens.
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
LEEWAY_SECONDS = 30


class OIDCVerifier:
    """Verifies JWTs of one issuer. Thread-safe (verification runs in worker threads)."""

    def __init__(self, settings: Settings, *, min_refresh_seconds: float = 10.0) -> None:
        if not settings.oidc_issuer:
            raise ValueError("oidc_issuer is not set")
        self.issuer = settings.oidc_issuer
        self.audience = settings.oidc_audience
        self.jwks_url = settings.oidc_jwks_url
        self.user_claim = settings.oidc_user_claim
        self.groups_claim = settings.oidc_groups_claim
        self.cache_seconds = settings.oidc_jwks_cache_seconds
        self.timeout = settings.oidc_timeout
        self.min_refresh_seconds = min_refresh_seconds
        self._jwks: jwt.PyJWKClient | None = None
        self._lock = threading.Lock()

    # -- the key set ---------------------------------------------------------------------------------

    def _get_json(self, url: str) -> Any:
        try:
            response = httpx.get(url, timeout=self.timeout, follow_redirects=True)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            log.error("OIDC issuer unreachable: GET %s failed: %s", url, type(exc).__name__)
            raise IssuerUnavailable("the token issuer cannot be reached; try again later") from None

    def _discover_jwks_url(self) -> str:
        if self.jwks_url:
            return self.jwks_url
        document = self._get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
        url = document.get("jwks_uri") if isinstance(document, Mapping) else None
        if not isinstance(url, str):
            log.error("OIDC discovery document of %s has no jwks_uri", self.issuer)
            raise IssuerUnavailable("the token issuer has no key set; try again later")
        self.jwks_url = url
        return url

    def _client(self) -> jwt.PyJWKClient:
        """The JWKS client, made once the JWKS URL is known (discovery is tried again until it succeeds)."""
        with self._lock:
            if self._jwks is None:
                url = self._discover_jwks_url()
                try:
                    self._jwks = jwt.PyJWKClient(url, lifespan=self.cache_seconds, timeout=self.timeout,
                                                 cooldown_duration=self.min_refresh_seconds)
                except jwt.PyJWKClientError as exc:
                    log.error("OIDC key set URL %s refused: %s", url, exc)
                    raise IssuerUnavailable("the token issuer has no usable key set; try again later") from None
            return self._jwks

    def key_for(self, kid: str) -> jwt.PyJWK:
        client = self._client()
        try:
            return client.get_signing_key(kid)
        except (jwt.PyJWKClientConnectionError, ValueError) as exc:  # ValueError: the body is not JSON
            log.error("OIDC issuer unreachable: GET %s failed: %s", client.uri, type(exc).__name__)
            raise IssuerUnavailable("the token issuer cannot be reached; try again later") from None
        except (jwt.PyJWKClientError, jwt.PyJWKSetError):  # no such kid, or no usable signing key at all
            raise InvalidToken("the token is signed with an unknown key") from None

    # -- tokens --------------------------------------------------------------------------------------

    def authenticate(self, token: str) -> AuthenticatedUser:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidToken("malformed token") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise InvalidToken("unsupported token signature algorithm")
        key = self.key_for(str(header.get("kid", "")))
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm], audience=self.audience, issuer=self.issuer,
                                options={"require": ["exp", "iss"], "verify_aud": self.audience is not None},
                                leeway=LEEWAY_SECONDS)
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("the token is not valid yet") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("the token is not meant for this service (audience)") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("the token comes from another issuer") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token signature is invalid") from None
        except jwt.PyJWTError:
            raise InvalidToken("invalid token") from None
        user = claims.get(self.user_claim)
        if not isinstance(user, str) or not user:
            raise InvalidToken(f"the token has no {self.user_claim!r} claim")
        return AuthenticatedUser(user, frozenset(_groups(claims.get(self.groups_claim))), "oidc")


def _groups(value: object) -> list[str]:
    """Group names from a claim: a list or a space-separated string; Keycloak paths lose their '/'."""
    if isinstance(value, str):
        items: list[object] = list(value.split())
    elif isinstance(value, list | tuple):
        items = list(value)
    else:
        return []
    return [item.strip().lstrip("/") for item in items if isinstance(item, str) and item.strip().lstrip("/")]
