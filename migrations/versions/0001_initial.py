"""Initial schema: ObsCore, ObsConfig, Provenance, TAP_SCHEMA and the internal schemas.

The DDL here is frozen: later changes to the catalog come with migrations of their own
(tests/test_migrations.py checks that the database matches tapserver.catalog).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMAS = ("ivoa", "obsconfig", "provenance", "tap_schema", "datalink", "ingest", "uws")

TABLES = (
    """CREATE TABLE ivoa.obscore (
    dataproduct_type text,
    dataproduct_subtype text,
    calib_level integer NOT NULL,
    obs_collection text NOT NULL,
    obs_id text NOT NULL,
    obs_title text,
    obs_creation_date timestamp without time zone,
    obs_creator_name text,
    obs_creator_did text,
    obs_publisher_did text NOT NULL PRIMARY KEY,
    publisher_id text,
    bib_reference text,
    data_rights text,
    obs_release_date timestamp without time zone,
    proposal_id text,
    access_url text,
    access_format text,
    access_estsize bigint,
    target_name text,
    target_class text,
    s_ra double precision,
    s_dec double precision,
    s_fov double precision,
    s_region scircle,
    s_resolution double precision,
    s_resolution_min double precision,
    s_resolution_max double precision,
    s_xel1 bigint,
    s_xel2 bigint,
    s_calib_status text,
    t_min double precision,
    t_max double precision,
    t_exptime double precision,
    t_resolution double precision,
    t_xel bigint,
    t_calib_status text,
    em_min double precision,
    em_max double precision,
    em_res_power double precision,
    em_xel bigint,
    em_ucd text,
    em_unit text,
    em_calib_status text,
    o_ucd text,
    pol_states text,
    pol_xel bigint,
    facility_name text,
    instrument_name text
)""",
    """CREATE TABLE obsconfig.obsconfig (
    obs_publisher_did text NOT NULL PRIMARY KEY,
    obs_collection text NOT NULL,
    obs_id text NOT NULL,
    run_number bigint,
    facility_name text,
    instrument_name text,
    observer text,
    subarray_name text,
    tel_list text,
    n_tels smallint,
    obs_mode text,
    obs_mode_native text,
    tracking_mode text,
    pointing_mode text,
    conv_depth real,
    object text,
    ra_obj double precision,
    dec_obj double precision,
    ra_pnt double precision,
    dec_pnt double precision,
    wobble_offset real,
    radesys text,
    alt_pnt double precision,
    az_pnt double precision,
    zen_pnt double precision,
    t_start double precision,
    t_stop double precision,
    tstart_met double precision,
    tstop_met double precision,
    mjdref double precision,
    timesys text,
    ontime double precision,
    livetime double precision,
    deadc real,
    geolon double precision,
    geolat double precision,
    altitude real,
    trigger_rate real,
    muon_efficiency real,
    broken_pixel_frac real,
    nsb_level real,
    air_temperature real,
    pressure real,
    relative_humidity real,
    data_quality smallint,
    creator text,
    dst_ver text,
    ana_ver text,
    cal_ver text
)""",
    """CREATE TABLE provenance.entity (
    id text NOT NULL PRIMARY KEY,
    name text,
    location text,
    generatedattime timestamp without time zone,
    invalidatedattime timestamp without time zone,
    comment text,
    entitydescription_id text,
    entity_class text NOT NULL,
    "value" text,
    content_type text,
    checksum text
)""",
    """CREATE TABLE provenance.activity (
    id text NOT NULL PRIMARY KEY,
    name text,
    starttime timestamp without time zone,
    endtime timestamp without time zone,
    comment text,
    activitydescription_id text
)""",
    """CREATE TABLE provenance.agent (
    id text NOT NULL PRIMARY KEY,
    name text NOT NULL,
    "type" text,
    comment text,
    email text,
    affiliation text,
    phone text,
    address text,
    url text
)""",
    """CREATE TABLE provenance.used (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL PRIMARY KEY,
    activity_id text NOT NULL,
    entity_id text NOT NULL,
    role text,
    "time" timestamp without time zone,
    usagedescription_id text
)""",
    """CREATE TABLE provenance.wasgeneratedby (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL PRIMARY KEY,
    entity_id text NOT NULL,
    activity_id text NOT NULL,
    role text,
    generationdescription_id text
)""",
    """CREATE TABLE provenance.wasderivedfrom (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL PRIMARY KEY,
    generatedentity_id text NOT NULL,
    usedentity_id text NOT NULL,
    activity_id text
)""",
    """CREATE TABLE provenance.wasinformedby (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL PRIMARY KEY,
    informed_id text NOT NULL,
    informant_id text NOT NULL
)""",
    """CREATE TABLE provenance.wasassociatedwith (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL PRIMARY KEY,
    activity_id text NOT NULL,
    agent_id text NOT NULL,
    role text
)""",
    """CREATE TABLE provenance.wasattributedto (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL PRIMARY KEY,
    entity_id text NOT NULL,
    agent_id text NOT NULL,
    role text
)""",
    """CREATE TABLE provenance.hadmember (
    collection_id text NOT NULL,
    entity_id text NOT NULL
)""",
    """CREATE TABLE provenance.activitydescription (
    id text NOT NULL PRIMARY KEY,
    name text NOT NULL,
    version text,
    description text,
    "type" text,
    subtype text,
    docurl text
)""",
    """CREATE TABLE provenance.entitydescription (
    id text NOT NULL PRIMARY KEY,
    name text NOT NULL,
    description text,
    "type" text,
    docurl text,
    content_type text,
    value_type text,
    unit text,
    ucd text,
    utype text
)""",
    """CREATE TABLE provenance.usagedescription (
    id text NOT NULL PRIMARY KEY,
    activitydescription_id text NOT NULL,
    role text NOT NULL,
    description text,
    "type" text,
    multiplicity text,
    entitydescription_id text
)""",
    """CREATE TABLE provenance.generationdescription (
    id text NOT NULL PRIMARY KEY,
    activitydescription_id text NOT NULL,
    role text NOT NULL,
    description text,
    "type" text,
    multiplicity text,
    entitydescription_id text
)""",
    """CREATE TABLE provenance.parameter (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL PRIMARY KEY,
    activity_id text NOT NULL,
    name text NOT NULL,
    "value" text NOT NULL,
    parameterdescription_id text,
    valueentity_id text
)""",
    """CREATE TABLE provenance.parameterdescription (
    id text NOT NULL PRIMARY KEY,
    activitydescription_id text,
    name text NOT NULL,
    value_type text NOT NULL,
    description text,
    unit text,
    ucd text,
    utype text,
    "min" text,
    "max" text,
    "default" text,
    options text
)""",
    """CREATE TABLE provenance.configfile (
    id bigint GENERATED ALWAYS AS IDENTITY NOT NULL PRIMARY KEY,
    activity_id text NOT NULL,
    name text NOT NULL,
    location text NOT NULL,
    comment text,
    configfiledescription_id text
)""",
    """CREATE TABLE provenance.configfiledescription (
    id text NOT NULL PRIMARY KEY,
    activitydescription_id text,
    name text NOT NULL,
    content_type text NOT NULL,
    description text
)""",
    """CREATE TABLE tap_schema.schemas (
    schema_name text NOT NULL PRIMARY KEY,
    utype text,
    description text,
    schema_index integer
)""",
    """CREATE TABLE tap_schema.tables (
    schema_name text NOT NULL,
    table_name text NOT NULL PRIMARY KEY,
    table_type text NOT NULL,
    utype text,
    description text,
    table_index integer
)""",
    """CREATE TABLE tap_schema.columns (
    table_name text NOT NULL,
    column_name text NOT NULL,
    datatype text NOT NULL,
    arraysize text,
    xtype text,
    "size" integer,
    description text,
    utype text,
    unit text,
    ucd text,
    indexed integer NOT NULL,
    principal integer NOT NULL,
    std integer NOT NULL,
    column_index integer
)""",
    """CREATE TABLE tap_schema.keys (
    key_id text NOT NULL PRIMARY KEY,
    from_table text NOT NULL,
    target_table text NOT NULL,
    description text,
    utype text
)""",
    """CREATE TABLE tap_schema.key_columns (
    key_id text NOT NULL,
    from_column text NOT NULL,
    target_column text NOT NULL
)""",
)

CONSTRAINTS = (
    "ALTER TABLE ivoa.obscore ADD CONSTRAINT obscore_calib_level_range CHECK (calib_level BETWEEN 0 AND 4)",
    "ALTER TABLE ivoa.obscore ADD CONSTRAINT obscore_collection_obs_id UNIQUE (obs_collection, obs_id)",
    "ALTER TABLE obsconfig.obsconfig ADD CONSTRAINT obsconfig_obscore FOREIGN KEY (obs_publisher_did)"
    " REFERENCES ivoa.obscore (obs_publisher_did) ON DELETE CASCADE",
    "ALTER TABLE provenance.entity ADD CONSTRAINT entity_class_values"
    " CHECK (entity_class IN ('Entity', 'DatasetEntity', 'ValueEntity', 'Collection'))",
    "ALTER TABLE provenance.agent ADD CONSTRAINT agent_type_values"
    " CHECK (type IS NULL OR type IN ('Person', 'Organization', 'SoftwareAgent'))",
    "ALTER TABLE provenance.wasgeneratedby ADD CONSTRAINT wasgeneratedby_one_per_entity UNIQUE (entity_id)",
    "ALTER TABLE provenance.hadmember ADD PRIMARY KEY (collection_id, entity_id)",
    "ALTER TABLE tap_schema.columns ADD PRIMARY KEY (table_name, column_name)",
    "ALTER TABLE tap_schema.key_columns ADD PRIMARY KEY (key_id, from_column, target_column)",
    "ALTER TABLE tap_schema.columns ADD CONSTRAINT columns_flags"
    " CHECK (indexed IN (0, 1) AND principal IN (0, 1) AND std IN (0, 1))",
    "ALTER TABLE tap_schema.tables ADD CONSTRAINT tables_type CHECK (table_type IN ('table', 'view'))",
)

# Foreign keys between provenance tables and inside TAP_SCHEMA, as declared in the catalog.
FOREIGN_KEYS = (
    ("provenance.entity", "entitydescription_id", "provenance.entitydescription", "id"),
    ("provenance.activity", "activitydescription_id", "provenance.activitydescription", "id"),
    ("provenance.used", "activity_id", "provenance.activity", "id"),
    ("provenance.used", "entity_id", "provenance.entity", "id"),
    ("provenance.used", "usagedescription_id", "provenance.usagedescription", "id"),
    ("provenance.wasgeneratedby", "entity_id", "provenance.entity", "id"),
    ("provenance.wasgeneratedby", "activity_id", "provenance.activity", "id"),
    ("provenance.wasgeneratedby", "generationdescription_id", "provenance.generationdescription", "id"),
    ("provenance.wasderivedfrom", "generatedentity_id", "provenance.entity", "id"),
    ("provenance.wasderivedfrom", "usedentity_id", "provenance.entity", "id"),
    ("provenance.wasderivedfrom", "activity_id", "provenance.activity", "id"),
    ("provenance.wasinformedby", "informed_id", "provenance.activity", "id"),
    ("provenance.wasinformedby", "informant_id", "provenance.activity", "id"),
    ("provenance.wasassociatedwith", "activity_id", "provenance.activity", "id"),
    ("provenance.wasassociatedwith", "agent_id", "provenance.agent", "id"),
    ("provenance.wasattributedto", "entity_id", "provenance.entity", "id"),
    ("provenance.wasattributedto", "agent_id", "provenance.agent", "id"),
    ("provenance.hadmember", "collection_id", "provenance.entity", "id"),
    ("provenance.hadmember", "entity_id", "provenance.entity", "id"),
    ("provenance.usagedescription", "activitydescription_id", "provenance.activitydescription", "id"),
    ("provenance.usagedescription", "entitydescription_id", "provenance.entitydescription", "id"),
    ("provenance.generationdescription", "activitydescription_id", "provenance.activitydescription", "id"),
    ("provenance.generationdescription", "entitydescription_id", "provenance.entitydescription", "id"),
    ("provenance.parameter", "activity_id", "provenance.activity", "id"),
    ("provenance.parameter", "parameterdescription_id", "provenance.parameterdescription", "id"),
    ("provenance.parameter", "valueentity_id", "provenance.entity", "id"),
    ("provenance.parameterdescription", "activitydescription_id", "provenance.activitydescription", "id"),
    ("provenance.configfile", "activity_id", "provenance.activity", "id"),
    ("provenance.configfile", "configfiledescription_id", "provenance.configfiledescription", "id"),
    ("provenance.configfiledescription", "activitydescription_id", "provenance.activitydescription", "id"),
    ("tap_schema.tables", "schema_name", "tap_schema.schemas", "schema_name"),
    ("tap_schema.columns", "table_name", "tap_schema.tables", "table_name"),
    ("tap_schema.keys", "from_table", "tap_schema.tables", "table_name"),
    ("tap_schema.keys", "target_table", "tap_schema.tables", "table_name"),
    ("tap_schema.key_columns", "key_id", "tap_schema.keys", "key_id"),
)

INDEXES = (
    # Cone searches: CONTAINS(POINT(s_ra, s_dec), CIRCLE(...)) is translated to this very expression.
    "CREATE INDEX obscore_s_point ON ivoa.obscore USING gist (spoint(radians(s_ra), radians(s_dec)))",
    "CREATE INDEX obscore_s_region ON ivoa.obscore USING gist (s_region)",
    "CREATE INDEX obscore_obs_id ON ivoa.obscore (obs_id)",
    "CREATE INDEX obscore_t_min ON ivoa.obscore (t_min)",
    "CREATE INDEX obscore_t_max ON ivoa.obscore (t_max)",
    "CREATE INDEX obscore_em_min ON ivoa.obscore (em_min)",
    "CREATE INDEX obscore_em_max ON ivoa.obscore (em_max)",
    "CREATE INDEX obscore_target_name ON ivoa.obscore (target_name)",
    "CREATE INDEX obscore_obs_collection ON ivoa.obscore (obs_collection)",
    "CREATE INDEX obscore_s_ra ON ivoa.obscore (s_ra)",
    "CREATE INDEX obscore_s_dec ON ivoa.obscore (s_dec)",
    "CREATE INDEX obsconfig_obs_collection ON obsconfig.obsconfig (obs_collection)",
    "CREATE INDEX obsconfig_obs_id ON obsconfig.obsconfig (obs_id)",
    "CREATE INDEX obsconfig_zen_pnt ON obsconfig.obsconfig (zen_pnt)",
    "CREATE INDEX used_activity ON provenance.used (activity_id)",
    "CREATE INDEX used_entity ON provenance.used (entity_id)",
    "CREATE INDEX wasgeneratedby_activity ON provenance.wasgeneratedby (activity_id)",
    "CREATE INDEX wasderivedfrom_generated ON provenance.wasderivedfrom (generatedentity_id)",
    "CREATE INDEX wasderivedfrom_used ON provenance.wasderivedfrom (usedentity_id)",
    "CREATE INDEX wasinformedby_informed ON provenance.wasinformedby (informed_id)",
    "CREATE INDEX wasinformedby_informant ON provenance.wasinformedby (informant_id)",
    "CREATE INDEX wasassociatedwith_activity ON provenance.wasassociatedwith (activity_id)",
    "CREATE INDEX wasattributedto_entity ON provenance.wasattributedto (entity_id)",
    "CREATE INDEX hadmember_entity ON provenance.hadmember (entity_id)",
    "CREATE INDEX parameter_activity ON provenance.parameter (activity_id)",
    "CREATE INDEX configfile_activity ON provenance.configfile (activity_id)",
)

# Internal (unpublished) tables: never readable by the query role.
INTERNAL = (
    """CREATE TABLE datalink.product (
    product_id text PRIMARY KEY,
    obs_publisher_did text NOT NULL REFERENCES ivoa.obscore (obs_publisher_did) ON DELETE CASCADE,
    semantics text NOT NULL,
    description text,
    content_type text NOT NULL,
    content_length bigint,
    content_qualifier text,
    local_semantics text,
    file_path text NOT NULL,
    hdu_name text,
    hdu_index integer,
    checksum text,
    sort_order integer NOT NULL DEFAULT 0
)""",
    "CREATE INDEX product_dataset ON datalink.product (obs_publisher_did)",
    """CREATE TABLE ingest.source_file (
    file_path text PRIMARY KEY,
    checksum text NOT NULL,
    size_bytes bigint NOT NULL,
    mtime timestamp with time zone,
    obs_collection text NOT NULL,
    obs_publisher_did text REFERENCES ivoa.obscore (obs_publisher_did) ON DELETE SET NULL,
    first_ingested timestamp with time zone NOT NULL DEFAULT now(),
    last_ingested timestamp with time zone NOT NULL DEFAULT now()
)""",
    "CREATE INDEX source_file_dataset ON ingest.source_file (obs_publisher_did)",
    """CREATE TABLE uws.job (
    job_id text PRIMARY KEY,
    run_id text,
    owner_id text,
    phase text NOT NULL DEFAULT 'PENDING',
    creation_time timestamp with time zone NOT NULL DEFAULT now(),
    start_time timestamp with time zone,
    end_time timestamp with time zone,
    destruction_time timestamp with time zone NOT NULL,
    execution_duration integer NOT NULL,
    quote timestamp with time zone,
    error_message text,
    error_type text,
    parameters jsonb NOT NULL DEFAULT '{}'::jsonb,
    CONSTRAINT job_phase CHECK (phase IN ('PENDING', 'QUEUED', 'EXECUTING', 'COMPLETED', 'ERROR',
        'ABORTED', 'UNKNOWN', 'HELD', 'SUSPENDED', 'ARCHIVED'))
)""",
    "CREATE INDEX job_owner_creation ON uws.job (owner_id, creation_time DESC)",
    "CREATE INDEX job_phase ON uws.job (phase)",
    "CREATE INDEX job_destruction ON uws.job (destruction_time)",
    """CREATE TABLE uws.result (
    job_id text NOT NULL REFERENCES uws.job (job_id) ON DELETE CASCADE,
    result_id text NOT NULL,
    location text NOT NULL,
    mime_type text,
    size_bytes bigint,
    row_count bigint,
    PRIMARY KEY (job_id, result_id)
)""",
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_sphere")
    for schema in SCHEMAS:
        op.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    for statement in TABLES:
        op.execute(statement)
    for statement in CONSTRAINTS:
        op.execute(statement)
    for table, column, target, target_column in FOREIGN_KEYS:
        name = f"{table.split('.')[1]}_{column}_fkey"
        op.execute(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({column}) "
            f"REFERENCES {target} ({target_column}) ON DELETE CASCADE"
        )
    for statement in INDEXES + INTERNAL:
        op.execute(statement)


def downgrade() -> None:
    for schema in reversed(SCHEMAS):
        op.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
