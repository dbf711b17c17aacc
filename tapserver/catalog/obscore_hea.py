"""ivoa.obscore_hea: the IVOA High-Energy ObsCore extension (ivoa/HighEnergyObsCoreExt, table "HEA ObsCore
Extension Table Attributes"), one row per ivoa.obscore row, joined on obs_publisher_did.

Column names, units and types are the note's. UCDs are the note's where they are valid UCD1+ words today; the
note proposes new words (``instr.detection``, ``meta.ref.pdgid``) that validators reject, so those columns carry the
nearest valid UCD (docs/ingestion.md lists them). The note defines no utypes: ``hea:<column>`` names them here.
"""

from __future__ import annotations

from tapserver.catalog.model import ForeignKey, Table, col

_DP = "double precision"
_U = "hea:"

OBSCORE_HEA = Table(
    schema="ivoa",
    name="obscore_hea",
    description=(
        "IVOA High-Energy ObsCore extension (IVOA Note, HighEnergyObsCoreExt): what is specific to high-energy "
        "event lists, one row per ivoa.obscore dataset. Join to ivoa.obscore on obs_publisher_did "
        "(NATURAL JOIN works: it is the only column the two tables share)."
    ),
    columns=(
        col("obs_publisher_did", "text", "Publisher DID of the dataset (= ivoa.obscore.obs_publisher_did)",
            ucd="meta.ref.ivoid", utype="obscore:Curation.publisherDID", principal=True, indexed=True,
            std=True, nullable=False),
        col("ev_xel", "bigint", "Number of events in the event list (NAXIS2 of EVENTS)",
            ucd="meta.number;phys.particle", utype=_U + "ev_xel", principal=True, std=True),
        col("s_ref_energy", _DP, "Energy at which s_fov, s_region and s_resolution are defined",
            unit="eV", ucd="meta.ref;em.energy;pos", utype=_U + "s_ref_energy", std=True),
        col("em_ref_energy", _DP, "Energy at which em_res_power and em_resolution are defined",
            unit="eV", ucd="meta.ref;em.energy;em", utype=_U + "em_ref_energy", std=True),
        col("s_ref_oaa", _DP, "Off-axis angle at which s_fov, s_region and s_resolution are defined",
            unit="deg", ucd="pos.posAng;instr.offset;pos", utype=_U + "s_ref_oaa", std=True),
        col("em_ref_oaa", _DP, "Off-axis angle at which em_res_power and em_resolution are defined",
            unit="deg", ucd="pos.posAng;instr.offset;em", utype=_U + "em_ref_oaa", std=True),
        col("t_intervals", "text",
            "Good time intervals as a MOC 2.0 time MOC (ASCII serialisation, order 41 cells of 1.05 s; TCB "
            "microseconds since JD 0)",
            ucd="time.interval;obs.exposure", utype=_U + "t_intervals", std=True),
        col("energy_min", _DP, "Lowest energy of the dataset (the bound em_max is computed from)",
            unit="eV", ucd="em.energy;stat.min", utype=_U + "energy_min", principal=True, indexed=True, std=True),
        col("energy_max", _DP, "Highest energy of the dataset (the bound em_min is computed from)",
            unit="eV", ucd="em.energy;stat.max", utype=_U + "energy_max", principal=True, indexed=True, std=True),
        col("obs_mode", "text", "Observation mode (OBS_MODE, normalised: WOBBLE, POINTING, DRIFT, ...)",
            ucd="meta.code;obs.param", utype=_U + "obs_mode", principal=True, std=True),
        col("tracking_mode", "text",
            "Tracking mode: sidereal, fixed-az-el-transit, solar-system-object-tracking or none",
            ucd="meta.code;obs.param", utype=_U + "tracking_mode", std=True),
        col("scan_mode", "text",
            "Scan mode: on-source, on-off, raster-map, on-the-fly-cross-scan, on-the-fly-cross-map (wobble) "
            "or slew", ucd="meta.code;obs.param", utype=_U + "scan_mode", std=True),
        col("pointing_mode", "text", "Pointing of the telescopes of the array: parallel, convergent[-ang], "
            "divergent[-ang]", ucd="meta.code;obs.param", utype=_U + "pointing_mode", std=True),
        col("analysis_mode", "text", "Data reduction/analysis mode", ucd="meta.code;obs.param",
            utype=_U + "analysis_mode", std=True),
        col("event_type", "text", "Event class or quality selection of the events (EV_CLASS)",
            ucd="meta.code.qual;phys.particle", utype=_U + "event_type", std=True),
        col("messenger", "text", "Messenger particle: photon, cosmic-ray, neutrino, muon or proton",
            ucd="meta.id;phys.particle", utype=_U + "messenger", principal=True, std=True),
        col("messenger_pdgid", "text", "PDG identifier of the messenger particle, signed (+22: photon)",
            ucd="meta.code;phys.particle", utype=_U + "messenger_pdgid", std=True),
    ),
    foreign_keys=(
        ForeignKey(
            key_id="obscore_hea_obscore",
            from_table="ivoa.obscore_hea",
            target_table="ivoa.obscore",
            columns=(("obs_publisher_did", "obs_publisher_did"),),
            description="The ObsCore row this extension row describes (1:1)",
        ),
    ),
)

#: Columns of ivoa.obscore_hea in declaration order (the migration creates them in this order).
OBSCORE_HEA_COLUMNS = tuple(c.name for c in OBSCORE_HEA.columns)
