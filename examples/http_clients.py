"""Call an HTTPS service with httpx and with requests, each verifying what the plan says.

    python examples/http_clients.py https://USER:PASSWORD@HOST:PORT [CREDS_DIR]

The URI is the service URI from the console (OpenSearch, Grafana, Karapace, ClickHouse's
HTTPS port, ...). CREDS_DIR, when given, holds ca.pem (and service.cert/service.key for a
client certificate), as `avn service user-creds-download` writes them.
"""

from __future__ import annotations

import sys

import httpx
import requests

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


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else None)
