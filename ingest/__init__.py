"""DL3 ingestion: `tapserver ingest` loads ObsCore, ObsConfig, DataLink and provenance rows from FITS headers.

Modules: cli (the subcommand), pipeline (one run), discover (inputs and index tables), extract (one file, in worker
processes), headers (FITS reading), keywords (typed keyword access), mapping (headers -> records), times (MJD in TT),
units, records, loader (every database read and write), provenance, config (the collection TOML file), progress
(what the operator sees), errors. Operator documentation: docs/ingestion.md.
"""
