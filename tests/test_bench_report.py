"""bench/report.py and bench/run.py: results files -> the generated section of docs/benchmarks.md (no database)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench import report, run
from bench.report import BEGIN, END, Figure

pytestmark = pytest.mark.nodb

HAND_WRITTEN_TOP = "# Benchmarks\n\nHand-written introduction.\n\n"
HAND_WRITTEN_BOTTOM = "\n\n## Sync output (issue 4)\n\nHow it works, kept as it is.\n"


@pytest.fixture(autouse=True)
def _no_database(monkeypatch: pytest.MonkeyPatch) -> None:
    """`save` asks the database server for its version: not here."""
    monkeypatch.setattr(report, "_postgres_version", lambda: "15.0")


def _results(directory: Path) -> None:
    report.save("sync_output", ".venv/bin/python -m bench.sync_output --rows 1000", [
        Figure("stream_query, BINARY2", 250_000.0, "rows/s", "psql COPY text", 500_000.0, "≥ 0.33 × COPY",
               met=True),
        Figure("BINARY2 next to astropy", 250_000.0, "rows/s", "astropy writer", 10_000.0),
        Figure("peak RSS", 77.0, "MB", target="< 300 MB", higher_is_better=False, met=True),
    ], {"rows": 1000}, directory=directory)
    report.save("adql_translate", ".venv/bin/python -m bench.adql_translate --repeat 1", [
        Figure("cold translation, median", 1.5, "ms", target="< 5 ms", higher_is_better=False, met=True),
    ], directory=directory)
    report.save("sync_latency", ".venv/bin/python -m bench.sync_latency --runs 3", [
        Figure("cone search: HTTP median", 12.0, "ms", "same SQL, psycopg in-process", 0.25, "< 15 ms", False, True),
        Figure("TOP 10: HTTP median", 30.0, "ms", "same SQL, psql -c", 0.0, "< 10 ms", False, False),
    ], directory=directory)
    (directory / "old.json").write_text(json.dumps({"rows": 5, "results": []}))  # an ad-hoc file of before


def _rows(section: str, name: str) -> list[list[str]]:
    """The table rows of one benchmark's part of the section, as lists of cells."""
    part = section.split(f"### {name}\n", 1)[1].split("### ", 1)[0]
    return [[c.strip() for c in line.strip("|").split(" | ")] for line in part.splitlines()
            if line.startswith("| ") and not line.startswith("| figure")]


def test_saved_file_carries_command_machine_and_ratios(tmp_path: Path) -> None:
    _results(tmp_path)
    document = report.load(tmp_path / "sync_output.json")
    assert document["command"] == ".venv/bin/python -m bench.sync_output --rows 1000"
    assert {"cpu", "cores", "memory_gib", "postgresql", "load_average"} <= document["machine"].keys()
    assert [f["ratio"] for f in document["figures"]] == [0.5, 25.0, None]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", document["date"])


def test_section_has_one_table_per_benchmark_with_the_right_ratios(tmp_path: Path) -> None:
    _results(tmp_path)
    documents, skipped = report.load_all(tmp_path, run.ORDER)
    assert skipped == ["old.json"]
    assert [d["name"] for d in documents] == ["adql_translate", "sync_output", "sync_latency"]  # run order
    section = report.render(documents, titles={"sync_latency": "Sync latency"})
    assert section.startswith(BEGIN) and section.rstrip().endswith(END)
    assert "- command: `.venv/bin/python -m bench.sync_output --rows 1000`" in section
    assert _rows(section, "sync_output") == [
        ["stream_query, BINARY2", "250,000 rows/s", "psql COPY text: 500,000 rows/s", "0.50× ↑",
         "≥ 0.33 × COPY ✓ met"],
        ["BINARY2 next to astropy", "250,000 rows/s", "astropy writer: 10,000 rows/s", "25.0× ↑", ""],
        ["peak RSS", "77.0 MB", "–", "–", "< 300 MB ✓ met"],
    ]
    assert "### sync_latency" not in section
    assert _rows(section, "Sync latency") == [
        ["cone search: HTTP median", "12.0 ms", "same SQL, psycopg in-process: 0.25 ms", "48.0× ↓",
         "< 15 ms ✓ met"],
        ["TOP 10: HTTP median", "30.0 ms", "same SQL, psql -c: 0 ms", "–", "< 10 ms ✗ **not met**"],
    ]
    assert _rows(section, "adql_translate") == [["cold translation, median", "1.50 ms", "–", "–", "< 5 ms ✓ met"]]


def test_only_the_marked_section_is_replaced_and_a_second_run_changes_nothing(tmp_path: Path) -> None:
    results, doc = tmp_path / "results", tmp_path / "benchmarks.md"
    results.mkdir()
    _results(results)
    old_section = f"{BEGIN}\n\n| stale | 1 |\n\n{END}"
    doc.write_text(HAND_WRITTEN_TOP + old_section + HAND_WRITTEN_BOTTOM)
    run.main(["--report-only", "--results", str(results), "--doc", str(doc)])
    first = doc.read_text()
    assert first.startswith(HAND_WRITTEN_TOP + BEGIN)
    assert first.endswith(END + HAND_WRITTEN_BOTTOM)
    assert "| stale | 1 |" not in first and first.count(BEGIN) == 1 and first.count(END) == 1
    assert "psql COPY text: 500,000 rows/s" in first
    run.main(["--report-only", "--results", str(results), "--doc", str(doc)])
    assert doc.read_text() == first


def test_markers_are_added_after_the_title_of_a_document_without_them(tmp_path: Path) -> None:
    text = "# Benchmarks\n\nProse.\n"
    once = report.replace_section(text, report.render([]))
    assert once.startswith("# Benchmarks\n\n" + BEGIN) and once.endswith(END + "\n\nProse.\n")
    assert "No results yet" in once
    assert report.replace_section(once, report.render([])) == once
    with pytest.raises(ValueError):
        report.replace_section(f"# B\n\n{BEGIN}\n", report.render([]))


def test_a_failed_benchmark_is_noted(tmp_path: Path) -> None:
    _results(tmp_path)
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n")
    run.write_document(tmp_path, doc, {"sync_output": "2026-01-01 10:00 UTC", "datalink": "2026-01-01 11:00 UTC"})
    text = doc.read_text()
    assert "The run of 2026-01-01 10:00 UTC failed; these figures are those of the last run" in text
    assert "### DataLink\n\n**The run of 2026-01-01 11:00 UTC failed; there are no earlier results.**" in text


def test_benchmarks_are_the_modules_of_bench_in_running_order() -> None:
    names = run.benchmarks()
    assert {"report", "run", "__init__"}.isdisjoint(names)
    assert names[:3] == ["adql_translate", "sync_output", "sync_http"]
    # load_think*, load_replica: results of the other runs of load, not modules
    assert {n for n in run.ORDER if not n.startswith("load_")} - {"load"} <= set(names)
    assert all(options[0] == "--think" or options == ["--replica"] for options in run.OPTIONS["load"][1:])


def test_command_line_is_the_venv_python_with_the_arguments() -> None:
    command = report.command_line("bench.ingest", ["--jobs", "1", "2", "--data", "/data/a b"])
    assert re.fullmatch(r"\S*python[\d.]* -m bench\.ingest --jobs 1 2 --data '/data/a b'", command), command


def test_numbers_are_readable() -> None:
    assert [report.number(x) for x in (1_234_567.8, 123.4, 12.34, 1.234, 0.1234, 0.001234, 0)] == [
        "1,234,568", "123", "12.3", "1.23", "0.123", "0.0012", "0"]
