"""The few protocol bytes tlsconnect speaks itself, for a real round trip.

PostgreSQL: the SSLRequest that precedes TLS, and a StartupMessage after it. Kafka: an
ApiVersions v0 request and its answer. Redis: ``PING`` and the one-line answer. MySQL:
the server's greeting (``Protocol::HandshakeV10``) and the client's SSLRequest, which
precede TLS, then a handshake response that names the user and sends no password. HTTP: a
``HEAD /`` request and the status line of its answer. Standard library only; nothing here
connects.
"""

from __future__ import annotations

import re
import select
import socket
import ssl
import struct
import time

__all__ = [
    "KAFKA_CORRELATION_ID",
    "MYSQL_CLIENT_SSL",
    "PG_SSL_REQUEST",
    "REDIS_PING",
    "Bounded",
    "MySQLAnswer",
    "MySQLGreeting",
    "api_versions_request",
    "http_head_request",
    "mysql_answer",
    "mysql_greeting",
    "mysql_handshake_response",
    "mysql_ssl_request",
    "pg_error_fields",
    "pg_startup_message",
    "read_api_versions",
    "read_http_status",
    "read_redis_line",
    "recv_exact",
    "tls_handshake_by",
]

#: PostgreSQL's SSLRequest: length 8, code 80877103; the server answers b"S" or b"N".
PG_SSL_REQUEST = struct.pack("!ii", 8, 80877103)
_PG_PROTOCOL_3 = 196608
KAFKA_CORRELATION_ID = 0x746C73  # "tls"
_KAFKA_CLIENT_ID = b"tlsconnect-check"


class Bounded:
    """A socket whose reads end by one deadline (``time.monotonic()``), in total: each
    ``recv`` is given only the time left, so a peer that sends a byte now and then cannot
    hold a reader past it. The readers below take it where they take a socket."""

    __slots__ = ("deadline", "sock")

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self.sock = sock
        self.deadline = deadline

    def recv(self, count: int) -> bytes:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(left)
        return self.sock.recv(count)

    def sendall(self, data: bytes) -> None:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        self.sock.settimeout(left)
        self.sock.sendall(data)


def tls_handshake_by(tls: ssl.SSLSocket, deadline: float) -> None:
    """Complete the handshake of a socket wrapped with ``do_handshake_on_connect=False``
    by ``deadline``, in total (a blocking handshake waits the socket's timeout per read,
    which a server sending a byte at a time can stretch); :class:`TimeoutError` after it.
    The socket is left blocking, with the time left as its timeout."""
    tls.setblocking(False)
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out")
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                select.select([tls], [], [], left)
            except ssl.SSLWantWriteError:
                select.select([], [tls], [], left)
    finally:
        tls.settimeout(max(deadline - time.monotonic(), 0.001))


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


def recv_exact(sock: socket.socket | Bounded, count: int) -> bytes:
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


def read_api_versions(sock: socket.socket | Bounded) -> int | None:
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


# -- Redis --------------------------------------------------------------------------------

#: ``PING`` as a RESP array; a server answers ``+PONG``, or an error such as ``-NOAUTH``.
REDIS_PING = b"*1\r\n$4\r\nPING\r\n"


def read_redis_line(sock: socket.socket | Bounded, limit: int = 4096) -> bytes:
    """One RESP line without its CRLF; :class:`EOFError` when the peer closes first,
    :class:`ValueError` when no line ends within ``limit`` bytes."""
    data = b""
    while not data.endswith(b"\r\n"):
        if len(data) >= limit:
            raise ValueError(f"no line within {limit} bytes")
        chunk = sock.recv(1)
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data[:-2]


# -- MySQL --------------------------------------------------------------------------------

#: Capability flags (``CLIENT_*``) the probe reads or sets.
_MYSQL_LONG_PASSWORD = 0x1  # MariaDB reads it as CLIENT_MYSQL
_MYSQL_PROTOCOL_41 = 0x200
MYSQL_CLIENT_SSL = 0x800
_MYSQL_SECURE_CONNECTION = 0x8000
_MYSQL_PLUGIN_AUTH = 0x80000
_MYSQL_MAX_PACKET = 16 * 1024 * 1024
_MYSQL_CHARSET_UTF8MB4 = 45
_MYSQL_PACKET_LIMIT = 65536


class MySQLGreeting:
    """What a MySQL server's first packet says, as far as the probe needs it."""

    __slots__ = ("capabilities", "charset", "server_version")

    def __init__(self, server_version: str, capabilities: int, charset: int) -> None:
        self.server_version = server_version
        self.capabilities = capabilities
        self.charset = charset

    @property
    def offers_tls(self) -> bool:
        return bool(self.capabilities & MYSQL_CLIENT_SSL)

    def __repr__(self) -> str:
        return f"MySQLGreeting({self.server_version!r}, tls={self.offers_tls})"


class MySQLAnswer:
    """A server's answer to a handshake response: ``kind`` is ``"ok"``, ``"error"``
    (with ``code``, ``sqlstate`` and ``message``) or ``"auth"`` (it asks for more
    authentication, ``message`` naming the method)."""

    __slots__ = ("code", "kind", "message", "sqlstate")

    def __init__(self, kind: str, code: int = 0, sqlstate: str = "", message: str = "") -> None:
        self.kind = kind
        self.code = code
        self.sqlstate = sqlstate
        self.message = message

    def __str__(self) -> str:
        if self.kind == "error":
            state = f" ({self.sqlstate})" if self.sqlstate else ""
            return f"ERROR {self.code}{state}: {self.message}"
        if self.kind == "auth":
            return f"authentication request: {self.message or 'more data'}"
        return "OK: logged in without a password"


def _mysql_packet(sock: socket.socket | Bounded) -> tuple[int, bytes]:
    """(sequence id, payload) of one packet; :class:`ValueError` when it is too large to
    be a greeting or an answer (not MySQL)."""
    header = recv_exact(sock, 4)
    length = int.from_bytes(header[:3], "little")
    if not 0 < length <= _MYSQL_PACKET_LIMIT:
        raise ValueError(f"a packet of {length} bytes")
    return header[3], recv_exact(sock, length)


def _mysql_error(payload: bytes) -> MySQLAnswer:
    code = int.from_bytes(payload[1:3], "little") if len(payload) >= 3 else 0
    rest = payload[3:]
    sqlstate = ""
    if rest.startswith(b"#") and len(rest) >= 6:
        sqlstate, rest = rest[1:6].decode("ascii", "replace"), rest[6:]
    return MySQLAnswer("error", code, sqlstate, rest.decode("utf-8", "replace"))


def mysql_greeting(sock: socket.socket | Bounded) -> MySQLGreeting | MySQLAnswer:
    """The server's greeting, or the error it sent instead (``Host ... is blocked``, ``Too
    many connections``). :class:`ValueError` when it is not MySQL's protocol 10,
    :class:`EOFError` when the server closed first."""
    sequence, payload = _mysql_packet(sock)
    if payload[:1] == b"\xff":
        return _mysql_error(payload)
    if sequence != 0 or payload[:1] != b"\x0a":
        raise ValueError("not a MySQL protocol 10 greeting")
    end = payload.find(b"\0", 1)
    # version, NUL, thread id (4), scramble part 1 (8), filler (1), capabilities (2)
    if end < 0 or len(payload) < end + 16:
        raise ValueError("a truncated MySQL greeting")
    version = payload[1:end].decode("utf-8", "replace")
    at = end + 1 + 4 + 8 + 1
    capabilities = int.from_bytes(payload[at : at + 2], "little")
    charset = _MYSQL_CHARSET_UTF8MB4
    if len(payload) >= at + 7:  # charset (1), status (2), capabilities' upper half (2)
        charset = payload[at + 2]
        capabilities |= int.from_bytes(payload[at + 5 : at + 7], "little") << 16
    return MySQLGreeting(version, capabilities, charset)


def _client_flags(greeting: MySQLGreeting) -> int:
    wanted = (
        _MYSQL_LONG_PASSWORD
        | _MYSQL_PROTOCOL_41
        | MYSQL_CLIENT_SSL
        | _MYSQL_SECURE_CONNECTION
        | _MYSQL_PLUGIN_AUTH
    )
    return wanted & greeting.capabilities | _MYSQL_PROTOCOL_41 | MYSQL_CLIENT_SSL


def _mysql_fixed(greeting: MySQLGreeting) -> bytes:
    """What the SSLRequest and the handshake response both begin with."""
    return struct.pack(
        "<IIB23s", _client_flags(greeting), _MYSQL_MAX_PACKET, greeting.charset & 0xFF, b""
    )


def _mysql_frame(sequence: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "little") + bytes([sequence]) + payload


def mysql_ssl_request(greeting: MySQLGreeting) -> bytes:
    """``Protocol::SSLRequest`` (sequence 1): after it, the TLS handshake begins."""
    return _mysql_frame(1, _mysql_fixed(greeting))


def mysql_handshake_response(greeting: MySQLGreeting, user: str) -> bytes:
    """``Protocol::HandshakeResponse41`` (sequence 2, inside TLS) for ``user`` with an
    empty authentication response: no password is ever sent."""
    body = _mysql_fixed(greeting) + user.encode("utf-8") + b"\0"
    body += b"\0"  # the authentication response's length: empty
    if _client_flags(greeting) & _MYSQL_PLUGIN_AUTH:
        body += b"mysql_native_password\0"
    return _mysql_frame(2, body)


def mysql_answer(sock: socket.socket | Bounded) -> MySQLAnswer | None:
    """The answer to a handshake response; ``None`` when the server closed first,
    :class:`ValueError` when it is not MySQL's."""
    try:
        _, payload = _mysql_packet(sock)
    except EOFError:
        return None
    kind = payload[:1]
    if kind == b"\x00":
        return MySQLAnswer("ok")
    if kind == b"\xff":
        return _mysql_error(payload)
    if kind in (b"\xfe", b"\x01"):
        method = (
            payload[1:].split(b"\0", 1)[0].decode("utf-8", "replace") if kind == b"\xfe" else ""
        )
        return MySQLAnswer("auth", message=method)
    raise ValueError(f"an answer that begins with {kind!r}")


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


def read_http_status(sock: socket.socket | Bounded) -> tuple[int, str] | None:
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
