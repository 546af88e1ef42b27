"""PostgreSQL: the SSLRequest before TLS, a StartupMessage after it (no password is
ever sent; the server's answer names the authentication it wants, or why it refuses)."""

from __future__ import annotations

import socket
import ssl
import struct

from .._diagnose import Diagnosis, client_cert_problem, no_tls
from .._model import Service
from .._wire import PG_SSL_REQUEST, pg_error_fields, pg_startup_message, recv_exact
from ._base import Failed, Probe, wrong_protocol

__all__ = ["PostgreSQLProbe"]

_AUTH_METHODS = {0: "trust (no password)", 3: "password", 5: "md5", 10: "SASL (SCRAM)"}


class PostgreSQLProbe(Probe):
    services = (Service.POSTGRESQL,)
    speaks = True

    def before_tls(self, sock: socket.socket) -> None:
        sock.sendall(PG_SSL_REQUEST)
        answer = sock.recv(1)
        if answer == b"S":
            return
        if answer == b"N":
            raise Failed(
                no_tls("postgresql", "it answered 'N' to PostgreSQL's SSLRequest (ssl = off)")
            )
        if not answer:
            raise Failed(
                wrong_protocol(
                    "the server closed the connection when asked for TLS (PostgreSQL's "
                    "SSLRequest): it is not a PostgreSQL server, or not this port",
                    "closed",
                )
            )
        if answer in (b"\x15", b"\x16"):
            how = "it speaks TLS directly instead of PostgreSQL's SSLRequest"
        elif answer == b"E":
            how = "it answered the SSLRequest with an error (a PostgreSQL older than 7.2?)"
        else:
            how = f"it answered the SSLRequest with {answer!r}, not 'S' or 'N'"
        raise Failed(
            wrong_protocol(
                f"the server does not answer as PostgreSQL does: {how}", "not_postgresql"
            )
        )

    def before_tls_side(self, sock: socket.socket) -> bool:
        sock.sendall(PG_SSL_REQUEST)
        return sock.recv(1) == b"S"

    def round_trip(self, tls: ssl.SSLSocket) -> None:
        session = self.session
        spec, report = session.spec, session.report
        message = pg_startup_message(spec.user or "", spec.dbname or "", "tlsconnect-check")
        try:
            self.session.bounded(tls).sendall(message)
            head = recv_exact(self.session.bounded(tls), 5)
            kind, length = head[:1], struct.unpack("!i", head[1:])[0]
            payload = recv_exact(self.session.bounded(tls), min(max(length - 4, 0), 65536))
        except (OSError, ssl.SSLError, EOFError) as exc:
            raise session.round_trip_error(exc) from None
        if kind == b"R":
            code = struct.unpack("!i", payload[:4])[0] if len(payload) >= 4 else -1
            report.server_message = (
                f"authentication request: {_AUTH_METHODS.get(code, f'method {code}')}"
            )
            return
        if kind == b"E":
            self._refused(pg_error_fields(payload))
            return
        raise Failed(
            wrong_protocol(
                f"the server answered the startup message with {kind!r}, not as PostgreSQL does",
                "not_postgresql",
            )
        )

    def _refused(self, fields: dict[str, str]) -> None:
        """The server's error after the startup message: a client certificate problem
        fails the check; any other refusal is about the login, not TLS."""
        session = self.session
        text = fields.get("M", "")
        sqlstate = fields.get("C", "")
        session.report.server_message = f"{fields.get('S', 'ERROR')} {sqlstate}: {text}".strip()
        lowered = text.lower()
        if "client certificate" in lowered or "certificate authentication failed" in lowered:
            sent = session.plan.client_cert
            diagnosis = client_cert_problem(
                sent=sent, how=f"PostgreSQL said: {text}", service="postgresql"
            )
            if sent and "certificate authentication failed" in lowered:
                diagnosis = Diagnosis(
                    diagnosis.error_class,
                    diagnosis.error,
                    f"the certificate's common name must be the user name: connect as "
                    f"the user the certificate was issued to (not '{session.spec.user}')",
                    "wrong_user",
                )
            raise Failed(diagnosis)
        session.report.notes.append(
            "TLS is fine; the server then refused this login (see 'server said'), which "
            "is about the user or database, not TLS"
        )
