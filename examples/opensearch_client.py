"""Ask an OpenSearch service who it is with opensearch-py, and a ClickHouse service's
HTTPS port for its version with clickhouse-connect.

    python examples/opensearch_client.py https://USER:PASSWORD@HOST:PORT [CREDS_DIR]
    python examples/opensearch_client.py --clickhouse https://USER:PASSWORD@HOST:PORT [CREDS_DIR]

Both services present publicly trusted certificates: CREDS_DIR (ca.pem, and
service.cert/service.key for a client certificate) is needed only for older services that
still use the project CA.
"""

from __future__ import annotations

import sys

import tlsconnect


def opensearch_info(uri: str, credentials: tlsconnect.Credentials | None) -> None:
    from opensearchpy import OpenSearch

    # The plan's SSLContext, and nothing opensearch-py would silently ignore beside it.
    client = OpenSearch(**tlsconnect.params("opensearch", uri, credentials=credentials))
    try:
        info = client.info()
    finally:
        client.close()
    print(f"opensearch: {info['cluster_name']} runs {info['version']['number']}")


def clickhouse_version(uri: str, credentials: tlsconnect.Credentials | None) -> None:
    import clickhouse_connect

    # The plan's CA file (never the OS store), the user and password from the URI.
    client = clickhouse_connect.get_client(
        **tlsconnect.params("clickhouse", uri, credentials=credentials)
    )
    try:
        answer = client.command("SELECT 1")
        print(f"clickhouse: version {client.server_version}, SELECT 1 = {answer}")
    finally:
        client.close()


def main(argv: list[str]) -> None:
    run = opensearch_info
    if argv and argv[0] == "--clickhouse":
        run, argv = clickhouse_version, argv[1:]
    if len(argv) not in (1, 2):
        sys.exit(__doc__)
    credentials = tlsconnect.Credentials.from_directory(argv[1]) if len(argv) == 2 else None
    run(argv[0], credentials)
    print("verified: the certificate chain and the host name (sslmode=verify-full)")


if __name__ == "__main__":
    main(sys.argv[1:])
