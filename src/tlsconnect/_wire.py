"""The few protocol bytes tlsconnect speaks itself, for a real round trip.

PostgreSQL: the SSLRequest that precedes TLS, and a StartupMessage after it. Kafka: an
ApiVersions v0 request and its answer. HTTP: a ``HEAD /`` request and the status line of
its answer. Standard library only; nothing here connects.
"""

from __future__ import annotations

import re
import socket
import struct

__all__ = [
    "KAFKA_CORRELATION_ID",
    "PG_SSL_REQUEST",
    "api_versions_request",
    "http_head_request",
    "pg_error_fields",
    "pg_startup_message",
    "read_api_versions",
    "read_http_status",
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


_HTTP_STATUS_LINE = re.compile(rb"HTTP/\d(?:\.\d)? (\d{3})(?: ([^\r\n]*))?")
#: An HTTP status line longer than this is not an HTTP status line.
_HTTP_LINE_LIMIT = 8192


def http_head_request(host: str, port: int) -> bytes:
    """``HEAD /`` over HTTP/1.1, asking the server to close after answering."""
    authority = f"[{host}]" if ":" in host else host
    name = authority.encode("ascii") if authority.isascii() else authority.encode("idna")
    return (
        b"HEAD / HTTP/1.1\r\nHost: "
        + name
        + f":{port}".encode()
        + b"\r\nUser-Agent: tlsconnect-check\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )


def read_http_status(sock: socket.socket) -> tuple[int, str] | None:
    """The status code and reason phrase of an HTTP answer; ``None`` if the peer closed
    without a byte.

    :class:`ValueError` when the answer does not start with an HTTP status line.
    """
    data = b""
    while b"\n" not in data:
        if len(data) > _HTTP_LINE_LIMIT:
            raise ValueError(f"no status line in the first {_HTTP_LINE_LIMIT} bytes")
        chunk = sock.recv(4096)
        if not chunk:
            if not data:
                return None
            break
        data += chunk
    line = data.split(b"\n", 1)[0].rstrip(b"\r")
    match = _HTTP_STATUS_LINE.fullmatch(line)
    if match is None:
        raise ValueError(f"it starts with {line[:32]!r}")
    return int(match.group(1)), (match.group(2) or b"").decode("latin-1").strip()
