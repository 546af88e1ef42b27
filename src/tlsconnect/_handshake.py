"""The diagnosing socket: "certificate verify failed" turned into what happened and the fix.

tlsconnect's contexts are :class:`DiagnosingContext` objects, whose sockets are
:class:`DiagnosingSSLSocket`: when OpenSSL refuses the server, the error is classified by
the same code as ``tlsconnect check`` (:mod:`._diagnose`) and re-raised as an
:class:`ssl.SSLCertVerificationError` with the same ``verify_code``, so existing
``except`` clauses still work. Verification itself is never changed here.

On the wire: to name the certificate the server presented, one extra connection is made
to the same address, only after verification already failed, with a non-verifying
context that holds **no client certificate** (a server that just failed verification is
never shown the client's identity). Only the TLS handshake happens on it (for PostgreSQL,
after its SSLRequest; for MySQL, after the server's greeting and the SSLRequest); nothing
else is sent. It is bounded by :data:`READ_TIMEOUT`
seconds per step. Any failure in it, or in the classification (a certificate the parser
refuses, a server that stops answering), leaves the original error as it was.
"""

from __future__ import annotations

import socket
import ssl

from ._diagnose import Expectation, classify_tls_error
from ._wire import PG_SSL_REQUEST, MySQLGreeting, mysql_greeting, mysql_ssl_request

# typing is not imported at run time: this module is on the path of every context.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from cryptography import x509

__all__ = [
    "READ_TIMEOUT",
    "DiagnosingContext",
    "DiagnosingSSLSocket",
    "load_der",
    "read_presented_chain",
]

#: Seconds allowed for each step (connect, handshake) of the extra, reading connection.
READ_TIMEOUT = 3.0
#: How long the reading connection waits for a MySQL server's greeting (sent as soon as
#: the connection is accepted); a server that says nothing first expects TLS at once.
GREETING_WAIT = 1.0


def load_der(der: object) -> x509.Certificate | None:
    """A certificate from DER bytes, or ``None`` when it is not one."""
    if not isinstance(der, bytes | bytearray):
        return None
    from cryptography import x509 as _x509

    try:
        return _x509.load_der_x509_certificate(bytes(der))
    except ValueError:
        return None


def read_presented_chain(
    address: tuple[object, ...],
    host: str | None,
    *,
    postgres: bool = False,
    mysql: bool = False,
    family: int = socket.AF_UNSPEC,
    timeout: float = READ_TIMEOUT,
) -> tuple[x509.Certificate | None, list[x509.Certificate]]:
    """The certificate (and, on Python 3.13+, the chain) a server presents, unverified.

    Only to explain a failure: the context verifies nothing and holds no client
    certificate; nothing is sent after the handshake. ``postgres``: ask with PostgreSQL's
    SSLRequest first, then directly (as clients with ``sslnegotiation=direct``, and plain
    TLS endpoints, expect). ``mysql``: read the greeting and send the SSLRequest first, as
    MySQL clients do; when no greeting comes within :data:`GREETING_WAIT`, the handshake
    starts directly on the same connection. Never raises: ``(None, [])`` when nothing
    could be read.
    """
    reader = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    reader.check_hostname = False
    reader.verify_mode = ssl.CERT_NONE
    for ssl_request in (True, False) if postgres else (False,):
        try:
            with _connect(address, family, timeout) as raw:
                if ssl_request:
                    raw.sendall(PG_SSL_REQUEST)
                    if raw.recv(1) != b"S":
                        continue
                if mysql and not _mysql_preamble(raw, timeout):
                    continue
                with reader.wrap_socket(raw, server_hostname=host or None) as tls:
                    leaf = load_der(tls.getpeercert(binary_form=True))
                    chain: list[x509.Certificate] = []
                    unverified = getattr(tls, "get_unverified_chain", None)
                    if unverified is not None:  # Python 3.13+
                        chain = [c for c in (load_der(i) for i in unverified()) if c is not None]
        except (OSError, ssl.SSLError, ValueError, EOFError):
            continue
        if leaf is not None:
            return leaf, chain
    return None, []


def _mysql_preamble(raw: socket.socket, timeout: float) -> bool:
    """MySQL's greeting and SSLRequest, when the server greets; ``False`` when it greets
    without offering TLS (or with an error)."""
    raw.settimeout(min(timeout, GREETING_WAIT))
    try:
        greeting = mysql_greeting(raw)
    except TimeoutError:
        return True  # nothing said first: not MySQL's preamble, TLS directly
    finally:
        raw.settimeout(timeout)
    if not isinstance(greeting, MySQLGreeting) or not greeting.offers_tls:
        return False
    raw.sendall(mysql_ssl_request(greeting))
    return True


def _connect(address: tuple[object, ...], family: int, timeout: float) -> socket.socket:
    if family == socket.AF_UNSPEC:
        return socket.create_connection((address[0], address[1]), timeout=timeout)  # type: ignore[arg-type]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
    except BaseException:
        sock.close()
        raise
    return sock


class DiagnosingSSLSocket(ssl.SSLSocket):
    """An :class:`ssl.SSLSocket` whose verification errors say what failed and the fix.

    The error raised is still an :class:`ssl.SSLCertVerificationError` with the same
    ``verify_code``; only its message grows.
    """

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except ssl.SSLCertVerificationError as exc:
            richer = _richer(exc, self)
            if richer is exc:
                raise
            raise richer from exc


class DiagnosingContext(ssl.SSLContext):
    """An :class:`ssl.SSLContext` that knows what it expects of the server, so that its
    sockets can explain a verification failure, and that verifies :attr:`server_name`
    when one is set. Everything else is ``ssl.SSLContext``."""

    sslsocket_class = DiagnosingSSLSocket
    #: What the plan expected; ``None`` means: explain nothing, raise OpenSSL's words.
    expectation: Expectation | None = None
    #: The name every client connection of this context verifies (when the context checks
    #: host names) and sends as SNI, whatever host name the driver passes: drivers pass
    #: the host they connect to, which through a tunnel or to a private endpoint's address
    #: is not the name in the certificate. ``None``: the driver's host name, as usual.
    server_name: str | None = None

    def _server_hostname(self, server_side: bool, given: str | bytes | None) -> str | bytes | None:
        return given if server_side or self.server_name is None else self.server_name

    # The two doors every client connection of an SSLContext goes through: wrap_socket
    # (blocking drivers: kafka-python, redis-py, PyMySQL, httpx's sync transport) and
    # wrap_bio (asyncio, and so asyncpg, aiokafka, redis.asyncio; anyio). Only the name
    # changes; what is verified stays as the context was configured.
    def wrap_socket(
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        return super().wrap_socket(
            sock,
            server_side=server_side,
            do_handshake_on_connect=do_handshake_on_connect,
            suppress_ragged_eofs=suppress_ragged_eofs,
            server_hostname=self._server_hostname(server_side, server_hostname),
            session=session,
        )

    def wrap_bio(
        self,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        server_side: bool = False,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLObject:
        return super().wrap_bio(
            incoming,
            outgoing,
            server_side=server_side,
            server_hostname=self._server_hostname(server_side, server_hostname),
            session=session,
        )

    #: What the factory made it trust, in words, for :meth:`__repr__`.
    trusts: str = "what was loaded into it"
    #: Whether the factory loaded a client certificate into it.
    client_cert: bool = False

    def __repr__(self) -> str:
        """What it trusts, what it verifies (read from the context as it is now) and
        whether it holds a client certificate: ``<tlsconnect context: trust=public
        (certifi, loaded on demand), verify-full, client cert: no>``."""
        if self.verify_mode == ssl.CERT_NONE:
            verifies = "verifies NOTHING"
        elif self.check_hostname:
            verifies = "verify-full"
        else:
            verifies = "verify-ca"
        client = "yes" if self.client_cert else "no"
        return f"<tlsconnect context: trust={self.trusts}, {verifies}, client cert: {client}>"


def _richer(exc: ssl.SSLCertVerificationError, sock: ssl.SSLSocket) -> ssl.SSLCertVerificationError:
    """The same error with a message that says what failed and the fix; the original
    error whenever anything in the explaining goes wrong."""
    context = sock.context
    expected = context.expectation if isinstance(context, DiagnosingContext) else None
    if expected is None:
        return exc
    try:
        host = sock.server_hostname or ""
        try:
            peer = sock.getpeername()
        except OSError:  # the socket is gone: nothing to read
            return exc
        leaf, _ = read_presented_chain(
            (peer[0], peer[1]),
            host,
            postgres=expected.service == "postgresql",
            mysql=expected.service == "mysql",
        )
        if leaf is None:  # nothing read (closed, timed out): OpenSSL's words stand
            return exc
        diagnosis = classify_tls_error(exc, expected=expected, host=host, leaf=leaf)
        richer = ssl.SSLCertVerificationError(
            exc.errno,
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
            f"{diagnosis.error}. Fix: {diagnosis.fix}.",
        )
        richer.verify_code = exc.verify_code
        richer.verify_message = exc.verify_message
        richer.library = getattr(exc, "library", "SSL")
        richer.reason = getattr(exc, "reason", "CERTIFICATE_VERIFY_FAILED")
    except Exception:
        # Deliberately broad: an explanation must never replace the error it explains
        # (a hostile certificate the parser refuses, a server that stops answering).
        return exc
    return richer
