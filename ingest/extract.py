"""Reading one event file and the HDUs linked to it, then mapping it (runs in worker processes).

The run-wide context (collection config, index tables) is installed once per process by :func:`install`; with the
fork start method the workers inherit it without pickling. Every failure becomes an IngestError result: a bad
file never stops the others.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingest.discover import HduRow, IndexTable, Task
from ingest.errors import IngestError
from ingest.headers import HDU, FitsFile, ListedHDU, content_type, read_fits
from ingest.keywords import obs_id_text
from ingest.mapping import Inputs, Linked, Target, hdu_type, map_observation
from ingest.records import Observation, SourceFile
from ingest.units import unit_factor

IRF_TYPES = frozenset({"aeff", "edisp", "psf", "bkg", "rad_max"})
# HDUs of which the mapping reads more than name and size (GTI data, AEFF thresholds, RAD_MAX cuts).
READ_TYPES = frozenset({"gti", "aeff", "rad_max"})


@dataclass(frozen=True)
class Skipped:
    """A FITS file that holds no EVENTS HDU (an IRF file, for instance): not an error."""

    path: str
    reason: str


Result = Observation | IngestError | Skipped


class FileCache:
    """The few companion files (shared IRF files) most recently opened, kept open for the next observations."""

    def __init__(self, size: int = 8) -> None:
        self.size = size
        self._files: OrderedDict[Path, FitsFile | IngestError] = OrderedDict()

    def close(self) -> None:
        for entry in self._files.values():
            if isinstance(entry, FitsFile):
                entry.close()
        self._files.clear()

    def get(self, path: Path) -> FitsFile:
        if path not in self._files:
            try:
                self._files[path] = read_fits(path)
            except IngestError as exc:
                self._files[path] = exc
            while len(self._files) > self.size:
                _, evicted = self._files.popitem(last=False)
                if isinstance(evicted, FitsFile):
                    evicted.close()
        self._files.move_to_end(path)
        entry = self._files[path]
        if isinstance(entry, IngestError):
            raise entry
        return entry


@dataclass
class Context:
    """What every extraction of a run shares."""

    target: Target
    indexes: dict[Path, IndexTable]
    companions: FileCache = field(default_factory=FileCache)


_context: Context | None = None


def install(context: Context) -> None:
    """Make ``context`` the one :func:`extract` uses in this process (pool initializer)."""
    global _context
    _context = context


def extract(task: Task) -> Result:
    """Read, link and map one file. Never raises: failures are returned as IngestError."""
    if _context is None:
        raise RuntimeError("ingest.extract.install() was not called in this process")
    try:
        return _extract(task, _context)
    except IngestError as exc:
        return exc
    except Exception as exc:  # a defect or an astropy surprise must cost one file, not the run
        return IngestError(str(task.path), f"unexpected error: {type(exc).__name__}: {exc}")


def extract_batch(tasks: list[Task]) -> list[Result]:
    """:func:`extract` over several tasks (one round trip to a worker process)."""
    return [extract(task) for task in tasks]


def _extract(task: Task, context: Context) -> Result:
    with read_fits(task.path, lazy=True) as events_file:
        events = events_file.find(lambda hdu: hdu.index > 0 and hdu_type(hdu) == "events")
        if events is None:
            return Skipped(str(task.path), "no EVENTS HDU")
        events_source = _source(events_file, "events")
        warnings: list[str] = []
        rows, index_sources = _index_rows(task, context)
        header_obs_id = obs_id_text(events.header.get("OBS_ID"))
        listed_obs_id = task.listed_in[0][1] if task.listed_in else None
        obs_row, obs_units, obs_source = _obs_row(task, context, header_obs_id or listed_obs_id)
        if obs_source is not None:
            index_sources.append(obs_source)
        linked = _linked(events_file, events_source, rows, context, warnings)
        gti = _gti(events_file, linked, context)
        inputs = Inputs(
            events_file=events_source, events=events, linked=linked, gti=gti,
            event_energy_range=lambda: _energy_range(events_file, events),
            event_positions=lambda: _positions(events_file, events),
            irf_cells=lambda item, name: _cells(events_file, item, name, context),
            obs_row=obs_row, obs_units=obs_units, listed_obs_id=listed_obs_id,
            index_sources=tuple(index_sources), warnings=warnings)
        return map_observation(inputs, context.target)


def _source(file: FitsFile, role: str) -> SourceFile:
    return SourceFile(path=str(file.path), checksum=file.checksum, size_bytes=file.size_bytes, mtime=file.mtime,
                      content_type=content_type(file.compressed), role=role)


def _index_rows(task: Task, context: Context) -> tuple[list[HduRow], list[SourceFile]]:
    """The hdu-index rows of the observation(s) under which the file is listed, and those index files."""
    rows: list[HduRow] = []
    sources: list[SourceFile] = []
    for index_path, obs_id in task.listed_in:
        table = context.indexes[index_path]
        rows += table.hdu_rows.get(obs_id, ())
        if table.source not in sources:
            sources.append(table.source)
    return rows, sources


def _obs_row(task: Task, context: Context, obs_id: str | None) -> tuple[
        dict[str, object] | None, dict[str, str], SourceFile | None]:
    if obs_id is None:
        return None, {}, None
    for path in task.obs_indexes:
        table = context.indexes[path]
        row = table.obs_rows.get(obs_id)
        if row is not None:
            return row, table.units, table.source
    return None, {}, None


def _rest_from_index(events_file: FitsFile, rows: list[HduRow]) -> dict[str, ListedHDU] | None:
    """For a gzip event file the hdu-index describes completely: read it only up to the last HDU whose header or
    data the mapping uses, and take the HDUs after it (DataLink products only) from the index, proven to cover
    the rest of the file by the gzip trailer (:meth:`FitsFile.rest_from_index`). The data after that point are
    never inflated: "headers only". None when the file must be read whole (plain files need no inflating)."""
    own = [row for row in rows if row.path == events_file.path]
    if not own or not events_file.compressed:
        return None
    for row in own:
        if row.hdu_type in READ_TYPES:
            events_file.named(row.hdu_name)
    aeff = next((events_file.named(r.hdu_name) for r in own if r.hdu_type == "aeff"), None)
    if aeff is None or aeff.hduclass(3) != "FULL-ENCLOSURE":  # a point-like EDISP may carry the RAD_MAX cut
        for row in own:
            if row.hdu_type == "edisp":
                events_file.named(row.hdu_name)
    rest = events_file.rest_from_index([(row.hdu_name, row.size) for row in own])
    return None if rest is None else {hdu.name.upper(): hdu for hdu in rest}


def _linked(events_file: FitsFile, events_source: SourceFile, rows: list[HduRow], context: Context,
            warnings: list[str]) -> list[Linked]:
    """GTI, IRF and pointing HDUs: those the hdu-index names, then those found in the event file itself."""
    linked: list[Linked] = []
    seen: set[tuple[str, int | None]] = set()
    listed_only = _rest_from_index(events_file, rows)
    for row in rows:
        if row.hdu_type == "events":
            continue
        try:
            file = events_file if row.path == events_file.path else context.companions.get(row.path)
        except IngestError as exc:
            warnings.append(f"{events_file.path}: cannot link the {row.hdu_type} HDU listed in the hdu-index: {exc}")
            continue
        hdu: HDU | ListedHDU | None = None
        if file is events_file and listed_only is not None:
            hdu = listed_only.pop(row.hdu_name.strip().upper(), None)
            if hdu is not None:
                linked.append(Linked(row.hdu_type, events_source, hdu, row.hdu_class))
                continue
        hdu = file.named(row.hdu_name)
        if hdu is None:
            warnings.append(f"{events_file.path}: the hdu-index names HDU {row.hdu_name!r} in {file.path}, "
                            f"which has no such HDU; not linked")
            continue
        if (str(file.path), hdu.index) in seen:
            continue
        seen.add((str(file.path), hdu.index))
        role = "irf" if row.hdu_type in IRF_TYPES else row.hdu_type
        source = events_source if file is events_file else _source(file, role)
        linked.append(Linked(row.hdu_type, source, hdu, row.hdu_class))
    # The HDUs of the event file no index row names (all of them read, unless the index covers the whole file).
    for hdu in (events_file.walked if listed_only is not None else events_file.hdus)[1:]:
        kind = hdu_type(hdu)
        if kind is None or kind == "events" or (events_source.path, hdu.index) in seen:
            continue
        linked.append(Linked(kind, events_source, hdu, hdu.hduclass(4).lower()))
    return linked


def _gti(events_file: FitsFile, linked: list[Linked], context: Context) -> tuple[np.ndarray, np.ndarray] | None:
    item = next((entry for entry in linked if entry.hdu_type == "gti"), None)
    if item is None or not isinstance(item.hdu, HDU):  # GTIs are in READ_TYPES: always read, never ListedHDU
        return None
    file = events_file if item.file.path == str(events_file.path) else context.companions.get(Path(item.file.path))
    return file.column(item.hdu, "START"), file.column(item.hdu, "STOP")


def _energy_range(file: FitsFile, hdu: HDU) -> tuple[float, float] | None:
    """Extremes of the ENERGY column in TeV (its TUNIT, else EUNIT, else TeV as GADF prescribes)."""
    values = file.column(hdu, "ENERGY")
    values = values[np.isfinite(values)]
    if not values.size:
        return None
    unit = file.column_unit(hdu, "ENERGY") or str(hdu.header.get("EUNIT", "") or "").strip() or "TeV"
    try:
        factor = unit_factor(unit, "TeV")
    except ValueError:
        raise IngestError(str(file.path), f"not an energy unit: {unit!r}", hdu=hdu.label,
                          keyword="TUNIT of ENERGY") from None
    return float(values.min()) * factor, float(values.max()) * factor


def _positions(file: FitsFile, hdu: HDU) -> tuple[np.ndarray, np.ndarray] | None:
    """The RA and DEC columns of the events (deg), or None without them."""
    try:
        return file.column(hdu, "RA"), file.column(hdu, "DEC")
    except IngestError:
        return None


def _cells(events_file: FitsFile, item: Linked, name: str, context: Context) -> np.ndarray | None:
    """Every element of a column of a linked IRF HDU (its axes), or None when the HDU was not read or lacks it."""
    if not isinstance(item.hdu, HDU):
        return None
    try:
        file = events_file if item.file.path == str(events_file.path) else context.companions.get(Path(item.file.path))
        return file.column(item.hdu, name, cells=True)
    except IngestError:
        return None
