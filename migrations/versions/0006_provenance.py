"""Provenance indexes: every foreign-key column of the ProvTAP tables, and entity checksum and location.

The catalog declares each foreign-key column ``indexed`` (TAP_SCHEMA.columns.indexed = 1); 0001 created
indexes only for the columns the ProvSAP walk used first. This adds the others: the walk from agents
(``AGENT=true`` follows wasAssociatedWith / wasAttributedTo by agent_id), joins users write in ADQL
(activity -> description, parameter -> description), the ON DELETE CASCADE of the foreign keys, and the
import's matching of files to archive entities by checksum or location.

Revision ID: 0006
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

INDEXES = (
    ("entity_entitydescription", "entity", "entitydescription_id"),
    ("entity_checksum", "entity", "checksum"),
    ("entity_location", "entity", "location"),
    ("activity_activitydescription", "activity", "activitydescription_id"),
    ("used_usagedescription", "used", "usagedescription_id"),
    ("wasgeneratedby_generationdescription", "wasgeneratedby", "generationdescription_id"),
    ("wasderivedfrom_activity", "wasderivedfrom", "activity_id"),
    ("wasassociatedwith_agent", "wasassociatedwith", "agent_id"),
    ("wasattributedto_agent", "wasattributedto", "agent_id"),
    ("usagedescription_activitydescription", "usagedescription", "activitydescription_id"),
    ("usagedescription_entitydescription", "usagedescription", "entitydescription_id"),
    ("generationdescription_activitydescription", "generationdescription", "activitydescription_id"),
    ("generationdescription_entitydescription", "generationdescription", "entitydescription_id"),
    ("parameter_parameterdescription", "parameter", "parameterdescription_id"),
    ("parameter_valueentity", "parameter", "valueentity_id"),
    ("parameterdescription_activitydescription", "parameterdescription", "activitydescription_id"),
    ("configfile_configfiledescription", "configfile", "configfiledescription_id"),
    ("configfiledescription_activitydescription", "configfiledescription", "activitydescription_id"),
)


def upgrade() -> None:
    for name, table, column in INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON provenance.{table} ({column})")


def downgrade() -> None:
    for name, _table, _column in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS provenance.{name}")
