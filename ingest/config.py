"""The per-collection configuration: what the DL3 headers cannot say (TOML file and command-line overrides)."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ingest.errors import ConfigError

DATA_RIGHTS = ("public", "secure", "proprietary")
ENERGY_RANGES = ("thresholds", "events")


@dataclass(frozen=True)
class CollectionConfig:
    """Collection-level values. A value set here wins over the header-derived one; see docs/ingestion.md."""

    collection: str
    facility: str | None = None
    instrument: str | None = None
    s_fov: float | None = None  # deg, diameter of the field of view
    s_resolution: float | None = None  # arcsec
    em_res_power: float | None = None
    calib_level: int = 2
    data_rights: str | None = None
    release_delay_days: float | None = None
    authority: str | None = None  # e.g. ivo://example.org; default: TAPSERVER_PUBLISHER_AUTHORITY
    target_class: str | None = None
    obs_mode: str | None = None  # fallback when OBS_MODE is absent from the headers
    t_resolution: float | None = None  # s
    bib_reference: str | None = None
    energy_range: str = "thresholds"  # or "events": which range em_min/em_max describe
    source: Path | None = None  # the TOML file, if any


_KEYS = {f.name for f in fields(CollectionConfig)} - {"source"}


def load_config(path: Path | None, collection: str | None) -> CollectionConfig:
    """Read the TOML file (if any) and apply ``--collection``. Raise ConfigError naming the file and key."""
    values: dict[str, Any] = {}
    where = str(path) if path else "command line"
    if path is not None:
        try:
            with path.open("rb") as handle:
                values = tomllib.load(handle)
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    if collection is not None:
        values["collection"] = collection
    unknown = sorted(set(values) - _KEYS)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(_KEYS))})")
    checked = {key: _check(where, key, value) for key, value in values.items()}
    if "collection" not in checked:
        raise ConfigError(f"{where}: no collection name: give --collection or a `collection` key in --config")
    return CollectionConfig(**checked, source=path.resolve() if path else None)


def _check(where: str, key: str, value: Any) -> Any:
    def fail(expected: str) -> ConfigError:
        return ConfigError(f"{where}: {key}: must be {expected}, got {value!r}")

    if key in ("collection", "facility", "instrument", "authority", "target_class", "obs_mode", "bib_reference"):
        if not isinstance(value, str) or not value.strip():
            raise fail("a non-empty string")
        return value.strip()
    if key == "calib_level":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 4:
            raise fail("an integer from 0 to 4")
        return value
    if key == "data_rights":
        if value not in DATA_RIGHTS:
            raise fail("one of " + ", ".join(DATA_RIGHTS))
        return value
    if key == "energy_range":
        if value not in ENERGY_RANGES:
            raise fail("one of " + ", ".join(ENERGY_RANGES))
        return value
    number = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if key == "release_delay_days":
        if not number or value < 0:
            raise fail("a number >= 0")
        return float(value)
    high = 180.0 if key == "s_fov" else math.inf  # a circle of more than 180 deg diameter is not a field of view
    if not number or not 0 < value <= high:
        raise fail("a number > 0" + (f" and <= {high:g}" if high < math.inf else ""))
    return float(value)
