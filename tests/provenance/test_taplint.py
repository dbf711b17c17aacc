"""taplint (STILTS) on the ProvTAP tables of a real server: stages TMV TMS TMC MDQ with zero errors and zero
warnings, and the same run does report a table whose metadata lies (so the check can fail)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from tapserver.config import Settings
from tests import stilts
from tests.e2e.server import running_server
from tests.provenance.conftest import clear, insert
from tests.provenance.graphs import PIPELINE

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.skipif(not stilts.installed(), reason="stilts is not installed")]


@pytest.fixture(scope="module")
def tap_url(prov_settings: Settings, prov_engine: Engine) -> Iterator[str]:
    insert(prov_engine, PIPELINE)
    url = prov_settings.admin_url.render_as_string(hide_password=False).replace("+psycopg", "")
    try:
        with running_server(url, extra_env={"TAPSERVER_WORKERS": "0"}) as base:
            yield f"{base}/tap"
    finally:
        clear(prov_engine)


def taplint(tap_url: str) -> tuple[int, int, str]:
    run = stilts.run("taplint", f"tapurl={tap_url}", "stages=TMV TMS TMC MDQ", "tables=provenance.*", "report=EW",
                     timeout=600)
    match = re.search(r"^Totals: Errors: (\d+); Warnings: (\d+)", run.stdout, re.MULTILINE)
    assert match, f"no Totals line:\n{run.stdout}\n{run.stderr}"
    return int(match.group(1)), int(match.group(2)), run.stdout


def test_provtap_tables_pass_taplint(tap_url: str, prov_engine: Engine) -> None:
    errors, warnings, report = taplint(tap_url)
    assert (errors, warnings) == (0, 0), report
    with prov_engine.begin() as conn:  # declare a timestamp column as a double: MDQ must notice
        conn.execute(text("UPDATE tap_schema.columns SET datatype = 'double', arraysize = NULL, xtype = NULL "
                          "WHERE table_name = 'provenance.activity' AND column_name = 'starttime'"))
    try:
        errors, _, report = taplint(tap_url)
        assert errors > 0 and "starttime" in report, report
    finally:
        with prov_engine.begin() as conn:
            conn.execute(text("UPDATE tap_schema.columns SET datatype = 'char', arraysize = '*', xtype = 'timestamp' "
                              "WHERE table_name = 'provenance.activity' AND column_name = 'starttime'"))
