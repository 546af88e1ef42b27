"""The probe: :func:`check` connects for real and says what happened, and why.

Steps, each timed: resolve the host, connect over TCP, do the TLS handshake with the
context the plan builds (after what the protocol says first: PostgreSQL's SSLRequest,
MySQL's greeting and SSLRequest), then one protocol round trip (see :mod:`.probes`: one
module per protocol) so that a client certificate the server rejects is caught even under
TLS 1.3, where the rejection arrives after the handshake. No password is ever sent.

The verdict on the host name is the one the driver reaches: for PostgreSQL, libpq's rule
by default (psycopg and psycopg2 decide with it), Python's ``ssl`` with ``driver=`` one
that uses it (asyncpg, pg8000); both rules are applied (:mod:`._hostnames`) to
``server_name`` when one is given (else to the host), and the report names the drivers
that would decide otherwise.

The whole check (connection, handshake, round trip) ends by one deadline, ``timeout``
seconds after it starts, however slowly the server sends; after a failed handshake the
side connections that name its cause get at most :data:`DIAGNOSIS_WAIT` seconds more.

When verification fails, further handshakes on side connections read the certificate
the server presents, for the diagnosis; no client certificate is presented on them and
nothing is sent after their handshake. The plan is never weakened to make a connection
work. A check that verifies fine reads everything it reports from ``ssl`` itself;
``cryptography`` is loaded only to explain a failure.
"""

from __future__ import annotations

import select
import socket
import ssl
import time

from ._conninfo import refuse_socket_hosts
from ._context import build_context
from ._diagnose import is_ip_address
from ._errors import ConfigError
from ._handshake import READ_TIMEOUT, load_der, read_presented_chain
from ._hostnames import (
    LIBPQ,
    PYTHON_SSL,
    NameMatch,
    check_driver,
    drivers_with_rule,
    name_rule,
    peer_names,
)
from ._model import Driver, Service
from ._pem import common_name
from ._plan import OPTIONS_DOC, Options, TLSPlan, plan_for
from ._report import CheckReport, certificate_info, peer_certificate_info
from ._target import Target, parse_target, redact_target
from ._wire import tls_handshake_by
from .probes import DEFAULT_USER, Failed, Probe, Session, probe_for

# typing is not imported at run time: this module is on the path of every check.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cryptography import x509

    from ._material import Credentials
    from ._model import SSLMode, SSLNegotiation, Trust
    from ._pem import Material

__all__ = ["check"]

DEFAULT_PG_USER = DEFAULT_USER
DEFAULT_PG_DBNAME = "defaultdb"
# OpenSSL's X509_V_ERR_HOSTNAME_MISMATCH, _EMAIL_MISMATCH, _IP_ADDRESS_MISMATCH.
_HOSTNAME_CODES = frozenset({62, 63, 64})
#: How long a probe that sent a client certificate waits for the server's verdict on it.
_EARLY_ALERT_WAIT = 0.15


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
    driver: str | Driver | None = None,
) -> CheckReport:
    """Connect to ``target`` for real and report what happened, why, and the fix.

    ``target`` takes every form :func:`~tlsconnect.params` takes: a service URI, a libpq
    ``key=value`` string (``hostaddr`` is honoured as libpq does: connect to that
    address, verify ``host``), or ``host:port`` with ``service``. ``driver``: give that
    driver's verdict (its host-name rule); by default a PostgreSQL target gets libpq's.
    ``timeout`` bounds the whole check. With ``sslnegotiation="direct"`` a PostgreSQL
    target is checked as libpq 17+ connects then: TLS at once, offering ALPN "postgresql".

    Bad input (an unknown service or driver, a malformed target or file) raises
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
    chosen = None if driver is None else check_driver(driver, spec.service)
    rule = name_rule(spec.service, chosen, spec.scheme)
    if spec.service is Service.POSTGRESQL and spec.origin == "conninfo":
        # libpq would take these to a Unix socket, where no TLS is spoken.
        refuse_socket_hosts(spec.params.get("host"), "check", hostaddr=spec.params.get("hostaddr"))
    plan = plan_for(spec, given)
    address = _connect_address(spec, plan)
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
        verdict_of=chosen.value if chosen is not None else rule,
        name_rule=rule,
        server_name=plan.server_name,
    )
    if chosen is Driver.CONFLUENT_KAFKA:
        report.notes.append(
            "librdkafka (confluent-kafka) matches host names with OpenSSL's own defaults, "
            "which may also accept a certificate that names its host only in the CN; this "
            "verdict follows Python's ssl rule, which refuses those"
        )
    # The name verified and sent as SNI: server_name when given (the context built from
    # the plan verifies it too), else the host, as libpq does with hostaddr.
    verified_name = plan.server_name or spec.host.strip("[]")
    if plan.server_name is not None:
        report.notes.append(
            f"connects to {address} and verifies the certificate against server_name "
            f"'{plan.server_name}' (sent as SNI)"
            if plan.check_hostname
            else f"connects to {address} and sends server_name '{plan.server_name}' as SNI"
        )
    elif address != spec.host:
        report.notes.append(
            f"connected to {address} (hostaddr) and verified the certificate for "
            f"'{spec.host}', as libpq does"
        )
    if not plan.verify_chain:
        report.notes.append(
            "sslmode=require without a CA verifies nothing: the server could be anyone; pass "
            "the project CA and use sslmode=verify-full"
        )
    if spec.service is Service.POSTGRESQL:
        spec.user = user or spec.user or _default_user(plan)
        spec.dbname = dbname or spec.dbname or DEFAULT_PG_DBNAME
    if spec.service is Service.MYSQL:
        spec.user = user or spec.user or _default_user(plan)
    if plan.direct_tls:
        report.notes.append(
            "direct TLS (sslnegotiation=direct): TLS at once, offering ALPN 'postgresql', as "
            "libpq 17+ does; the server must be PostgreSQL 17 or newer"
        )
    session = Session(spec, plan, report, float(timeout), verified_name)
    probe = probe_for(spec.service, direct=plan.direct_tls)(session)
    _Check(session, probe, rule, address).run()
    return report


check.__doc__ = (check.__doc__ or "") + OPTIONS_DOC


def _connect_address(spec: Target, plan: TLSPlan) -> str:
    """Where to connect: a libpq target's ``hostaddr`` (its first, as for ``host``), else
    the host. A ``hostaddr`` without ``host`` (or ``server_name``) leaves libpq nothing to
    verify the name against: it refuses that under verify-full, and so does check."""
    hostaddr = (spec.params.get("hostaddr") or "").split(",")[0].strip()
    if not hostaddr or spec.service is not Service.POSTGRESQL:
        return spec.host
    if not (spec.params.get("host") or "").strip():
        if plan.check_hostname and plan.server_name is None:
            raise ConfigError(
                f"the conninfo gives hostaddr={hostaddr} but no host: libpq then has no "
                "name to verify the certificate against and refuses verify-full; add "
                "host=NAME (the name in the server's certificate, from the service URI)"
            )
        spec.host = hostaddr
    return hostaddr


def _default_user(plan: TLSPlan) -> str:
    """With a client certificate, its CN (PostgreSQL's ``cert`` auth matches it; MySQL's
    ``REQUIRE X509`` users are commonly named the same)."""
    credentials = plan.credentials
    if credentials is not None and credentials.certificate is not None:
        return common_name(credentials.certificate.subject) or DEFAULT_PG_USER
    return DEFAULT_PG_USER


class _Check:
    """One check's steps, in order; the protocol's own parts are the probe's."""

    def __init__(self, session: Session, probe: Probe, rule: str, address: str) -> None:
        self.session = session
        self.probe = probe
        self.rule = rule
        self.connect_host = address
        self.report = session.report
        plan = session.plan
        #: Whether the name is matched here, by libpq's rule, rather than by OpenSSL.
        self.libpq_names = rule == LIBPQ and plan.verify_chain and plan.check_hostname
        # Built before any connection, so that a context that cannot be built (a
        # ConfigError) leaves no socket behind. It explains nothing itself: the check
        # reads the server's certificate and classifies a failure once, on its own.
        self.context = build_context(plan)
        self.context.expectation = None
        if self.libpq_names:
            self.context.check_hostname = False  # the chain is verified; the name below

    def _timed(self, step: str, started: float) -> None:
        self.report.timings[step] = round((time.perf_counter() - started) * 1000, 3)

    def run(self) -> None:
        self.session.start()
        try:
            self._run()
        except Failed as failed:
            diagnosis = failed.diagnosis
            report = self.report
            report.ok = False
            report.error_class = diagnosis.error_class.value
            report.error = diagnosis.error
            report.fix = diagnosis.fix or None
            report.error_detail = diagnosis.detail

    def _run(self) -> None:
        session, spec = self.session, self.session.spec
        started = time.perf_counter()
        try:
            addresses = socket.getaddrinfo(self.connect_host, spec.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            self._timed("resolve", started)
            raise Failed(session.unreachable(exc, "resolve")) from None
        self._timed("resolve", started)

        started = time.perf_counter()
        try:
            raw = self._connect(addresses)
        finally:
            self._timed("tcp_connect", started)

        started = time.perf_counter()
        try:
            tls = self._handshake(raw)
        finally:
            self._timed("tls_handshake", started)
        try:
            self._record_session(tls)
            if self.probe.speaks:
                if session.plan.client_cert:
                    self._early_alert(tls)
                started = time.perf_counter()
                try:
                    self.probe.round_trip(tls)
                finally:
                    self._timed("protocol_round_trip", started)
            else:
                self.probe.round_trip(tls)
        finally:
            tls.close()
        self.report.ok = True

    # -- steps ------------------------------------------------------------------------

    def _connect(self, addresses: list[tuple[Any, ...]]) -> socket.socket:
        session = self.session
        last: OSError | None = None
        for family, kind, proto, _, address in addresses:
            sock = session.connection(family, kind, proto)
            try:
                sock.settimeout(session.left())
                sock.connect(address)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            session.address = (family, kind, proto, address)
            return sock
        if last is None:
            last = OSError(f"no address to connect to for {self.connect_host}")
        raise Failed(session.unreachable(last, "tcp_connect"))

    def _handshake(self, raw: socket.socket) -> ssl.SSLSocket:
        session = self.session
        try:
            self.probe.before_tls(raw)
            tls = self.context.wrap_socket(
                raw, server_hostname=session.server_hostname, do_handshake_on_connect=False
            )
            try:
                tls_handshake_by(tls, session.deadline)
            except BaseException:
                tls.close()  # it holds the connection now: raw.close() below is a no-op
                raise
            return tls
        except Failed:
            raw.close()
            raise
        except ssl.SSLCertVerificationError as exc:
            raw.close()
            session.allow_diagnosis()
            leaf, chain = self._after_verification_failure(exc)
            self._record_chain(leaf, chain)
            raise Failed(session.tls_diagnosis(exc, leaf)) from None
        except (ssl.SSLError, OSError) as exc:
            raw.close()
            session.allow_diagnosis()
            plaintext = self.probe.plaintext(exc)
            if plaintext is not None:
                raise Failed(plaintext) from None
            if isinstance(exc, TimeoutError):
                raise Failed(session.unreachable(exc, "tls_handshake")) from None
            raise Failed(session.tls_diagnosis(exc, None)) from None

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
            peer = self._chain_check()
            if peer is not None:
                self.report.chain_verified = True
                self._compare_names(peer[1], accepted=False)
                return peer[0], []
        self.report.chain_verified = False
        return self._read_presented_chain()

    def _chain_check(self) -> tuple[x509.Certificate | None, dict[str, Any]] | None:
        """A handshake on a side connection that verifies the chain as the plan does,
        but not the host name, with no client certificate: the leaf and what ``ssl``
        read of it; ``None`` when the chain does not verify."""
        context = build_context(self.session.plan, client_cert=False)
        context.check_hostname = False
        context.expectation = None
        try:
            with self.session.side() as sock:
                if not self.probe.before_tls_side(sock):
                    return None
                with context.wrap_socket(
                    sock,
                    server_hostname=self.session.server_hostname,
                    do_handshake_on_connect=False,
                ) as tls:
                    tls_handshake_by(tls, sock.deadline)
                    return load_der(tls.getpeercert(binary_form=True)), tls.getpeercert() or {}
        except (OSError, ssl.SSLError, ValueError, EOFError):
            return None

    def _read_presented_chain(self) -> tuple[x509.Certificate | None, list[x509.Certificate]]:
        """A separate, non-verifying handshake, only to read what the server presents
        (no client certificate is sent on it and nothing is written after the handshake)."""
        session = self.session
        if session.address is None:
            return None, []
        family, _, _, address = session.address
        return read_presented_chain(
            address,
            session.server_hostname,
            postgres=session.service is Service.POSTGRESQL,
            mysql=session.service is Service.MYSQL,
            family=family,
            timeout=max(min(session.deadline - time.monotonic(), READ_TIMEOUT), 0.001),
        )

    # -- the host name, by the driver's rule ----------------------------------------------

    def _compare_names(self, peer: dict[str, Any], *, accepted: bool) -> NameMatch:
        """Apply both host-name rules to the verified peer, and note where the drivers
        part. ``accepted``: the verdict this check reached, by the rule it follows."""
        session = self.session
        match = NameMatch(session.server_hostname, peer_names(peer))
        if session.service is not Service.POSTGRESQL or not session.plan.check_hostname:
            return match
        other = PYTHON_SSL if self.rule == LIBPQ else LIBPQ
        if match.verdict(other) == accepted:
            return match
        report = self.report
        report.drivers_deciding_otherwise = drivers_with_rule(session.service, other)
        libpq_word = "libpq (psycopg, psycopg2)"
        python_word = "asyncpg and other drivers that use Python's ssl"
        if match.libpq and not match.python_ssl:
            report.notes.append(
                f"{libpq_word} accepts this certificate: {match.why_they_differ()}; "
                f"{python_word} will refuse it"
            )
        elif match.python_ssl and not match.libpq:
            report.notes.append(
                f"{python_word} accept this certificate, and {libpq_word} will refuse it: "
                f"{match.why_they_differ()}"
            )
        return match

    def _check_names(self, tls: ssl.SSLSocket) -> None:
        """The host name of the verified peer, by the rule of the driver: OpenSSL has
        applied Python's ``ssl`` rule in the handshake already; libpq's is applied here."""
        session, plan = self.session, self.session.plan
        if not (plan.verify_chain and plan.check_hostname):
            return
        peer = tls.getpeercert() or {}
        if not self.libpq_names:
            self._compare_names(peer, accepted=True)
            return
        match = NameMatch(session.server_hostname, peer_names(peer))
        self._compare_names(peer, accepted=match.libpq)
        if match.libpq:
            return
        # Refused by libpq's rule: libpq closes here, before the startup message.
        self.report.hostname_verified = False
        refused = ssl.SSLCertVerificationError(
            1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: host name mismatch"
        )
        refused.verify_code = 64 if is_ip_address(session.server_hostname) else 62
        refused.verify_message = "Hostname mismatch"
        leaf = load_der(tls.getpeercert(binary_form=True))
        self._record_chain(leaf, [])
        raise Failed(session.tls_diagnosis(refused, leaf))

    # -- what the report shows --------------------------------------------------------------

    def _record_session(self, tls: ssl.SSLSocket) -> None:
        report, plan = self.report, self.session.plan
        report.tls_version = tls.version()
        cipher = tls.cipher()
        report.cipher = cipher[0] if cipher else None
        report.chain_verified = plan.verify_chain
        report.hostname_verified = plan.check_hostname
        self._check_names(tls)
        der = tls.getpeercert(binary_form=True)
        peer = tls.getpeercert() if plan.verify_chain else None
        verified = getattr(tls, "get_verified_chain", None)
        if verified is not None and plan.verify_chain:  # Python 3.13+
            try:
                chain = [c for c in (load_der(item) for item in verified()) if c is not None]
            except (ssl.SSLError, ValueError):
                chain = []
            self._record_chain(load_der(der), chain)
        elif peer and der:
            # Everything shown is what ssl read of the verified peer: no parser to load.
            info = peer_certificate_info(peer, der)
            report.chain = [info]
            report.peer_subject = info["subject"]
            report.peer_issuer = info["issuer"]
            report.peer_not_after = info["not_after"]
            report.notes.append(_ONLY_LEAF)
        else:
            self._record_chain(load_der(der), [])

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
            report.notes.append(_ONLY_LEAF)

    def _early_alert(self, tls: ssl.SSLSocket) -> None:
        """Read an alert the server may send about our certificate (TLS 1.3).

        A server that refuses the client certificate sends an alert and closes right after
        the handshake; writing first can meet a reset that loses the alert. A server that
        accepts it sends session tickets, which end the wait; a server that sends neither
        costs the whole wait. No application data is expected before ours.
        """
        session = self.session
        deadline = min(session.deadline, time.monotonic() + _EARLY_ALERT_WAIT)
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
            raise session.round_trip_error(exc) from None
        finally:
            tls.settimeout(max(session.deadline - time.monotonic(), 0.001))


_ONLY_LEAF = (
    "chain: only the server's own certificate is shown (Python before 3.13 cannot read "
    "the rest of the chain the server sent)"
)
