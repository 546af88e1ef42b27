"""Classify a failed probe and say what fixes it.

Pure functions: they read what the probe saw (the exception, the step it happened in, the
server's certificate read by a separate diagnostic handshake, the plan) and return a
:class:`Diagnosis`. Nothing here connects anywhere or changes what is verified.
"""

from __future__ import annotations

import socket
import ssl

from ._model import ErrorClass
from ._pem import display_name, san_strings
from ._term import printable

# This module is on the path of every context (the diagnosing socket): typing,
# dataclasses, datetime and ipaddress are not imported at run time until needed.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from cryptography import x509

__all__ = [
    "Diagnosis",
    "Expectation",
    "classify_tls_error",
    "classify_unreachable",
    "client_cert_problem",
    "is_ip_address",
    "no_tls",
]

_CA_DOWNLOAD = "`avn service user-creds-download` saves it as ca.pem"

# OpenSSL X509_V_ERR_* codes (x509_vfy.h) that ssl.SSLCertVerificationError carries.
_UNTRUSTED_CODES = {2, 18, 19, 20, 21, 24, 27, 28, 32}
_EXPIRED_CODES = {10, 12}  # certificate / CRL has expired
_NOT_YET_VALID_CODES = {9, 11}
_HOSTNAME_CODES = {62, 63, 64}  # host name, email, IP address mismatch

# Alerts a server sends about the client's certificate (OpenSSL reason strings).
_CLIENT_CERT_ALERTS = {
    "TLSV13_ALERT_CERTIFICATE_REQUIRED",
    "TLSV1_ALERT_UNKNOWN_CA",
    "SSLV3_ALERT_BAD_CERTIFICATE",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED",
    "SSLV3_ALERT_CERTIFICATE_REVOKED",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
    "TLSV1_ALERT_ACCESS_DENIED",
    "PEER_DID_NOT_RETURN_A_CERTIFICATE",
}
_PROTOCOL_REASONS = {
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "UNSUPPORTED_PROTOCOL",
    "NO_PROTOCOLS_AVAILABLE",
    "WRONG_SSL_VERSION",
    "VERSION_TOO_LOW",
    "VERSION_TOO_HIGH",
    "TLSV1_ALERT_INSUFFICIENT_SECURITY",
    "NO_SHARED_CIPHER",
    "NO_CIPHERS_AVAILABLE",
    "SSLV3_ALERT_HANDSHAKE_FAILURE",
    "NO_SUITABLE_SIGNATURE_ALGORITHM",
    "NO_SHARED_SIGNATURE_ALGORITHMS",
    "NO_SHARED_GROUPS",
}
_NOT_TLS_REASONS = {
    "WRONG_VERSION_NUMBER",
    "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG",
    "HTTP_REQUEST",
    "HTTPS_PROXY_REQUEST",
    "UNKNOWN_PROTOCOL",
    "RECORD_LENGTH_MISMATCH",
}


class Diagnosis:
    """One failure: its class, what happened, what fixes it, and a finer detail."""

    __slots__ = ("detail", "error", "error_class", "fix")

    def __init__(
        self, error_class: ErrorClass, error: str, fix: str, detail: str | None = None
    ) -> None:
        self.error_class = error_class
        self.error = error
        self.fix = fix
        self.detail = detail

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Diagnosis):
            return NotImplemented
        return (self.error_class, self.error, self.fix, self.detail) == (
            other.error_class,
            other.error,
            other.fix,
            other.detail,
        )

    def __hash__(self) -> int:
        return hash((self.error_class, self.error, self.fix, self.detail))

    def __repr__(self) -> str:
        return f"Diagnosis({self.error_class.value}, {self.error!r}, detail={self.detail!r})"


class Expectation:
    """What the client expected of the server, which is all a diagnosis needs of a plan:
    the service type, the trust used, whether a client certificate was sent, and the CA
    certificates given (public material only: never a key), and the ``server_name`` the
    certificate was verified against instead of the host, if one was given."""

    __slots__ = ("ca_certificates", "client_cert", "raised_from", "server_name", "service", "trust")

    def __init__(
        self,
        service: str,
        trust: str,
        client_cert: bool,
        ca_certificates: tuple[x509.Certificate, ...] = (),
        *,
        raised_from: str | None = None,
        server_name: str | None = None,
    ) -> None:
        self.service = service
        self.trust = trust
        self.client_cert = client_cert
        self.ca_certificates = ca_certificates
        # The target's TLS word (sslmode=require) when the plan raised it to verify-full.
        self.raised_from = raised_from
        self.server_name = server_name

    def __repr__(self) -> str:
        return (
            f"Expectation(service={self.service!r}, trust={self.trust!r}, "
            f"client_cert={self.client_cert}, cas={len(self.ca_certificates)}"
            + ("" if self.server_name is None else f", server_name={self.server_name!r}")
            + ")"
        )


def _ip_text(host: str) -> str:
    import ipaddress

    return str(ipaddress.ip_address(host.strip("[]")))


def is_ip_address(host: str) -> bool:
    try:
        import ipaddress

        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _name(cert: x509.Certificate | None, which: str = "subject") -> str:
    if cert is None:
        return "(unknown)"
    # Shown in exceptions that reach terminals: control characters escaped.
    return printable(display_name(cert.subject if which == "subject" else cert.issuer))


def _trust_words(expected: Expectation) -> str:
    ca_names = ", ".join(f"'{_name(c)}'" for c in expected.ca_certificates) or "none"
    return {
        "project": f"only the project CA you gave ({ca_names})",
        "project+public": f"the CA you gave ({ca_names}) and certifi's public CAs",
        "public": "only public CAs (certifi's Mozilla bundle)",
        "system": "the operating system's trust store",
        "none": "nothing (sslmode=require without a CA)",
    }.get(expected.trust, expected.trust)


def classify_unreachable(
    exc: BaseException, *, step: str, host: str, port: int, timeout: float
) -> Diagnosis:
    """DNS failure, refused, timed out, or another socket error before TLS."""
    where = f"{host}:{port}"
    if isinstance(exc, socket.gaierror):
        return Diagnosis(
            ErrorClass.UNREACHABLE,
            f"the host name '{host}' could not be resolved ({exc.strerror or exc})",
            "check the host name for typos (copy it from the service URI on the service's "
            "Overview page); a service that was just created may need a few minutes in DNS",
            "dns",
        )
    if isinstance(exc, ConnectionRefusedError):
        return Diagnosis(
            ErrorClass.UNREACHABLE,
            f"{where} refused the connection: nothing listens on that port",
            "check the port (each service has its own; see the service URI) and that the "
            "service is running",
            "refused",
        )
    if isinstance(exc, TimeoutError):
        what = {
            "resolve": "resolving the host name",
            "tcp_connect": "connecting",
            "tls_handshake": "the TLS handshake",
            "protocol_round_trip": "waiting for the server's answer",
        }.get(step, step)
        fix = (
            "check that your IP address is in the service's allowed IP list and that no "
            "firewall drops the traffic"
            if step == "tcp_connect"
            else "the server accepted the connection but did not answer: check that this port "
            "is the TLS port of the service, or raise the timeout"
        )
        return Diagnosis(
            ErrorClass.UNREACHABLE,
            f"{what} with {where} timed out after {timeout:g} s",
            fix,
            "timeout",
        )
    if isinstance(exc, OSError):
        return Diagnosis(
            ErrorClass.UNREACHABLE,
            f"{where} could not be reached: {exc.strerror or exc}",
            "check the host, the port and your network",
            "network",
        )
    return Diagnosis(ErrorClass.UNREACHABLE, f"{where} could not be reached: {exc}", "", "other")


def no_tls(service: str, how: str) -> Diagnosis:
    fix = (
        "this server does not speak TLS: ask for the TLS endpoint of the service (managed "
        "services only accept TLS; a plaintext port is a self-hosted or misconfigured server)"
    )
    return Diagnosis(ErrorClass.NO_TLS, f"the server does not do TLS: {how}", fix, None)


def client_cert_problem(*, sent: bool, how: str, service: str) -> Diagnosis:
    if not sent:
        return Diagnosis(
            ErrorClass.CLIENT_CERT_REQUIRED,
            f"the server requires a client certificate and none was sent ({how})",
            "pass the client certificate and key (service.cert and service.key from "
            "`avn service user-creds-download`): --cert/--key or --credentials-dir, or "
            "cert=/key= in Python",
            "none_sent",
        )
    return Diagnosis(
        ErrorClass.CLIENT_CERT_REJECTED,
        f"the server rejected the client certificate that was sent ({how})",
        "the certificate is not issued by the CA this server trusts, or it has expired, or "
        "it is for another user: download the current service.cert and service.key of this "
        "service with `avn service user-creds-download`",
        "rejected",
    )


def classify_tls_error(
    exc: BaseException,
    *,
    expected: Expectation,
    host: str,
    leaf: x509.Certificate | None,
) -> Diagnosis:
    """A failed handshake (or an alert right after it): which class, and the fix."""
    client_cert_sent = expected.client_cert
    service = expected.service
    if isinstance(exc, ssl.SSLCertVerificationError):
        return _classify_verification(exc, expected=expected, host=host, leaf=leaf)
    reason = str(getattr(exc, "reason", "") or "")
    text = str(exc)
    if reason in _CLIENT_CERT_ALERTS:
        alert = reason.lower().replace("_", " ")
        return client_cert_problem(
            sent=client_cert_sent, how=f"TLS alert: {alert}", service=service
        )
    if reason in _NOT_TLS_REASONS:
        return no_tls(service, f"it answered with bytes that are not TLS ({reason.lower()})")
    if reason in _PROTOCOL_REASONS:
        versions = "TLS 1.2 or 1.3"
        extra = ""
        if reason == "SSLV3_ALERT_HANDSHAKE_FAILURE" and not client_cert_sent:
            extra = (
                " (under TLS 1.2 the same alert is sent when a required client certificate "
                "is missing)"
            )
        return Diagnosis(
            ErrorClass.PROTOCOL_MISMATCH,
            f"no common TLS version or cipher with the server ({reason.lower()}){extra}",
            f"tlsconnect offers {versions} with modern ciphers and never less; the server "
            "must be upgraded to support TLS 1.2 or later"
            + ("; or pass the client certificate if it needs one" if extra else ""),
            reason.lower(),
        )
    if isinstance(exc, ssl.SSLEOFError | ConnectionResetError | BrokenPipeError):
        hint = (
            "; it may require a client certificate, and none was sent"
            if not client_cert_sent
            else ""
        )
        return Diagnosis(
            ErrorClass.HANDSHAKE_FAILED,
            f"the server closed the connection during the TLS handshake{hint}",
            "check that this is the TLS port of the service"
            + (" and pass the client certificate and key" if not client_cert_sent else ""),
            "closed",
        )
    return Diagnosis(
        ErrorClass.HANDSHAKE_FAILED,
        f"the TLS handshake failed: {reason or text}",
        "run `tlsconnect inspect` on your CA and certificate files, and check the port",
        reason.lower() or None,
    )


def _classify_verification(
    exc: ssl.SSLCertVerificationError,
    *,
    expected: Expectation,
    host: str,
    leaf: x509.Certificate | None,
) -> Diagnosis:
    code = exc.verify_code
    message = exc.verify_message
    if code in _HOSTNAME_CODES:
        names = [printable(name) for name in san_strings(leaf)] if leaf is not None else []
        shown = ", ".join(names) if names else "(no subjectAltName at all)"
        # With server_name, that name (not the host connected to) is what was verified.
        server_name = expected.server_name
        checked = f"'{host}'" if server_name is None else f"server_name '{server_name}'"
        error = (
            f"the server's certificate is not valid for {checked}: it names {shown}"
            if leaf is not None
            else f"the server's certificate is not valid for {checked} ({message})"
        )
        dns_names = [n[4:] for n in names if n.startswith("DNS:")]
        if server_name is not None:
            fix = (
                f"pass a server_name (--server-name) the certificate holds ({', '.join(dns_names)})"
                if dns_names
                else "pass the host of the service URI as server_name (--server-name)"
            )
            return Diagnosis(ErrorClass.HOSTNAME_MISMATCH, error, fix, "server_name")
        if is_ip_address(host) and f"IP:{_ip_text(host)}" not in names:
            error += (
                "; connecting by IP address is the cause: the certificate does not name "
                "this address"
            )
            fix = (
                f"connect with the host name ({', '.join(dns_names)}) instead of the IP address"
                if dns_names
                else "connect with the host name the service URI gives"
            )
        else:
            fix = (
                f"connect with a name the certificate holds ({', '.join(dns_names)}); copy the "
                "host from the service URI"
                if dns_names
                else "connect with the host name from the service URI"
            )
        if expected.raised_from is not None:
            error += (
                f"; the target asked only for {expected.raised_from}, which tlsconnect raised "
                "to verify-full because the project CA is at hand"
            )
            fix += (
                "; where the name cannot match (a tunnel, an IP address), pass "
                "sslmode='verify-ca' to check the chain only"
            )
        return Diagnosis(
            ErrorClass.HOSTNAME_MISMATCH, error, fix, "ip" if is_ip_address(host) else "name"
        )

    if code in _EXPIRED_CODES or code in _NOT_YET_VALID_CODES:
        return _validity(code, expected=expected, leaf=leaf, message=message)

    if code in _UNTRUSTED_CODES:
        issuer = _name(leaf, "issuer")
        trusted = _trust_words(expected)
        error = f"the server's certificate is issued by '{issuer}', which is not trusted: "
        error += f"the trust used was {trusted}"
        cas = expected.ca_certificates
        detail = "issuer"
        if leaf is not None and leaf.issuer == leaf.subject:
            error += "; the server's certificate is self-signed"
        if cas and expected.trust in ("project", "project+public"):
            if leaf is not None and all(ca.subject != leaf.issuer for ca in cas):
                error += (
                    f"; the CA you gave ('{_name(cas[0])}') is not the one that signed this "
                    "server's certificate: it looks like a different project's CA"
                )
                detail = "other_project_ca"
            fix = (
                f"pass the CA of the project this service belongs to ({_CA_DOWNLOAD}); "
                "all services of one project share one CA"
            )
        elif expected.trust in ("public", "system"):
            fix = f"pass the project CA ({_CA_DOWNLOAD}): --ca ca.pem, or ca='ca.pem' in Python"
            detail = "project_ca_missing"
        else:
            fix = f"pass the project CA ({_CA_DOWNLOAD})"
        return Diagnosis(ErrorClass.UNTRUSTED_ISSUER, error, fix, detail)

    return Diagnosis(
        ErrorClass.VERIFICATION_FAILED,
        f"the server's certificate failed verification: {message} (OpenSSL code {code})",
        "run `tlsconnect inspect` on the CA file and compare it with the server's chain below",
        str(code),
    )


def _validity(
    code: int, *, expected: Expectation, leaf: x509.Certificate | None, message: str
) -> Diagnosis:
    import datetime as _dt

    now = _dt.datetime.now(_dt.timezone.utc)
    expired = code in _EXPIRED_CODES
    candidates: list[tuple[str, x509.Certificate]] = []
    if leaf is not None:
        candidates.append(("the server's certificate", leaf))
    for ca in expected.ca_certificates:
        candidates.append(("the CA certificate you gave", ca))
    for which, cert in candidates:
        before, after = cert.not_valid_before_utc, cert.not_valid_after_utc
        if expired and after <= now:
            error = (
                f"{which} ('{_name(cert)}') expired on {after:%Y-%m-%d %H:%M} UTC "
                f"(valid {before:%Y-%m-%d} to {after:%Y-%m-%d})"
            )
            fix = (
                "the server's certificate must be renewed by whoever runs the server; check "
                "too that this machine's clock is right"
                if which.startswith("the server")
                else f"download the current CA ({_CA_DOWNLOAD})"
            )
            return Diagnosis(ErrorClass.EXPIRED, error, fix, "server" if leaf is cert else "ca")
        if not expired and before > now:
            error = f"{which} ('{_name(cert)}') is not valid before {before:%Y-%m-%d %H:%M} UTC"
            fix = "check this machine's clock (and the server's); the certificate is too new"
            return Diagnosis(
                ErrorClass.NOT_YET_VALID, error, fix, "server" if leaf is cert else "ca"
            )
    cls = ErrorClass.EXPIRED if expired else ErrorClass.NOT_YET_VALID
    return Diagnosis(
        cls,
        f"a certificate of the server's chain is {message}",
        "check this machine's clock; the server's chain must be renewed by whoever runs it",
        "chain",
    )
