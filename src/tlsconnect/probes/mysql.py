"""MySQL (and MariaDB): the server's greeting and the SSLRequest before TLS, a handshake
response naming the user (and no password) after it."""

from __future__ import annotations

import socket
import ssl

from .._diagnose import Diagnosis, no_tls
from .._model import ErrorClass, Service
from .._wire import (
    MySQLAnswer,
    MySQLGreeting,
    mysql_answer,
    mysql_greeting,
    mysql_handshake_response,
    mysql_ssl_request,
)
from ._base import Failed, Probe, wrong_protocol

__all__ = ["DEFAULT_USER", "MySQLProbe"]

#: The user check names when none is given (and no client certificate names one).
DEFAULT_USER = "tlsconnect-check"


def _not_mysql(how: str) -> Failed:
    return Failed(wrong_protocol(f"the server does not answer as MySQL does: {how}", "not_mysql"))


class MySQLProbe(Probe):
    services = (Service.MYSQL,)
    speaks = True
    greeting: MySQLGreeting | None = None

    def before_tls(self, sock: socket.socket) -> None:
        """Read the server's greeting and ask for TLS, as MySQL clients do."""
        session = self.session
        try:
            greeting = mysql_greeting(sock)
        except EOFError:
            raise _not_mysql("it closed the connection without a greeting") from None
        except TimeoutError:
            raise _not_mysql(
                f"it sent no greeting within {session.timeout:g} s (a MySQL server greets "
                "first; a server that waits may expect TLS at once)"
            ) from None
        except ValueError as exc:
            raise _not_mysql(f"its first packet is {exc}") from None
        if isinstance(greeting, MySQLAnswer):
            session.report.server_message = str(greeting)
            raise Failed(
                Diagnosis(
                    ErrorClass.PROTOCOL_ERROR,
                    f"the server refused the connection before TLS could start: {greeting}",
                    "this is about the server or this client's address (too many "
                    "connections, a blocked host), not TLS; try again or ask the operator",
                    "refused_before_tls",
                )
            )
        if not greeting.offers_tls:
            raise Failed(
                no_tls(
                    "mysql",
                    f"its greeting ({greeting.server_version}) does not offer TLS (no "
                    "CLIENT_SSL capability)",
                )
            )
        sock.sendall(mysql_ssl_request(greeting))
        self.greeting = greeting

    def before_tls_side(self, sock: socket.socket) -> bool:
        greeting = mysql_greeting(sock)
        if not isinstance(greeting, MySQLGreeting) or not greeting.offers_tls:
            return False
        sock.sendall(mysql_ssl_request(greeting))
        return True

    def round_trip(self, tls: ssl.SSLSocket) -> None:
        session = self.session
        greeting = self.greeting
        if greeting is None:  # set by before_tls; for the type checker
            raise _not_mysql("no greeting was read")
        user = session.spec.user or DEFAULT_USER
        try:
            self.session.bounded(tls).sendall(mysql_handshake_response(greeting, user))
            answer = mysql_answer(self.session.bounded(tls))
        except (OSError, ssl.SSLError, EOFError) as exc:
            raise session.round_trip_error(exc) from None
        except ValueError as exc:
            raise _not_mysql(f"its answer to the login is {exc}") from None
        if answer is None:
            raise Failed(session.closed_after_handshake())
        session.report.server_message = f"{greeting.server_version}: {answer}"
        if answer.kind == "error":
            session.report.notes.append(
                f"TLS is fine; the server then refused the login as '{user}' without a "
                "password (see 'server said'): check never sends a password, so that is "
                "about the user, not TLS"
            )
