"""Finding what to ingest: files, directories (recursive) and globs, and the GADF index tables among them.

Index tables are recognised by their columns, never by file or HDU name (those lie, dl3-formats.md §8.15): a table
with OBS_ID, HDU_TYPE, FILE_NAME and HDU_NAME is an hdu-index; one with OBS_ID and no FILE_NAME nor event columns
is an obs-index. Event files listed by an hdu-index are ingested even if only the index was named; files an
hdu-index lists only as IRF or GTI holders are not ingested on their own. Every other FITS file is handed to the
extractor, which ingests it if it has an EVENTS HDU (bare event files without any index).
"""

from __future__ import annotations

import glob
import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from astropy.io import fits

from ingest.errors import IngestError
from ingest.headers import HDU, column_names, content_type, peek_hdus
from ingest.keywords import obs_id_text, python_value
from ingest.records import SourceFile

FITS_NAME = re.compile(r"\.(fits|fit|fts)(\.gz)?$", re.IGNORECASE)
HDU_INDEX_COLUMNS = frozenset({"OBS_ID", "HDU_TYPE", "FILE_NAME", "HDU_NAME"})
EVENT_COLUMNS = frozenset({"TIME", "ENERGY"})


@dataclass(frozen=True)
class HduRow:
    """One row of an hdu-index: where an HDU of an observation lives."""

    obs_id: str
    hdu_type: str  # lower-case: events, gti, aeff, edisp, psf, bkg, rad_max, pointing, ...
    hdu_class: str
    path: Path
    hdu_name: str
    size: int | None = None  # the SIZE column (bytes of the HDU), where the index has one


@dataclass(frozen=True)
class IndexTable:
    """A GADF index file: its identity and its rows by OBS_ID."""

    source: SourceFile
    hdu_rows: dict[str, tuple[HduRow, ...]] = field(default_factory=dict)  # hdu-index
    obs_rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # obs-index: column -> value
    units: dict[str, str] = field(default_factory=dict)  # obs-index column units

    @property
    def path(self) -> Path:
        return Path(self.source.path)

    @property
    def kind(self) -> str:
        return self.source.role


@dataclass(frozen=True)
class Task:
    """One file to extract: the event file and the index entries that describe it."""

    path: Path
    listed_in: tuple[tuple[Path, str], ...] = ()  # (hdu-index path, OBS_ID) rows listing it as events
    obs_indexes: tuple[Path, ...] = ()  # candidate obs-index files, most relevant first


@dataclass
class Discovery:
    """The outcome of looking at the inputs."""

    tasks: list[Task] = field(default_factory=list)
    indexes: dict[Path, IndexTable] = field(default_factory=dict)
    failures: list[IngestError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def discover(inputs: Sequence[str]) -> Discovery:
    """Expand the inputs, classify every FITS file and pair event files with their index rows."""
    found = Discovery()
    data_files: list[Path] = []
    for path in _expand(inputs, found):
        try:
            hdus = peek_hdus(path)
            kind = _index_kind(hdus[1]) if len(hdus) > 1 else None
            if kind is None:
                data_files.append(path)
            else:
                table = read_index(path, kind)
                found.indexes[table.path] = table
        except IngestError as exc:
            found.failures.append(exc)
    _plan(found, data_files)
    return found


def _expand(inputs: Sequence[str], found: Discovery) -> list[Path]:
    """Files named, found under directories, or matched by globs: resolved, without duplicates, in order."""
    paths: dict[Path, None] = {}
    for argument in inputs:
        candidate = Path(argument).expanduser()
        if candidate.exists():
            matches = [candidate]
        elif glob.has_magic(argument):
            matches = [Path(m) for m in sorted(glob.glob(os.path.expanduser(argument), recursive=True))]
            if not matches:
                found.failures.append(IngestError(argument, "the pattern matches no file"))
        else:
            found.failures.append(IngestError(argument, "no such file or directory"))
            matches = []
        for match in matches:
            files = _walk(match) if match.is_dir() else [match]
            paths.update((canonical(f), None) for f in files)
    return list(paths)


def _walk(directory: Path) -> list[Path]:
    result = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        result += [Path(root, f) for f in sorted(files) if FITS_NAME.search(f) and not f.startswith(".")]
    return result


def _columns(hdu: HDU) -> set[str]:
    if str(hdu.summary.get("XTENSION", "")).strip() != "BINTABLE":
        return set()
    return set(column_names(hdu))


def _index_kind(hdu: HDU) -> str | None:
    columns = _columns(hdu)
    if columns >= HDU_INDEX_COLUMNS:
        return "hdu-index"
    is_events = hdu.hduclass(1) == "EVENTS" or hdu.name.upper() == "EVENTS" or columns >= EVENT_COLUMNS
    if "OBS_ID" in columns and "FILE_NAME" not in columns and not is_events:
        return "obs-index"
    return None


def read_index(path: Path, kind: str) -> IndexTable:
    """Read every table of an index file that has the columns of ``kind`` (HAWC splits one index over several
    extensions)."""
    where = str(path)
    try:
        raw = path.read_bytes()
        stat = path.stat()
        source = SourceFile(
            path=str(path), checksum="sha256:" + hashlib.sha256(raw).hexdigest(), size_bytes=stat.st_size,
            mtime=datetime.fromtimestamp(stat.st_mtime, tz=UTC), content_type=content_type(raw[:2] == b"\x1f\x8b"),
            role=kind)
        hdu_rows: dict[str, list[HduRow]] = {}
        obs_rows: dict[str, dict[str, Any]] = {}
        units: dict[str, str] = {}
        with fits.open(path, memmap=False) as hdulist:
            for hdu in hdulist[1:]:
                if not isinstance(hdu, fits.BinTableHDU) or hdu.data is None:
                    continue
                names = [c.name for c in hdu.columns]
                columns = {name: hdu.data[name].tolist() for name in names}  # whole columns: fast
                rows = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
                if kind == "hdu-index" and set(names) >= HDU_INDEX_COLUMNS:
                    base = hdu.header.get("BASE_DIR")
                    root = Path(base) if isinstance(base, str) and base.strip() else path.parent
                    for row in rows:
                        record = _hdu_row(root, row)
                        if record is not None:
                            hdu_rows.setdefault(record.obs_id, []).append(record)
                elif kind == "obs-index" and "OBS_ID" in names:
                    units.update({c.name: str(c.unit) for c in hdu.columns if c.unit})
                    for row in rows:
                        values = {name: python_value(value) for name, value in row.items()}
                        obs_id = obs_id_text(values["OBS_ID"])
                        if obs_id is not None:
                            obs_rows.setdefault(obs_id, values)
    except IngestError:
        raise
    except Exception as exc:  # astropy raises many types on a damaged table
        raise IngestError(where, f"unreadable {kind} table: {exc}") from None
    return IndexTable(source, {k: tuple(v) for k, v in hdu_rows.items()}, obs_rows, units)


def _hdu_row(root: Path, row: dict[str, Any]) -> HduRow | None:
    obs_id = obs_id_text(row["OBS_ID"])
    file_name = python_value(row["FILE_NAME"])
    if obs_id is None or not file_name:
        return None
    path = Path(os.path.normpath(root / (python_value(row.get("FILE_DIR")) or "") / file_name))
    size = python_value(row.get("SIZE"))
    return HduRow(obs_id=obs_id, hdu_type=str(python_value(row["HDU_TYPE"]) or "").lower(),
                  hdu_class=str(python_value(row.get("HDU_CLASS")) or "").lower(), path=canonical(path),
                  hdu_name=str(python_value(row["HDU_NAME"]) or ""),
                  size=int(size) if isinstance(size, int | float) and not isinstance(size, bool) and size > 0
                  and float(size).is_integer() else None)


def _plan(found: Discovery, data_files: list[Path]) -> None:
    """Turn data files and index rows into tasks; warn about index rows pointing at missing files."""
    listed: dict[Path, list[tuple[Path, str]]] = {}
    companions: set[Path] = set()
    for table in found.indexes.values():
        for obs_id, rows in table.hdu_rows.items():
            for row in rows:
                if row.hdu_type == "events":
                    listed.setdefault(row.path, []).append((table.path, obs_id))
                else:
                    companions.add(row.path)
    candidates = dict.fromkeys(data_files)
    missing: dict[Path, list[tuple[str, Path]]] = {}
    for path, entries in sorted(listed.items()):
        if path.is_file():
            candidates[path] = None
        else:
            index, obs_id = entries[0]
            missing.setdefault(index, []).append((obs_id, path))
    for index, absent in missing.items():
        obs_id, path = absent[0]
        more = f" and {len(absent) - 1} more" if len(absent) > 1 else ""
        found.warnings.append(f"{index}: the events file of OBS_ID {obs_id} ({path}){more} does not exist; "
                              "not ingested")
    obs_indexes = [t.path for t in found.indexes.values() if t.kind == "obs-index"]
    for path in sorted(candidates):
        if path in companions and path not in listed:
            continue  # an IRF or GTI file of indexed observations
        listing = tuple(listed.get(path, ()))
        found.tasks.append(Task(path, listing, _obs_index_candidates(path, listing, obs_indexes)))


def _obs_index_candidates(path: Path, listed_in: Iterable[tuple[Path, str]], obs_indexes: list[Path]) -> tuple[
        Path, ...]:
    """Obs-indexes that may describe ``path``: those beside the hdu-index that lists it, then those in its own
    directory or above (nearest first)."""
    beside = [o for index, _ in listed_in for o in obs_indexes if o.parent == index.parent]
    above = sorted((o for o in obs_indexes if path.is_relative_to(o.parent)), key=lambda o: -len(o.parent.parts))
    return tuple(dict.fromkeys(beside + above))


def canonical(path: Path) -> Path:
    """An absolute path with its directory resolved (symbolic links, '..'), so that the same file found through a
    directory walk and through an index table compares equal. Directories are resolved once each."""
    return _directory(os.path.abspath(path.parent)) / path.name


@lru_cache(maxsize=4096)
def _directory(path: str) -> Path:
    return Path(os.path.realpath(path))
