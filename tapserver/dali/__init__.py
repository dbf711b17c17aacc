"""What every DALI service of tapserver shares: one request-parameter reader (query string, url-encoded
and multipart bodies within the configured limits) and the checks written once, capabilities, database
faults. It imports no service package."""
