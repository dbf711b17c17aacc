"""TAP_SCHEMA 1.1 described in itself (TAP §4), with the five self-referencing foreign keys."""

from __future__ import annotations

from tapserver.catalog.model import Column, ForeignKey, Table, col

_S = "tap_schema"


def _s(name: str, description: str, *, nullable: bool = True, principal: bool = True) -> Column:
    return col(name, "text", description, ucd="meta.id" if name.endswith("_name") else None,
               principal=principal, std=True, nullable=nullable)


def _i(name: str, description: str, *, nullable: bool = True) -> Column:
    return col(name, "integer", description, principal=True, std=True, nullable=nullable)


SCHEMAS = Table(_S, "schemas", "Schemas published by this service", columns=(
    _s("schema_name", "Schema name", nullable=False),
    _s("utype", "Utype of the schema"),
    _s("description", "Description of the schema"),
    _i("schema_index", "Suggested display order"),
))

TABLES = Table(_S, "tables", "Tables published by this service", columns=(
    _s("schema_name", "Schema the table belongs to", nullable=False),
    _s("table_name", "Fully qualified table name", nullable=False),
    _s("table_type", "table or view", nullable=False),
    _s("utype", "Utype of the table"),
    _s("description", "Description of the table"),
    _i("table_index", "Suggested display order"),
), foreign_keys=(
    ForeignKey("tap_schema_tables_schemas", "tap_schema.tables", "tap_schema.schemas",
               (("schema_name", "schema_name"),), "Schema of each table"),
))

COLUMNS = Table(_S, "columns", "Columns of the published tables", columns=(
    _s("table_name", "Fully qualified table name", nullable=False),
    _s("column_name", "Column name", nullable=False),
    _s("datatype", "VOTable datatype", nullable=False),
    _s("arraysize", "VOTable arraysize"),
    _s("xtype", "DALI/ADQL extended type"),
    _i("size", "Deprecated length of the column (the integer of arraysize)"),
    _s("description", "Description of the column"),
    _s("utype", "Utype of the column"),
    _s("unit", "Unit (VOUnits)"),
    _s("ucd", "UCD of the column"),
    _i("indexed", "1 if the column is indexed", nullable=False),
    _i("principal", "1 if the column is of prime interest", nullable=False),
    _i("std", "1 if the column is defined by a standard", nullable=False),
    _i("column_index", "Suggested display order"),
), foreign_keys=(
    ForeignKey("tap_schema_columns_tables", "tap_schema.columns", "tap_schema.tables",
               (("table_name", "table_name"),), "Table of each column"),
))

KEYS = Table(_S, "keys", "Foreign keys between published tables", columns=(
    _s("key_id", "Key identifier", nullable=False),
    _s("from_table", "Table holding the foreign key", nullable=False),
    _s("target_table", "Table the key points to", nullable=False),
    _s("description", "Description of the key"),
    _s("utype", "Utype of the key"),
), foreign_keys=(
    ForeignKey("tap_schema_keys_from", "tap_schema.keys", "tap_schema.tables",
               (("from_table", "table_name"),), "Table holding the key"),
    ForeignKey("tap_schema_keys_target", "tap_schema.keys", "tap_schema.tables",
               (("target_table", "table_name"),), "Table the key points to"),
))

KEY_COLUMNS = Table(_S, "key_columns", "Columns of the foreign keys", columns=(
    _s("key_id", "Key identifier", nullable=False),
    _s("from_column", "Column in the from_table", nullable=False),
    _s("target_column", "Column in the target_table", nullable=False),
), foreign_keys=(
    ForeignKey("tap_schema_key_columns_keys", "tap_schema.key_columns", "tap_schema.keys",
               (("key_id", "key_id"),), "Key of each column pair"),
))

TAP_SCHEMA_TABLES = (SCHEMAS, TABLES, COLUMNS, KEYS, KEY_COLUMNS)
