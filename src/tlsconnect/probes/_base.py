"""The one interface every protocol's probe implements, and what they share.

A :class:`Session` is what one check knows while it runs (the target, the plan, the
report being filled, the time allowed, the address the first connection reached) and
the diagnoses every protocol gives alike. A :class:`Probe` is one protocol: what it says
before TLS, its one round trip after the handshake, and how its port answers when it
speaks no TLS at all. The base class is the probe of a service whose protocol check does
not speak: it waits briefly for a TLS alert after the handshake.

The whole check ends by one deadline (:attr:`Session.deadline`, the check's timeout
after it starts), in total, however slowly a server sends: the checked connection is a
socket whose every send and read gets only the time left (:meth:`Session.connection`),
its handshake is bounded by the same deadline, and reads over TLS go through
:meth:`Session.bounded`. Every connection besides the checked one goes through
:meth:`Session.side`: a new socket to the same address, bounded in total (every send and
every read together) by :data:`SIDE_LIMIT` seconds or the check's deadline, whichever
comes first. After a failed handshake, :meth:`Session.allow_diagnosis` gives the side
connections that name its cause at most :data:`DIAGNOSIS_WAIT` seconds past the deadline.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from .._diagnose import (
    Diagnosis,
    classify_tls_error,
    classify_unreachable,
)
from .._model import ErrorClass, Service
from .._wire import Bounded

# typing is not imported at run time: this module is on the path of every check.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, TypeVar

    from cryptography import x509

    from .._plan import TLSPlan
    from .._report import CheckReport
    from .._target import Target

__all__ = [
    "ALERT_WAIT",
    "DIAGNOSIS_WAIT",
    "SIDE_LIMIT",
    "DeadlineSocket",
    "Failed",
    "Probe",
    "Session",
    "looks_plaintext",
    "wrong_protocol",
]

#: How long a probe of a service without a known protocol waits for an alert.
ALERT_WAIT = 0.5
#: The most time one side connection may take, all of it (connect, sends and reads).
SIDE_LIMIT = 3.0
#: After a failed handshake: the most the side connections that name its cause (a
#: plaintext port, the certificate presented) may add to the check's timeout.
DIAGNOSIS_WAIT = 3.0
#: OpenSSL's reasons for a handshake that met bytes that are not TLS (a plaintext port).
PLAINTEXT_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE", "UNKNOWN_PROTOCOL"}
)

if TYPE_CHECKING:
    T = TypeVar("T")


class Failed(Exception):
    """Stops a probe with a diagnosis."""

    def __init__(self, diagnosis: Diagnosis) -> None:
        super().__init__(diagnosis.error)
        self.diagnosis = diagnosis


def wrong_protocol(error: str, detail: str) -> Diagnosis:
    """The server answered, over TLS or before it, not as the service type's protocol does."""
    return Diagnosis(
        ErrorClass.PROTOCOL_ERROR, error, "check the port and the service type (--service)", detail
    )


def looks_plaintext(exc: BaseException) -> bool:
    """Whether a failed handshake may have met a port that speaks no TLS: no answer, a
    closed or reset connection, or bytes that are not a TLS record."""
    if isinstance(exc, TimeoutError | ssl.SSLEOFError | ConnectionResetError):
        return True
    return str(getattr(exc, "reason", "") or "") in PLAINTEXT_REASONS


class DeadlineSocket(socket.socket):
    """A socket whose every send and read gets only the time left until its deadline
    (``time.monotonic()``)."""

    deadline = 0.0

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        self.settimeout(self._left())
        return super().recv(bufsize, flags)

    def sendall(self, data: Any, flags: int = 0) -> None:
        self.settimeout(self._left())
        super().sendall(data, flags)


class Session:
    """What one check knows while it runs, and the diagnoses every protocol shares."""

    def __init__(
        self, spec: Target, plan: TLSPlan, report: CheckReport, timeout: float, host: str
    ) -> None:
        self.spec = spec
        self.plan = plan
        self.report = report
        self.timeout = timeout
        #: When every step of the check must have ended (``time.monotonic()``); set again
        #: by :meth:`start`.
        self.deadline = time.monotonic() + timeout
        #: The name verified and sent as SNI: ``server_name`` when given, else the
        #: target's host (without IPv6 brackets).
        self.server_hostname = host
        #: (family, type, proto, sockaddr) of the first connection, once made.
        self.address: tuple[int, int, int, Any] | None = None

    @property
    def service(self) -> Service:
        return self.spec.service

    # -- time ---------------------------------------------------------------------------

    def start(self) -> None:
        """The check starts now: it must end by the timeout from here."""
        self.deadline = time.monotonic() + self.timeout

    def left(self) -> float:
        """The time left before the deadline; :class:`TimeoutError` once it has passed."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left

    def allow_diagnosis(self) -> None:
        """After a failed handshake, the side connections that name its cause get a short
        time of their own, even when the deadline has passed."""
        self.deadline = max(self.deadline, time.monotonic() + min(self.timeout, DIAGNOSIS_WAIT))

    def connection(self, family: int, kind: int, proto: int) -> socket.socket:
        """The socket of the checked connection: each send and read before TLS gets only
        the time left before the deadline."""
        sock = DeadlineSocket(family, kind, proto)
        sock.deadline = self.deadline
        return sock

    def bounded(self, tls: ssl.SSLSocket) -> Bounded:
        """``tls`` read and written by the check's deadline, in total."""
        return Bounded(tls, self.deadline)

    # -- the one helper for connections besides the checked one --------------------------

    @contextmanager
    def side(self) -> Iterator[DeadlineSocket]:
        """A new connection to the address the check reached, closed on exit.

        Bounded in total by :data:`SIDE_LIMIT` or the check's deadline (the sooner): each
        send and read waits only for the time left; a TLS handshake on it is bounded by
        its ``deadline`` with :func:`~tlsconnect._wire.tls_handshake_by`. :class:`OSError`
        when it cannot be made (or the first connection never was).
        """
        if self.address is None:
            raise OSError("the first connection was never made")
        family, kind, proto, address = self.address
        sock = DeadlineSocket(family, kind, proto)
        sock.deadline = min(self.deadline, time.monotonic() + SIDE_LIMIT)
        try:
            sock.settimeout(sock._left())
            sock.connect(address)
            yield sock
        finally:
            sock.close()

    def side_exchange(self, request: bytes, read: Callable[[socket.socket], T]) -> T | None:
        """Send ``request`` on a side connection and return what ``read`` makes of the
        answer; ``None`` when there is no connection or no answer it can read."""
        try:
            with self.side() as sock:
                sock.sendall(request)
                return read(sock)
        except (OSError, ValueError, EOFError):
            return None

    # -- diagnoses every protocol shares --------------------------------------------------

    def unreachable(self, exc: BaseException, step: str) -> Diagnosis:
        return classify_unreachable(
            exc, step=step, host=self.spec.host, port=self.spec.port, timeout=self.timeout
        )

    def tls_diagnosis(self, exc: BaseException, leaf: x509.Certificate | None) -> Diagnosis:
        try:
            return classify_tls_error(
                exc, expected=self.plan.expectation, host=self.server_hostname, leaf=leaf
            )
        except Exception:
            # Deliberately broad: a certificate the parser refuses (or any other surprise
            # while explaining) must leave a report, never an exception, with OpenSSL's
            # own words.
            if leaf is None:
                raise
            self.report.notes.append(
                "the server's certificate could not be read for a closer diagnosis"
            )
            return self.tls_diagnosis(exc, None)

    def round_trip_error(self, exc: BaseException) -> Failed:
        """What a failure while reading or writing after the handshake means."""
        if isinstance(exc, ssl.SSLError) and not isinstance(exc, ssl.SSLEOFError):
            return Failed(self.tls_diagnosis(exc, None))
        if isinstance(exc, TimeoutError):
            return Failed(self.unreachable(exc, "protocol_round_trip"))
        return Failed(self.closed_after_handshake())

    def closed_after_handshake(self) -> Diagnosis:
        if not self.plan.client_cert:
            return Diagnosis(
                ErrorClass.CLIENT_CERT_REQUIRED,
                "the server closed the connection right after the TLS handshake without an "
                "answer; no client certificate was sent, and servers that require one do this",
                "pass the client certificate and key (service.cert and service.key from "
                "`avn service user-creds-download`)",
                "closed_no_cert",
            )
        if self.report.tls_version == "TLSv1.3":
            return Diagnosis(
                ErrorClass.CLIENT_CERT_REJECTED,
                "the server closed the connection right after the TLS 1.3 handshake without "
                "an answer; a client certificate was sent, and this is how servers refuse one",
                "check that the client certificate is this project's (service.cert from "
                "`avn service user-creds-download`), current, and for this user",
                "closed_after_cert",
            )
        return Diagnosis(
            ErrorClass.PROTOCOL_ERROR,
            "the server closed the connection right after the TLS handshake without an answer",
            "check the port and the service type; the server may also have refused the client "
            "certificate without saying so",
            "closed",
        )


class Probe:
    """One protocol. The base class speaks none: after the handshake it waits briefly for
    an alert (how a TLS 1.3 server refuses a client certificate).

    A subclass for a protocol sets :attr:`speaks` and overrides what its protocol does:
    :meth:`before_tls` (and :meth:`before_tls_side` for a side connection),
    :meth:`round_trip`, and :meth:`plaintext` when its port can be told apart speaking no
    TLS at all.
    """

    #: The service types this probe is for.
    services: ClassVar[tuple[Service, ...]] = ()
    #: Whether :meth:`round_trip` is one real exchange of the protocol (an alert the
    #: server may send about the client certificate is then read before it).
    speaks: ClassVar[bool] = False

    def __init__(self, session: Session) -> None:
        self.session = session

    def before_tls(self, sock: socket.socket) -> None:
        """What the protocol says before the TLS handshake on the checked connection;
        :class:`Failed` when the server will not start TLS."""

    def before_tls_side(self, sock: socket.socket) -> bool:
        """The same on a side connection, quietly: ``False`` when TLS will not start."""
        return True

    def round_trip(self, tls: ssl.SSLSocket) -> None:
        """One exchange of the protocol over TLS, filling the report; :class:`Failed`
        when it shows a problem."""
        session = self.session
        try:
            tls.settimeout(min(session.left(), ALERT_WAIT))
            tls.recv(1)
        except TimeoutError:
            return
        except ssl.SSLError as exc:
            if not isinstance(exc, ssl.SSLEOFError):
                raise Failed(session.tls_diagnosis(exc, None)) from None
        except OSError:
            return

    def plaintext(self, exc: BaseException) -> Diagnosis | None:
        """After a handshake that failed with ``exc``: the diagnosis when the port speaks
        this protocol without TLS (asked on a side connection), else ``None``."""
        return None
