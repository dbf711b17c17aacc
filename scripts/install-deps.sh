#!/usr/bin/env bash
# Install what tapserver needs on Debian/Ubuntu: PostgreSQL 15 server binaries, pgsphere, STILTS (taplint),
# then the Python virtual environment. Needs root or sudo for the OS packages. Changes no running service.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need=()
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/pg_sphere.control ] || need+=(postgresql-15-pgsphere)
command -v stilts >/dev/null 2>&1 || need+=(stilts)
# Browser tests of the web pages (playwright-core drives Debian's browsers; nothing is downloaded by npm).
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || need+=(firefox-esr)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing OS packages: ${need[*]}"
  $SUDO apt-get update -qq
  # Installing packages must not start services (a fresh postgresql-15 would start a system cluster):
  # a temporary policy-rc.d tells the packages' scripts to leave them down.
  policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    policy=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
  fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  if [ -n "$policy" ]; then $SUDO rm -f "$policy"; fi
fi
$SUDO bash scripts/fix-pgsphere.sh

if [ ! -d tests/web/node_modules/playwright-core ] || [ tests/web/package-lock.json -nt tests/web/node_modules ]; then
  npm ci --prefix tests/web --no-audit --no-fund --loglevel=error
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -U pip
  .venv/bin/pip install -q --disable-pip-version-check -e ".[dev,gammapy]"
  touch "$stamp"
fi
