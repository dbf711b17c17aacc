"""TAP_SCHEMA in the database: ObsCore columns exactly as ObsCore 1.1 / the checklist (§8.2) want them."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

# column, datatype, arraysize, unit, UCD, utype (without the obscore: prefix): ObsCore 1.1 App. C,
# TAP 1.1 VOTable types, as written in the IVOA checklist. Written out here on purpose, independently of
# tapserver.catalog, so a typo in the catalog fails this test.
OBSCORE_MANDATORY = [
    ("dataproduct_type", "char", "*", None, "meta.code.class", "ObsDataset.dataProductType"),
    ("calib_level", "int", None, None, "meta.code;obs.calib", "ObsDataset.calibLevel"),
    ("obs_collection", "char", "*", None, "meta.id", "DataID.collection"),
    ("obs_id", "char", "*", None, "meta.id", "DataID.observationID"),
    ("obs_publisher_did", "char", "*", None, "meta.ref.ivoid", "Curation.publisherDID"),
    ("access_url", "char", "*", None, "meta.ref.url", "Access.reference"),
    ("access_format", "char", "*", None, "meta.code.mime", "Access.format"),
    ("access_estsize", "long", None, "kbyte", "phys.size;meta.file", "Access.size"),
    ("target_name", "char", "*", None, "meta.id;src", "Target.name"),
    ("s_ra", "double", None, "deg", "pos.eq.ra", "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1"),
    ("s_dec", "double", None, "deg", "pos.eq.dec", "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2"),
    ("s_fov", "double", None, "deg", "phys.angSize;instr.fov", "Char.SpatialAxis.Coverage.Bounds.Extent.diameter"),
    ("s_region", "char", "*", None, "pos.outline;obs.field", "Char.SpatialAxis.Coverage.Support.Area"),
    ("s_resolution", "double", None, "arcsec", "pos.angResolution", "Char.SpatialAxis.Resolution.Refval.value"),
    ("s_xel1", "long", None, None, "meta.number", "Char.SpatialAxis.numBins1"),
    ("s_xel2", "long", None, None, "meta.number", "Char.SpatialAxis.numBins2"),
    ("t_min", "double", None, "d", "time.start;obs.exposure", "Char.TimeAxis.Coverage.Bounds.Limits.StartTime"),
    ("t_max", "double", None, "d", "time.end;obs.exposure", "Char.TimeAxis.Coverage.Bounds.Limits.StopTime"),
    ("t_exptime", "double", None, "s", "time.duration;obs.exposure", "Char.TimeAxis.Coverage.Support.Extent"),
    ("t_resolution", "double", None, "s", "time.resolution", "Char.TimeAxis.Resolution.Refval.value"),
    ("t_xel", "long", None, None, "meta.number", "Char.TimeAxis.numBins"),
    ("em_min", "double", None, "m", "em.wl;stat.min", "Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit"),
    ("em_max", "double", None, "m", "em.wl;stat.max", "Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit"),
    ("em_res_power", "double", None, None, "spect.resolution", "Char.SpectralAxis.Resolution.ResolPower.refVal"),
    ("em_xel", "long", None, None, "meta.number", "Char.SpectralAxis.numBins"),
    ("o_ucd", "char", "*", None, "meta.ucd", "Char.ObservableAxis.ucd"),
    ("pol_states", "char", "*", None, "meta.code;phys.polarization", "Char.PolarizationAxis.stateList"),
    ("pol_xel", "long", None, None, "meta.number", "Char.PolarizationAxis.numBins"),
    ("facility_name", "char", "*", None, "meta.id;instr.tel", "Provenance.ObsConfig.Facility.name"),
    ("instrument_name", "char", "*", None, "meta.id;instr", "Provenance.ObsConfig.Instrument.name"),
]

OBSCORE_OPTIONAL = [
    ("dataproduct_subtype", "char", "*", None, "meta.code.class", "ObsDataset.dataProductSubtype"),
    ("target_class", "char", "*", None, "src.class", "Target.class"),
    ("obs_creation_date", "char", "*", None, "time;meta.dataset", "DataID.date"),
    ("obs_creator_name", "unicodeChar", "*", None, "meta.id", "DataID.creator"),
    ("obs_title", "unicodeChar", "*", None, "meta.title;obs", "DataID.title"),
    ("publisher_id", "char", "*", None, "meta.ref.ivoid", "Curation.publisherID"),
    ("bib_reference", "char", "*", None, "meta.bib.bibcode", "Curation.reference"),
    ("data_rights", "char", "*", None, "meta.code", "Curation.rights"),
    ("obs_release_date", "char", "*", None, "time.release", "Curation.releaseDate"),
    ("proposal_id", "char", "*", None, "meta.id;obs.proposal", "Provenance.Proposal.identifier"),
    ("s_resolution_min", "double", None, "arcsec", "pos.angResolution;stat.min",
     "Char.SpatialAxis.Resolution.Bounds.Limits.LoLimit"),
    ("s_resolution_max", "double", None, "arcsec", "pos.angResolution;stat.max",
     "Char.SpatialAxis.Resolution.Bounds.Limits.HiLimit"),
    ("t_calib_status", "char", "*", None, "meta.code.qual", "Char.TimeAxis.calibrationStatus"),
    ("em_calib_status", "char", "*", None, "meta.code.qual", "Char.SpectralAxis.calibrationStatus"),
]

_QUERY = text(
    "SELECT datatype, arraysize, unit, ucd, utype, xtype, \"size\", std FROM tap_schema.columns "
    "WHERE table_name = 'ivoa.obscore' AND column_name = :c"
)


@pytest.mark.parametrize(("column", "datatype", "arraysize", "unit", "ucd", "utype"),
                         OBSCORE_MANDATORY + OBSCORE_OPTIONAL, ids=lambda v: str(v))
def test_obscore_column(reader_engine: Engine, column: str, datatype: str, arraysize: str | None,
                        unit: str | None, ucd: str, utype: str) -> None:
    with reader_engine.connect() as conn:
        row = conn.execute(_QUERY, {"c": column}).mappings().first()
    assert row is not None, f"ivoa.obscore.{column} missing from TAP_SCHEMA"
    assert (row["datatype"], row["arraysize"], row["unit"], row["ucd"]) == (datatype, arraysize, unit, ucd)
    assert row["utype"] == "obscore:" + utype
    assert row["std"] == 1
    assert row["size"] is None  # '*' has no size


def test_all_thirty_mandatory_columns_are_listed() -> None:
    assert len({c[0] for c in OBSCORE_MANDATORY}) == 30


def test_s_region_is_an_adql_region(reader_engine: Engine) -> None:
    with reader_engine.connect() as conn:
        assert conn.execute(_QUERY, {"c": "s_region"}).mappings().one()["xtype"] == "adql:REGION"
        assert conn.execute(_QUERY, {"c": "obs_release_date"}).mappings().one()["xtype"] == "timestamp"


@pytest.mark.parametrize("table", [
    "ivoa.obscore", "obsconfig.obsconfig", "provenance.entity", "provenance.activity", "provenance.agent",
    "provenance.used", "provenance.wasgeneratedby", "provenance.wasderivedfrom", "provenance.wasinformedby",
    "provenance.wasassociatedwith", "provenance.wasattributedto", "provenance.hadmember",
    "provenance.activitydescription", "provenance.entitydescription", "provenance.usagedescription",
    "provenance.generationdescription", "provenance.parameter", "provenance.parameterdescription",
    "provenance.configfile", "provenance.configfiledescription", "tap_schema.schemas", "tap_schema.tables",
    "tap_schema.columns", "tap_schema.keys", "tap_schema.key_columns",
])
def test_table_published(reader_engine: Engine, table: str) -> None:
    with reader_engine.connect() as conn:
        row = conn.execute(text("SELECT table_type, description FROM tap_schema.tables WHERE table_name = :t"),
                           {"t": table}).first()
        assert row is not None and row[0] == "table" and row[1]
        n = conn.execute(text("SELECT count(*) FROM tap_schema.columns WHERE table_name = :t"), {"t": table})
        assert n.scalar_one() > 0


# The five foreign keys TAP 1.1 §4 wants TAP_SCHEMA to describe about itself (taplint E-TMS-TSLN).
@pytest.mark.parametrize(("from_table", "from_column", "target_table", "target_column"), [
    ("tap_schema.tables", "schema_name", "tap_schema.schemas", "schema_name"),
    ("tap_schema.columns", "table_name", "tap_schema.tables", "table_name"),
    ("tap_schema.keys", "from_table", "tap_schema.tables", "table_name"),
    ("tap_schema.keys", "target_table", "tap_schema.tables", "table_name"),
    ("tap_schema.key_columns", "key_id", "tap_schema.keys", "key_id"),
])
def test_tap_schema_self_keys(reader_engine: Engine, from_table: str, from_column: str, target_table: str,
                              target_column: str) -> None:
    with reader_engine.connect() as conn:
        row = conn.execute(text(
            "SELECT 1 FROM tap_schema.keys k JOIN tap_schema.key_columns kc USING (key_id) "
            "WHERE k.from_table = :f AND kc.from_column = :fc AND k.target_table = :t AND kc.target_column = :tc"
        ), {"f": from_table, "fc": from_column, "t": target_table, "tc": target_column}).first()
    assert row is not None


def test_keys_refer_to_published_columns(reader_engine: Engine) -> None:
    with reader_engine.connect() as conn:
        dangling = conn.execute(text(
            "SELECT k.key_id FROM tap_schema.keys k JOIN tap_schema.key_columns kc USING (key_id) "
            "WHERE NOT EXISTS (SELECT 1 FROM tap_schema.columns c WHERE c.table_name = k.from_table "
            "AND c.column_name = kc.from_column) OR NOT EXISTS (SELECT 1 FROM tap_schema.columns c "
            "WHERE c.table_name = k.target_table AND c.column_name = kc.target_column)"
        )).all()
    assert dangling == []


def test_flags_are_zero_or_one_and_empty_metadata_is_null(reader_engine: Engine) -> None:
    with reader_engine.connect() as conn:
        bad = conn.execute(text(
            "SELECT count(*) FROM tap_schema.columns WHERE principal NOT IN (0, 1) OR indexed NOT IN (0, 1) "
            "OR std NOT IN (0, 1) OR unit = '' OR ucd = '' OR utype = '' OR xtype = '' OR arraysize = ''"
        )).scalar_one()
    assert bad == 0


def test_every_provenance_column_has_ucd_and_description(reader_engine: Engine) -> None:
    with reader_engine.connect() as conn:
        missing = conn.execute(text(
            "SELECT table_name || '.' || column_name FROM tap_schema.columns "
            "WHERE table_name LIKE 'provenance.%' AND (ucd IS NULL OR description IS NULL)"
        )).scalars().all()
    assert missing == []


@pytest.mark.parametrize(("table", "listed"), [
    ("tap_schema.columns", '"size"'),
    ("provenance.entity", '"value"'),
    ("provenance.used", '"time"'),
    ("provenance.parameterdescription", '"min"'),
    ("provenance.parameterdescription", '"default"'),
    ("ivoa.obscore", "s_ra"),
])
def test_reserved_words_are_listed_delimited(reader_engine: Engine, table: str, listed: str) -> None:
    """TAP 1.1 §4.3: names that are not ADQL regular identifiers appear quoted (taplint E-TMS-CRSV)."""
    with reader_engine.connect() as conn:
        row = conn.execute(text("SELECT 1 FROM tap_schema.columns WHERE table_name = :t AND column_name = :c"),
                           {"t": table, "c": listed}).first()
    assert row is not None
