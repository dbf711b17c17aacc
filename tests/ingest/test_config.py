"""The collection config file: keys, types, ranges, and --collection."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.config import load_config
from ingest.errors import ConfigError
from tests.ingest.conftest import DEMO_CONFIG

pytestmark = pytest.mark.nodb


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "collection.toml"
    path.write_text(text)
    return path


def test_demo_config() -> None:
    config = load_config(DEMO_CONFIG, None)
    assert config.collection == "FACT/open-data"
    assert (config.facility, config.data_rights, config.calib_level) == ("FACT", "public", 2)
    assert config.s_fov == 4.5 and config.source == DEMO_CONFIG.resolve()


def test_collection_option_overrides_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, 'collection = "A"\ns_fov = 5\n')
    config = load_config(path, "B")
    assert config.collection == "B" and config.s_fov == 5.0 and isinstance(config.s_fov, float)


def test_collection_alone_is_enough() -> None:
    config = load_config(None, "HESS-DR1")
    assert config.collection == "HESS-DR1" and config.calib_level == 2 and config.source is None


@pytest.mark.parametrize(("text", "message"), [
    ('s_fov = 5\n', "no collection name"),
    ('collection = "x"\nfov = 5\n', "unknown key(s) fov"),
    ('collection = "x"\ncalib_level = 5\n', "calib_level: must be an integer from 0 to 4"),
    ('collection = "x"\ncalib_level = true\n', "calib_level"),
    ('collection = "x"\ns_fov = 0\n', "s_fov: must be a number > 0 and <= 180"),
    ('collection = "x"\ns_fov = 200\n', "s_fov"),
    ('collection = "x"\ns_resolution = "fine"\n', "s_resolution: must be a number > 0"),
    ('collection = "x"\ndata_rights = "open"\n', "data_rights: must be one of public, secure, proprietary"),
    ('collection = "x"\nrelease_delay_days = -1\n', "release_delay_days: must be a number >= 0"),
    ('collection = "x"\nenergy_range = "irf"\n', "energy_range: must be one of thresholds, events"),
    ('collection = ""\n', "collection: must be a non-empty string"),
    ('collection = "x"\ns_fov = \n', "not valid TOML"),
])
def test_invalid_configs_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, None)
    assert message in str(caught.value) and str(path) in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "nope.toml", "x")
