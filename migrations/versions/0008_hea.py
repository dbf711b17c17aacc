"""The IVOA High-Energy ObsCore extension table ivoa.obscore_hea, one row per ivoa.obscore row.

The columns are those of tapserver/catalog/obscore_hea.py (the one declaration; `tapserver db upgrade` writes its
TAP_SCHEMA rows). Existing archives get an empty table: `tapserver ingest --update` over the same inputs fills it
(each observation then differs from its stored state by its missing extension row and its new footprint).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UPGRADE = (
    """CREATE TABLE ivoa.obscore_hea (
    obs_publisher_did text PRIMARY KEY REFERENCES ivoa.obscore (obs_publisher_did) ON DELETE CASCADE,
    ev_xel bigint CHECK (ev_xel >= 0),
    s_ref_energy double precision,
    em_ref_energy double precision,
    s_ref_oaa double precision,
    em_ref_oaa double precision,
    t_intervals text,
    energy_min double precision CHECK (energy_min > 0),
    energy_max double precision CHECK (energy_max >= energy_min),
    obs_mode text,
    tracking_mode text,
    scan_mode text,
    pointing_mode text,
    analysis_mode text,
    event_type text,
    messenger text,
    messenger_pdgid text CHECK (messenger_pdgid ~ '^[+-][0-9]+$')
)""",
    "CREATE INDEX obscore_hea_energy_min ON ivoa.obscore_hea (energy_min)",
    "CREATE INDEX obscore_hea_energy_max ON ivoa.obscore_hea (energy_max)",
)


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS ivoa.obscore_hea")
