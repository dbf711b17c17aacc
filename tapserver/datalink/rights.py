"""Who may download what: the data-rights rule of ObsCore rows and the hook where authorisation plugs in.

Metadata (ObsCore rows, link tables, provenance) is public; only the files of restricted datasets are
protected. A dataset is restricted when its ``data_rights`` is

* ``proprietary`` and its ``obs_release_date`` is unknown or still in the future (the embargo ends at
  the release date, after which the data are public);
* ``secure`` (access always needs authorisation);
* anything else than ``public`` (or NULL, read as public): unknown values fail closed.

Whether a caller may read a restricted dataset is the :class:`AccessPolicy`'s decision. The default,
:class:`NoGrants`, authorises nobody: until the authentication issue supplies identities and grants,
restricted files are refused to everyone, while their metadata stays searchable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Protocol

from tapserver.datalink.model import DatasetRights
from tapserver.errors import AuthenticationFault, PermissionFault


class Access(Enum):
    """The outcome of a rights check for one caller and one dataset."""

    GRANTED = "granted"
    NEEDS_AUTHENTICATION = "needs-authentication"  # anonymous caller; logging in may help
    DENIED = "denied"  # known caller without a grant, or no way to authenticate at all


def is_restricted(dataset: DatasetRights, now: datetime) -> bool:
    """True when the files of ``dataset`` need authorisation at time ``now`` (aware, UTC)."""
    rights = (dataset.data_rights or "public").strip().lower()
    if rights == "public":
        return False
    if rights == "proprietary":
        if dataset.release_date is None:
            return True
        release = dataset.release_date
        if release.tzinfo is None:
            release = release.replace(tzinfo=UTC)
        return release > now
    return True


class AccessPolicy(Protocol):
    """Grants on restricted datasets. ``challenge`` is the WWW-Authenticate value sent with a 401
    (None when the service has no way to authenticate, in which case anonymous callers get 403)."""

    @property
    def challenge(self) -> str | None: ...

    def may_read(self, caller: str | None, dataset: DatasetRights) -> bool:
        """Whether ``caller`` (an authenticated identity, or None) may read restricted ``dataset``."""
        ...


@dataclass(frozen=True)
class NoGrants:
    """The policy while no authentication exists: nobody may read restricted data."""

    challenge: str | None = None

    def may_read(self, caller: str | None, dataset: DatasetRights) -> bool:
        return False


def decide(policy: AccessPolicy, caller: str | None, dataset: DatasetRights, now: datetime) -> Access:
    """The access of ``caller`` to the files of ``dataset``."""
    if not is_restricted(dataset, now):
        return Access.GRANTED
    if policy.may_read(caller, dataset):
        return Access.GRANTED
    if caller is None and policy.challenge is not None:
        return Access.NEEDS_AUTHENTICATION
    return Access.DENIED


class ChallengeFault(AuthenticationFault):
    """401 with the WWW-Authenticate challenge the client should answer."""

    def __init__(self, message: str, challenge: str) -> None:
        super().__init__(message)
        self.challenge = challenge


def require(policy: AccessPolicy, caller: str | None, dataset: DatasetRights, now: datetime, refusal: str,
            action: str) -> None:
    """Return if ``caller`` may read the files of ``dataset``; else ``refusal`` ("... is not public yet")
    as a 401 asking to authenticate (when the policy can challenge an anonymous caller) or a 403."""
    access = decide(policy, caller, dataset, now)
    if access is Access.GRANTED:
        return
    if access is Access.NEEDS_AUTHENTICATION and policy.challenge:
        raise ChallengeFault(f"{refusal}; authenticate to {action}", policy.challenge)
    raise PermissionFault(f"{refusal}; you are not authorized to download it")


def utcnow() -> datetime:
    return datetime.now(UTC)
