"""PING a Redis or Valkey service over verified TLS with redis-py (sync and asyncio) and
valkey-py.

    python examples/redis_tls.py 'rediss://USER:PASSWORD@HOST:PORT' [CA_FILE]

The URI is the one the console shows. Redis and Valkey services present publicly trusted
certificates, so no CA is needed; pass the project CA for an older service that still
uses it. Either way the connection trusts exactly that (never the machine's own CA
store, which redis-py's and valkey-py's ssl_ca_certs= would add to) and checks the host
name (which valkey-py's own options do not by default).
"""

from __future__ import annotations

import asyncio
import sys

import redis
import redis.asyncio
import valkey

import tlsconnect


def sync_ping(uri: str, ca: str | None) -> None:
    params = tlsconnect.params("redis", uri, ca=ca, decode_responses=True)
    client = redis.Redis(**params)
    try:
        client.set("tlsconnect:example", "hello")
        connection = client.connection_pool.get_connection()
        version = connection._sock.version()
        client.connection_pool.release(connection)
        print(f"redis: PING -> {client.ping()}, GET -> {client.get('tlsconnect:example')!r}")
        print(f"redis: over {version}, chain and host name verified")
    finally:
        client.close()
        params["connection_pool"].disconnect()  # the pool is ours to close


async def asyncio_ping(uri: str, ca: str | None) -> None:
    params = tlsconnect.params("redis-asyncio", uri, ca=ca)
    client = redis.asyncio.Redis(**params)
    try:
        print(f"redis.asyncio: PING -> {await client.ping()}")
    finally:
        await client.aclose()
        await params["connection_pool"].disconnect()


def valkey_ping(uri: str, ca: str | None) -> None:
    params = tlsconnect.params("valkey", uri, ca=ca)  # valkeys:// and rediss:// alike
    client = valkey.Valkey(**params)
    try:
        print(f"valkey: PING -> {client.ping()}")
    finally:
        client.close()
        params["connection_pool"].disconnect()


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    target, ca_file = sys.argv[1], (sys.argv[2] if len(sys.argv) == 3 else None)
    sync_ping(target, ca_file)
    asyncio.run(asyncio_ping(target, ca_file))
    valkey_ping(target, ca_file)
