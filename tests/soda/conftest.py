"""One ingested archive for the cutout tests of the session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gadf.archive import DL3, Archive, ingested_archive


@pytest.fixture(scope="session")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    if not DL3.is_dir():
        pytest.skip(f"the staged DL3 files are not at {DL3}")
    with ingested_archive("tapserver_soda", tmp_path_factory.mktemp("soda")) as archive:
        yield archive
