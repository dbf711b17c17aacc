"""Async TAP over UWS 1.1: job model, PostgreSQL job store and queue, service, handlers, workers."""
