"""Group grants on proprietary products: the DataLink :class:`~tapserver.datalink.rights.AccessPolicy`.

``Settings.proprietary_groups`` maps ``collection:NAME`` and ``proposal:ID`` to the groups whose members
may read the restricted products of that collection or proposal. Whether a product is restricted at
all (public rights, or a release date in the past) is decided by :mod:`tapserver.datalink.rights`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tapserver.auth.identity import user_groups
from tapserver.config import Settings
from tapserver.datalink.model import DatasetRights

CHALLENGE = 'Bearer realm="tapserver"'


@dataclass(frozen=True)
class GroupPolicy:
    """The grants of one caller (its groups), checked against the configured grants."""

    grants: Mapping[str, Sequence[str]]
    groups: frozenset[str] = field(default_factory=frozenset)
    challenge: str | None = CHALLENGE

    def allowed_groups(self, dataset: DatasetRights) -> set[str]:
        allowed = set(self.grants.get(f"collection:{dataset.obs_collection}", ()))
        if dataset.proposal_id:
            allowed |= set(self.grants.get(f"proposal:{dataset.proposal_id}", ()))
        return allowed

    def may_read(self, caller: str | None, dataset: DatasetRights) -> bool:
        if caller is None:
            return False
        return bool(self.groups & self.allowed_groups(dataset))


def policy_for(settings: Settings, user: object) -> GroupPolicy:
    challenge = CHALLENGE if settings.auth_tokens else None
    return GroupPolicy(settings.proprietary_groups, user_groups(user), challenge)
