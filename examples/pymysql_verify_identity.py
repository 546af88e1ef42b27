"""Query a MySQL service with PyMySQL and aiomysql, verifying the server's identity.

    python examples/pymysql_verify_identity.py URI CA_FILE

    URI: mysql://USER:PASSWORD@HOST:PORT/defaultdb?ssl-mode=REQUIRED

The URI is the one the console shows; CA_FILE is the project CA (ca.pem). The console's
ssl-mode=REQUIRED is read as libpq's sslmode=require, which with a CA verifies the
chain; sslmode="verify-full" here asks for more (MySQL's VERIFY_IDENTITY: the host name
too), and what the caller asks for always wins over the URI. PyMySQL given only
ssl_ca= would verify nothing; these parameters hand it an SSLContext that verifies.
"""

from __future__ import annotations

import asyncio
import sys

import aiomysql
import pymysql

import tlsconnect

QUERY = "SELECT VERSION(), CURRENT_USER(), @@ssl_cipher IS NOT NULL"
STATUS = "SHOW SESSION STATUS LIKE 'Ssl_version'"


def with_pymysql(uri: str, ca: str) -> None:
    params = tlsconnect.params("pymysql", uri, ca=ca, sslmode="verify-full")
    with pymysql.connect(**params) as connection, connection.cursor() as cursor:
        cursor.execute(QUERY)
        version, user, _ = cursor.fetchone()
        cursor.execute(STATUS)
        _, tls = cursor.fetchone()
    print(f"PyMySQL: {user} on {version} over {tls}, chain and host name verified")


async def with_aiomysql(uri: str, ca: str) -> None:
    params = tlsconnect.params("aiomysql", uri, ca=ca, sslmode="verify-full")
    connection = await aiomysql.connect(**params)
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(STATUS)
            _, tls = await cursor.fetchone()
    finally:
        connection.close()
    print(f"aiomysql: over {tls}, chain and host name verified")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with_pymysql(sys.argv[1], sys.argv[2])
    asyncio.run(with_aiomysql(sys.argv[1], sys.argv[2]))
