"""A loopback TCP proxy that records how each connection starts, and can add a delay.

:class:`RecordingProxy` listens on 127.0.0.1 and forwards each connection to a server
(``host``, ``port``). For every connection it keeps a :class:`ProxiedConnection`: the first
bytes the client sent (a PostgreSQL SSLRequest is ``00 00 00 08 04 d2 16 2f``; a direct TLS
connection begins with a TLS record, ``16 03 ...``) and the round trips of its set-up, counted
as the turns where the server answers data from the client. With ``delay`` each chunk is held
that long in each direction, as a network path of ``2 * delay`` round-trip time would;
order is kept. The proxy runs in one background thread (an asyncio loop) and is a context
manager; :meth:`stop` closes every connection.

:func:`client_hello_alpn` reads the ALPN protocols a TLS ClientHello offers, from the first
bytes a connection sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import threading
import time
from collections import deque

from ._process import LOOPBACK4

__all__ = ["SSL_REQUEST", "ProxiedConnection", "RecordingProxy", "client_hello_alpn"]

#: PostgreSQL's SSLRequest: length 8, then the code 80877103.
SSL_REQUEST = struct.pack("!II", 8, 80877103)
#: How many of a connection's first client bytes are kept.
FIRST_BYTES = 4096


class ProxiedConnection:
    """What one connection through the proxy did."""

    def __init__(self) -> None:
        self.first_bytes = b""  # the client's first bytes, up to FIRST_BYTES
        self.round_trips = 0  # server flights that answered a client flight
        self.client_flights = 0
        self.opened = time.monotonic()
        self._last = ""  # "client" or "server": who sent last

    @property
    def starts_with_tls(self) -> bool:
        """The first bytes are a TLS handshake record (direct TLS)."""
        return self.first_bytes[:1] == b"\x16" and self.first_bytes[1:2] == b"\x03"

    @property
    def starts_with_ssl_request(self) -> bool:
        """The first bytes are PostgreSQL's 8-byte SSLRequest (classic negotiation)."""
        return self.first_bytes[:8] == SSL_REQUEST

    def _saw(self, side: str, data: bytes) -> None:
        if side == "client":
            if len(self.first_bytes) < FIRST_BYTES:
                self.first_bytes += data[: FIRST_BYTES - len(self.first_bytes)]
            if self._last != "client":
                self.client_flights += 1
        elif self._last == "client":
            self.round_trips += 1
        self._last = side

    def __repr__(self) -> str:
        return (
            f"ProxiedConnection(first_bytes={self.first_bytes[:8].hex(' ')}..., "
            f"round_trips={self.round_trips})"
        )


class RecordingProxy:
    """``with RecordingProxy(port, delay=0.02) as proxy:`` then connect to ``proxy.port``.

    ``connections`` lists a :class:`ProxiedConnection` per accepted connection, in order.
    """

    def __init__(self, port: int, host: str = LOOPBACK4, *, delay: float = 0.0) -> None:
        if delay < 0:
            raise ValueError("delay must not be negative")
        self.target = (host, port)
        self.delay = delay
        self.host = LOOPBACK4
        self.port = 0
        self.connections: list[ProxiedConnection] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.Server | None = None
        self._thread: threading.Thread | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    def clear(self) -> list[ProxiedConnection]:
        """The connections recorded so far, and forget them."""
        with self._lock:
            taken, self.connections = self.connections, []
        return taken

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> RecordingProxy:
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(
                    asyncio.start_server(self._accept, self.host, 0)
                )
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            try:
                loop.run_forever()
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="tlsconnect-proxy", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Close the listener and every connection; join the thread. Safe to repeat."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                writer.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        with contextlib.suppress(RuntimeError):
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = None
        self._loop = None

    def __enter__(self) -> RecordingProxy:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- forwarding ----------------------------------------------------------------------
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        record = ProxiedConnection()
        with self._lock:
            self.connections.append(record)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.add(up_writer)
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, record, "client"),
                self._pipe(up_reader, writer, record, "server"),
            )
        finally:
            for each in (writer, up_writer):
                each.close()
                self._writers.discard(each)
            if task is not None:
                self._tasks.discard(task)

    async def _pipe(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        record: ProxiedConnection,
        side: str,
    ) -> None:
        """Forward one direction, each chunk ``delay`` seconds after it arrived."""
        queue: deque[tuple[float, bytes]] = deque()
        arrived = asyncio.Event()
        done = False

        async def send() -> None:
            while True:
                while not queue:
                    if done:
                        return
                    arrived.clear()
                    await arrived.wait()
                due, data = queue.popleft()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if data:
                    writer.write(data)
                    await writer.drain()
                else:  # end of stream, passed on in order
                    with contextlib.suppress(OSError):
                        if writer.can_write_eof():
                            writer.write_eof()
                    return

        sender = asyncio.ensure_future(send())
        try:
            while True:
                try:
                    data = await reader.read(65536)
                except OSError:
                    data = b""
                if data:
                    record._saw(side, data)
                queue.append((time.monotonic() + self.delay, data))
                arrived.set()
                if not data:
                    break
        finally:
            done = True
            arrived.set()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await sender

    def __repr__(self) -> str:
        return (
            f"RecordingProxy(port={self.port}, target={self.target[0]}:{self.target[1]}, "
            f"delay={self.delay})"
        )


def client_hello_alpn(data: bytes) -> list[str] | None:
    """The ALPN protocols the TLS ClientHello at the start of ``data`` offers: ``None``
    when ``data`` does not start with a ClientHello, ``[]`` when it offers no ALPN."""
    if len(data) < 9 or data[0] != 0x16 or data[1] != 0x03 or data[5] != 0x01:
        return None
    # record header (5), handshake header (4), version (2), random (32)
    body = data[9:]
    try:
        pos = 34
        pos += 1 + body[pos]  # session id
        (ciphers,) = struct.unpack_from("!H", body, pos)
        pos += 2 + ciphers
        pos += 1 + body[pos]  # compression methods
        (extensions_length,) = struct.unpack_from("!H", body, pos)
        pos += 2
        end = pos + extensions_length
        while pos + 4 <= end:
            kind, length = struct.unpack_from("!HH", body, pos)
            pos += 4
            if kind == 16:  # application_layer_protocol_negotiation
                protocols: list[str] = []
                inner = pos + 2
                while inner < pos + length:
                    size = body[inner]
                    protocols.append(body[inner + 1 : inner + 1 + size].decode("ascii", "replace"))
                    inner += 1 + size
                return protocols
            pos += length
    except (IndexError, struct.error):
        return None
    return []
