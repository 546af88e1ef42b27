"""The few protocol bytes tlsconnect speaks itself, for a real round trip.

PostgreSQL: the SSLRequest that precedes TLS, and a StartupMessage after it. Kafka: an
ApiVersions v0 request and its answer. Standard library only; nothing here connects.
"""

from __future__ import annotations

import socket
import struct

__all__ = [
    "KAFKA_CORRELATION_ID",
    "PG_SSL_REQUEST",
    "api_versions_request",
    "pg_error_fields",
    "pg_startup_message",
    "read_api_versions",
    "recv_exact",
]

#: PostgreSQL's SSLRequest: length 8, code 80877103; the server answers b"S" or b"N".
PG_SSL_REQUEST = struct.pack("!ii", 8, 80877103)
_PG_PROTOCOL_3 = 196608
KAFKA_CORRELATION_ID = 0x746C73  # "tls"
_KAFKA_CLIENT_ID = b"tlsconnect-check"


def pg_startup_message(user: str, database: str, application_name: str) -> bytes:
    """A protocol 3.0 StartupMessage."""
    body = b""
    for name, value in (
        ("user", user),
        ("database", database),
        ("application_name", application_name),
    ):
        body += name.encode() + b"\0" + value.encode("utf-8") + b"\0"
    body += b"\0"
    return struct.pack("!ii", 8 + len(body), _PG_PROTOCOL_3) + body


def pg_error_fields(payload: bytes) -> dict[str, str]:
    """The fields of an ErrorResponse body, by their one-letter codes."""
    fields: dict[str, str] = {}
    for part in payload.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return fields


def recv_exact(sock: socket.socket, count: int) -> bytes:
    """Exactly ``count`` bytes; :class:`EOFError` when the peer closes first."""
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def api_versions_request() -> bytes:
    """A Kafka ApiVersions v0 request, the first thing every Kafka client sends."""
    body = struct.pack("!hhih", 18, 0, KAFKA_CORRELATION_ID, len(_KAFKA_CLIENT_ID))
    body += _KAFKA_CLIENT_ID
    return struct.pack("!i", len(body)) + body


def read_api_versions(sock: socket.socket) -> int | None:
    """The error code of an ApiVersions v0 answer; ``None`` if the peer closed.

    :class:`ValueError` when the answer is not Kafka's.
    """
    try:
        size = struct.unpack("!i", recv_exact(sock, 4))[0]
    except EOFError:
        return None
    if not 6 <= size <= 1_000_000:
        raise ValueError(f"a response of {size} bytes")
    body = recv_exact(sock, size)
    correlation, error_code = struct.unpack("!ih", body[:6])
    if correlation != KAFKA_CORRELATION_ID:
        raise ValueError("the correlation id does not match")
    return int(error_code)
