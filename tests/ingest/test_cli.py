"""`tapserver ingest` as the operator runs it: exit codes, one line per problem, progress output."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.progress import Reporter
from tests.conftest import TapserverMain
from tests.ingest.conftest import DEMO, DEMO_CONFIG, Archive


def _tapserver(*args: str | Path, database: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAPSERVER_")}
    env["TAPSERVER_DATABASE_URL"] = database
    return subprocess.run([sys.executable, "-m", "tapserver.cli", "ingest", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=300)


def test_command_line_run(tmp_path: Path, archive: Archive) -> None:
    root = tmp_path / "fact"
    shutil.copytree(DEMO, root)
    first = _tapserver(root, "--config", DEMO_CONFIG, "--jobs", "2", database=archive.url)
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert sum(line.startswith("loaded ") for line in lines) == 10
    assert lines[-1].startswith("ingest: 10 files in ") and "10 loaded" in lines[-1]
    again = _tapserver(root, "--config", DEMO_CONFIG, "--quiet", database=archive.url)
    assert (again.returncode, again.stdout, again.stderr) == (0, "", "")


def test_setup_errors_are_one_line(tmp_path: Path, archive: Archive, tapserver_main: TapserverMain) -> None:
    """Run by `cli.main` in this process (test_command_line_run runs the command as a process)."""
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text('collection = "x"\ncalib_level = 9\n')
    cases = [
        (("ingest", DEMO, "--config", bad_config), archive.url, "calib_level"),
        (("ingest", DEMO, "--collection", "x"), "postgresql://postgres@127.0.0.1:1/none", "cannot connect"),
        (("ingest", DEMO), archive.url, "no collection name"),
    ]
    for args, database, message in cases:
        code, _, err = tapserver_main(*args, TAPSERVER_DATABASE_URL=database)
        assert code == 2
        assert len(err.strip().splitlines()) == 1 and message in err
        assert "Traceback" not in err
    code, _, err = tapserver_main("ingest", DEMO, "--collection", "x", "--jobs", "0",
                                  TAPSERVER_DATABASE_URL=archive.url)
    assert code == 2 and "must be at least 1" in err


def test_progress_bar_on_a_terminal() -> None:
    out, err = io.StringIO(), io.StringIO()
    reporter = Reporter(bar=True, out=out, err=err)
    reporter.start(3)
    reporter.outcome("loaded", "/a.fits")
    reporter.error("/b.fits: HDU EVENTS: keyword TSTART: missing (required)")
    reporter.outcome("failed", "/b.fits")
    reporter.outcome("unchanged", "/c.fits")
    reporter.finish("ingest: 3 files")
    assert "\r[##########" in err.getvalue() and "3/3 1 loaded 1 unchanged 1 failed" in err.getvalue()
    assert "error: /b.fits: HDU EVENTS: keyword TSTART" in err.getvalue()
    assert out.getvalue() == "ingest: 3 files\n"  # no per-file lines when the bar is shown


def test_plain_lines_without_a_terminal() -> None:
    out, err = io.StringIO(), io.StringIO()
    reporter = Reporter(bar=False, dry_run=True, out=out, err=err)
    reporter.start(2)
    reporter.outcome("loaded", "/a.fits", "OBS_ID 1")
    reporter.outcome("skipped", "/irf.fits", "no EVENTS HDU")
    assert out.getvalue().splitlines() == ["would load   /a.fits (OBS_ID 1)", "skipped      /irf.fits (no EVENTS HDU)"]
    assert "\r" not in err.getvalue()


def test_benchmark_runs(archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                        capsys: pytest.CaptureFixture[str]) -> None:
    """bench/ingest.py end to end on the demo data (its scratch database lives on the same server): its `main` with
    the arguments, environment and working directory of `python -m bench.ingest`, run in this process, which has
    imported the ingest modules it drives (test_command_line_run runs `tapserver ingest` as a process)."""
    from bench import ingest as bench_ingest

    for name in [k for k in os.environ if k.startswith("TAPSERVER_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TAPSERVER_DATABASE_URL", archive.url)
    monkeypatch.chdir(Path(__file__).resolve().parents[2])
    monkeypatch.setattr(sys, "argv", ["bench/ingest.py", "--data", str(DEMO), "--repeat", "1", "--jobs", "1",
                                      "--results", str(tmp_path)])
    capsys.readouterr()
    try:
        bench_ingest.main()
        returncode = 0
    except SystemExit as exc:  # as the interpreter turns it into an exit status
        returncode = 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 1
    stdout, stderr = capsys.readouterr()
    assert returncode == 0, stderr
    assert "tapserver ingest, first (jobs=1)" in stdout and "getheader(EVENTS)" in stdout
    saved = json.loads((tmp_path / "ingest.json").read_text())
    assert saved["details"]["files"] == 10
    first = next(f for f in saved["figures"] if f["target"])  # the ingest rate next to the getheader loop
    assert first["unit"] == "files/s" and first["value"] > 0 and first["baseline_value"] > 0
