"""VOSI 1.1 documents of the service (capabilities, tables), shared by the TAP endpoints and the registry."""
