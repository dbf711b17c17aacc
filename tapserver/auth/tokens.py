"""Operator-issued bearer tokens: ``tst_<random>``, shown once at creation, stored as SHA-256 only."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from tapserver.auth.errors import InvalidToken
from tapserver.auth.identity import AuthenticatedUser

PREFIX = "tst_"


def token_hash(token: str) -> str:
    """The stored form of a token (tokens are 256-bit random, so an unsalted hash is enough)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_operator_token(token: str) -> bool:
    return token.startswith(PREFIX)


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed to operators (never the token itself)."""

    token_id: str
    user_id: str
    groups: tuple[str, ...]
    created: datetime
    expires: datetime | None
    revoked: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked is not None:
            return "revoked"
        if self.expires is not None and self.expires <= now:
            return "expired"
        return "active"


class TokenStore:
    """The ``auth.token`` table, through the owner engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, user_id: str, groups: Sequence[str] = (), expires: datetime | None = None) -> tuple[str, str]:
        """Issue a token; returns ``(token_id, token)``. The token is not stored and cannot be shown again."""
        if not user_id.strip():
            raise ValueError("the user name must not be empty")
        token = PREFIX + secrets.token_urlsafe(32)
        token_id = secrets.token_hex(6)
        with self.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO auth.token (token_id, token_hash, user_id, groups, expires) "
                "VALUES (:id, :hash, :user, :groups, :expires)"),
                {"id": token_id, "hash": token_hash(token), "user": user_id.strip(),
                 "groups": sorted({g.strip() for g in groups if g.strip()}), "expires": expires})
        return token_id, token

    def revoke(self, *, token_id: str | None = None, user_id: str | None = None) -> int:
        """Revoke one token (by id) or every token of a user; returns how many were revoked."""
        if (token_id is None) == (user_id is None):
            raise ValueError("give a token id or a user")
        column = "token_id" if token_id is not None else "user_id"
        with self.engine.begin() as conn:
            result = conn.execute(text(
                f"UPDATE auth.token SET revoked = now() WHERE {column} = :value AND revoked IS NULL"),
                {"value": token_id if token_id is not None else user_id})
        return result.rowcount

    def list(self, user_id: str | None = None) -> list[TokenInfo]:
        with self.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT token_id, user_id, groups, created, expires, revoked FROM auth.token "
                "WHERE CAST(:user AS text) IS NULL OR user_id = :user ORDER BY created, token_id"),
                {"user": user_id}).all()
        return [TokenInfo(r.token_id, r.user_id, tuple(r.groups), r.created, r.expires, r.revoked) for r in rows]

    def authenticate(self, token: str) -> AuthenticatedUser:
        """The user of a valid token; :class:`InvalidToken` if unknown, revoked or expired."""
        with self.engine.connect() as conn:
            row = conn.execute(text(
                "SELECT user_id, groups, expires, revoked FROM auth.token WHERE token_hash = :hash"),
                {"hash": token_hash(token)}).first()
        if row is None:
            raise InvalidToken("unknown token")
        if row.revoked is not None:
            raise InvalidToken("the token was revoked")
        if row.expires is not None and row.expires <= datetime.now(UTC):
            raise InvalidToken("the token has expired")
        return AuthenticatedUser(row.user_id, frozenset(row.groups), "token")
