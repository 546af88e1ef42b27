"""The probe: :func:`check` connects for real and says what happened, and why.

Steps, each timed: resolve the host, connect over TCP, do the TLS handshake with the
context the plan builds (for PostgreSQL after its SSLRequest), then one protocol round
trip (PostgreSQL: a StartupMessage; Kafka: an ApiVersions request) so that a client
certificate the server rejects is caught even under TLS 1.3, where the rejection arrives
after the handshake.

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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._conninfo import parse_conninfo, split_host_port, split_hosts
from ._diagnose import (
    Diagnosis,
    classify_tls_error,
    classify_unreachable,
    client_cert_problem,
    no_tls,
)
from ._errors import ConfigError
from ._material import Credentials, Material
from ._model import Service
from ._plan import TLSPlan, _resolve_quiet
from ._report import CheckReport, ErrorClass, certificate_info

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["Target", "check", "parse_target"]

DEFAULT_PG_USER = "tlsconnect-check"
DEFAULT_PG_DBNAME = "defaultdb"
_SSL_REQUEST = struct.pack("!ii", 8, 80877103)
_PG_PROTOCOL_3 = 196608
_KAFKA_CORRELATION_ID = 0x746C73  # "tls"
_KAFKA_CLIENT_ID = b"tlsconnect-check"
_KAFKA_SCHEMES = ("kafka://", "kafka+ssl://", "ssl://", "sasl_ssl://")
_PG_SCHEMES = ("postgres://", "postgresql://")
#: How long a probe of a service without a known protocol waits for an alert.
_ALERT_WAIT = 0.5
#: How long a probe that sent a client certificate waits for the server's verdict on it.
_EARLY_ALERT_WAIT = 0.15


@dataclass
class Target:
    """Where to connect and as which service, parsed from a URI or ``host:port``."""

    service: Service
    host: str
    port: int
    user: str | None = None
    dbname: str | None = None
    sslmode: str | None = None
    uri_material: dict[str, str] = field(default_factory=dict)


def parse_target(target: str, service: str | Service | None = None) -> Target:
    """``postgres://…``, ``kafka://host:port``, ``SERVICE://host:port`` or ``host:port``."""
    if not isinstance(target, str) or not target.strip():
        raise ConfigError(
            "target must be a service URI (postgres://…, kafka://host:port) or host:port"
        )
    text = target.strip()
    lowered = text.lower()
    chosen = None if service is None else Service.parse(service)
    if lowered.startswith(_PG_SCHEMES):
        if chosen is not None and chosen is not Service.POSTGRESQL:
            raise ConfigError(
                f"target {text.split('://')[0]}:// is PostgreSQL but service={chosen.value} "
                "was given; leave the service out"
            )
        params = parse_conninfo(text)
        host, port = split_hosts(params)[0]
        material: dict[str, str] = {
            k: params[k] for k in ("sslrootcert", "sslcert", "sslkey", "sslpassword") if k in params
        }
        return Target(
            Service.POSTGRESQL,
            host,
            port,
            user=params.get("user"),
            dbname=params.get("dbname"),
            sslmode=params.get("sslmode"),
            uri_material=material,
        )
    if lowered.startswith(_KAFKA_SCHEMES):
        if chosen is not None and chosen is not Service.KAFKA:
            raise ConfigError(
                f"target kafka:// is Kafka but service={chosen.value} was given; leave the "
                "service out"
            )
        chosen = Service.KAFKA
        text = text.split("://", 1)[1]
    elif "://" in text:
        scheme, text = text.split("://", 1)
        from_scheme = Service.parse(scheme)
        if chosen is not None and chosen is not from_scheme:
            raise ConfigError(
                f"target {scheme}:// is {from_scheme.value} but service={chosen.value} was given"
            )
        chosen = from_scheme
    if chosen is None:
        raise ConfigError(
            f"target {target!r} does not say which service it is; pass service= (--service), "
            "e.g. --service postgresql, or use a postgres:// or kafka:// URI"
        )
    host, port = _host_port(text.split("/", 1)[0].split("?", 1)[0], target)
    return Target(chosen, host, port)


def _host_port(text: str, original: str) -> tuple[str, int]:
    return split_host_port(text.rpartition("@")[2], f"target {original!r}")


def check(
    target: str,
    *,
    service: str | Service | None = None,
    sslmode: str | None = None,
    trust: str | None = None,
    credentials: Credentials | None = None,
    ca: Material | None = None,
    cert: Material | None = None,
    key: Material | None = None,
    key_password: str | bytes | None = None,
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
    spec = parse_target(target, service)
    material_given = credentials is not None or any(v is not None for v in (ca, cert, key))
    if spec.uri_material and not material_given:
        rootcert = spec.uri_material.get("sslrootcert")
        if rootcert == "system" and trust is None:
            trust = "system"
        elif rootcert:
            ca = rootcert
        cert = spec.uri_material.get("sslcert") or None
        key = spec.uri_material.get("sslkey") or None
        if key_password is None and key is not None:
            key_password = spec.uri_material.get("sslpassword") or None
    plan = _resolve_quiet(
        spec.service,
        sslmode=sslmode if sslmode is not None else spec.sslmode,
        trust=trust,
        credentials=credentials,
        ca=ca,
        cert=cert,
        key=key,
        key_password=key_password,
    )
    report = CheckReport(
        ok=False,
        target=target,
        service=plan.service,
        host=spec.host,
        port=spec.port,
        sslmode=plan.sslmode,
        trust=plan.trust,
        client_cert_sent=plan.client_cert,
        timeout=float(timeout),
    )
    if not plan.verify_chain:
        report.notes.append(
            "sslmode=require without a CA verifies nothing: the server could be anyone; pass "
            "the project CA and use sslmode=verify-full"
        )
    if spec.service is Service.POSTGRESQL:
        spec.user = user or spec.user or _default_pg_user(plan)
        spec.dbname = dbname or spec.dbname or DEFAULT_PG_DBNAME
    _Probe(spec, plan, report, float(timeout)).run()
    return report


def _default_pg_user(plan: TLSPlan) -> str:
    """With a client certificate, its CN (PostgreSQL's ``cert`` auth matches it)."""
    credentials = plan.credentials
    if credentials is not None and credentials.certificate is not None:
        from cryptography.x509.oid import NameOID

        cns = credentials.certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        if cns:
            return str(cns[0].value)
    return DEFAULT_PG_USER


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
        self.addresses: list[tuple[Any, ...]] = []
        self.address: tuple[Any, ...] | None = None
        self.server_hostname = spec.host.strip("[]")

    @property
    def is_pg(self) -> bool:
        return self.spec.service is Service.POSTGRESQL

    @property
    def is_kafka(self) -> bool:
        return self.spec.service is Service.KAFKA

    def _timed(self, step: str, started: float) -> None:
        self.report.timings[step] = round((time.perf_counter() - started) * 1000, 3)

    def run(self) -> None:
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
            if self.is_pg or self.is_kafka:
                if self.plan.client_cert:
                    self._early_alert(tls)
                started = time.perf_counter()
                try:
                    if self.is_pg:
                        self._pg_round_trip(tls)
                    else:
                        self._kafka_round_trip(tls)
                finally:
                    self._timed("protocol_round_trip", started)
            else:
                self._wait_for_alert(tls)
        finally:
            tls.close()
        self.report.ok = True

    # -- steps ------------------------------------------------------------------------

    def _unreachable(self, exc: BaseException, step: str) -> Diagnosis:
        return classify_unreachable(
            exc, step=step, host=self.spec.host, port=self.spec.port, timeout=self.timeout
        )

    def _connect(self) -> socket.socket:
        last: OSError | None = None
        for family, kind, proto, _, address in self.addresses:
            sock = socket.socket(family, kind, proto)
            sock.settimeout(self.timeout)
            try:
                sock.connect(address)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            self.address = (family, kind, proto, address)
            return sock
        assert last is not None
        raise _Failed(self._unreachable(last, "tcp_connect"))

    def _new_socket(self) -> socket.socket:
        assert self.address is not None
        family, kind, proto, address = self.address
        sock = socket.socket(family, kind, proto)
        sock.settimeout(self.timeout)
        sock.connect(address)
        return sock

    def _pg_ssl_request(self, sock: socket.socket) -> None:
        sock.sendall(_SSL_REQUEST)
        answer = sock.recv(1)
        if answer == b"S":
            return
        if answer == b"N":
            raise _Failed(
                no_tls("postgresql", "it answered 'N' to PostgreSQL's SSLRequest (ssl = off)")
            )
        if not answer:
            raise _Failed(
                Diagnosis(
                    ErrorClass.PROTOCOL_ERROR,
                    "the server closed the connection when asked for TLS (PostgreSQL's "
                    "SSLRequest): it is not a PostgreSQL server, or not this port",
                    "check the port and the service type (--service)",
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
            Diagnosis(
                ErrorClass.PROTOCOL_ERROR,
                f"the server does not answer as PostgreSQL does: {how}",
                "check the port and the service type (--service)",
                "not_postgresql",
            )
        )

    def _handshake(self, raw: socket.socket) -> ssl.SSLSocket:
        context = self.plan.ssl_context()
        try:
            if self.is_pg:
                self._pg_ssl_request(raw)
            return context.wrap_socket(raw, server_hostname=self.server_hostname)
        except _Failed:
            raw.close()
            raise
        except ssl.SSLCertVerificationError as exc:
            raw.close()
            leaf, chain = self._read_presented_chain()
            self._record_chain(leaf, chain)
            raise _Failed(self._tls_diagnosis(exc, leaf)) from None
        except TimeoutError as exc:
            raw.close()
            if self._answers_plaintext():
                raise _Failed(self._plaintext_diagnosis()) from None
            raise _Failed(self._unreachable(exc, "tls_handshake")) from None
        except (ssl.SSLError, OSError) as exc:
            raw.close()
            if isinstance(exc, ssl.SSLEOFError | ConnectionResetError) and (
                self._answers_plaintext()
            ):
                raise _Failed(self._plaintext_diagnosis()) from None
            raise _Failed(self._tls_diagnosis(exc, None)) from None

    def _tls_diagnosis(self, exc: BaseException, leaf: x509.Certificate | None) -> Diagnosis:
        return classify_tls_error(
            exc,
            plan=self.plan,
            host=self.spec.host.strip("[]"),
            leaf=leaf,
            client_cert_sent=self.plan.client_cert,
            service=self.spec.service.value,
        )

    def _plaintext_diagnosis(self) -> Diagnosis:
        return no_tls(
            self.spec.service.value,
            "this port answers plaintext Kafka requests (a PLAINTEXT listener)",
        )

    def _record_session(self, tls: ssl.SSLSocket) -> None:
        report = self.report
        report.tls_version = tls.version()
        cipher = tls.cipher()
        report.cipher = cipher[0] if cipher else None
        der = tls.getpeercert(binary_form=True)
        chain: list[bytes] = []
        verified = getattr(tls, "get_verified_chain", None)
        if verified is not None and self.plan.verify_chain:  # Python 3.13+
            try:
                chain = [_der(item) for item in verified()]
            except (ssl.SSLError, ValueError):
                chain = []
        leaf = _load(der) if der else None
        self._record_chain(leaf, [c for c in (_load(d) for d in chain) if c is not None])
        report.chain_verified = self.plan.verify_chain
        report.hostname_verified = self.plan.check_hostname

    def _record_chain(self, leaf: x509.Certificate | None, chain: list[x509.Certificate]) -> None:
        report = self.report
        certs = chain or ([leaf] if leaf is not None else [])
        report.chain = [certificate_info(c) for c in certs]
        if leaf is not None:
            report.peer_subject = leaf.subject.rfc4514_string()
            report.peer_issuer = leaf.issuer.rfc4514_string()
            report.peer_not_after = leaf.not_valid_after_utc.isoformat()
            if not chain:
                report.notes.append(
                    "chain: only the server's own certificate is shown (Python before 3.13 "
                    "cannot read the rest of the chain the server sent)"
                )

    def _read_presented_chain(self) -> tuple[x509.Certificate | None, list[x509.Certificate]]:
        """A separate, non-verifying handshake, only to read what the server presents.

        No client certificate is sent on it and nothing is written after the handshake.
        """
        from ._context import new_client_context

        context: ssl.SSLContext = new_client_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        try:
            sock = self._new_socket()
        except OSError:
            return None, []
        try:
            if self.is_pg:
                sock.sendall(_SSL_REQUEST)
                if sock.recv(1) != b"S":
                    return None, []
            with context.wrap_socket(sock, server_hostname=self.server_hostname) as tls:
                der = tls.getpeercert(binary_form=True)
                chain: list[x509.Certificate] = []
                unverified = getattr(tls, "get_unverified_chain", None)
                if unverified is not None:  # Python 3.13+
                    chain = [c for c in (_load(_der(i)) for i in unverified()) if c is not None]
                return (_load(der) if der else None), chain
        except (OSError, ssl.SSLError, ValueError):
            return None, []
        finally:
            sock.close()

    def _answers_plaintext(self) -> bool:
        """Whether the port answers a plaintext Kafka ApiVersions request."""
        if not self.is_kafka or self.address is None:
            return False
        try:
            sock = self._new_socket()
        except OSError:
            return False
        try:
            sock.settimeout(min(self.timeout, 3.0))
            sock.sendall(_api_versions_request())
            return _read_api_versions(sock) is not None
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
            tls.settimeout(self.timeout)

    def _pg_round_trip(self, tls: ssl.SSLSocket) -> None:
        spec = self.spec
        body = b""
        for name, value in (("user", spec.user), ("database", spec.dbname)):
            body += name.encode() + b"\0" + (value or "").encode("utf-8") + b"\0"
        body += b"application_name\0tlsconnect-check\0\0"
        message = struct.pack("!ii", 8 + len(body), _PG_PROTOCOL_3) + body
        try:
            tls.sendall(message)
            head = _recv_exact(tls, 5)
            kind, length = head[:1], struct.unpack("!i", head[1:])[0]
            payload = _recv_exact(tls, min(max(length - 4, 0), 65536))
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
            fields = _pg_error_fields(payload)
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
            Diagnosis(
                ErrorClass.PROTOCOL_ERROR,
                f"the server answered the startup message with {kind!r}, not as PostgreSQL does",
                "check the port and the service type (--service)",
                "not_postgresql",
            )
        )

    def _kafka_round_trip(self, tls: ssl.SSLSocket) -> None:
        try:
            tls.sendall(_api_versions_request())
            answer = _read_api_versions(tls)
        except (OSError, ssl.SSLError, EOFError) as exc:
            raise self._round_trip_error(exc) from None
        except ValueError as exc:
            raise _Failed(
                Diagnosis(
                    ErrorClass.PROTOCOL_ERROR,
                    f"the server's answer to ApiVersions is not Kafka's: {exc}",
                    "check the port and the service type (--service)",
                    "not_kafka",
                )
            ) from None
        if answer is None:
            raise _Failed(self._closed_after_handshake())
        self.report.server_message = f"ApiVersions answered (error code {answer})"

    def _wait_for_alert(self, tls: ssl.SSLSocket) -> None:
        """No protocol known: wait briefly for an alert (TLS 1.3 client certificate checks)."""
        tls.settimeout(min(self.timeout, _ALERT_WAIT))
        try:
            tls.recv(1)
        except TimeoutError:
            return
        except ssl.SSLError as exc:
            if not isinstance(exc, ssl.SSLEOFError):
                raise _Failed(self._tls_diagnosis(exc, None)) from None
        except OSError:
            return


def _der(item: object) -> bytes:
    """Python 3.13's chain methods return DER bytes."""
    if isinstance(item, bytes | bytearray):
        return bytes(item)
    raise ValueError("not a DER certificate")


def _load(der: bytes) -> x509.Certificate | None:
    from cryptography import x509 as _x509

    try:
        return _x509.load_der_x509_certificate(der)
    except ValueError:
        return None


def _recv_exact(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError("connection closed")
        data += chunk
    return data


def _pg_error_fields(payload: bytes) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in payload.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode("utf-8", "replace")
    return fields


def _api_versions_request() -> bytes:
    body = struct.pack("!hhih", 18, 0, _KAFKA_CORRELATION_ID, len(_KAFKA_CLIENT_ID))
    body += _KAFKA_CLIENT_ID
    return struct.pack("!i", len(body)) + body


def _read_api_versions(sock: socket.socket) -> int | None:
    """The error code of an ApiVersions v0 answer; ``None`` if the peer closed."""
    try:
        size = struct.unpack("!i", _recv_exact(sock, 4))[0]
    except EOFError:
        return None
    if not 6 <= size <= 1_000_000:
        raise ValueError(f"a response of {size} bytes")
    body = _recv_exact(sock, size)
    correlation, error_code = struct.unpack("!ih", body[:6])
    if correlation != _KAFKA_CORRELATION_ID:
        raise ValueError("the correlation id does not match")
    return int(error_code)
