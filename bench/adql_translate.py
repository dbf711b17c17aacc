"""ADQL translation speed over the test corpus (tests/adql/cases.py): median, p95 and worst case.

    .venv/bin/python -m bench.adql_translate [--repeat 7]

Each query of the corpus is translated ``--repeat`` times with the translation cache cleared before each
run (cold: parse, validation against the declared catalog, rewriting, SQL generation); the figure of a
query is the median of its runs. The corpus figures are the median, 95th percentile and maximum over
the queries, next to the time of a cached translation. No database is needed. Prints a markdown table
and writes bench/results/adql_translate.json (bench/report.py). Targets: median under 5 ms, no query over 50 ms.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import time

from bench.report import Figure, command_line, save
from tapserver.adql import translate
from tapserver.adql.translate import clear_cache
from tapserver.catalog import declared_catalog
from tests.adql.cases import CASES


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.adql_translate", description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="cold translations per query")
    args = parser.parse_args()
    catalog = declared_catalog()
    for case in CASES:  # warm up: imports, interned types, the first-call costs of sqlglot
        translate(case.adql, catalog)
    cold: list[tuple[float, str]] = []
    for case in CASES:
        runs = []
        for _ in range(args.repeat):
            clear_cache()
            gc.collect()
            start = time.perf_counter()
            translate(case.adql, catalog)
            runs.append(time.perf_counter() - start)
        cold.append((statistics.median(runs) * 1000, case.adql))
    translate(CASES[0].adql, catalog)
    start = time.perf_counter()
    for _ in range(10_000):
        translate(CASES[0].adql, catalog)
    cached_us = (time.perf_counter() - start) / 10_000 * 1e6
    times = [t for t, _ in cold]
    worst_ms, worst = max(cold)
    figures = {
        "queries": len(cold), "repeat": args.repeat, "median_ms": statistics.median(times),
        "p95_ms": _percentile(times, 0.95), "max_ms": worst_ms, "max_query": worst, "mean_ms": statistics.mean(times),
        "cached_us": cached_us, "python": platform.python_version(), "machine": platform.machine(),
    }
    print("| ADQL translation (cold, per query) | value |")
    print("|---|---|")
    print(f"| queries in the corpus | {len(cold)} |")
    print(f"| median | {figures['median_ms']:.2f} ms |")
    print(f"| 95th percentile | {figures['p95_ms']:.2f} ms |")
    print(f"| maximum | {worst_ms:.2f} ms |")
    print(f"| mean | {figures['mean_ms']:.2f} ms |")
    print(f"| cached translation | {cached_us:.1f} µs |")
    print(f"\nslowest: {worst[:100]}")
    ok = figures["median_ms"] < 5 and worst_ms < 50
    print("targets (median < 5 ms, max < 50 ms):", "met" if ok else "NOT met")
    n = f"{len(cold)} queries, median of {args.repeat} cold runs each"
    save("adql_translate", command_line("bench.adql_translate"), [
        Figure(f"cold translation, median over the corpus ({n})", figures["median_ms"], "ms",
               target="< 5 ms", higher_is_better=False, met=figures["median_ms"] < 5),
        Figure("cold translation, 95th percentile", figures["p95_ms"], "ms", higher_is_better=False),
        Figure("cold translation, slowest query", worst_ms, "ms", target="< 50 ms", higher_is_better=False,
               met=worst_ms < 50),
        Figure("cached translation", cached_us, "µs", higher_is_better=False),
    ], figures)


if __name__ == "__main__":
    main()
