"""Turning "certificate verify failed" into what happened and what to do.

:func:`explain_verification_failure` is shared by the contexts (which re-raise a richer
:class:`ssl.SSLCertVerificationError`, so existing ``except`` clauses still work) and by
the diagnostics. Verification itself is never changed here: the richer error is raised
only after OpenSSL has refused the server.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import ipaddress
import socket
import ssl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["DiagnosingSSLSocket", "certificate_names", "explain_verification_failure"]

# OpenSSL's X509_V_ERR_* codes that have a specific explanation.
_HOSTNAME_MISMATCH = 62
_EMAIL_MISMATCH = 63
_IP_MISMATCH = 64
_NOT_YET_VALID = 9
_EXPIRED = 10
_UNTRUSTED = frozenset({2, 18, 19, 20, 21})

_PROBE_TIMEOUT = 3.0


def certificate_names(cert: x509.Certificate) -> list[str]:
    """The names a certificate holds for host name checks: ``DNS:...`` and ``IP:...``."""
    from cryptography import x509 as _x509

    try:
        sans = cert.extensions.get_extension_for_class(_x509.SubjectAlternativeName).value
    except _x509.ExtensionNotFound:
        return []
    names = [f"DNS:{name}" for name in sans.get_values_for_type(_x509.DNSName)]
    names += [f"IP:{ip}" for ip in sans.get_values_for_type(_x509.IPAddress)]
    return names


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _name(name: x509.Name) -> str:
    return name.rfc4514_string() or "(empty name)"


def explain_verification_failure(
    verify_code: int,
    verify_message: str,
    *,
    host: str | None,
    leaf: x509.Certificate | None,
    trust: str | None,
) -> str:
    """One paragraph: what failed, with the names and dates involved, and the fix."""
    if verify_code in (_HOSTNAME_MISMATCH, _IP_MISMATCH, _EMAIL_MISMATCH):
        names = certificate_names(leaf) if leaf is not None else []
        held = ", ".join(names) if names else "no subjectAltName at all"
        text = (
            f"host name mismatch: the host used, '{host}', is not among the names the "
            f"server's certificate holds ({held})."
        )
        dns = [n[4:] for n in names if n.startswith("DNS:")]
        if host is not None and _is_ip(host) and dns:
            text += (
                f" Connecting by IP address is the cause: connect to {', '.join(dns)} "
                "instead, or use sslmode='verify-ca' to check the chain without the host name."
            )
        elif leaf is not None and not names:
            text += (
                " The certificate names its host only in the common name, which TLS "
                "clients no longer accept; the server needs a certificate with a "
                "subjectAltName."
            )
        else:
            text += " Connect with the host name shown in the service's connection information."
        return text
    if verify_code in (_EXPIRED, _NOT_YET_VALID):
        if leaf is not None:
            now = _dt.datetime.now(_dt.timezone.utc)
            when = (
                f"valid {leaf.not_valid_before_utc:%Y-%m-%d %H:%M} to "
                f"{leaf.not_valid_after_utc:%Y-%m-%d %H:%M} UTC; now is {now:%Y-%m-%d %H:%M} UTC"
            )
            which = (
                f"the server's certificate '{_name(leaf.subject)}'"
                if leaf.not_valid_after_utc < now or leaf.not_valid_before_utc > now
                else f"a CA certificate above '{_name(leaf.subject)}' in its chain"
            )
        else:
            which, when = "a certificate in the server's chain", "dates unknown"
        state = "has expired" if verify_code == _EXPIRED else "is not valid yet"
        return (
            f"{which} {state} ({when}). The server must renew it; if your clock is wrong, "
            "fix the clock."
        )
    if verify_code in _UNTRUSTED:
        issuer = f"'{_name(leaf.issuer)}'" if leaf is not None else "an issuer"
        trusted = {
            "project": "only the project CA you gave was trusted",
            "public": "only the public CAs of certifi were trusted",
            "system": "only the operating system's trust store was trusted",
            "project+public": "the CA you gave and certifi's public CAs were trusted",
        }.get(trust or "", "it was not among the trusted CAs")
        text = f"the server's certificate is issued by {issuer}, but {trusted}."
        if trust in ("project", "project+public"):
            text += (
                " It looks like another project's CA: download this service's CA "
                "(`avn service user-creds-download`, saved as ca.pem) and pass ca=..."
            )
        else:
            text += (
                " Pass the project CA, which `avn service user-creds-download` saves as "
                "ca.pem (ca=...)."
            )
        return text
    return f"certificate verification failed: {verify_message}."


def fetch_leaf(
    address: tuple[str, int], host: str | None, context: ssl.SSLContext | None = None
) -> x509.Certificate | None:
    """Read the server's certificate without verifying it, only to explain a failure."""
    from cryptography import x509 as _x509

    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.check_hostname = False
    probe.verify_mode = ssl.CERT_NONE
    client = getattr(context, "_tlsconnect_client_files", None)
    if client is not None:
        with contextlib.suppress(ssl.SSLError, OSError):
            probe.load_cert_chain(*client)
    try:
        with (
            socket.create_connection(address, timeout=_PROBE_TIMEOUT) as raw,
            probe.wrap_socket(raw, server_hostname=host or None) as tls,
        ):
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError, ValueError):
        return None
    return _x509.load_der_x509_certificate(der) if der else None


class DiagnosingSSLSocket(ssl.SSLSocket):
    """An :class:`ssl.SSLSocket` whose verification errors say what failed and the fix.

    The error raised is still an :class:`ssl.SSLCertVerificationError` with the same
    ``verify_code``; only its message grows.
    """

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except ssl.SSLCertVerificationError as exc:
            raise _richer(exc, self) from exc


def _richer(exc: ssl.SSLCertVerificationError, sock: ssl.SSLSocket) -> ssl.SSLCertVerificationError:
    host = sock.server_hostname
    leaf = None
    with contextlib.suppress(OSError):
        peer = sock.getpeername()
        leaf = fetch_leaf((peer[0], peer[1]), host, sock.context)
    trust = getattr(sock.context, "_tlsconnect_trust", None)
    code = int(getattr(exc, "verify_code", 0) or 0)
    message = str(getattr(exc, "verify_message", "") or exc)
    explained = explain_verification_failure(code, message, host=host, leaf=leaf, trust=trust)
    richer = ssl.SSLCertVerificationError(
        exc.errno, f"[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: {explained}"
    )
    richer.verify_code = code
    richer.verify_message = message
    richer.library = getattr(exc, "library", "SSL")
    richer.reason = getattr(exc, "reason", "CERTIFICATE_VERIFY_FAILED")
    return richer
