"""DALI examples (XHTML + RDFa Lite): useful queries for a DL3 archive. Every one is executed by a test."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from tapserver.config import Settings

XHTML = "http://www.w3.org/1999/xhtml"
VOCAB = "http://www.ivoa.net/rdf/examples#"

# 1 TeV as a wavelength: h c / E = 1.23984198e-6 eV m / 1e12 eV.
_ONE_TEV_M = "1.23984198e-18"


@dataclass(frozen=True)
class Example:
    id: str
    name: str
    description: str
    query: str
    tables: tuple[str, ...]


EXAMPLES: tuple[Example, ...] = (
    Example(
        "cone-search", "Observations pointed near the Crab Nebula",
        "A cone search: pointings within 3 degrees of a position. It uses the spatial index on (s_ra, s_dec).",
        "SELECT obs_id, target_name, s_ra, s_dec, t_min, t_exptime, access_url\n"
        "FROM ivoa.obscore\n"
        "WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 83.6331, 22.0145, 3)) = 1\n"
        "ORDER BY t_min",
        ("ivoa.obscore",),
    ),
    Example(
        "footprint-overlap", "Fields of view overlapping a region",
        "Observations whose field of view (s_region) intersects a circle of 1 degree.",
        "SELECT obs_id, obs_collection, s_region\n"
        "FROM ivoa.obscore\n"
        "WHERE INTERSECTS(s_region, CIRCLE('ICRS', 83.6331, 22.0145, 1)) = 1",
        ("ivoa.obscore",),
    ),
    Example(
        "distance-sorted", "Pointing offset from a source",
        "Angular distance of each pointing from the Crab Nebula, nearest first.",
        "SELECT TOP 20 obs_id, DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 83.6331, 22.0145)) AS offset_deg\n"
        "FROM ivoa.obscore\n"
        "ORDER BY offset_deg",
        ("ivoa.obscore",),
    ),
    Example(
        "time-range", "Observations in a time range",
        "Runs that started between two dates, given as MJD (t_min and t_max are MJD in TT).",
        "SELECT obs_id, target_name, t_min, t_max, t_exptime\n"
        "FROM ivoa.obscore\n"
        "WHERE t_min >= 56580.0 AND t_max <= 56600.0\n"
        "ORDER BY t_min",
        ("ivoa.obscore",),
    ),
    Example(
        "energy-range", "Observations covering 1 TeV",
        "em_min and em_max are wavelengths in metres: 1 TeV is 1.24e-18 m. A dataset covers 1 TeV when "
        "em_min <= 1.24e-18 <= em_max.",
        f"SELECT obs_id, em_min, em_max, 1.23984198e-18 / em_max AS e_min_tev, 1.23984198e-18 / em_min AS e_max_tev\n"
        f"FROM ivoa.obscore\n"
        f"WHERE em_min <= {_ONE_TEV_M} AND em_max >= {_ONE_TEV_M}",
        ("ivoa.obscore",),
    ),
    Example(
        "per-collection", "Holdings per collection",
        "Number of datasets, total live time in hours and time span of each collection.",
        "SELECT obs_collection, facility_name, COUNT(*) AS n_datasets,\n"
        "       SUM(t_exptime) / 3600.0 AS livetime_h, MIN(t_min) AS first_mjd, MAX(t_max) AS last_mjd\n"
        "FROM ivoa.obscore\n"
        "GROUP BY obs_collection, facility_name\n"
        "ORDER BY n_datasets DESC",
        ("ivoa.obscore",),
    ),
    Example(
        "per-target", "Exposure per target",
        "Total live time per target, in hours.",
        "SELECT target_name, COUNT(*) AS n_runs, SUM(t_exptime) / 3600.0 AS livetime_h\n"
        "FROM ivoa.obscore\n"
        "GROUP BY target_name\n"
        "ORDER BY livetime_h DESC",
        ("ivoa.obscore",),
    ),
    Example(
        "low-zenith", "Low-zenith observations with their configuration",
        "Join ObsCore and the observing configuration: runs taken below 30 degrees zenith angle.",
        "SELECT o.obs_id, o.target_name, c.zen_pnt, c.obs_mode, c.n_tels, c.livetime\n"
        "FROM ivoa.obscore AS o\n"
        "JOIN obsconfig.obsconfig AS c ON c.obs_publisher_did = o.obs_publisher_did\n"
        "WHERE c.zen_pnt < 30\n"
        "ORDER BY zen_pnt",
        ("ivoa.obscore", "obsconfig.obsconfig"),
    ),
    Example(
        "modes", "Observing modes and array configurations",
        "How many runs were taken in each observing mode with each number of telescopes.",
        "SELECT obs_mode, n_tels, COUNT(*) AS n_runs, AVG(zen_pnt) AS mean_zenith\n"
        "FROM obsconfig.obsconfig\n"
        "GROUP BY obs_mode, n_tels\n"
        "ORDER BY n_runs DESC",
        ("obsconfig.obsconfig",),
    ),
    Example(
        "per-night", "Live time per night",
        "Live time summed per night (the integer part of the MJD at the start of each run).",
        "SELECT mjd_night, COUNT(*) AS n_runs, SUM(t_exptime) / 60.0 AS livetime_min\n"
        "FROM (SELECT FLOOR(t_min) AS mjd_night, t_exptime FROM ivoa.obscore) AS runs\n"
        "GROUP BY mjd_night\n"
        "ORDER BY mjd_night",
        ("ivoa.obscore",),
    ),
    Example(
        "footprint-contains", "Fields of view containing a source",
        "A footprint search: observations whose field of view (s_region, a circle on the pointing) contains the "
        "Crab Nebula, with the source's offset from the pointing.",
        "SELECT obs_id, target_name, s_fov, t_min,\n"
        "       DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 83.6331, 22.0145)) AS offset_deg\n"
        "FROM ivoa.obscore\n"
        "WHERE CONTAINS(POINT('ICRS', 83.6331, 22.0145), s_region) = 1\n"
        "ORDER BY t_min",
        ("ivoa.obscore",),
    ),
    Example(
        "time-overlap", "Observations overlapping a time interval",
        "Runs with data between 2013-11-04T02:00 and 02:30 (MJD 56600.0833 to 56600.1042 in TT; t_min and t_max "
        "are MJD in TT): a run overlaps the interval when it starts before its end and ends after its start.",
        "SELECT obs_id, target_name, t_min, t_max, t_exptime\n"
        "FROM ivoa.obscore\n"
        "WHERE t_min < 56600.1042 AND t_max > 56600.0833\n"
        "ORDER BY t_min",
        ("ivoa.obscore",),
    ),
    Example(
        "hea-energy", "Energy band and events (High-Energy ObsCore extension)",
        "The ivoa.obscore_hea table joined 1:1 on obs_publisher_did: observations whose energy band (energy_min, "
        "energy_max in eV) covers 1 TeV, with their number of events and tracking mode, most events first.",
        "SELECT o.obs_id, o.target_name, h.energy_min, h.energy_max, h.ev_xel, h.tracking_mode, h.messenger\n"
        "FROM ivoa.obscore AS o\n"
        "JOIN ivoa.obscore_hea AS h ON h.obs_publisher_did = o.obs_publisher_did\n"
        "WHERE h.energy_min <= 1e12 AND h.energy_max >= 1e12\n"
        "ORDER BY ev_xel DESC",
        ("ivoa.obscore", "ivoa.obscore_hea"),
    ),
    Example(
        "provenance-generation", "Which activity generated each dataset",
        "Provenance: the activity that generated each ObsCore dataset (entity.id = obs_publisher_did).",
        "SELECT TOP 50 o.obs_id, a.id AS activity_id, a.name AS activity, a.starttime, a.endtime\n"
        "FROM ivoa.obscore AS o\n"
        "JOIN provenance.wasgeneratedby AS g ON g.entity_id = o.obs_publisher_did\n"
        "JOIN provenance.activity AS a ON a.id = g.activity_id",
        ("ivoa.obscore", "provenance.wasgeneratedby", "provenance.activity"),
    ),
    Example(
        "provenance-inputs", "The input files of a dataset",
        "Provenance: the entities (source files, with checksums) used by the activity that generated a dataset.",
        "SELECT TOP 50 g.entity_id AS dataset, u.role, e.location, e.checksum\n"
        "FROM provenance.wasgeneratedby AS g\n"
        "JOIN provenance.used AS u ON u.activity_id = g.activity_id\n"
        "JOIN provenance.entity AS e ON e.id = u.entity_id",
        ("provenance.wasgeneratedby", "provenance.used", "provenance.entity"),
    ),
    Example(
        "provenance-software", "Datasets made with a given software version",
        "Provenance: activities with their software (activity description name and version) and the number of "
        "datasets each generated.",
        "SELECT d.name AS software, d.version, COUNT(*) AS n_datasets\n"
        "FROM provenance.wasgeneratedby AS g\n"
        "JOIN provenance.activity AS a ON a.id = g.activity_id\n"
        "JOIN provenance.activitydescription AS d ON d.id = a.activitydescription_id\n"
        "GROUP BY d.name, d.version",
        ("provenance.wasgeneratedby", "provenance.activity", "provenance.activitydescription"),
    ),
    Example(
        "provenance-agents", "Who did what",
        "Provenance: agents and the activities they were associated with, with their role.",
        "SELECT ag.name AS agent, ag.type, w.role, COUNT(*) AS n_activities\n"
        "FROM provenance.wasassociatedwith AS w\n"
        "JOIN provenance.agent AS ag ON ag.id = w.agent_id\n"
        "GROUP BY ag.name, ag.type, w.role",
        ("provenance.wasassociatedwith", "provenance.agent"),
    ),
    Example(
        "tap-schema-columns", "The columns of ivoa.obscore",
        "TAP_SCHEMA is queryable like any table: names, types, units and UCDs of the ObsCore columns.",
        'SELECT column_name, datatype, arraysize, "size", unit, ucd, utype\n'
        "FROM TAP_SCHEMA.columns\n"
        "WHERE table_name = 'ivoa.obscore'\n"
        "ORDER BY column_index",
        ("TAP_SCHEMA.columns",),
    ),
)


def render_examples(settings: Settings) -> bytes:
    """The /examples document: XHTML with RDFa Lite, one ``div typeof="example"`` per query."""
    html = etree.Element(f"{{{XHTML}}}html", nsmap={None: XHTML})
    head = etree.SubElement(html, "head")
    etree.SubElement(head, "title").text = f"{settings.title}: example queries"
    body = etree.SubElement(html, "body", vocab=VOCAB)
    etree.SubElement(body, "h1").text = "Example ADQL queries"
    intro = etree.SubElement(body, "p")
    intro.text = f"Run them through the TAP service at {settings.tap_url} (TOPCAT's TAP window lists them too)."
    for example in EXAMPLES:
        div = etree.SubElement(body, "div", {"typeof": "example", "id": example.id, "resource": f"#{example.id}"})
        etree.SubElement(div, "h2", property="name").text = example.name
        etree.SubElement(div, "p").text = example.description
        etree.SubElement(div, "pre", {"class": "dachs-ex-tapquery", "property": "query"}).text = example.query
        tables = etree.SubElement(div, "p")
        tables.text = "Tables: "
        for i, table in enumerate(example.tables):
            span = etree.SubElement(tables, "span", property="table")
            span.text = table
            span.tail = ", " if i < len(example.tables) - 1 else None
    return etree.tostring(html, xml_declaration=True, encoding="UTF-8", pretty_print=True,
                          doctype="<!DOCTYPE html>")
