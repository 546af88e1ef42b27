"""Redis and Valkey: ``PING`` after the handshake. A plaintext Redis reads a TLS
ClientHello as an unfinished command and waits, so the handshake times out; a plaintext
``PING`` on a side connection then tells it apart."""

from __future__ import annotations

import ssl

from .._diagnose import Diagnosis, no_tls
from .._model import Service
from .._wire import REDIS_PING, read_redis_line
from ._base import Failed, Probe, wrong_protocol

__all__ = ["RedisProbe"]

_CREDENTIAL_ERRORS = ("NOAUTH", "WRONGPASS", "NOPERM")


class RedisProbe(Probe):
    services = (Service.REDIS, Service.VALKEY)
    speaks = True

    def round_trip(self, tls: ssl.SSLSocket) -> None:
        session = self.session
        try:
            self.session.bounded(tls).sendall(REDIS_PING)
            line = read_redis_line(self.session.bounded(tls))
        except EOFError:
            raise Failed(session.closed_after_handshake()) from None
        except (OSError, ssl.SSLError) as exc:
            raise session.round_trip_error(exc) from None
        except ValueError as exc:
            raise Failed(
                wrong_protocol(
                    f"the server does not answer PING as Redis does ({exc})", "not_redis"
                )
            ) from None
        text = line.decode("utf-8", "replace")
        session.report.server_message = text
        if text.startswith("+"):
            return
        if text.startswith("-"):
            word = text[1:].split(" ", 1)[0]
            if word in _CREDENTIAL_ERRORS:
                session.report.notes.append(
                    "TLS is fine; the server wants credentials before it answers PING ("
                    f"{word}): check never sends a password, so this is not a failure"
                )
            else:
                session.report.notes.append(
                    "TLS is fine; the server answered PING with an error (see 'server said')"
                )
            return
        raise Failed(
            wrong_protocol(
                f"the server answered PING with {text[:40]!r}, not as Redis does",
                "not_redis",
            )
        )

    def plaintext(self, exc: BaseException) -> Diagnosis | None:
        if not isinstance(exc, TimeoutError | ssl.SSLEOFError | ConnectionResetError):
            return None
        line = self.session.side_exchange(REDIS_PING, read_redis_line)
        if line is None or line[:1] not in (b"+", b"-"):
            return None
        return no_tls(self.session.service.value, "this port answers a plaintext Redis PING")
