"""Authentication: operator-issued bearer tokens in the unpublished schema ``auth``.

Only the SHA-256 of a token is stored (the token is shown once, at creation). ``auth`` is one of
``tapserver.migrate.INTERNAL_SCHEMAS``: the reader role that runs user ADQL can never read it.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UPGRADE = (
    "CREATE SCHEMA IF NOT EXISTS auth",
    """CREATE TABLE auth.token (
    token_id text PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    user_id text NOT NULL CHECK (length(user_id) BETWEEN 1 AND 256),
    groups text[] NOT NULL DEFAULT '{}',
    created timestamp with time zone NOT NULL DEFAULT now(),
    expires timestamp with time zone,
    revoked timestamp with time zone
)""",
    "CREATE INDEX token_user ON auth.token (user_id)",
)


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP SCHEMA auth CASCADE")
