"""Connect with asyncpg, verify-full and the client certificate from an
`avn service user-creds-download` directory, then use a pool the same way.

    python examples/asyncpg_verify_full.py \
        "postgres://avnadmin@HOST:PORT/defaultdb?sslmode=require" CREDS_DIR

The console's `?sslmode=require` is read as the sslmode asked for (with the CA given,
that verifies the chain, as libpq does); `sslmode="verify-full"` below asks for more,
and wins. asyncpg gets keywords and an SSLContext, never `sslmode=` (a TypeError there).
"""

from __future__ import annotations

import asyncio
import sys

import asyncpg

import tlsconnect

QUERY = "SELECT version, cipher, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


async def main(uri: str, credentials_dir: str) -> None:
    credentials = tlsconnect.Credentials.from_directory(credentials_dir)
    params = tlsconnect.params("asyncpg", uri, credentials=credentials, sslmode="verify-full")
    conn = await asyncpg.connect(**params)
    try:
        version, cipher, client_dn = await conn.fetchrow(QUERY)
    finally:
        await conn.close()
    checked = "chain and host name" if params["ssl"].check_hostname else "chain only"
    print(f"asyncpg connected over {version} ({cipher}), verified: {checked}")
    print(f"client certificate presented: {client_dn or 'none'}")
    async with asyncpg.create_pool(**params, min_size=1, max_size=2) as pool:
        print(f"pool: SELECT 1 -> {await pool.fetchval('SELECT 1')}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    asyncio.run(main(sys.argv[1], sys.argv[2]))
