"""Extra real servers for the check/CLI tests: misbehaving TCP endpoints.

* :class:`GreetingServer` - plaintext TCP that writes a banner (an SMTP/Redis-like
  plaintext port) and closes.
* :class:`SilentServer` - accepts TCP and never says a word (a TLS handshake times out).
* :func:`blackhole` - a listening socket whose accept queue is full, so that a new TCP
  connect times out.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

# The keys API.md promises in `tlsconnect check --json`.
API_KEYS = {
    "ok",
    "service",
    "host",
    "port",
    "sslmode",
    "trust",
    "tls_version",
    "cipher",
    "peer_subject",
    "peer_issuer",
    "peer_not_after",
    "chain_verified",
    "hostname_verified",
    "error",
}


class GreetingServer:
    def __init__(self, greeting: bytes = b"220 plaintext service ready\r\n") -> None:
        self.greeting = greeting
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                with contextlib.suppress(OSError):
                    conn.sendall(self.greeting)
                    conn.settimeout(1.0)
                    conn.recv(4096)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


class SilentServer:
    """Accepts connections and keeps them open without sending anything."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port: int = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(conn)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
        for conn in self.conns:
            conn.close()
        self.sock.close()


@contextlib.contextmanager
def blackhole() -> Iterator[int]:
    """A port on 127.0.0.1 where a TCP connect hangs (the accept queue is full)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers: list[socket.socket] = []
    try:
        # Fill the accept queue: once full, the kernel drops new SYNs.
        for _ in range(8):
            filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError, OSError):
                filler.connect(("127.0.0.1", port))
            fillers.append(filler)
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connect is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
