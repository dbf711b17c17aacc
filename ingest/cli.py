"""The `tapserver ingest` subcommand: options, then one run. Imports the heavy modules only when it runs."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tapserver.config import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `tapserver ingest` on ``parser``."""
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="DL3 FITS files (plain or gzip), directories (searched recursively) or glob patterns "
                             "(quoted); GADF obs-index and hdu-index tables among them are used")
    parser.add_argument("--collection", metavar="NAME",
                        help="obs_collection of the loaded rows (overrides `collection` in --config)")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="collection config (TOML): facility, instrument, s_fov, s_resolution, em_res_power, "
                             "calib_level, data_rights, release_delay_days, authority, target_class, ...")
    parser.add_argument("--update", action="store_true",
                        help="replace the rows of observations whose file or derived values changed "
                             "(default: refuse them)")
    parser.add_argument("--dry-run", action="store_true",
                        help="report what would be loaded, updated or refused; write nothing")
    parser.add_argument("--agent", metavar="NAME",
                        help="operator recorded in the provenance (default: the OS user)")
    parser.add_argument("--jobs", "-j", type=_positive_int, default=os.cpu_count() or 1, metavar="N",
                        help="worker processes reading files (default: the number of CPUs)")
    parser.add_argument("--quiet", "-q", action="store_true",
                        help="print errors only (no progress, no per-file lines, no summary)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run `tapserver ingest`; the exit code is 0 (all fine), 1 (some files failed or were refused) or 2 (nothing
    could be done: bad configuration, database unusable)."""
    from ingest.config import load_config
    from ingest.errors import ConfigError
    from ingest.pipeline import Options, ingest
    from ingest.progress import Reporter
    from tapserver.errors import SetupError

    try:
        config = load_config(args.config, args.collection)
    except ConfigError as exc:
        print(f"tapserver ingest: error: {exc}", file=sys.stderr)
        return 2
    options = Options(inputs=tuple(args.paths), config=config, update=args.update, dry_run=args.dry_run,
                      agent=args.agent, jobs=args.jobs)
    reporter = Reporter(quiet=args.quiet, dry_run=args.dry_run)
    try:
        return ingest(options, settings, reporter).exit_code
    except SetupError as exc:
        reporter.error(str(exc))
        return 2


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number
