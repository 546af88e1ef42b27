"""Turning "certificate verify failed" into what happened and what to do, at connect time.

tlsconnect's contexts use :class:`DiagnosingSSLSocket`: when OpenSSL refuses the server,
the error is classified by the same code as ``tlsconnect check`` (:mod:`._diagnose`) and
re-raised as an :class:`ssl.SSLCertVerificationError` with the same ``verify_code``, so
existing ``except`` clauses still work. Verification itself is never changed here.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["DiagnosingSSLSocket", "fetch_leaf"]

_PROBE_TIMEOUT = 3.0


def fetch_leaf(
    address: tuple[str, int],
    host: str | None,
    context: ssl.SSLContext | None = None,
    *,
    postgres: bool = False,
) -> x509.Certificate | None:
    """Read the server's certificate without verifying it, only to explain a failure.

    ``postgres``: try PostgreSQL's SSLRequest first, as drivers that speak the protocol
    over a tlsconnect context (pg8000, for one) do.
    """
    from cryptography import x509 as _x509

    from ._probe import _SSL_REQUEST

    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.check_hostname = False
    probe.verify_mode = ssl.CERT_NONE
    client = getattr(context, "_tlsconnect_client_files", None)
    if client is not None:
        with contextlib.suppress(ssl.SSLError, OSError):
            probe.load_cert_chain(*client)
    # A PostgreSQL server is asked with an SSLRequest first, then directly (as clients
    # with sslnegotiation=direct, and plain TLS endpoints, expect).
    for ssl_request in (True, False) if postgres else (False,):
        try:
            with socket.create_connection(address, timeout=_PROBE_TIMEOUT) as raw:
                if ssl_request:
                    raw.sendall(_SSL_REQUEST)
                    if raw.recv(1) != b"S":
                        continue
                with probe.wrap_socket(raw, server_hostname=host or None) as tls:
                    der = tls.getpeercert(binary_form=True)
        except (OSError, ssl.SSLError, ValueError):
            continue
        if der:
            return _x509.load_der_x509_certificate(der)
    return None


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
    from ._diagnose import classify_tls_error

    plan = getattr(sock.context, "_tlsconnect_plan", None)
    if plan is None:
        return exc
    host = sock.server_hostname or ""
    leaf = None
    with contextlib.suppress(OSError):
        peer = sock.getpeername()
        leaf = fetch_leaf(
            (peer[0], peer[1]), host, sock.context, postgres=plan.service == "postgresql"
        )
    diagnosis = classify_tls_error(
        exc,
        plan=plan,
        host=host,
        leaf=leaf,
        client_cert_sent=plan.client_cert,
        service=plan.service,
    )
    richer = ssl.SSLCertVerificationError(
        exc.errno,
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
        f"{diagnosis.error}. Fix: {diagnosis.fix}.",
    )
    richer.verify_code = exc.verify_code
    richer.verify_message = exc.verify_message
    richer.library = getattr(exc, "library", "SSL")
    richer.reason = getattr(exc, "reason", "CERTIFICATE_VERIFY_FAILED")
    return richer
