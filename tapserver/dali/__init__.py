"""DALI request parameters for every endpoint: one reader (query string, url-encoded and multipart bodies
within the configured limits) and the checks that DALI and TAP give a parameter, written once."""
