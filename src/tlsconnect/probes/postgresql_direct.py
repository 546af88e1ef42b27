"""PostgreSQL with direct TLS (``sslnegotiation=direct``, PostgreSQL 17+): the handshake
starts at once, with no SSLRequest, offering ALPN "postgresql" (every PostgreSQL context
tlsconnect builds offers it; a PostgreSQL 17+ server refuses a direct connection without
it); then the same StartupMessage as over the SSLRequest. As libpq 17+ does, a server
that completes the handshake without selecting "postgresql" is refused."""

from __future__ import annotations

import socket
import ssl

from .._diagnose import Diagnosis
from .._model import ErrorClass
from .._wire import PG_SSL_REQUEST
from ._base import Failed, looks_plaintext, wrong_protocol
from .postgresql import PostgreSQLProbe

__all__ = ["ALPN", "PostgreSQLDirectProbe"]

#: The ALPN protocol PostgreSQL's direct TLS requires.
ALPN = "postgresql"


class PostgreSQLDirectProbe(PostgreSQLProbe):
    def before_tls(self, sock: socket.socket) -> None:
        """Nothing: the TLS handshake is the first thing on the wire."""

    def before_tls_side(self, sock: socket.socket) -> bool:
        return True

    def round_trip(self, tls: ssl.SSLSocket) -> None:
        selected = tls.selected_alpn_protocol()
        if selected != ALPN:
            raise Failed(
                wrong_protocol(
                    "the server completed a direct TLS handshake without selecting ALPN "
                    f"'{ALPN}' ({'none' if selected is None else repr(selected)}): libpq "
                    "17+ refuses that; it is not PostgreSQL 17+, or something in between "
                    "terminates TLS",
                    "no_alpn",
                )
            )
        super().round_trip(tls)

    def plaintext(self, exc: BaseException) -> Diagnosis | None:
        """A server that speaks PostgreSQL but not direct TLS (before 17) reads the
        ClientHello as a startup message and closes: asked on a side connection with the
        SSLRequest, it answers as PostgreSQL does."""
        if not looks_plaintext(exc):
            return None
        try:
            with self.session.side() as sock:
                sock.sendall(PG_SSL_REQUEST)
                answer = sock.recv(1)
        except OSError:
            return None
        if answer not in (b"S", b"N"):
            return None
        return Diagnosis(
            ErrorClass.PROTOCOL_MISMATCH,
            "the server speaks PostgreSQL but not direct TLS (sslnegotiation=direct): it "
            "answers PostgreSQL's SSLRequest, and direct TLS needs PostgreSQL 17 or newer",
            "leave sslnegotiation out (or pass sslnegotiation='postgres') for this server, "
            "or upgrade it to PostgreSQL 17+",
            "no_direct_tls",
        )
