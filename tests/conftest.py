"""Shared fixtures: a migrated throwaway database per session and settings pointing at it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tapserver.config import Settings, load_settings
from tapserver.migrate import upgrade
from tests.dbutil import engine_for, throwaway_database


def settings_for(url: str, **overrides: object) -> Settings:
    """Settings for a test database URL."""
    return load_settings(database_url=url, **overrides)


@pytest.fixture(scope="session")
def migrated_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """Settings of a freshly migrated database, shared by the session (tests must not leave rows behind
    unless they use their own database)."""
    with throwaway_database("tapserver_session") as url:
        settings = settings_for(
            url.render_as_string(hide_password=False), data_dir=tmp_path_factory.mktemp("data")
        )
        upgrade(settings)
        yield settings


@pytest.fixture(scope="session")
def admin_engine(migrated_settings: Settings) -> Iterator[Engine]:
    with engine_for(migrated_settings.admin_url) as engine:
        yield engine


@pytest.fixture(scope="session")
def reader_engine(migrated_settings: Settings) -> Iterator[Engine]:
    with engine_for(migrated_settings.query_url) as engine:
        yield engine


@pytest.fixture()
def fresh_database() -> Iterator[str]:
    """An empty (not migrated) database of its own, dropped after the test."""
    with throwaway_database("tapserver_fresh") as url:
        yield url.render_as_string(hide_password=False)
