#!/usr/bin/env bash
# The Postgres tests (tests/integration) start their own PostgreSQL server from the server
# binaries, as the `postgres` user (tests/pg.py). Install the server package when it is
# missing (Debian/Ubuntu, as root); otherwise say what to do. Idempotent.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "PostgreSQL server binaries not found: install postgresql-15 (the Postgres tests need them)" >&2
  exit 0
fi
echo "== installing PostgreSQL 15 for the integration tests"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq postgresql-15 || apt-get install -y -qq postgresql
