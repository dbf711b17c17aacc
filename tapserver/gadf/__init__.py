"""GADF data stores of a selection: obs-index and hdu-index tables, and download bundles."""
