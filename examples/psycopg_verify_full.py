"""Connect to PostgreSQL with sslmode=verify-full from an `avn service user-creds-download`
directory, and show what the connection is.

    python examples/psycopg_verify_full.py "postgres://avnadmin@HOST:PORT/defaultdb" CREDS_DIR

The password, if any, comes from PGPASSWORD or the URI.
"""

from __future__ import annotations

import sys

import psycopg

import tlsconnect


def main(uri: str, credentials_dir: str) -> None:
    credentials = tlsconnect.Credentials.from_directory(credentials_dir)
    params = tlsconnect.psycopg_params(uri, credentials=credentials, sslmode="verify-full")
    with psycopg.connect(**params) as conn:
        version, cipher, client_dn = conn.execute(
            "SELECT version, cipher, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone() or ("?", "?", "?")
    print(f"connected with sslmode={params['sslmode']}: {version} {cipher}")
    print(f"client certificate presented: {client_dn or 'none'}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
