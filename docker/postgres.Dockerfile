# PostgreSQL 15 with pgsphere (from the PostgreSQL project's Debian repository the official image uses).
FROM postgres:15-bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-15-pgsphere \
 && rm -rf /var/lib/apt/lists/*
