"""In-process TLS servers that record what each client did.

* :class:`TLSServer` - completes the handshake, writes a greeting, echoes one line:
  a stand-in for any TLS service (Redis-, MySQL-, SMTP-like ports) when what matters is
  the handshake and the client certificate.
* :class:`HTTPSServer` - ``http.server`` over TLS answering GET/HEAD/POST/... with a
  small JSON body, or what a handler registered for the path returns: enough for the
  HTTP clients of managed services (httpx, requests, opensearch-py, clickhouse-connect).

Both run in daemon threads of this process, listen once constructed, and record every
handshake (:class:`Handshake`), including the client certificate they were shown.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import pathlib
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from urllib.parse import parse_qs, urlsplit

from ._process import LOOPBACK4, REGISTRY

__all__ = [
    "HTTPRequest",
    "HTTPResponse",
    "HTTPSServer",
    "Handler",
    "Handshake",
    "TLSServer",
]


@dataclass
class Handshake:
    """What happened on one accepted connection."""

    ok: bool
    error: str | None = None
    # getpeercert() when the client sent a certificate that verified (CERT_OPTIONAL or
    # CERT_REQUIRED), else None
    peer_cert: dict[str, Any] | None = None
    version: str | None = None
    received: bytes = b""
    peer_cert_der: bytes | None = None

    @property
    def peer_serial(self) -> int | None:
        """The serial number of the client certificate, when one was verified."""
        if not self.peer_cert or "serialNumber" not in self.peer_cert:
            return None
        return int(str(self.peer_cert["serialNumber"]), 16)


def _server_context(
    cert_path: str | os.PathLike[str],
    key_path: str | os.PathLike[str],
    require_client_cert: bool,
    client_ca: str | os.PathLike[str] | None,
    context_hook: Callable[[ssl.SSLContext], None] | None,
) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.fspath(cert_path), os.fspath(key_path))
    if require_client_cert:
        if client_ca is None:
            raise ValueError("require_client_cert needs client_ca")
        ctx.verify_mode = ssl.CERT_REQUIRED
    if client_ca is not None:
        ctx.load_verify_locations(cafile=os.fspath(client_ca))
        if not require_client_cert:
            ctx.verify_mode = ssl.CERT_OPTIONAL
    if context_hook is not None:
        context_hook(ctx)
    return ctx


def _wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class TLSServer:
    """A threaded TLS server on ``host`` (127.0.0.1 or ::1), on a port the OS chooses.

    Per connection: the TLS handshake; on success it writes ``greeting``
    (``b"OK\\n"``), reads up to one line (``read_timeout``), echoes it back and closes.
    Each connection's outcome is appended to :attr:`handshakes`.

    Client certificates: not asked for by default; with ``client_ca`` they are asked
    for and verified when sent (``CERT_OPTIONAL``); with ``require_client_cert=True``
    too they must be sent (``CERT_REQUIRED``). ``context_hook(ctx)`` may change the
    server's ``SSLContext`` (e.g. ``maximum_version``) before it listens. With TLS 1.3
    a refused client certificate reaches the client only on its first read after the
    handshake.
    """

    def __init__(
        self,
        cert_path: str | os.PathLike[str],
        key_path: str | os.PathLike[str],
        *,
        host: str = LOOPBACK4,
        require_client_cert: bool = False,
        client_ca: str | os.PathLike[str] | None = None,
        greeting: bytes = b"OK\n",
        read_timeout: float = 2.0,
        context_hook: Callable[[ssl.SSLContext], None] | None = None,
    ) -> None:
        self.context = _server_context(
            cert_path, key_path, require_client_cert, client_ca, context_hook
        )
        self.cert_path = pathlib.Path(cert_path)
        self.key_path = pathlib.Path(key_path)
        self.greeting = greeting
        self.read_timeout = read_timeout
        self.handshakes: list[Handshake] = []
        self._conn_threads: list[threading.Thread] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, name=f"TLSServer:{self.port}", daemon=True
        )
        self._thread.start()
        REGISTRY.add_server(self)

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def wait_for_handshakes(self, count: int, timeout: float = 5.0) -> list[Handshake]:
        """Wait until ``count`` connections have been recorded (the record is written by
        the server's thread, possibly after the client returned); returns them all."""
        _wait_until(lambda: len(self.handshakes) >= count, timeout)
        return list(self.handshakes)

    def clear(self) -> None:
        """Forget the recorded handshakes."""
        self.handshakes.clear()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            t = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._conn_threads.append(t)
            t.start()

    def _handle(self, raw: socket.socket) -> None:
        raw.settimeout(5.0)
        record = Handshake(ok=False)
        try:
            with self.context.wrap_socket(raw, server_side=True) as tls:
                record.ok = True
                record.version = tls.version()
                record.peer_cert = tls.getpeercert() or None
                record.peer_cert_der = tls.getpeercert(binary_form=True)
                self.handshakes.append(record)
                try:
                    tls.sendall(self.greeting)
                    tls.settimeout(self.read_timeout)
                    buf = b""
                    while not buf.endswith(b"\n") and len(buf) < 65536:
                        chunk = tls.recv(4096)
                        if not chunk:
                            break
                        buf += chunk
                        # kept as it comes: a read that then times out loses nothing
                        record.received = buf
                    if buf:
                        tls.sendall(buf)
                    with contextlib.suppress(OSError, ValueError):
                        tls.unwrap()
                except (OSError, ssl.SSLError):
                    pass
        except (OSError, ssl.SSLError) as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            self.handshakes.append(record)
        finally:
            raw.close()

    def start(self) -> TLSServer:
        """Nothing to do: it listens once constructed. Returns ``self``."""
        return self

    def stop(self) -> None:
        """Stop listening and wait for the connections being served. Safe to call more
        than once."""
        if self._stop.is_set():
            return
        self._stop.set()
        REGISTRY.discard_server(self)
        self._thread.join(5)
        self._sock.close()
        for t in self._conn_threads:
            t.join(5)

    def __enter__(self) -> TLSServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"TLSServer(host={self.host!r}, port={self.port})"


# ---------------------------------------------------------------------------
# HTTPS
# ---------------------------------------------------------------------------


@dataclass
class HTTPRequest:
    """One request an :class:`HTTPSServer` answered."""

    method: str
    target: str  # path and query, as sent
    headers: dict[str, str]  # names in lower case
    body: bytes
    handshake: Handshake

    @property
    def path(self) -> str:
        """The path without the query."""
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, list[str]]:
        """The query parameters (``parse_qs``)."""
        return parse_qs(urlsplit(self.target).query, keep_blank_values=True)

    @property
    def peer_cert(self) -> dict[str, Any] | None:
        """The client certificate of the connection (``getpeercert()``), if verified."""
        return self.handshake.peer_cert

    @property
    def peer_serial(self) -> int | None:
        return self.handshake.peer_serial

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class HTTPResponse:
    """What a handler answers. ``body`` may be bytes, text, or anything JSON takes
    (sent as ``application/json``)."""

    status: int = 200
    body: Any = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        """The body's bytes and its default content type."""
        if isinstance(self.body, bytes):
            return self.body, "application/octet-stream"
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


HandlerResult: TypeAlias = HTTPResponse | dict[str, Any] | list[Any] | str | bytes
Handler: TypeAlias = Callable[[HTTPRequest], HandlerResult]


def _default_handler(request: HTTPRequest) -> HTTPResponse:
    return HTTPResponse(200, {"ok": True, "method": request.method, "path": request.path})


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    """Reads each request and answers what the owning :class:`HTTPSServer` says."""

    protocol_version = "HTTP/1.1"  # keep-alive, as real clients expect
    server_version = "tlsconnect-testing"
    timeout = 10  # an idle keep-alive connection does not hold a thread for ever
    server: _ThreadingServer

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():  # trailers
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        owner = self.server.owner
        handshake = self.server.handshake_of(self.connection)
        request = HTTPRequest(
            method=self.command,
            target=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self._read_body(),
            handshake=handshake,
        )
        owner.requests.append(request)
        try:
            answer = owner.handler_for(request.method, request.path)(request)
        except Exception as exc:  # a broken handler is the test's bug: say so, as a 500
            answer = HTTPResponse(500, {"error": f"{type(exc).__name__}: {exc}"})
        response = answer if isinstance(answer, HTTPResponse) else HTTPResponse(200, answer)
        body, content_type = response.encode()
        self.send_response(response.status)
        headers = {"Content-Type": content_type, **response.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the requests are recorded in :attr:`HTTPSServer.requests` instead."""


class _ThreadingServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, owner: HTTPSServer, host: str) -> None:
        self.owner = owner
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._handshakes: dict[int, Handshake] = {}
        self._open: set[ssl.SSLSocket] = set()
        self._lock = threading.Lock()
        super().__init__((host, 0), _RequestHandler)

    def server_bind(self) -> None:
        # http.server's server_bind also looks up the host's FQDN, which can take
        # seconds without DNS; a loopback test server needs none of it.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def handshake_of(self, conn: socket.socket) -> Handshake:
        with self._lock:
            return self._handshakes[id(conn)]

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The handshake runs here, in the connection's thread, so that a slow or broken
        # client never blocks the accept loop.
        raw: socket.socket = request
        raw.settimeout(10.0)
        record = Handshake(ok=False)
        try:
            tls = self.owner.context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError) as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            self.owner.handshakes.append(record)
            return
        record.ok = True
        record.version = tls.version()
        record.peer_cert = tls.getpeercert() or None
        record.peer_cert_der = tls.getpeercert(binary_form=True)
        self.owner.handshakes.append(record)
        with self._lock:
            self._handshakes[id(tls)] = record
            self._open.add(tls)
        try:
            _RequestHandler(tls, client_address, self)
        except (OSError, ssl.SSLError):
            pass  # the client went away
        finally:
            with self._lock:
                self._handshakes.pop(id(tls), None)
                self._open.discard(tls)
            with contextlib.suppress(OSError):
                tls.close()

    def close_open_connections(self) -> None:
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class HTTPSServer:
    """An HTTPS server in a thread of this process, on ``host`` and a port the OS
    chooses; it listens once constructed.

    Every request gets ``200`` with ``{"ok": true, "method": ..., "path": ...}``
    unless a handler is registered for its path::

        server.route("/ping", lambda request: "Ok.\\n")
        server.route("/", lambda request: {"version": {"number": "2.11.0"}}, methods=["GET"])

    A handler takes an :class:`HTTPRequest` and returns an :class:`HTTPResponse`, or a
    body (dict/list as JSON, str, bytes) for ``200``. Requests are recorded in
    :attr:`requests`, handshakes in :attr:`handshakes` (with the client certificate).
    Client certificates as for :class:`TLSServer`.
    """

    def __init__(
        self,
        cert_path: str | os.PathLike[str],
        key_path: str | os.PathLike[str],
        *,
        host: str = LOOPBACK4,
        require_client_cert: bool = False,
        client_ca: str | os.PathLike[str] | None = None,
        context_hook: Callable[[ssl.SSLContext], None] | None = None,
        url_host: str = "localhost",
    ) -> None:
        self.context = _server_context(
            cert_path, key_path, require_client_cert, client_ca, context_hook
        )
        self.cert_path = pathlib.Path(cert_path)
        self.key_path = pathlib.Path(key_path)
        self.host = host
        self.url_host = url_host
        self.requests: list[HTTPRequest] = []
        self.handshakes: list[Handshake] = []
        self.default_handler: Handler = _default_handler
        self._routes: dict[tuple[str, str], Handler] = {}
        self._httpd = _ThreadingServer(self, host)
        self.port: int = int(self._httpd.server_address[1])
        self._stopped = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"HTTPSServer:{self.port}",
            daemon=True,
        )
        self._thread.start()
        REGISTRY.add_server(self)

    def url(self, path: str = "/") -> str:
        """``https://localhost:<port><path>`` (the name the project's server
        certificates carry)."""
        return f"https://{self.url_host}:{self.port}{path}"

    def route(
        self, path: str, handler: Handler, *, methods: tuple[str, ...] | list[str] | None = None
    ) -> None:
        """Answer requests for ``path`` (without the query) with ``handler``: for every
        method, or only for ``methods``. A later registration for the same path and
        method replaces the earlier one."""
        for method in methods or ("*",):
            self._routes[(method.upper(), path)] = handler

    def handler_for(self, method: str, path: str) -> Handler:
        """The handler that answers ``method`` on ``path``."""
        return (
            self._routes.get((method, path))
            or self._routes.get(("*", path))
            or self.default_handler
        )

    def clear(self) -> None:
        """Forget routes, recorded requests and handshakes."""
        self._routes.clear()
        self.default_handler = _default_handler
        self.requests.clear()
        self.handshakes.clear()

    def wait_for_handshakes(self, count: int, timeout: float = 5.0) -> list[Handshake]:
        """Wait until ``count`` handshakes have been recorded; returns them all."""
        _wait_until(lambda: len(self.handshakes) >= count, timeout)
        return list(self.handshakes)

    def start(self) -> HTTPSServer:
        """Nothing to do: it listens once constructed. Returns ``self``."""
        return self

    def stop(self) -> None:
        """Stop serving and close open connections. Safe to call more than once."""
        if self._stopped:
            return
        self._stopped = True
        REGISTRY.discard_server(self)
        self._httpd.shutdown()
        self._httpd.close_open_connections()
        self._httpd.server_close()
        self._thread.join(5)

    def __enter__(self) -> HTTPSServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"HTTPSServer(url={self.url()!r})"
