"""taplint (STILTS) against a real server: stages UWS, QAS and UPL with zero errors."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests import stilts
from tests.uws.procs import processes

pytestmark = [pytest.mark.e2e, pytest.mark.slow,
              pytest.mark.skipif(not stilts.installed(), reason="stilts is not installed")]


@pytest.fixture(scope="module")
def tap_url(uws_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("taplint")
    with processes(uws_database, tmp / "data", tmp) as procs:
        base, _ = procs.server(workers=2)
        yield f"{base}/tap"


def taplint(tap_url: str, stages: str, *extra: str) -> tuple[int, int, str]:
    """(errors, warnings, report with infos); the exit status of taplint says nothing, the Totals line does."""
    run = stilts.run("taplint", f"tapurl={tap_url}", f"stages={stages}", "report=EWI", *extra, timeout=600)
    match = re.search(r"^Totals: Errors: (\d+); Warnings: (\d+)", run.stdout, re.MULTILINE)
    assert match, f"no Totals line:\n{run.stdout}\n{run.stderr}"
    return int(match.group(1)), int(match.group(2)), run.stdout


def test_taplint_uws_and_async_queries(tap_url: str) -> None:
    """The UWS job lifecycle and the ADQL queries run as async jobs (endpoints at their TAP 1.1 places)."""
    errors, _, report = taplint(tap_url, "UWS QAS", "interface=tap1.1")
    assert errors == 0, report


def test_taplint_with_capabilities_and_uploads(tap_url: str) -> None:
    errors, _, report = taplint(tap_url, "QAS UWS UPL")
    assert errors == 0, report
    assert "Submitting query: SELECT * FROM TAP_UPLOAD.t1" in report, "UPL did not upload anything"
