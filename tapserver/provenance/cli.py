"""`tapserver prov import FILE...`: the options and the run (the heavy modules are imported only when it runs).

Entry points for the `tapserver` command: :func:`add_arguments` declares the options on a subparser and
:func:`run` executes them; :func:`main` imports one file the same way from Python.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tapserver.config import Settings

FORMATS = ("auto", "prov-json", "prov-n", "prov-xml", "ctapipe")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of `tapserver prov import` on ``parser``."""
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help="PROV-JSON, PROV-XML or PROV-N documents, or ctapipe *.provenance.log files")
    parser.add_argument("--format", choices=FORMATS, default="auto",
                        help="format of the files (default: from the name and content)")
    parser.add_argument("--dry-run", action="store_true", help="check and report; write nothing")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Import every file, each in its own transaction; exit code 0 when all were imported, 1 otherwise."""
    from tapserver.provenance.importer import ImportFailed, import_file

    failed = 0
    for path in args.files:
        try:
            result = import_file(path, settings, args.format, dry_run=args.dry_run)
        except ImportFailed as exc:
            print(f"tapserver prov import: error: {exc}", file=sys.stderr)
            failed += 1
            continue
        prefix = "would import" if args.dry_run else "imported"
        print(f"{prefix} {path} ({result.kind}): {result.report.summary()}")
    return 1 if failed else 0


def main(path: str | Path, settings: Settings, fmt: str = "auto", dry_run: bool = False) -> int:
    """Import one file as the command does (messages on stdout/stderr); the exit code."""
    return run(argparse.Namespace(files=[Path(path)], format=fmt, dry_run=dry_run), settings)
