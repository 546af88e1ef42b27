"""Why a connection was refused: one answer for every negative test.

A refusal test passes only when the connection failed for the reason its name states, not
merely because it failed. The reason is read from what each side recorded:

* the client: OpenSSL's verify code (``ssl.SSLCertVerificationError.verify_code``) or its
  text anywhere in the exception's chain (``__cause__``, ``__context__``, ``reason``,
  ``args``: drivers wrap it differently), plus what the driver logged while failing;
* the server: the TLS error it recorded (``tlsconnect.testing``'s ``Handshake.error``,
  stunnel's log in front of the Kafka broker, PostgreSQL's log ...). A client that refuses
  the server's certificate tells the server with an alert, whose name says which check
  failed (OpenSSL: ``unknown ca``, ``certificate expired``, ``bad certificate`` for a
  name mismatch).

Each driver family's tests call :func:`assert_refused` (or a helper of their own built
on it) with a :class:`Why`.
"""

from __future__ import annotations

import contextlib
import enum
import gc
import logging
import os
import pathlib
import ssl
import time
import warnings
from collections.abc import Callable, Iterable, Iterator


class Why(enum.Enum):
    """Why a connection was refused."""

    #: the client refused the server's chain: its issuer is not trusted
    UNTRUSTED_ISSUER = "the server's certificate is from a CA the client does not trust"
    #: the client refused the server's certificate: out of its validity period
    EXPIRED = "the server's certificate has expired"
    #: the client refused the server's certificate: it names another host
    HOST_NAME = "the server's certificate names another host"
    #: the server refused the client's certificate (another CA)
    CLIENT_CERT_REFUSED = "the server refused the client's certificate"
    #: the server asked for a client certificate and got none
    CLIENT_CERT_MISSING = "the client sent no certificate"
    #: no TLS version or cipher both sides accept
    PROTOCOL = "no protocol version both sides accept"
    #: the server does not speak TLS (it answers in plain text, or waits for a line)
    NO_TLS = "the server does not speak TLS"


#: OpenSSL's X509_V_ERR_* codes, by the reason they mean.
VERIFY_CODES = {
    2: Why.UNTRUSTED_ISSUER,  # unable to get issuer certificate
    18: Why.UNTRUSTED_ISSUER,  # self-signed certificate
    19: Why.UNTRUSTED_ISSUER,  # self-signed certificate in certificate chain
    20: Why.UNTRUSTED_ISSUER,  # unable to get local issuer certificate
    21: Why.UNTRUSTED_ISSUER,  # unable to verify the first certificate
    9: Why.EXPIRED,  # certificate is not yet valid (out of its period, too)
    10: Why.EXPIRED,  # certificate has expired
    62: Why.HOST_NAME,  # hostname mismatch
    64: Why.HOST_NAME,  # IP address mismatch
}

#: What a client's error says when it refuses the server (OpenSSL's verify text, and
#: tlsconnect's explanation of it), lower case.
CLIENT_TEXT = {
    Why.UNTRUSTED_ISSUER: (
        "unable to get local issuer certificate",
        "unable to get issuer certificate",
        "self-signed certificate",
        "self signed certificate",
        "unable to verify the first certificate",
        "which is not trusted",
    ),
    Why.EXPIRED: ("certificate has expired", "certificate is not yet valid", " expired on "),
    Why.HOST_NAME: (
        "hostname mismatch",
        "ip address mismatch",
        "is not valid for",
        # urllib3's and the SQL drivers' own checks of the name, after the handshake
        "doesn't match",
        "does not match host name",
        # MariaDB Connector/C (mysqlclient): its check after the handshake, whose chain
        # was verified by then (an untrusted chain fails in the handshake, with OpenSSL's
        # verify text), is of the name (and of a pinned fingerprint, which none sets)
        "validation of ssl server certificate failed",
    ),
    Why.PROTOCOL: (
        "unsupported protocol",
        "wrong version number",
        "no protocols available",
        "alert protocol version",
        "version too low",
    ),
    Why.NO_TLS: (
        "wrong version number",
        "packet length too long",
        "record layer failure",
        "the handshake operation timed out",
    ),
}

#: What a server records: the client's alert naming its refusal, or its own refusal of
#: the client's certificate, lower case.
SERVER_TEXT = {
    Why.UNTRUSTED_ISSUER: ("alert unknown ca",),
    Why.EXPIRED: ("alert certificate expired",),
    Why.HOST_NAME: ("alert bad certificate",),
    Why.CLIENT_CERT_REFUSED: ("certificate verify failed", "rejected by cert"),
    Why.CLIENT_CERT_MISSING: (
        "peer did not return a certificate",
        "peer_did_not_return_a_certificate",
    ),
    Why.PROTOCOL: (
        "unsupported protocol",
        "version too low",
        "wrong version number",
        "no shared cipher",
        "alert protocol version",
    ),
}


def chain(exc: BaseException | None) -> list[BaseException]:
    """``exc`` and every exception linked to it (cause, context, ``reason``, ``args``)."""
    seen: list[BaseException] = []
    stack = [exc] if exc is not None else []
    while stack:
        error = stack.pop()
        if any(error is s for s in seen):
            continue
        seen.append(error)
        # aiohttp's certificate error is an ssl.CertificateError without a verify code: the
        # error it wraps is its certificate_error
        linked_errors = (
            error.__cause__,
            error.__context__,
            getattr(error, "reason", None),
            getattr(error, "certificate_error", None),
        )
        for linked in linked_errors:
            if isinstance(linked, BaseException):
                stack.append(linked)
        stack += [arg for arg in getattr(error, "args", ()) if isinstance(arg, BaseException)]
        stack += [e for e in getattr(error, "exceptions", ()) if isinstance(e, BaseException)]
    return seen


def ssl_errors(exc: BaseException | None) -> list[ssl.SSLError]:
    """The ``ssl.SSLError`` instances in ``exc``'s chain."""
    return [error for error in chain(exc) if isinstance(error, ssl.SSLError)]


def _matches(table: dict[Why, tuple[str, ...]], texts: Iterable[str]) -> set[Why]:
    lowered = [text.lower() for text in texts]
    return {why for why, needles in table.items() if any(n in t for t in lowered for n in needles)}


def client_reasons(exc: BaseException | None = None, texts: Iterable[str] = ()) -> set[Why]:
    """Why the client says it refused: from ``exc``'s chain and the ``texts`` it logged."""
    errors = chain(exc)
    found = {
        VERIFY_CODES[code]
        for error in errors
        if isinstance(error, ssl.SSLCertVerificationError)
        and (code := getattr(error, "verify_code", None)) in VERIFY_CODES
    }
    return found | _matches(CLIENT_TEXT, [*(str(e) for e in errors), *texts])


def server_reasons(texts: Iterable[str]) -> set[Why]:
    """Why the server's record says the connection ended."""
    return _matches(SERVER_TEXT, texts)


def assert_refused(
    why: Why,
    *,
    exc: BaseException | None = None,
    client: Iterable[str] = (),
    server: Iterable[str] | None = None,
    need_ssl_error: bool = False,
) -> None:
    """Fail unless the refusal was for ``why``, as the client or the server recorded it.

    ``exc``: the client's exception; ``client``: what the client logged; ``server``: what
    the server recorded (None: not read). A refusal of the server's certificate is seen on
    either side (the client's error, or the alert it sent); one of the client's
    certificate only on the server's. ``need_ssl_error``: the client's exception must
    also carry an ``ssl.SSLError`` in its chain (drivers that keep it).
    """
    client = list(client)
    server = None if server is None else list(server)
    from_client = client_reasons(exc, client)
    from_server = server_reasons(server or ())
    seen = (
        from_server
        if why in (Why.CLIENT_CERT_REFUSED, Why.CLIENT_CERT_MISSING)
        else (from_client | from_server)
    )
    details = (
        f"expected a refusal because {why.value}; the client said {sorted(w.name for w in from_client)}"
        f", the server {sorted(w.name for w in from_server)}\n"
        f"exception chain: {[repr(e)[:300] for e in chain(exc)]}\n"
        f"client log: {[t[:300] for t in client][-8:]}\n"
        f"server record: {[t[:300] for t in (server or [])][-12:]}"
    )
    assert why in seen, details
    if need_ssl_error:
        assert ssl_errors(exc), "no ssl.SSLError in the exception's chain\n" + details


def expect_refusal(
    why: Why,
    call: Callable[[], object],
    *,
    server_log: str | os.PathLike[str] | None = None,
    need_ssl_error: bool = False,
    wait: float = 3.0,
    raises: tuple[type[BaseException], ...] = (Exception,),
) -> None:
    """``call`` fails (with one of ``raises``), and the client's error or what the server appended to its log
    file ``server_log`` says ``why`` (the server may write its line a moment after the
    client gave up: waited for up to ``wait`` seconds)."""
    tail = LogTail(server_log) if server_log is not None else None
    error: BaseException | None = None
    try:
        call()
    except Exception as exc:
        error = exc
    assert error is not None, f"connected, though {why.value}"
    assert isinstance(error, raises), f"{error!r} is none of {raises}"
    deadline = time.monotonic() + wait
    while True:
        try:
            assert_refused(
                why,
                exc=error,
                server=tail.lines() if tail is not None else None,
                need_ssl_error=need_ssl_error,
            )
            return
        except AssertionError:
            if tail is None or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextlib.contextmanager
def client_log() -> Iterator[list[str]]:
    """Collect the text of every log record emitted in the block (drivers log the TLS
    error they then replace with 'unable to connect').

    The records are reduced to text at once and the root logger's other handlers
    (pytest's capture among them) are set aside for the block: a driver's records hold
    tracebacks, and through them sockets, that pytest would keep alive until the test
    ends and then report as leaked. ResourceWarnings from the failing client are
    silenced, and its garbage collected, for the same reason.
    """
    lines: list[str] = []

    class Text(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            text = f"{record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                text += f" | {record.exc_info[1]!r}"
            lines.append(text)

    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    saved_disable = logging.root.manager.disable
    root.handlers = [Text(logging.DEBUG)]
    root.setLevel(logging.DEBUG)
    logging.disable(logging.NOTSET)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            try:
                yield lines
            finally:
                gc.collect()
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        logging.disable(saved_disable)


class LogTail:
    """What a server appends to its log file from now on: ``tail.text()``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = pathlib.Path(path)
        self.start = self.path.stat().st_size if self.path.exists() else 0

    def lines(self) -> list[str]:
        if not self.path.exists():
            return []
        with open(self.path, "rb") as handle:
            handle.seek(self.start)
            return handle.read().decode(errors="replace").splitlines()
