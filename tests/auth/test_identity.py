"""The one identity accessor: who the caller is, for job ownership, data rights and the audit log."""

from __future__ import annotations

import pytest
from starlette.authentication import SimpleUser, UnauthenticatedUser

from tapserver.auth.identity import AuthenticatedUser, identity_of

pytestmark = pytest.mark.nodb


@pytest.mark.parametrize(("user", "identity"), [
    (None, None),
    (UnauthenticatedUser(), None),
    (AuthenticatedUser("alice", frozenset({"crab"})), "alice"),
    (AuthenticatedUser("bob", method="oidc"), "bob"),
    (SimpleUser("carol"), "carol"),
    (object(), None),
])
def test_identity_of(user: object, identity: str | None) -> None:
    assert identity_of(user) == identity
