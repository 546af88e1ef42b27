"""Kafka: an ApiVersions request after the handshake; a plaintext listener is told apart
by the same request sent without TLS."""

from __future__ import annotations

import ssl

from .._diagnose import Diagnosis, no_tls
from .._model import Service
from .._wire import api_versions_request, read_api_versions
from ._base import Failed, Probe, wrong_protocol

__all__ = ["KafkaProbe"]


class KafkaProbe(Probe):
    services = (Service.KAFKA,)
    speaks = True

    def round_trip(self, tls: ssl.SSLSocket) -> None:
        session = self.session
        try:
            self.session.bounded(tls).sendall(api_versions_request())
            answer = read_api_versions(self.session.bounded(tls))
        except (OSError, ssl.SSLError, EOFError) as exc:
            raise session.round_trip_error(exc) from None
        except ValueError as exc:
            raise Failed(
                wrong_protocol(
                    f"the server's answer to ApiVersions is not Kafka's: {exc}", "not_kafka"
                )
            ) from None
        if answer is None:
            raise Failed(session.closed_after_handshake())
        session.report.server_message = f"ApiVersions answered (error code {answer})"

    def plaintext(self, exc: BaseException) -> Diagnosis | None:
        if not isinstance(exc, TimeoutError | ssl.SSLEOFError | ConnectionResetError):
            return None
        answer = self.session.side_exchange(api_versions_request(), read_api_versions)
        if answer is None:
            return None
        return no_tls("kafka", "this port answers plaintext Kafka requests (a PLAINTEXT listener)")
