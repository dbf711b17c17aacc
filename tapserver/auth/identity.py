"""The authenticated caller, as Starlette's ``request.user`` (``scope["user"]``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.authentication import BaseUser
from starlette.requests import Request


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


def identity_of(user: object) -> str | None:
    """The identity of ``scope["user"]``: the authenticated user's, None for an anonymous caller."""
    if user is not None and getattr(user, "is_authenticated", False):
        return str(getattr(user, "identity"))  # noqa: B009 - BaseUser subclasses define it, BaseUser does not
    return None


def caller_identity(request: Request) -> str | None:
    """FastAPI dependency: the caller's identity (jobs are owned by it, data rights granted to it), None
    when anonymous."""
    return identity_of(request.scope.get("user"))
