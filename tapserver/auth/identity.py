"""The authenticated caller, as Starlette's ``request.user`` (``scope["user"]``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from starlette.authentication import BaseUser
from starlette.requests import HTTPConnection


@dataclass(frozen=True)
class AuthenticatedUser(BaseUser):
    """A caller whose bearer token was verified. ``method`` is ``token`` (operator token) or ``oidc``."""

    user_id: str
    groups: frozenset[str] = field(default_factory=frozenset)
    method: str = "token"

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.user_id

    @property
    def identity(self) -> str:
        return self.user_id


def user_groups(user: object) -> frozenset[str]:
    """The groups of ``request.user`` (empty for anonymous callers)."""
    if isinstance(user, AuthenticatedUser):
        return user.groups
    return frozenset()


def identity_of(user: Any) -> str | None:
    """The identity of an authenticated ``request.user`` (``scope["user"]``), None for anyone else."""
    if user is not None and getattr(user, "is_authenticated", False):
        return str(user.identity)
    return None


def caller_identity(request: HTTPConnection) -> str | None:
    """The caller's identity (a FastAPI dependency): who owns jobs and whose rights are checked; None
    when anonymous."""
    return identity_of(request.scope.get("user"))
