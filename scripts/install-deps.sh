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
if [ ${#need[@]} -gt 0 ]; then
  echo "installing OS packages: ${need[*]}"
  $SUDO apt-get update -qq
  # postgresql-15 must not start or reconfigure a system cluster: policy-rc.d keeps services down.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
$SUDO bash scripts/fix-pgsphere.sh

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --disable-pip-version-check -U pip
  .venv/bin/pip install -q --disable-pip-version-check -e ".[dev]"
  touch "$stamp"
fi
