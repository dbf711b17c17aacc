"""Why a bearer token was refused. Messages never contain the token."""

from __future__ import annotations


class InvalidToken(Exception):
    """The token is malformed, unknown, revoked, expired or fails verification: HTTP 401."""


class IssuerUnavailable(Exception):
    """The OIDC issuer (discovery document or JWKS) cannot be reached: fail closed with HTTP 503."""
