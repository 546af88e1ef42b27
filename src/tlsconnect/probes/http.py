"""The services reached over HTTPS: ``HEAD /`` after the handshake (any status, even
401, means TLS was fine, the client certificate included); a port that speaks plain HTTP
is told apart by the same request sent without TLS."""

from __future__ import annotations

import ssl

from .._diagnose import Diagnosis, client_cert_problem, no_tls
from .._model import HTTP_SERVICES, ErrorClass
from .._wire import http_head_request, read_http_status
from ._base import Failed, Probe, looks_plaintext

__all__ = ["HTTPProbe"]

#: HTTP statuses that say the server wants credentials: TLS itself was fine.
_AUTH_STATUSES = frozenset({401, 403, 407})
#: nginx's answers about the client certificate, sent over a finished handshake.
_CLIENT_CERT_STATUSES = frozenset({495, 496})


class HTTPProbe(Probe):
    services = tuple(HTTP_SERVICES)
    speaks = True

    def _request(self) -> bytes:
        return http_head_request(self.session.server_hostname, self.session.spec.port)

    def round_trip(self, tls: ssl.SSLSocket) -> None:
        session = self.session
        try:
            self.session.bounded(tls).sendall(self._request())
            answer = read_http_status(self.session.bounded(tls))
        except (OSError, ssl.SSLError, EOFError) as exc:
            raise session.round_trip_error(exc) from None
        except ValueError as exc:
            raise Failed(
                Diagnosis(
                    ErrorClass.PROTOCOL_ERROR,
                    f"the server's answer to HEAD / is not HTTP: {exc}",
                    "check the port (the one in the service's https:// URI) and the service "
                    "type (--service)",
                    "not_http",
                )
            ) from None
        if answer is None:
            raise Failed(session.closed_after_handshake())
        status, reason = answer
        session.report.server_message = f"HTTP {status} {reason}".strip()
        if status in _CLIENT_CERT_STATUSES:
            raise Failed(
                client_cert_problem(
                    sent=session.plan.client_cert,
                    how=f"the server answered HTTP {status} {reason}".strip(),
                    service=session.service.value,
                )
            )
        if status in _AUTH_STATUSES:
            session.report.notes.append(
                f"TLS is fine; the server asks for credentials (HTTP {status}), which is "
                "about the user, not TLS"
            )

    def plaintext(self, exc: BaseException) -> Diagnosis | None:
        if not looks_plaintext(exc):
            return None
        answer = self.session.side_exchange(self._request(), read_http_status)
        if answer is None:
            return None
        status_line = f"HTTP {answer[0]} {answer[1]}".strip()
        return no_tls(
            self.session.service.value, f"this port answers plaintext HTTP ({status_line})"
        )
