"""The ProvTAP tables as the database holds them: every column the catalog declares indexed has an index
(ProvSAP walks and ADQL joins rely on it), and the reader role can read every table."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.pool import NullPool

from tapserver.catalog.provenance import PROVENANCE_TABLES
from tapserver.config import Settings


def test_every_declared_index_exists(prov_engine: Engine) -> None:
    with prov_engine.connect() as conn:
        leading = {(r[0], r[1]) for r in conn.execute(text(
            "SELECT c.relname, a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0] WHERE n.nspname = 'provenance'"))}
    declared = {(t.name, c.name) for t in PROVENANCE_TABLES for c in t.columns if c.indexed}
    assert declared - leading == set()


def test_the_reader_role_reads_every_table(prov_settings: Settings) -> None:
    engine = create_engine(prov_settings.query_url, poolclass=NullPool)
    with engine.connect() as conn:
        for table in PROVENANCE_TABLES:
            conn.execute(text(f'SELECT * FROM provenance."{table.name}" LIMIT 1')).fetchall()
    engine.dispose()
