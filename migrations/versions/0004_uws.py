"""UWS job store: queue columns, phase history, inline uploads, worker registry, change notifications.

The job row is the queue: ``phase = 'QUEUED'`` rows are claimed with ``FOR UPDATE SKIP LOCKED``
(partial index ``job_queue``); ``attempt`` is the fencing token a worker must present to finish a job.
Workers register in ``uws.worker`` and hold a session advisory lock (class ``LOCK_CLASS``, key
``worker_no``) for as long as they live, so a job whose worker died is found by looking for its lock.
A trigger records every phase change in ``uws.phase_history`` and announces it with NOTIFY
(channel ``uws_phase``: ``"<job_id> <PHASE>"``, ``"<job_id> DELETED"`` on deletion; channel
``uws_queue``: ``"<job_id>"`` when a job is queued), so WAIT and idle workers never poll.

Revision ID: 0004
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None

UPGRADE = (
    "ALTER TABLE uws.job ADD COLUMN queued_at timestamp with time zone",
    "ALTER TABLE uws.job ADD COLUMN worker_no integer",
    "ALTER TABLE uws.job ADD COLUMN attempt integer NOT NULL DEFAULT 0",
    "ALTER TABLE uws.job ADD CONSTRAINT job_error_type CHECK (error_type IS NULL OR error_type IN "
    "('transient', 'fatal'))",
    "ALTER TABLE uws.job ADD CONSTRAINT job_execution_duration CHECK (execution_duration >= 0)",
    "ALTER TABLE uws.job ADD CONSTRAINT job_run_id_length CHECK (length(run_id) <= 64)",
    "DROP INDEX uws.job_owner_creation",
    # The job list: newest first per owner (NULL = anonymous), LAST/AFTER served by the index.
    "CREATE INDEX job_owner_creation ON uws.job (owner_id, creation_time DESC, job_id DESC)",
    "CREATE INDEX job_queue ON uws.job (queued_at, job_id) WHERE phase = 'QUEUED'",
    "CREATE INDEX job_executing ON uws.job (worker_no) WHERE phase = 'EXECUTING'",
    """CREATE TABLE uws.phase_history (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id text NOT NULL REFERENCES uws.job (job_id) ON DELETE CASCADE,
    phase text NOT NULL,
    at timestamp with time zone NOT NULL DEFAULT clock_timestamp(),
    worker_no integer,
    attempt integer NOT NULL
)""",
    "CREATE INDEX phase_history_job ON uws.phase_history (job_id, seq)",
    """CREATE TABLE uws.inline_upload (
    job_id text NOT NULL REFERENCES uws.job (job_id) ON DELETE CASCADE,
    name text NOT NULL,
    location text NOT NULL,
    size_bytes bigint NOT NULL,
    PRIMARY KEY (job_id, name)
)""",
    """CREATE TABLE uws.worker (
    worker_no integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host text NOT NULL,
    pid integer NOT NULL,
    concurrency integer NOT NULL,
    started_at timestamp with time zone NOT NULL DEFAULT now()
)""",
    """CREATE FUNCTION uws.job_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('uws_phase', OLD.job_id || ' DELETED');
        RETURN OLD;
    END IF;
    IF TG_OP = 'INSERT' OR NEW.phase IS DISTINCT FROM OLD.phase OR NEW.attempt <> OLD.attempt THEN
        INSERT INTO uws.phase_history (job_id, phase, worker_no, attempt)
        VALUES (NEW.job_id, NEW.phase, NEW.worker_no, NEW.attempt);
        PERFORM pg_notify('uws_phase', NEW.job_id || ' ' || NEW.phase);
        IF NEW.phase = 'QUEUED' THEN
            PERFORM pg_notify('uws_queue', NEW.job_id);
        END IF;
    END IF;
    RETURN NEW;
END $$""",
    "CREATE TRIGGER job_changed AFTER INSERT OR UPDATE OR DELETE ON uws.job "
    "FOR EACH ROW EXECUTE FUNCTION uws.job_changed()",
)

DOWNGRADE = (
    "DROP TRIGGER job_changed ON uws.job",
    "DROP FUNCTION uws.job_changed()",
    "DROP TABLE uws.worker",
    "DROP TABLE uws.inline_upload",
    "DROP TABLE uws.phase_history",
    "DROP INDEX uws.job_executing",
    "DROP INDEX uws.job_queue",
    "DROP INDEX uws.job_owner_creation",
    "CREATE INDEX job_owner_creation ON uws.job (owner_id, creation_time DESC)",
    "ALTER TABLE uws.job DROP CONSTRAINT job_run_id_length",
    "ALTER TABLE uws.job DROP CONSTRAINT job_execution_duration",
    "ALTER TABLE uws.job DROP CONSTRAINT job_error_type",
    "ALTER TABLE uws.job DROP COLUMN attempt",
    "ALTER TABLE uws.job DROP COLUMN worker_no",
    "ALTER TABLE uws.job DROP COLUMN queued_at",
)


def upgrade() -> None:
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    for statement in DOWNGRADE:
        op.execute(statement)
