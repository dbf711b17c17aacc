"""DL3 headers -> ObsCore, ObsConfig and DataLink records (dl3-formats.md §7-8; the table is in docs/ingestion.md).

Pure functions: the files were read by :mod:`ingest.extract`; nothing here opens a file or a database.
Times are MJD in TT for the whole archive (:mod:`ingest.times`); energies become wavelengths (:mod:`ingest.units`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import numpy as np
from astropy import units as u

from ingest.config import CollectionConfig
from ingest.errors import IngestError
from ingest.footprint import field_of_view
from ingest.hea import PHOTON_PDGID, TEV_IN_EV, EnergyBand, energy_band, scan_mode, time_moc, tracking_mode
from ingest.headers import HDU, Cards, ListedHDU
from ingest.keywords import Keywords, obs_id_text
from ingest.products import products as dl_products
from ingest.records import Observation, SourceFile
from ingest.times import TimeReference, mjd_tt, time_reference, utc_datetime
from ingest.units import unit_factor, wavelength

_RESPONSE_TYPES = {"EFF_AREA": "aeff", "EDISP": "edisp", "RPSF": "psf", "PSF": "psf", "BKG": "bkg",
                   "RAD_MAX": "rad_max"}
_NAMED_TYPES = {"EVENTS": "events", "GTI": "gti", "POINTING": "pointing", "EFFECTIVE AREA": "aeff",
                "AEFF": "aeff", "ENERGY DISPERSION": "edisp", "EDISP": "edisp", "POINT SPREAD FUNCTION": "psf",
                "PSF": "psf", "BACKGROUND": "bkg", "BKG": "bkg", "RAD_MAX": "rad_max"}
_FACILITIES = {"HESS": "H.E.S.S.", "H.E.S.S.": "H.E.S.S.", "CTA": "CTAO", "CTA-N": "CTAO", "CTA-S": "CTAO"}
_UNIT_IN_COMMENT = re.compile(r"[\[(]\s*([A-Za-z]+)\s*[\])]")
_SMALLINT = 32767


@dataclass(frozen=True)
class Linked:
    """An HDU that belongs to the observation: in the event file, or found through an hdu-index."""

    hdu_type: str
    file: SourceFile
    hdu: HDU | ListedHDU  # ListedHDU: known from the hdu-index only (no header)
    hdu_class: str = ""


@dataclass(frozen=True)
class Target:
    """Where records point: the DID authority and the public base URL."""

    config: CollectionConfig
    authority: str
    base_url: str


@dataclass
class Inputs:
    """What the extractor read for one event file."""

    events_file: SourceFile
    events: HDU
    linked: list[Linked]
    gti: tuple[np.ndarray, np.ndarray] | None  # START, STOP in the GTI HDU's own time reference
    event_energy_range: Callable[[], tuple[float, float] | None]  # TeV; reads the ENERGY column
    event_positions: Callable[[], tuple[np.ndarray, np.ndarray] | None] = lambda: None  # RA, DEC (deg)
    irf_cells: Callable[[Linked, str], np.ndarray | None] = lambda item, name: None  # a column of an IRF HDU
    obs_row: dict[str, Any] | None = None
    obs_units: dict[str, str] = field(default_factory=dict)
    listed_obs_id: str | None = None  # the OBS_ID under which an hdu-index lists the file
    index_sources: tuple[SourceFile, ...] = ()
    warnings: list[str] = field(default_factory=list)

    def linked_of(self, hdu_type: str) -> Linked | None:
        return next((item for item in self.linked if item.hdu_type == hdu_type), None)


def hdu_type(hdu: HDU) -> str | None:
    """The GADF kind of an HDU from HDUCLAS1/HDUCLAS2, else from its EXTNAME (CTA 1DC has no HDUCLAS)."""
    first, second = hdu.hduclass(1), hdu.hduclass(2)
    if first in ("EVENTS", "GTI", "POINTING"):
        return first.lower()
    if first == "RESPONSE" and second in _RESPONSE_TYPES:
        return _RESPONSE_TYPES[second]
    return _NAMED_TYPES.get(hdu.name.upper())


def publisher_did(authority: str, collection: str, obs_id: str) -> str:
    """ivo://authority/collection?obs_id, with the collection and obs_id percent-encoded where needed."""
    return f"{authority}/{quote(collection, safe='/-._~')}?{quote(obs_id, safe='-._~')}"


def normalise_authority(value: str) -> str:
    """'ivo://x.org/' or 'x.org' -> 'ivo://x.org'."""
    value = value.strip().rstrip("/")
    return value if value.startswith("ivo://") else f"ivo://{value}"


def map_observation(inputs: Inputs, target: Target) -> Observation:
    """Build the records of one observation. Raise IngestError for a missing or unreadable required keyword."""
    config = target.config
    path = inputs.events_file.path
    ev = Keywords(path, inputs.events.label, inputs.events.header)
    obs = Keywords(path, "obs-index", Cards([]), inputs.obs_row or {})
    obs_id = obs_id_text(ev.raw("OBS_ID"))
    if obs_id is None:
        raise ev.error("OBS_ID", "missing (required)")
    if inputs.listed_obs_id not in (None, obs_id):
        inputs.warnings.append(f"{path}: the hdu-index lists this file as OBS_ID {inputs.listed_obs_id}, "
                               f"the header says {obs_id}; using {obs_id}")

    reference = time_reference(ev)
    t_min, t_max, t_start, t_stop, gti_total = _times(inputs, ev, reference)
    ra, dec = _pointing(ev)
    collection = config.collection
    did = publisher_did(target.authority, collection, obs_id)
    facility = config.facility or _facility(ev.text("TELESCOP"))
    instrument = config.instrument or ev.text("INSTRUME") or facility
    target_name = obs.text("TARGET_NAME") or ev.text("OBJECT") or obs.text("OBJECT")
    aeff = inputs.linked_of("aeff")
    footprint = field_of_view(
        config.s_fov, ev, aeff is None or aeff.hdu.hduclass(3) == "POINT-LIKE",
        lambda: inputs.irf_cells(aeff, "THETA_HI") if aeff is not None else None, inputs.event_positions, (ra, dec))
    if footprint is None:
        inputs.warnings.append(f"{path}: no field of view derivable (no ROI keyword, no full-enclosure effective "
                               "area with offset bins, no event positions): s_fov and s_region stored as NULL; "
                               "set s_fov in the collection config")
    band = _energy_band(inputs, obs, config)
    em_min, em_max = (wavelength(band.high), wavelength(band.low)) if band else (None, None)

    obscore = {
        "dataproduct_type": "event",
        "dataproduct_subtype": "DL3",
        "calib_level": config.calib_level,
        "obs_collection": collection,
        "obs_id": obs_id,
        "obs_title": f"{facility or collection} observation {obs_id}" + (f" of {target_name}" if target_name
                                                                           else ""),
        "obs_creation_date": _date(ev.text("DATE")) or _date(ev.text("CREATED")),
        "obs_creator_name": ev.text("ORIGIN"),
        "obs_publisher_did": did,
        "publisher_id": target.authority,
        "bib_reference": config.bib_reference,
        "data_rights": config.data_rights,
        "obs_release_date": (utc_datetime(t_max) + timedelta(days=config.release_delay_days)
                             if config.release_delay_days is not None else None),
        "access_url": f"{target.base_url}/datalink/links?ID={quote(did, safe='')}",
        "access_format": "application/x-votable+xml;content=datalink",
        "access_estsize": -(-inputs.events_file.size_bytes // 1024),
        "target_name": target_name,
        "target_class": config.target_class,
        "s_ra": ra,
        "s_dec": dec,
        "s_fov": footprint.diameter if footprint else None,
        "s_resolution": config.s_resolution or _rad_max_arcsec(inputs),
        "s_xel1": -1,
        "s_xel2": -1,
        "t_min": t_min,
        "t_max": t_max,
        "t_exptime": _exposure(ev, gti_total),
        "t_resolution": config.t_resolution,
        "t_xel": -1,
        "em_min": em_min,
        "em_max": em_max,
        "em_res_power": config.em_res_power,
        "em_xel": -1,
        "o_ucd": None,
        "pol_states": None,
        "pol_xel": 0,
        "facility_name": facility,
        "instrument_name": instrument,
    }
    obsconfig = _obsconfig(ev, obs, obscore, reference, (t_start, t_stop), config)
    hea = _hea(inputs, ev, obsconfig, band, reference, (t_start, t_stop))
    products = dl_products(inputs, did, facility or collection, obs_id)
    sources = _sources(inputs)
    derivations = tuple((index.path, path) for index in inputs.index_sources)
    return Observation(obscore=obscore, obsconfig=obsconfig, region=footprint.region(ra, dec) if footprint else None,
                       products=products, sources=sources, derivations=derivations, hea=hea,
                       warnings=tuple(inputs.warnings + ev.warnings + obs.warnings))


def _times(inputs: Inputs, ev: Keywords, reference: TimeReference) -> tuple[float, float, float, float,
                                                                             float | None]:
    """(t_min, t_max, t_start, t_stop) in MJD (TT), and the GTI total in s. t_min/t_max span TSTART/TSTOP and
    the GTIs, which disagree by up to seconds in several producers (dl3-formats.md §8.10)."""
    tstart, tstop = ev.required("TSTART"), ev.required("TSTOP")
    if tstop < tstart:
        raise ev.error("TSTOP", f"TSTOP {tstop} is before TSTART {tstart}")
    gti_total, gti_bounds = _gti(inputs, ev, reference)
    if gti_bounds is None:
        t_start, t_stop = mjd_tt(reference, [tstart, tstop])
        return t_start, t_stop, t_start, t_stop, None
    t_start, t_stop, gti_min, gti_max = mjd_tt(reference, [tstart, tstop, *gti_bounds])
    return min(t_start, gti_min), max(t_stop, gti_max), t_start, t_stop, gti_total


def _exposure(ev: Keywords, gti_total: float | None) -> float | None:
    """LIVETIME; else ONTIME x DEADC; else ONTIME; else the sum of the GTIs. Never TSTOP - TSTART."""
    livetime, ontime, deadc = ev.number("LIVETIME"), ev.number("ONTIME"), ev.number("DEADC")
    if livetime is not None:
        return livetime
    if ontime is not None:
        return ontime * deadc if deadc is not None else ontime
    return gti_total


def _gti(inputs: Inputs, ev: Keywords, reference: TimeReference) -> tuple[float | None, tuple[float, float] | None]:
    """(sum of the GTIs in s, (first start, last stop) in the events' time unit since the events' MJDREF).
    A GTI HDU with a time reference of its own is converted to the events' reference."""
    if inputs.gti is None or not inputs.gti[0].size:
        return None, None
    start, stop = inputs.gti
    gti_reference = _gti_reference(inputs, ev, reference)
    first, last = float(start.min()), float(stop.max())
    total = float(np.sum(stop - start)) * gti_reference.seconds_per_unit
    if gti_reference.origin != reference.origin or gti_reference.seconds_per_unit != reference.seconds_per_unit:
        shift = float((gti_reference.reference - reference.reference).to_value(u.s))
        first, last = ((b * gti_reference.seconds_per_unit + shift) / reference.seconds_per_unit for b in (first, last))
    return total, (first, last)


def _pointing(ev: Keywords) -> tuple[float, float]:
    if not ev.has("RA_PNT") or not ev.has("DEC_PNT"):
        mode = ev.text("OBS_MODE")
        key = "RA_PNT" if not ev.has("RA_PNT") else "DEC_PNT"
        note = (f" (OBS_MODE={mode}: observations without a pointing position cannot be placed on the sky)"
                if mode else "")
        raise ev.error(key, "missing (required)" + note)
    ra, dec = ev.required("RA_PNT"), ev.required("DEC_PNT")
    if not -90.0 <= dec <= 90.0:
        raise ev.error("DEC_PNT", f"out of range: {dec}")
    ra = ra % 360.0
    return (0.0 if ra >= 360.0 else ra), dec


def _facility(telescop: str | None) -> str | None:
    if telescop is None:
        return None
    return _FACILITIES.get(telescop.upper(), telescop)


def _rad_max_arcsec(inputs: Inputs) -> float | None:
    """The constant RAD_MAX cut of a point-like IRF (deg) as an upper bound of the resolution, in arcsec."""
    for item in inputs.linked:
        point_like = item.hdu.hduclass(3) == "POINT-LIKE"
        if point_like and item.hdu_type in ("aeff", "edisp", "rad_max") and "RAD_MAX" in item.hdu.header:
            value = Keywords(item.file.path, item.hdu.label, item.hdu.header).number("RAD_MAX")
            if value is not None and value > 0:
                return value * 3600.0
    return None


def _energy_band(inputs: Inputs, obs: Keywords, config: CollectionConfig) -> EnergyBand | None:
    """The energy band (TeV) of em_min/em_max and energy_min/energy_max: the safe thresholds LO_THRES/HI_THRES of
    the AEFF HDU, else the obs-index SAFE_ENERGY_LO/HI, where they are plausible against the events' energies and
    the effective area's energy axis (:func:`ingest.hea.energy_band`); else the extremes of the ENERGY column.
    With energy_range='events' always the ENERGY column."""
    low: float | None = None
    high: float | None = None
    irf: tuple[float, float] | None = None
    aeff = inputs.linked_of("aeff")
    if aeff is not None:
        kw = Keywords(aeff.file.path, aeff.hdu.label, aeff.hdu.header)
        low, high = kw.number("LO_THRES"), kw.number("HI_THRES")
        irf = _energy_axis(inputs, aeff)
    low = low if low is not None else _tev(obs, "SAFE_ENERGY_LO", inputs.obs_units)
    high = high if high is not None else _tev(obs, "SAFE_ENERGY_HI", inputs.obs_units)
    try:
        events = inputs.event_energy_range()
    except IngestError as exc:
        inputs.warnings.append(f"{exc}; the energy band is not checked against the events")
        events = None
    return energy_band((low, high), events, irf, config.energy_range == "thresholds", inputs.warnings,
                       inputs.events_file.path)


def _energy_axis(inputs: Inputs, aeff: Linked) -> tuple[float, float] | None:
    """The true-energy axis of an effective area (TeV): where the IRF is valid."""
    for low_name, high_name in (("ENERG_LO", "ENERG_HI"), ("ETRUE_LO", "ETRUE_HI")):
        low, high = inputs.irf_cells(aeff, low_name), inputs.irf_cells(aeff, high_name)
        if low is not None and high is not None and low.size and high.size:
            unit = aeff.hdu.header.get(f"TUNIT{_column_number(aeff.hdu, low_name)}") or "TeV"
            try:
                factor = unit_factor(str(unit).strip() or "TeV", "TeV")
            except ValueError:
                return None
            return float(np.nanmin(low)) * factor, float(np.nanmax(high)) * factor
    return None


def _column_number(hdu: HDU | ListedHDU, name: str) -> int:
    for i in range(1, int(hdu.header.get("TFIELDS", 0) or 0) + 1):
        if str(hdu.header.get(f"TTYPE{i}", "")).strip() == name:
            return i
    return 0


def _hea(inputs: Inputs, ev: Keywords, obsconfig: dict[str, Any], band: EnergyBand | None,
         reference: TimeReference, times: tuple[float, float]) -> dict[str, Any]:
    """The ivoa.obscore_hea row (the note's columns; NULL where the headers say nothing)."""
    starts, stops = _gti_tt(inputs, ev, reference)
    if not starts:
        starts, stops = [times[0]], [times[1]]
    mode = obsconfig["obs_mode"]
    return {
        "obs_publisher_did": obsconfig["obs_publisher_did"],
        "ev_xel": ev.integer("NAXIS2"),
        "s_ref_energy": None,
        "em_ref_energy": None,
        "s_ref_oaa": None,
        "em_ref_oaa": None,
        "t_intervals": time_moc(starts, stops),
        "energy_min": band.low * TEV_IN_EV if band else None,
        "energy_max": band.high * TEV_IN_EV if band else None,
        "obs_mode": mode,
        "tracking_mode": tracking_mode(mode),
        "scan_mode": scan_mode(mode),
        "pointing_mode": obsconfig["pointing_mode"],
        "analysis_mode": None,
        "event_type": ev.text("EV_CLASS"),
        "messenger": "photon",
        "messenger_pdgid": PHOTON_PDGID,
    }


def _gti_tt(inputs: Inputs, ev: Keywords, reference: TimeReference) -> tuple[list[float], list[float]]:
    """Every good time interval as MJD (TT)."""
    if inputs.gti is None or not inputs.gti[0].size:
        return [], []
    start, stop = inputs.gti
    count = int(start.size)
    values = mjd_tt(_gti_reference(inputs, ev, reference), [float(v) for v in start] + [float(v) for v in stop])
    return values[:count], values[count:]


def _gti_reference(inputs: Inputs, ev: Keywords, reference: TimeReference) -> TimeReference:
    """The time reference of the GTI HDU: its own when its header has one, else the events'."""
    link = inputs.linked_of("gti")
    own = Keywords(link.file.path, link.hdu.label, link.hdu.header) if link else ev
    return time_reference(own) if own.has("TIMESYS") else reference


def _tev(obs: Keywords, key: str, units: dict[str, str]) -> float | None:
    value = obs.number(key)
    if value is None:
        return None
    return value * unit_factor(units.get(key, "TeV"), "TeV")


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def _obsconfig(ev: Keywords, obs: Keywords, obscore: dict[str, Any], reference: TimeReference,
               times: tuple[float, float], config: CollectionConfig) -> dict[str, Any]:
    t_start, t_stop = times
    native = ev.text("OBS_MODE") or obs.text("OBS_MODE")
    mode = _obs_mode(native or config.obs_mode)
    alt, az = _first(ev.number("ALT_PNT"), obs.number("ALT_PNT")), _first(ev.number("AZ_PNT"), obs.number("AZ_PNT"))
    zen = _first(ev.number("ZEN_PNT"), obs.number("ZEN_PNT"))
    if (alt, az) in ((90.0, 0.0), (0.0, 0.0)):  # CTA 1DC/ctools and HAWC placeholders
        alt = az = zen = None
    elif zen is None and alt is not None:
        zen = 90.0 - alt
    ra_obj = _first(ev.number("RA_OBJ"), obs.number("RA_OBJ"))
    dec_obj = _first(ev.number("DEC_OBJ"), obs.number("DEC_OBJ"))
    if (ra_obj, dec_obj) == (0.0, 0.0):
        ra_obj = dec_obj = None
    if ra_obj is not None:
        ra_obj %= 360.0
    tel_lists = [v for v in ev.all_values("TELLIST") if v not in (None, "")]
    tel_list = ev.text("TELLIST") or obs.text("TELLIST")
    n_tels = _positive(ev.integer("N_TELS"))
    if n_tels is None and len(tel_lists) > 1 and str(tel_lists[1]).strip().isdigit():
        n_tels = _positive(int(str(tel_lists[1]).strip()))  # MAGIC: the second TELLIST card is N_TELS
    n_tels = n_tels if n_tels is not None else _positive(obs.integer("N_TELS"))
    conv_depth = ev.number("CONV_DEP")
    geolon, geolat, altitude = _geo(ev, "GEOLON", "deg"), _geo(ev, "GEOLAT", "deg"), _geo(ev, "ALTITUDE", "m")
    if (geolon, geolat, altitude) == (0.0, 0.0, 0.0):
        geolon = geolat = altitude = None
    run = obscore["obs_id"]
    return {
        "obs_publisher_did": obscore["obs_publisher_did"],
        "obs_collection": obscore["obs_collection"],
        "obs_id": run,
        "run_number": int(run) if run.isdigit() and int(run) < 2**63 else None,
        "facility_name": obscore["facility_name"],
        "instrument_name": obscore["instrument_name"],
        "observer": ev.text("OBSERVER"),
        "subarray_name": None,
        "tel_list": tel_list,
        "n_tels": n_tels if n_tels is None or n_tels <= _SMALLINT else None,
        "obs_mode": mode,
        "obs_mode_native": native,
        "tracking_mode": tracking_mode(mode),
        "pointing_mode": None if conv_depth is None else "parallel" if conv_depth == 0 else "convergent",
        "conv_depth": conv_depth,
        "object": ev.text("OBJECT") or obs.text("OBJECT"),
        "ra_obj": ra_obj,
        "dec_obj": dec_obj,
        "ra_pnt": obscore["s_ra"],
        "dec_pnt": obscore["s_dec"],
        "wobble_offset": (_separation(obscore["s_ra"], obscore["s_dec"], ra_obj, dec_obj)
                          if ra_obj is not None and dec_obj is not None else obs.number("OFFSET_OBJ")),
        "radesys": (ev.text("RADESYS") or ev.text("RADECSYS") or "").upper() or None,
        "alt_pnt": alt,
        "az_pnt": az,
        "zen_pnt": zen,
        "t_start": t_start,
        "t_stop": t_stop,
        "tstart_met": ev.required("TSTART"),
        "tstop_met": ev.required("TSTOP"),
        "mjdref": reference.mjdref,
        "timesys": reference.timesys,
        "ontime": ev.number("ONTIME"),
        "livetime": ev.number("LIVETIME"),
        "deadc": ev.number("DEADC"),
        "geolon": geolon,
        "geolat": geolat,
        "altitude": altitude,
        "trigger_rate": ev.number("TRGRATE"),
        "muon_efficiency": _first(ev.number("MUONEFF"), obs.number("MUONEFF")),
        "broken_pixel_frac": ev.number("BROKPIX"),
        "nsb_level": _first(ev.number("NSBLEVEL"), obs.number("NSBLEVEL")),
        "air_temperature": ev.number("AIRTEMP"),
        "pressure": ev.number("PRESSURE"),
        "relative_humidity": ev.number("RELHUM"),
        "data_quality": _first(ev.integer("QUALITY"), obs.integer("QUALITY")),
        "creator": ev.text("CREATOR"),
        "dst_ver": ev.text("DST_VER"),
        "ana_ver": ev.text("ANA_VER"),
        "cal_ver": ev.text("CAL_VER"),
    }


def _obs_mode(value: str | None) -> str | None:
    """OBS_MODE normalised: upper case, words joined by underscores ('wobble' -> 'WOBBLE')."""
    if value is None:
        return None
    return re.sub(r"[\s-]+", "_", value.strip()).upper() or None


def _geo(ev: Keywords, key: str, unit: str) -> float | None:
    """GEOLON/GEOLAT/ALTITUDE in deg/deg/m; a unit in the card comment ('[km]', '(m)') is honoured (CTA 1DC
    writes ALTITUDE in km)."""
    value = ev.number(key)
    if value is None:
        return None
    match = _UNIT_IN_COMMENT.search(ev.header.comment(key))
    if match:
        try:
            return value * unit_factor(match.group(1), unit)
        except ValueError:
            pass
    return value


def _separation(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance in deg (Vincenty formula, stable at all distances)."""
    lon1, lat1, lon2, lat2 = map(math.radians, (ra1, dec1, ra2, dec2))
    dlon = lon2 - lon1
    num = math.hypot(math.cos(lat2) * math.sin(dlon),
                     math.cos(lat1) * math.sin(lat2) - math.sin(lat1) * math.cos(lat2) * math.cos(dlon))
    den = math.sin(lat1) * math.sin(lat2) + math.cos(lat1) * math.cos(lat2) * math.cos(dlon)
    return math.degrees(math.atan2(num, den))


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _positive(value: int | None) -> int | None:
    return value if value is not None and value > 0 else None


def _sources(inputs: Inputs) -> tuple[SourceFile, ...]:
    """The event file, then every other file read for this observation (IRF/GTI files, index tables)."""
    files: dict[str, SourceFile] = {inputs.events_file.path: inputs.events_file}
    for item in inputs.linked:
        files.setdefault(item.file.path, item.file)
    for index in inputs.index_sources:
        files.setdefault(index.path, index)
    return tuple(files.values())
