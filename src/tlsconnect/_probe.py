"""The probe: :func:`check` connects for real and says what happened, and why.

Steps, each timed: resolve the host, connect over TCP, do the TLS handshake with the
context the plan builds (for PostgreSQL after its SSLRequest; for MySQL after the
server's greeting and the SSLRequest), then one protocol round trip (PostgreSQL: a
StartupMessage; Kafka: an ApiVersions request; Redis: ``PING``; MySQL: a handshake
response that names the user and sends no password; the services reached over HTTPS:
``HEAD /``) so that a client certificate the server rejects is caught even under TLS 1.3,
where the rejection arrives after the handshake. No password is ever sent.

When verification fails, a second, non-verifying handshake is made only to *read* the
certificate the server presents, for the diagnosis. Nothing is ever sent over that
connection, and the plan is never weakened to make a connection work.
"""

from __future__ import annotations

import select
import socket
import ssl
import struct
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ._context import build_context
from ._diagnose import (
    Diagnosis,
    classify_tls_error,
    classify_unreachable,
    client_cert_problem,
    no_tls,
)
from ._errors import ConfigError
from ._handshake import READ_TIMEOUT, load_der, read_presented_chain
from ._model import HTTP_SERVICES, Service
from ._pem import common_name
from ._plan import OPTIONS_DOC, Options, TLSPlan, plan_for
from ._report import CheckReport, ErrorClass, certificate_info
from ._target import Target, parse_target, redact_target
from ._wire import (
    PG_SSL_REQUEST,
    REDIS_PING,
    Bounded,
    MySQLAnswer,
    MySQLGreeting,
    api_versions_request,
    http_head_request,
    mysql_answer,
    mysql_greeting,
    mysql_handshake_response,
    mysql_ssl_request,
    pg_error_fields,
    pg_startup_message,
    read_api_versions,
    read_http_status,
    read_redis_line,
    recv_exact,
    tls_handshake_by,
)

if TYPE_CHECKING:
    from cryptography import x509

    from ._material import Credentials
    from ._model import SSLMode, SSLNegotiation, Trust
    from ._pem import Material

__all__ = ["check"]

DEFAULT_PG_USER = "tlsconnect-check"
DEFAULT_PG_DBNAME = "defaultdb"
# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH, _EMAIL_MISMATCH, _IP_ADDRESS_MISMATCH.
_HOSTNAME_CODES = frozenset({62, 63, 64})
#: How long a probe of a service without a known protocol waits for an alert.
_ALERT_WAIT = 0.5
#: How long a probe that sent a client certificate waits for the server's verdict on it.
_EARLY_ALERT_WAIT = 0.15
#: After a failed handshake: the most the side connections that name its cause (a plaintext
#: port) may add to --timeout.
_DIAGNOSIS_WAIT = 3.0
#: OpenSSL's reasons for a handshake that met bytes that are not TLS (a plaintext port).
_PLAINTEXT_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "RECORD_LAYER_FAILURE", "UNKNOWN_PROTOCOL"}
)
#: HTTP statuses that say the server wants credentials: TLS itself was fine.
_HTTP_AUTH_STATUSES = frozenset({401, 403, 407})


def check(
    target: str,
    *,
    sslmode: str | SSLMode | None = None,
    trust: str | Trust | None = None,
    credentials: Credentials | None = None,
    ca: Material | None = None,
    cert: Material | None = None,
    key: Material | None = None,
    key_password: str | bytes | None = None,
    sslnegotiation: str | SSLNegotiation | None = None,
    server_name: str | None = None,
    service: str | Service | None = None,
    timeout: float = 10.0,
    user: str | None = None,
    dbname: str | None = None,
) -> CheckReport:
    """Connect to ``target`` for real and report what happened, why, and the fix.

    Bad input (an unknown service, a malformed target or file) raises
    :class:`~tlsconnect.ConfigError`; every failure of the connection itself is in the
    report (``ok`` false, ``error_class``, ``error``, ``fix``), never an exception.
    """
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise ConfigError(f"timeout must be a positive number of seconds, not {timeout!r}")
    given = Options(
        sslmode=sslmode,
        trust=trust,
        credentials=credentials,
        ca=ca,
        cert=cert,
        key=key,
        key_password=key_password,
        sslnegotiation=sslnegotiation,
        server_name=server_name,
    )
    spec = parse_target(target, service)
    plan = plan_for(spec, given)
    report = CheckReport(
        ok=False,
        target=redact_target(target),
        service=plan.service,
        host=spec.host,
        port=spec.port,
        sslmode=plan.sslmode,
        trust=plan.trust,
        client_cert_sent=plan.client_cert,
        timeout=float(timeout),
        server_name=plan.server_name,
    )
    if not plan.verify_chain:
        report.notes.append(
            "sslmode=require without a CA verifies nothing: the server could be anyone; pass "
            "the project CA and use sslmode=verify-full"
        )
    if plan.direct_tls:
        report.notes.append(
            "check starts TLS with the SSLRequest (the server's certificate and the verdict "
            "are the same); sslnegotiation=direct also needs a PostgreSQL 17+ server"
        )
    if plan.server_name is not None:
        report.notes.append(
            f"connects to {spec.host} and verifies the certificate against server_name "
            f"'{plan.server_name}' (sent as SNI)"
            if plan.check_hostname
            else f"connects to {spec.host} and sends server_name '{plan.server_name}' as SNI"
        )
    if spec.service is Service.POSTGRESQL:
        spec.user = user or spec.user or _default_pg_user(plan)
        spec.dbname = dbname or spec.dbname or DEFAULT_PG_DBNAME
    if spec.service is Service.MYSQL:
        spec.user = user or spec.user or _default_pg_user(plan)
    _Probe(spec, plan, report, float(timeout)).run()
    return report


check.__doc__ = (check.__doc__ or "") + OPTIONS_DOC


def _default_pg_user(plan: TLSPlan) -> str:
    """With a client certificate, its CN (PostgreSQL's ``cert`` auth matches it; MySQL's
    ``REQUIRE X509`` users are commonly named the same)."""
    credentials = plan.credentials
    if credentials is not None and credentials.certificate is not None:
        return common_name(credentials.certificate.subject) or DEFAULT_PG_USER
    return DEFAULT_PG_USER


def _wrong_protocol(error: str, detail: str) -> Diagnosis:
    """The server answered, over TLS or before it, not as the service type's protocol does."""
    return Diagnosis(
        ErrorClass.PROTOCOL_ERROR, error, "check the port and the service type (--service)", detail
    )


class _Failed(Exception):
    """Stops a probe with a diagnosis."""

    def __init__(self, diagnosis: Diagnosis) -> None:
        super().__init__(diagnosis.error)
        self.diagnosis = diagnosis


class _Probe:
    def __init__(self, spec: Target, plan: TLSPlan, report: CheckReport, timeout: float) -> None:
        self.spec = spec
        self.plan = plan
        self.report = report
        self.timeout = timeout
        # Every step of the check ends by this, in total (set when it starts).
        self.deadline = time.monotonic() + timeout
        self.addresses: list[tuple[Any, ...]] = []
        self.address: tuple[Any, ...] | None = None
        # The name verified and sent as SNI: server_name when given (the context built
        # from the plan verifies it too), else the host connected to.
        self.server_hostname = plan.server_name or spec.host.strip("[]")
        # Built before any connection, so that a context that cannot be built (a
        # ConfigError) leaves no socket behind. It explains nothing itself: the probe
        # reads the server's certificate and classifies a failure once, on its own.
        self.context = build_context(plan)
        self.context.expectation = None
        self.mysql_greeting: MySQLGreeting | None = None

    @property
    def is_pg(self) -> bool:
        return self.spec.service is Service.POSTGRESQL

    @property
    def is_kafka(self) -> bool:
        return self.spec.service is Service.KAFKA

    @property
    def is_mysql(self) -> bool:
        return self.spec.service is Service.MYSQL

    @property
    def is_redis(self) -> bool:
        return self.spec.service in (Service.REDIS, Service.VALKEY)

    def _timed(self, step: str, started: float) -> None:
        self.report.timings[step] = round((time.perf_counter() - started) * 1000, 3)

    def run(self) -> None:
        self.deadline = time.monotonic() + self.timeout
        try:
            self._run()
        except _Failed as failed:
            diagnosis = failed.diagnosis
            self.report.ok = False
            self.report.error_class = diagnosis.error_class.value
            self.report.error = diagnosis.error
            self.report.fix = diagnosis.fix or None
            self.report.error_detail = diagnosis.detail

    def _run(self) -> None:
        spec = self.spec
        started = time.perf_counter()
        try:
            self.addresses = socket.getaddrinfo(spec.host, spec.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            self._timed("resolve", started)
            raise _Failed(self._unreachable(exc, "resolve")) from None
        self._timed("resolve", started)

        started = time.perf_counter()
        try:
            raw = self._connect()
        finally:
            self._timed("tcp_connect", started)

        started = time.perf_counter()
        try:
            tls = self._handshake(raw)
        finally:
            self._timed("tls_handshake", started)
        try:
            self._record_session(tls)
            round_trip = self._round_trips().get(spec.service)
            if round_trip is not None:
                if self.plan.client_cert:
                    self._early_alert(tls)
                started = time.perf_counter()
                try:
                    round_trip(tls)
                finally:
                    self._timed("protocol_round_trip", started)
            else:
                self._wait_for_alert(tls)
        finally:
            tls.close()
        self.report.ok = True

    def _round_trips(self) -> dict[Service, Callable[[ssl.SSLSocket], None]]:
        """The protocols the probe speaks for one real round trip, per service type; the
        others get a short wait for an alert after the handshake."""
        return {
            Service.POSTGRESQL: self._pg_round_trip,
            Service.KAFKA: self._kafka_round_trip,
            **self._kv_round_trips(),
            **dict.fromkeys(HTTP_SERVICES, self._http_round_trip),
        }

    # -- steps ------------------------------------------------------------------------

    def _unreachable(self, exc: BaseException, step: str) -> Diagnosis:
        return classify_unreachable(
            exc, step=step, host=self.spec.host, port=self.spec.port, timeout=self.timeout
        )

    def _left(self) -> float:
        """The time left before the deadline; :class:`TimeoutError` once it has passed."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        return left

    def _allow_diagnosis(self) -> None:
        """After a failed handshake, the side connections that name its cause (a plaintext
        port) get a short time of their own, even when the deadline has passed."""
        self.deadline = max(self.deadline, time.monotonic() + min(self.timeout, _DIAGNOSIS_WAIT))

    def _bounded(self, sock: socket.socket, limit: float | None = None) -> Bounded:
        """``sock`` read by the check's deadline (or ``limit`` seconds from now, if sooner)."""
        deadline = self.deadline
        if limit is not None:
            deadline = min(deadline, time.monotonic() + limit)
        return Bounded(sock, deadline)

    def _connect(self) -> socket.socket:
        last: OSError | None = None
        for family, kind, proto, _, address in self.addresses:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(self._left())
            except TimeoutError as exc:
                sock.close()
                last = exc
                break
            try:
                sock.connect(address)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            self.address = (family, kind, proto, address)
            return sock
        if last is None:
            last = OSError(f"no address to connect to for {self.spec.host}")
        raise _Failed(self._unreachable(last, "tcp_connect"))

    def _new_socket(self) -> socket.socket:
        if self.address is None:
            raise OSError("the first connection was never made")
        family, kind, proto, address = self.address
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(self._left())
            sock.connect(address)
        except OSError:
            sock.close()
            raise
        return sock

    def _pg_ssl_request(self, sock: socket.socket) -> None:
        sock.sendall(PG_SSL_REQUEST)
        answer = self._bounded(sock).recv(1)
        if answer == b"S":
            return
        if answer == b"N":
            raise _Failed(
                no_tls("postgresql", "it answered 'N' to PostgreSQL's SSLRequest (ssl = off)")
            )
        if not answer:
            raise _Failed(
                _wrong_protocol(
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
        raise _Failed(
            _wrong_protocol(
                f"the server does not answer as PostgreSQL does: {how}",
                "not_postgresql",
            )
        )

    def _handshake(self, raw: socket.socket) -> ssl.SSLSocket:
        try:
            if self.is_pg:
                self._pg_ssl_request(raw)
            elif self.is_mysql:
                self.mysql_greeting = self._mysql_ssl_request(raw)
            tls = self.context.wrap_socket(
                raw, server_hostname=self.server_hostname, do_handshake_on_connect=False
            )
            try:
                tls_handshake_by(tls, self.deadline)
            except BaseException:
                tls.close()  # it holds the connection now: raw.close() below is a no-op
                raise
            return tls
        except _Failed:
            raw.close()
            raise
        except ssl.SSLCertVerificationError as exc:
            raw.close()
            leaf, chain = self._after_verification_failure(exc)
            self._record_chain(leaf, chain)
            raise _Failed(self._tls_diagnosis(exc, leaf)) from None
        except TimeoutError as exc:
            raw.close()
            self._allow_diagnosis()
            if self._answers_plaintext():
                raise _Failed(self._plaintext_diagnosis()) from None
            self._raise_if_plaintext_http(exc)
            raise _Failed(self._unreachable(exc, "tls_handshake")) from None
        except (ssl.SSLError, OSError) as exc:
            raw.close()
            self._allow_diagnosis()
            if isinstance(exc, ssl.SSLEOFError | ConnectionResetError) and (
                self._answers_plaintext()
            ):
                raise _Failed(self._plaintext_diagnosis()) from None
            self._raise_if_plaintext_http(exc)
            raise _Failed(self._tls_diagnosis(exc, None)) from None

    def _after_verification_failure(
        self, exc: ssl.SSLCertVerificationError
    ) -> tuple[x509.Certificate | None, list[x509.Certificate]]:
        """What the server presented, and whether its chain is good, with as few extra
        connections as that takes, none of which presents the client certificate.

        After a host name mismatch (which OpenSSL reports before it checks the chain's
        signatures and dates), one verifying handshake without the host name check says
        whether the chain itself is good, and reads the certificate on the way. Otherwise
        (or when that one fails too) one non-verifying handshake reads the certificate.
        """
        self.report.hostname_verified = False
        if exc.verify_code in _HOSTNAME_CODES:
            read = self._chain_check()
            if read is not None:
                self.report.chain_verified = True
                return read
        self.report.chain_verified = False
        return self._read_presented_chain()

    def _chain_check(self) -> tuple[x509.Certificate | None, list[x509.Certificate]] | None:
        """A handshake that verifies the chain as the plan does, but not the host name,
        with no client certificate; ``None`` when the chain does not verify."""
        context = build_context(self.plan, client_cert=False)
        context.check_hostname = False
        context.expectation = None
        try:
            sock = self._new_socket()
        except OSError:
            return None
        try:
            if self.is_pg:
                sock.sendall(PG_SSL_REQUEST)
                if self._bounded(sock).recv(1) != b"S":
                    return None
            elif self.is_mysql:
                greeting = mysql_greeting(self._bounded(sock))
                if not isinstance(greeting, MySQLGreeting) or not greeting.offers_tls:
                    return None
                sock.sendall(mysql_ssl_request(greeting))
            with context.wrap_socket(sock, server_hostname=self.server_hostname) as tls:
                return load_der(tls.getpeercert(binary_form=True)), []
        except (OSError, ssl.SSLError, ValueError, EOFError):
            return None
        finally:
            sock.close()

    def _read_presented_chain(self) -> tuple[x509.Certificate | None, list[x509.Certificate]]:
        """A separate, non-verifying handshake, only to read what the server presents
        (no client certificate is sent on it and nothing is written after the handshake)."""
        if self.address is None:
            return None, []
        family, _, _, address = self.address
        return read_presented_chain(
            address,
            self.server_hostname,
            postgres=self.is_pg,
            mysql=self.is_mysql,
            family=family,
            timeout=min(self.timeout, READ_TIMEOUT),
        )

    def _tls_diagnosis(self, exc: BaseException, leaf: x509.Certificate | None) -> Diagnosis:
        try:
            return classify_tls_error(
                exc, expected=self.plan.expectation, host=self.spec.host.strip("[]"), leaf=leaf
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
            return self._tls_diagnosis(exc, None)

    def _plaintext_diagnosis(self) -> Diagnosis:
        if self.is_redis:
            return no_tls(self.spec.service.value, "this port answers a plaintext Redis PING")
        return no_tls(
            self.spec.service.value,
            "this port answers plaintext Kafka requests (a PLAINTEXT listener)",
        )

    def _record_session(self, tls: ssl.SSLSocket) -> None:
        report = self.report
        report.tls_version = tls.version()
        cipher = tls.cipher()
        report.cipher = cipher[0] if cipher else None
        chain: list[x509.Certificate] = []
        verified = getattr(tls, "get_verified_chain", None)
        if verified is not None and self.plan.verify_chain:  # Python 3.13+
            try:
                chain = [c for c in (load_der(item) for item in verified()) if c is not None]
            except (ssl.SSLError, ValueError):
                chain = []
        self._record_chain(load_der(tls.getpeercert(binary_form=True)), chain)
        report.chain_verified = self.plan.verify_chain
        report.hostname_verified = self.plan.check_hostname

    def _record_chain(self, leaf: x509.Certificate | None, chain: list[x509.Certificate]) -> None:
        report = self.report
        certs = chain or ([leaf] if leaf is not None else [])
        try:
            report.chain = [certificate_info(c) for c in certs]
            if leaf is not None:
                report.peer_subject = leaf.subject.rfc4514_string()
                report.peer_issuer = leaf.issuer.rfc4514_string()
                report.peer_not_after = leaf.not_valid_after_utc.isoformat()
        except ValueError:
            # A certificate OpenSSL accepted but cryptography's stricter parser refuses
            # (a malformed extension): it is reported as unreadable, not as a crash.
            report.chain = []
            report.peer_subject = report.peer_issuer = report.peer_not_after = None
            report.notes.append("the server's certificate could not be parsed to show it")
            return
        if leaf is not None and not chain:
            report.notes.append(
                "chain: only the server's own certificate is shown (Python before 3.13 "
                "cannot read the rest of the chain the server sent)"
            )

    def _answers_plaintext(self) -> bool:
        """Whether the port answers a plaintext Kafka ApiVersions request (or Redis PING)."""
        if self.is_redis:
            return self._answers_plaintext_redis()
        if not self.is_kafka or self.address is None:
            return False
        try:
            sock = self._new_socket()
        except OSError:
            return False
        try:
            sock.settimeout(min(self.timeout, 3.0))
            sock.sendall(api_versions_request())
            return read_api_versions(sock) is not None
        except (OSError, ValueError):
            return False
        finally:
            sock.close()

    # -- protocol round trips ---------------------------------------------------------

    def _round_trip_error(self, exc: BaseException) -> _Failed:
        if isinstance(exc, ssl.SSLError) and not isinstance(exc, ssl.SSLEOFError):
            return _Failed(self._tls_diagnosis(exc, None))
        if isinstance(exc, TimeoutError):
            return _Failed(self._unreachable(exc, "protocol_round_trip"))
        return _Failed(self._closed_after_handshake())

    def _closed_after_handshake(self) -> Diagnosis:
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

    def _early_alert(self, tls: ssl.SSLSocket) -> None:
        """Read an alert the server may send about our certificate (TLS 1.3).

        A server that refuses the client certificate sends an alert and closes right after
        the handshake; writing first can meet a reset that loses the alert. A server that
        accepts it sends session tickets, which end the wait; a server that sends neither
        costs the whole wait. No application data is expected before ours.
        """
        deadline = time.monotonic() + min(self.timeout, _EARLY_ALERT_WAIT)
        tls.setblocking(False)
        try:
            while (left := deadline - time.monotonic()) > 0:
                readable, _, _ = select.select([tls], [], [], left)
                if not readable:
                    return
                try:
                    if not tls.recv(1):
                        raise EOFError("closed")
                    return
                except ssl.SSLWantReadError:
                    # A TLS 1.3 server sends session tickets only after it accepted the
                    # client's Finished, certificate included; one that refuses sends an
                    # alert instead. A ticket (or partial record) read means no refusal
                    # is coming, so stop waiting.
                    return
        except (OSError, ssl.SSLError, EOFError) as exc:
            raise self._round_trip_error(exc) from None
        finally:
            tls.settimeout(max(self.deadline - time.monotonic(), 0.001))

    def _pg_round_trip(self, tls: ssl.SSLSocket) -> None:
        spec = self.spec
        message = pg_startup_message(spec.user or "", spec.dbname or "", "tlsconnect-check")
        try:
            tls.sendall(message)
            head = recv_exact(self._bounded(tls), 5)
            kind, length = head[:1], struct.unpack("!i", head[1:])[0]
            payload = recv_exact(self._bounded(tls), min(max(length - 4, 0), 65536))
        except (OSError, ssl.SSLError, EOFError) as exc:
            raise self._round_trip_error(exc) from None
        if kind == b"R":
            code = struct.unpack("!i", payload[:4])[0] if len(payload) >= 4 else -1
            auth = {0: "trust (no password)", 3: "password", 5: "md5", 10: "SASL (SCRAM)"}
            self.report.server_message = (
                f"authentication request: {auth.get(code, f'method {code}')}"
            )
            return
        if kind == b"E":
            fields = pg_error_fields(payload)
            text = fields.get("M", "")
            sqlstate = fields.get("C", "")
            self.report.server_message = f"{fields.get('S', 'ERROR')} {sqlstate}: {text}".strip()
            lowered = text.lower()
            if "client certificate" in lowered or "certificate authentication failed" in lowered:
                sent = self.plan.client_cert
                diagnosis = client_cert_problem(
                    sent=sent, how=f"PostgreSQL said: {text}", service="postgresql"
                )
                if sent and "certificate authentication failed" in lowered:
                    diagnosis = Diagnosis(
                        diagnosis.error_class,
                        diagnosis.error,
                        f"the certificate's common name must be the user name: connect as "
                        f"the user the certificate was issued to (not '{spec.user}')",
                        "wrong_user",
                    )
                raise _Failed(diagnosis)
            self.report.notes.append(
                "TLS is fine; the server then refused this login (see 'server said'), which "
                "is about the user or database, not TLS"
            )
            return
        raise _Failed(
            _wrong_protocol(
                f"the server answered the startup message with {kind!r}, not as PostgreSQL does",
                "not_postgresql",
            )
        )

    def _kafka_round_trip(self, tls: ssl.SSLSocket) -> None:
        try:
            tls.sendall(api_versions_request())
            answer = read_api_versions(self._bounded(tls))
        except (OSError, ssl.SSLError, EOFError) as exc:
            raise self._round_trip_error(exc) from None
        except ValueError as exc:
            raise _Failed(
                _wrong_protocol(
                    f"the server's answer to ApiVersions is not Kafka's: {exc}",
                    "not_kafka",
                )
            ) from None
        if answer is None:
            raise _Failed(self._closed_after_handshake())
        self.report.server_message = f"ApiVersions answered (error code {answer})"

    # -- HTTP (the services reached over HTTPS) -----------------------------------------

    @property
    def is_http(self) -> bool:
        return self.spec.service in HTTP_SERVICES

    def _http_round_trip(self, tls: ssl.SSLSocket) -> None:
        """``HEAD /``: any HTTP status (even 401) means TLS is fine, the client
        certificate included."""
        try:
            tls.sendall(http_head_request(self.server_hostname, self.spec.port))
            answer = read_http_status(self._bounded(tls))
        except (OSError, ssl.SSLError, EOFError) as exc:
            raise self._round_trip_error(exc) from None
        except ValueError as exc:
            raise _Failed(
                Diagnosis(
                    ErrorClass.PROTOCOL_ERROR,
                    f"the server's answer to HEAD / is not HTTP: {exc}",
                    "check the port (the one in the service's https:// URI) and the service "
                    "type (--service)",
                    "not_http",
                )
            ) from None
        if answer is None:
            raise _Failed(self._closed_after_handshake())
        status, reason = answer
        self.report.server_message = f"HTTP {status} {reason}".strip()
        if status in (495, 496):
            # nginx's answers about the client certificate, sent over a finished handshake.
            raise _Failed(
                client_cert_problem(
                    sent=self.plan.client_cert,
                    how=f"the server answered HTTP {status} {reason}".strip(),
                    service=self.spec.service.value,
                )
            )
        if status in _HTTP_AUTH_STATUSES:
            self.report.notes.append(
                f"TLS is fine; the server asks for credentials (HTTP {status}), which is "
                "about the user, not TLS"
            )

    def _raise_if_plaintext_http(self, exc: BaseException) -> None:
        """After a handshake that met no TLS (or no answer), whether the port speaks plain
        HTTP: one plaintext ``HEAD /`` on a new connection says so (no material is sent)."""
        if not self.is_http or self.address is None:
            return
        reason = str(getattr(exc, "reason", "") or "")
        if not (
            isinstance(exc, TimeoutError | ssl.SSLEOFError | ConnectionResetError)
            or reason in _PLAINTEXT_REASONS
        ):
            return
        try:
            sock = self._new_socket()
        except OSError:
            return
        try:
            sock.settimeout(min(self.timeout, 3.0))
            sock.sendall(http_head_request(self.server_hostname, self.spec.port))
            answer = read_http_status(self._bounded(sock, 3.0))
        except (OSError, ValueError):
            return
        finally:
            sock.close()
        if answer is not None:
            status_line = f"HTTP {answer[0]} {answer[1]}".strip()
            raise _Failed(
                no_tls(self.spec.service.value, f"this port answers plaintext HTTP ({status_line})")
            )

    def _wait_for_alert(self, tls: ssl.SSLSocket) -> None:
        """No protocol known: wait briefly for an alert (TLS 1.3 client certificate checks)."""
        try:
            tls.settimeout(min(self._left(), _ALERT_WAIT))
            tls.recv(1)
        except TimeoutError:
            return
        except ssl.SSLError as exc:
            if not isinstance(exc, ssl.SSLEOFError):
                raise _Failed(self._tls_diagnosis(exc, None)) from None
        except OSError:
            return

    # -- Redis and MySQL ---------------------------------------------------------------

    def _answers_plaintext_redis(self) -> bool:
        """Whether the port answers a plaintext ``PING`` as Redis does (a plaintext Redis
        reads a TLS ClientHello as an unfinished command and waits, so the handshake
        times out instead of failing)."""
        if self.address is None:
            return False
        try:
            sock = self._new_socket()
        except OSError:
            return False
        try:
            sock.settimeout(min(self.timeout, 3.0))
            sock.sendall(REDIS_PING)
            return read_redis_line(self._bounded(sock, 3.0))[:1] in (b"+", b"-")
        except (OSError, ValueError, EOFError):
            return False
        finally:
            sock.close()

    def _kv_round_trips(self) -> dict[Service, Callable[[ssl.SSLSocket], None]]:
        return {
            Service.REDIS: self._redis_round_trip,
            Service.VALKEY: self._redis_round_trip,
            Service.MYSQL: self._mysql_round_trip,
        }

    def _not_mysql(self, how: str) -> _Failed:
        return _Failed(
            _wrong_protocol(
                f"the server does not answer as MySQL does: {how}",
                "not_mysql",
            )
        )

    def _mysql_ssl_request(self, sock: socket.socket) -> MySQLGreeting:
        """Read the server's greeting and ask for TLS, as MySQL clients do."""
        try:
            greeting = mysql_greeting(self._bounded(sock))
        except EOFError:
            raise self._not_mysql("it closed the connection without a greeting") from None
        except TimeoutError:
            raise self._not_mysql(
                f"it sent no greeting within {self.timeout:g} s (a MySQL server greets first; "
                "a server that waits may expect TLS at once)"
            ) from None
        except ValueError as exc:
            raise self._not_mysql(f"its first packet is {exc}") from None
        if isinstance(greeting, MySQLAnswer):
            self.report.server_message = str(greeting)
            raise _Failed(
                Diagnosis(
                    ErrorClass.PROTOCOL_ERROR,
                    f"the server refused the connection before TLS could start: {greeting}",
                    "this is about the server or this client's address (too many "
                    "connections, a blocked host), not TLS; try again or ask the operator",
                    "refused_before_tls",
                )
            )
        if not greeting.offers_tls:
            raise _Failed(
                no_tls(
                    "mysql",
                    f"its greeting ({greeting.server_version}) does not offer TLS (no "
                    "CLIENT_SSL capability)",
                )
            )
        sock.sendall(mysql_ssl_request(greeting))
        return greeting

    def _mysql_round_trip(self, tls: ssl.SSLSocket) -> None:
        greeting = self.mysql_greeting
        if greeting is None:  # set by the handshake; for the type checker
            raise self._not_mysql("no greeting was read")
        user = self.spec.user or DEFAULT_PG_USER
        try:
            tls.sendall(mysql_handshake_response(greeting, user))
            answer = mysql_answer(self._bounded(tls))
        except (OSError, ssl.SSLError, EOFError) as exc:
            raise self._round_trip_error(exc) from None
        except ValueError as exc:
            raise self._not_mysql(f"its answer to the login is {exc}") from None
        if answer is None:
            raise _Failed(self._closed_after_handshake())
        self.report.server_message = f"{greeting.server_version}: {answer}"
        if answer.kind == "error":
            self.report.notes.append(
                f"TLS is fine; the server then refused the login as '{user}' without a "
                "password (see 'server said'): check never sends a password, so that is "
                "about the user, not TLS"
            )

    def _redis_round_trip(self, tls: ssl.SSLSocket) -> None:
        try:
            tls.sendall(REDIS_PING)
            line = read_redis_line(self._bounded(tls))
        except EOFError:
            raise _Failed(self._closed_after_handshake()) from None
        except (OSError, ssl.SSLError) as exc:
            raise self._round_trip_error(exc) from None
        except ValueError as exc:
            raise _Failed(
                _wrong_protocol(
                    f"the server does not answer PING as Redis does ({exc})",
                    "not_redis",
                )
            ) from None
        text = line.decode("utf-8", "replace")
        self.report.server_message = text
        if text.startswith("+"):
            return
        if text.startswith("-"):
            word = text[1:].split(" ", 1)[0]
            if word in ("NOAUTH", "WRONGPASS", "NOPERM"):
                self.report.notes.append(
                    "TLS is fine; the server wants credentials before it answers PING ("
                    f"{word}): check never sends a password, so this is not a failure"
                )
            else:
                self.report.notes.append(
                    "TLS is fine; the server answered PING with an error (see 'server said')"
                )
            return
        raise _Failed(
            _wrong_protocol(
                f"the server answered PING with {text[:40]!r}, not as Redis does",
                "not_redis",
            )
        )
