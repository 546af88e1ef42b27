#!/usr/bin/env bash
# Install what tlsconnect's demo and tests need on a fresh Debian machine:
# PostgreSQL 15 server binaries, stunnel4, redis-server, MariaDB server and client
# (Debian: the servers of tlsconnect.testing), libmariadb-dev, pkg-config and gcc (to
# build mysqlclient), openssl (the tests compare subject hashes with it), then tlsconnect
# with every driver extra and its test tools (PyPI).
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql)
command -v stunnel4 >/dev/null 2>&1 || command -v stunnel >/dev/null 2>&1 || need+=(stunnel4)
command -v runuser >/dev/null 2>&1 || need+=(util-linux)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
# mariadbd lives in /usr/sbin, which a non-root PATH may lack
{ command -v mariadbd || [ -x /usr/sbin/mariadbd ]; } >/dev/null 2>&1 || need+=(mariadb-server)
command -v mariadb >/dev/null 2>&1 || need+=(mariadb-client)
# mysqlclient (the mysqlclient extra: Django's MySQL engine) builds against these
pkg-config --exists libmariadb 2>/dev/null || need+=(libmariadb-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
command -v gcc >/dev/null 2>&1 || need+=(gcc)
# the tests compare subject hashes with `openssl x509 -subject_hash` and `openssl rehash`
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ "${#need[@]}" -gt 0 ]; then
    echo "installing system packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q "${need[@]}"
fi

python3 -m pip install -q --disable-pip-version-check -e ".[all,test]"
