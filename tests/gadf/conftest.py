"""The ingested archive the GADF data-store tests read."""

from __future__ import annotations

import pytest

from tests.gadf.archive import Archive


@pytest.fixture(scope="session")
def store_archive(dl3_archive: Archive) -> Archive:
    """The session's archive of the staged DL3 collections (shared with the SODA cutout tests)."""
    return dl3_archive
