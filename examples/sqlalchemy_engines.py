"""SQLAlchemy engines from the console's URIs: psycopg and asyncpg for PostgreSQL,
PyMySQL for MySQL, each verifying the server (verify-full) with the project CA.

    python examples/sqlalchemy_engines.py "postgres://USER@HOST:PORT/defaultdb?sslmode=require" \
        "mysql://USER:PASSWORD@HOST:PORT/defaultdb?ssl-mode=REQUIRED" CREDS_DIR

The URL tlsconnect writes carries no TLS word (a `?sslmode=` there breaks
create_async_engine with asyncpg: SQLAlchemy #6275); TLS goes in connect_args, in each
driver's own terms.
"""

from __future__ import annotations

import asyncio
import sys

from sqlalchemy import create_engine, text
from sqlalchemy.ext.asyncio import create_async_engine

import tlsconnect

PG_QUERY = "SELECT cipher, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
MYSQL_QUERY = "SHOW SESSION STATUS LIKE 'Ssl_cipher'"


def sync_engine(params: dict, query: str) -> tuple:
    engine = create_engine(**params)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(text(query)).one())
    finally:
        engine.dispose()


async def async_engine(params: dict, query: str) -> tuple:
    engine = create_async_engine(**params)
    try:
        async with engine.connect() as conn:
            return tuple((await conn.execute(text(query))).one())
    finally:
        await engine.dispose()


def main(pg_uri: str, mysql_uri: str, credentials_dir: str) -> None:
    credentials = tlsconnect.Credentials.from_directory(credentials_dir)
    strict = {"credentials": credentials, "sslmode": "verify-full"}

    psycopg = tlsconnect.params("sqlalchemy", pg_uri, **strict)
    print(f"{psycopg['url'].drivername}: {sync_engine(psycopg, PG_QUERY)}")

    asyncpg = tlsconnect.params("sqlalchemy", pg_uri, dialect="asyncpg", **strict)
    print(f"{asyncpg['url'].drivername}: {asyncio.run(async_engine(asyncpg, PG_QUERY))}")

    # MySQL: the CA only (this user logs in with its password)
    pymysql = tlsconnect.params(
        "sqlalchemy", mysql_uri, ca=credentials.ca_pem, sslmode="verify-full"
    )
    print(f"{pymysql['url'].drivername}: {sync_engine(pymysql, MYSQL_QUERY)}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
