#!/usr/bin/env bash
# Debian 12's pgsphere 1.2.0 install script declares two DaCHS-compatibility operators `@ (…, smoc)`
# with a COMMUTATOR/NEGATOR that already belong to other operators. PostgreSQL 15.20 and later reject
# that ("commutator operator @> is already the commutator of operator <@"), so CREATE EXTENSION fails.
# This drops those two clauses (only there; the operators themselves stay). Idempotent.
set -euo pipefail
for script in /usr/share/postgresql/*/extension/pg_sphere--1.2.0.sql; do
  [ -f "$script" ] || continue
  patched=$(mktemp)
  sed "/^CREATE OPERATOR @ (\$/,/^);/{/RIGHTARG *= smoc/{n;n;/COMMUTATOR = '@>',/{N;d}}}" "$script" > "$patched"
  if ! cmp -s "$script" "$patched"; then
    cp -n "$script" "$script.orig"
    install -m 0644 "$patched" "$script"
    echo "patched $script (pgsphere smoc compatibility operators; original kept as .orig)"
  fi
  rm -f "$patched"
done
