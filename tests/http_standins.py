"""OpenSearch, ClickHouse and Schema Registry (Karapace) stand-ins on tlsconnect.testing's
HTTPSServer: they answer the few requests opensearch-py, clickhouse-connect and
confluent-kafka's schema registry client make, as the real products do.

The real products are not installable here (Debian's ClickHouse 18.16 is far older than
any clickhouse-connect speaks to); what these prove is the TLS side of each client against
a real TLS server, and that the parameters reach the driver's real connection code.
"""

from __future__ import annotations

import base64
import json

from tlsconnect.testing import HTTPRequest, HTTPResponse, HTTPSServer

OPENSEARCH_VERSION = "2.11.0"
CLICKHOUSE_VERSION = "24.8.4.13"


def basic_user(request: HTTPRequest) -> str | None:
    """The user name of an ``Authorization: Basic`` header, or ClickHouse's certificate
    user header."""
    header = request.headers.get("authorization", "")
    if header.startswith("Basic "):
        return base64.b64decode(header[6:]).decode().partition(":")[0]
    return request.headers.get("x-clickhouse-user")


def opensearch(server: HTTPSServer) -> HTTPSServer:
    """``GET /``: the cluster information OpenSearch answers (what ``client.info()`` reads)."""

    def info(request: HTTPRequest) -> dict:
        return {
            "name": "node-1",
            "cluster_name": "tlsconnect-standin",
            "version": {"distribution": "opensearch", "number": OPENSEARCH_VERSION},
            "tagline": "The OpenSearch Project: https://opensearch.org/",
            "user": basic_user(request),
        }

    server.route("/", info, methods=["GET", "HEAD"])
    return server


def clickhouse(server: HTTPSServer) -> HTTPSServer:
    """ClickHouse's HTTP interface, as far as clickhouse-connect's ``get_client`` and a
    ``command()`` need it: the version query, the settings query (no settings, in Native
    format), and ``SELECT currentUser()`` / ``SELECT <number>``."""

    def answer(request: HTTPRequest) -> HTTPResponse:
        query = (request.body.decode() or request.query.get("query", [""])[0]).strip()
        tsv = {"X-ClickHouse-Format": "TabSeparated"}
        if query.startswith("SELECT version(), timezone()"):
            return HTTPResponse(200, f"{CLICKHOUSE_VERSION}\tUTC\n".encode(), tsv)
        if "FROM system.settings" in query:
            return HTTPResponse(200, b"", {"X-ClickHouse-Format": "Native"})
        if query.startswith("SELECT currentUser()"):
            return HTTPResponse(200, f"{basic_user(request) or 'default'}\n".encode(), tsv)
        number = query.removeprefix("SELECT ").strip()
        if number.isdigit():
            return HTTPResponse(200, f"{number}\n".encode(), tsv)
        return HTTPResponse(500, f"Code: 62. DB::Exception: the stand-in does not know {query!r}\n")

    server.default_handler = answer
    return server


#: The subjects the schema registry stand-in lists.
SUBJECTS = ["tlsconnect-key", "tlsconnect-value"]


def schema_registry(server: HTTPSServer) -> HTTPSServer:
    """``GET /subjects``: the subject names, as Karapace answers (what
    ``SchemaRegistryClient.get_subjects()`` reads)."""

    def subjects(request: HTTPRequest) -> HTTPResponse:
        return HTTPResponse(
            200, json.dumps(SUBJECTS), {"Content-Type": "application/vnd.schemaregistry.v1+json"}
        )

    server.route("/subjects", subjects, methods=["GET"])
    return server
