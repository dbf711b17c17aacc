"""STILTS taplint against a running server with the demo data: zero errors and zero warnings (it exits 0 even
with errors)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import stilts
from tests.e2e.server import running_server
from tests.tap_schema_styles import styled_database

STAGES = "TMV TME TMS TMC CPV CAP AVV QGE QPO QAS UWS MDQ OBS UPL EXA"
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "artifacts"


def run_taplint(base: str, stages: str, report: str = "EW") -> tuple[int, int, str]:
    """Run taplint and return (errors, warnings, report) from its Totals line (``report``: message types)."""
    result = stilts.run("taplint", f"tapurl={base}/tap", f"stages={stages}", f"report={report}", "maxrepeat=20",
                        timeout=900)
    report = result.stdout + result.stderr
    totals = re.search(r"^Totals: Errors: (\d+); Warnings: (\d+)", report, re.MULTILINE)
    assert totals, f"no Totals line in taplint output:\n{report[-3000:]}"
    return int(totals.group(1)), int(totals.group(2)), report


@pytest.mark.skipif(not stilts.installed(), reason="stilts (taplint) is not installed")
def test_taplint_all_stages(demo_server: str) -> None:
    errors, warnings, report = run_taplint(demo_server, STAGES)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "taplint.txt").write_text(report)
    assert errors == 0, "taplint errors:\n" + "\n".join(
        line for line in report.splitlines() if line.startswith(("E-", "E+"))
    )
    assert warnings == 0, "taplint warnings:\n" + "\n".join(
        line for line in report.splitlines() if line.startswith(("W-", "W+"))
    )


@pytest.fixture(scope="module")
def styled_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server whose TAP_SCHEMA is written in the other style (upper-case TAP_SCHEMA, delimited names)."""
    data = tmp_path_factory.mktemp("styled-data")
    with styled_database("tapserver_styled", data) as settings:
        url = settings.admin_url.render_as_string(hide_password=False).replace("+psycopg", "")
        with running_server(url, extra_env={"TAPSERVER_DATA_DIR": str(data)}, log=data / "server.log") as base:
            yield base


@pytest.mark.slow
@pytest.mark.skipif(not stilts.installed(), reason="stilts (taplint) is not installed")
def test_taplint_other_identifier_style(styled_server: str) -> None:
    errors, _warnings, report = run_taplint(styled_server, STAGES, report="EWIS")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "taplint-styled.txt").write_text(report)
    assert "CamelTable" in report or "CamelSchema" in report, "taplint did not see the mixed-case table"
    assert errors == 0, "taplint errors:\n" + "\n".join(
        line for line in report.splitlines() if line.startswith(("E-", "E+"))
    )
