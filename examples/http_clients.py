"""Call an HTTPS service with httpx, requests, urllib3 and aiohttp, each verifying what the
plan says.

    python examples/http_clients.py https://USER:PASSWORD@HOST:PORT [CREDS_DIR]

The URI is the service URI from the console (OpenSearch, Grafana, Karapace, ClickHouse's
HTTPS port, ...). CREDS_DIR, when given, holds ca.pem (and service.cert/service.key for a
client certificate), as `avn service user-creds-download` writes them.
"""

from __future__ import annotations

import asyncio
import sys

import aiohttp
import httpx
import requests
import urllib3

import tlsconnect


def main(uri: str, credentials_dir: str | None) -> None:
    credentials = None
    if credentials_dir:
        credentials = tlsconnect.Credentials.from_directory(credentials_dir)
    print(tlsconnect.resolve("opensearch", credentials=credentials).explain().splitlines()[0])

    # httpx: the plan's SSLContext as verify=, base_url and auth from the URI.
    p = tlsconnect.params("httpx", uri, credentials=credentials)
    with httpx.Client(**p) as client:
        response = client.get("/")
        print(f"httpx: HTTP {response.status_code} from {client.base_url}")
    base_url = p["base_url"]

    # requests: the plan's CA file as verify=, the client pair as cert=, auth from the URI.
    # The URL is the call's own; pass **p with every call (on a Session too).
    p = tlsconnect.params("requests", uri, credentials=credentials)
    response = requests.get(f"{base_url}/", **p)
    print(f"requests: HTTP {response.status_code}, client certificate sent: {'cert' in p}")

    # urllib3: the plan's SSLContext, cert_reqs to match it, the URI's user as a header.
    p = tlsconnect.params("urllib3", uri, credentials=credentials)
    with urllib3.PoolManager(**p) as http:
        print(f"urllib3: HTTP {http.request('GET', f'{base_url}/').status}")

    # aiohttp: a TCPConnector with the plan's SSLContext, made inside the running loop;
    # one p serves one session (the session closes the connector).
    async def with_aiohttp() -> None:
        p = tlsconnect.params("aiohttp", uri, credentials=credentials)
        async with aiohttp.ClientSession(**p) as session, session.get("/") as response:
            print(f"aiohttp: HTTP {response.status}")

    asyncio.run(with_aiohttp())


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)
