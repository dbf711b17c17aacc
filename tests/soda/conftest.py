"""The ingested archive the cutout tests read."""

from __future__ import annotations

import pytest

from tests.gadf.archive import Archive


@pytest.fixture(scope="session")
def archive(dl3_archive: Archive) -> Archive:
    """The session's archive of the staged DL3 collections (shared with the GADF data-store tests)."""
    return dl3_archive
