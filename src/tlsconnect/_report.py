"""The result of a probe: :class:`CheckReport`, for terminals, JSON and notebooks.

A report holds only public facts: the server's certificates, the TLS parameters, the
verdict and the fix. It never holds key material or passwords.
"""

from __future__ import annotations

import hashlib
import socket
import ssl

from ._model import ErrorClass
from ._pem import san_strings
from ._term import printable

# typing is not imported at run time: this module is on the path of every check.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cryptography import x509

__all__ = ["CheckReport", "ErrorClass", "certificate_info", "peer_certificate_info"]

#: The steps of a probe, in order, as keys of :attr:`CheckReport.timings`.
STEPS = ("resolve", "tcp_connect", "tls_handshake", "protocol_round_trip")


def fingerprint(der: bytes) -> str:
    """SHA-256 of a DER certificate, as colon-separated upper-case hex."""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def certificate_info(cert: x509.Certificate) -> dict[str, Any]:
    """A JSON-ready, secret-free description of one certificate."""
    from cryptography.hazmat.primitives import serialization

    der = cert.public_bytes(serialization.Encoding.DER)
    return {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "sans": san_strings(cert),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": cert.not_valid_after_utc.isoformat(),
        "sha256": fingerprint(der),
    }


#: getpeercert()'s attribute names and their RFC 4514 keys (as cryptography writes them).
_RFC4514_KEYS = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "streetAddress": "STREET",
    "domainComponent": "DC",
    "userId": "UID",
}
#: getpeercert()'s subjectAltName kinds, in the order (and with the prefixes) the
#: report shows them.
_SAN_KINDS = (("DNS", "DNS"), ("IP Address", "IP"), ("URI", "URI"), ("email", "email"))


def _rfc4514_value(value: str) -> str:
    escaped = "".join(f"\\{c}" if c in ',+"\\<>;' else c for c in value)
    if escaped.startswith(("#", " ")):
        escaped = "\\" + escaped
    if escaped.endswith(" "):
        escaped = escaped[:-1] + "\\ "
    return escaped


def _rfc4514(name: object) -> str | None:
    """An ``ssl`` name (tuple of RDNs) as RFC 4514 text; ``None`` when an attribute has
    no short name here (the caller then asks cryptography)."""
    rdns = []
    for rdn in name:  # type: ignore[attr-defined]
        parts = []
        for key, value in rdn:
            short = _RFC4514_KEYS.get(key)
            if short is None:
                return None
            parts.append(f"{short}={_rfc4514_value(value)}")
        rdns.append("+".join(parts))
    return ",".join(reversed(rdns))


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _peer_time(text: str) -> str:
    """``getpeercert()``'s ``Dec  2 08:21:10 2027 GMT`` as ISO 8601 in UTC, as
    cryptography's dates print (read by hand: ``strptime`` costs every check its import)."""
    parts = text.split()
    if len(parts) == 5 and parts[0] in _MONTHS and parts[4] == "GMT":
        clock = parts[2].split(":")
        if len(clock) == 3 and all(p.isdigit() for p in (parts[1], parts[3], *clock)):
            month = _MONTHS.index(parts[0]) + 1
            hour, minute, second = (int(p) for p in clock)
            return (
                f"{int(parts[3]):04d}-{month:02d}-{int(parts[1]):02d}T"
                f"{hour:02d}:{minute:02d}:{second:02d}+00:00"
            )
    import datetime

    seconds = ssl.cert_time_to_seconds(text)
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat()


def _address_text(text: str) -> str:
    """An address as cryptography prints it (IPv6 compressed), from ``getpeercert()``'s
    text (IPv6 written out in full)."""
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return socket.inet_ntop(family, socket.inet_pton(family, text))
        except OSError:
            continue
    return text


def _peer_sans(peer: dict[str, Any]) -> list[str]:
    entries = peer.get("subjectAltName", ())
    names = []
    for kind, prefix in _SAN_KINDS:
        for entry_kind, value in entries:
            if entry_kind == kind:
                if kind == "IP Address":
                    value = _address_text(value.strip())
                names.append(f"{prefix}:{value}")
    return names


def peer_certificate_info(peer: dict[str, Any], der: bytes) -> dict[str, Any]:
    """:func:`certificate_info` from what :meth:`ssl.SSLSocket.getpeercert` read of a
    verified peer (and its DER), without loading ``cryptography``; it falls back to
    cryptography for a name with an attribute it has no short name for."""
    subject, issuer = _rfc4514(peer.get("subject", ())), _rfc4514(peer.get("issuer", ()))
    if subject is None or issuer is None:
        from cryptography import x509

        return certificate_info(x509.load_der_x509_certificate(der))
    return {
        "subject": subject,
        "issuer": issuer,
        "sans": _peer_sans(peer),
        "not_before": _peer_time(peer["notBefore"]),
        "not_after": _peer_time(peer["notAfter"]),
        "sha256": fingerprint(der),
    }


class CheckReport:
    """What :func:`tlsconnect.check` found: the verdict, the evidence and the fix.

    ``ok`` is true when the server was reached and verified as the plan requires (under
    ``sslmode=require`` without a CA nothing is verified, and ``chain_verified`` says so).
    ``error_class`` is an :class:`ErrorClass` value when ``ok`` is false.
    ``verdict_of`` names whose verdict it is: the driver asked for, or the host-name rule
    followed (``"libpq"`` for PostgreSQL, ``"python-ssl"`` for the drivers built on
    ``ssl``), ``name_rule`` that rule, and ``drivers_deciding_otherwise`` the drivers that
    would decide otherwise on this certificate.

    A plain class with the fields of a dataclass (equal when every field is; a ``repr``
    that lists them): a report is made on every check, and ``dataclasses`` would cost
    every ``tlsconnect check`` its import (with ``inspect``).
    """

    def __init__(
        self,
        ok: bool,
        target: str,
        service: str,
        host: str,
        port: int,
        sslmode: str,
        trust: str,
        tls_version: str | None = None,
        cipher: str | None = None,
        peer_subject: str | None = None,
        peer_issuer: str | None = None,
        peer_not_after: str | None = None,
        chain_verified: bool = False,
        hostname_verified: bool = False,
        client_cert_sent: bool = False,
        error: str | None = None,
        error_class: str | None = None,
        error_detail: str | None = None,
        fix: str | None = None,
        server_message: str | None = None,
        notes: list[str] | None = None,
        chain: list[dict[str, Any]] | None = None,
        timings: dict[str, float | None] | None = None,
        timeout: float = 10.0,
        verdict_of: str | None = None,
        name_rule: str | None = None,
        drivers_deciding_otherwise: list[str] | None = None,
        server_name: str | None = None,
    ) -> None:
        self.ok = ok
        self.target = target
        self.service = service
        self.host = host
        self.port = port
        self.sslmode = sslmode
        self.trust = trust
        self.tls_version = tls_version
        self.cipher = cipher
        self.peer_subject = peer_subject
        self.peer_issuer = peer_issuer
        self.peer_not_after = peer_not_after
        self.chain_verified = chain_verified
        self.hostname_verified = hostname_verified
        self.client_cert_sent = client_cert_sent
        self.error = error
        self.error_class = error_class
        self.error_detail = error_detail
        self.fix = fix
        self.server_message = server_message
        self.notes: list[str] = [] if notes is None else notes
        self.chain: list[dict[str, Any]] = [] if chain is None else chain
        self.timings: dict[str, float | None] = (
            dict.fromkeys(STEPS, None) if timings is None else timings
        )
        self.timeout = timeout
        self.verdict_of = verdict_of
        self.name_rule = name_rule
        self.drivers_deciding_otherwise: list[str] = (
            [] if drivers_deciding_otherwise is None else drivers_deciding_otherwise
        )
        #: The name the certificate was verified against instead of ``host``, when given.
        self.server_name = server_name

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={value!r}" for name, value in self.to_dict().items())
        return f"CheckReport({fields})"

    def to_dict(self) -> dict[str, Any]:
        """One JSON-ready dict; the keys are the stable ``--json`` schema."""
        return {
            "ok": self.ok,
            "target": self.target,
            "service": self.service,
            "host": self.host,
            "port": self.port,
            "sslmode": self.sslmode,
            "trust": self.trust,
            "server_name": self.server_name,
            "tls_version": self.tls_version,
            "cipher": self.cipher,
            "peer_subject": self.peer_subject,
            "peer_issuer": self.peer_issuer,
            "peer_not_after": self.peer_not_after,
            "chain_verified": self.chain_verified,
            "hostname_verified": self.hostname_verified,
            "client_cert_sent": self.client_cert_sent,
            "error": self.error,
            "error_class": self.error_class,
            "error_detail": self.error_detail,
            "fix": self.fix,
            "server_message": self.server_message,
            "notes": list(self.notes),
            "chain": [dict(item) for item in self.chain],
            "timings": dict(self.timings),
            "timeout": self.timeout,
            "verdict_of": self.verdict_of,
            "name_rule": self.name_rule,
            "drivers_deciding_otherwise": list(self.drivers_deciding_otherwise),
        }

    # -- text ----------------------------------------------------------------------

    @property
    def verdict(self) -> str:
        """One line: OK, or the failure class."""
        if self.ok:
            if not self.chain_verified:
                return "OK, but NOT verified (encryption only)"
            return "OK, verified"
        return f"FAILED: {self.error_class}"

    def render(self, *, colour: bool = False) -> str:
        """Short human text; ``colour`` adds ANSI colours (for terminals only)."""

        def paint(text: str, code: str) -> str:
            return f"\x1b[{code}m{text}\x1b[0m" if colour else text

        verdict_colour = "32" if self.ok and self.chain_verified else "33" if self.ok else "31"
        # Every value is shown with control characters escaped: names, messages and
        # replies come from the server, and a terminal acts on what they hold.
        show = printable
        lines = [
            f"{paint(self.verdict, '1;' + verdict_colour)}  {show(self.service)} "
            f"{show(_host_port(self.host, self.port))} (sslmode={show(self.sslmode)}, "
            f"trust={show(self.trust)})"
        ]
        if self.error:
            lines.append(f"  {paint('error:', '31')} {show(self.error)}")
        if self.fix:
            lines.append(f"  {paint('fix:', '36')}   {show(self.fix)}")
        if self.tls_version:
            lines.append(f"  tls:   {show(self.tls_version)} {show(self.cipher or '')}".rstrip())
        if self.peer_subject is not None:
            lines.append(f"  server certificate: {show(self.peer_subject)}")
            lines.append(f"    issued by: {show(self.peer_issuer)}")
            if self.chain and self.chain[0].get("sans"):
                lines.append(f"    names:     {show(', '.join(self.chain[0]['sans']))}")
            lines.append(f"    valid until: {show(self.peer_not_after)}")
        if self.ok or self.peer_subject is not None:
            lines.append(
                f"  chain verified: {_yes_no(self.chain_verified)}, "
                f"host name verified: {_yes_no(self.hostname_verified)}, "
                f"client certificate sent: {_yes_no(self.client_cert_sent)}"
            )
        if self.server_message:
            lines.append(f"  server said: {show(self.server_message)}")
        lines.extend(f"  note: {show(note)}" for note in self.notes)
        timed = [
            f"{step.replace('_', ' ')} {value:.1f} ms"
            for step, value in self.timings.items()
            if value is not None
        ]
        if timed:
            lines.append(f"  timings: {', '.join(timed)}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.render(colour=False)

    def _repr_html_(self) -> str:
        import html

        colour = (
            "#1b5e20" if self.ok and self.chain_verified else "#e65100" if self.ok else "#b00020"
        )
        rows: list[tuple[str, str]] = [
            ("verdict", self.verdict),
            ("target", f"{self.service} {_host_port(self.host, self.port)}"),
            ("decision", f"sslmode={self.sslmode}, trust={self.trust}"),
        ]
        if self.error:
            rows.append(("reason", self.error))
        if self.fix:
            rows.append(("fix", self.fix))
        if self.tls_version:
            rows.append(("TLS", f"{self.tls_version} {self.cipher or ''}"))
        if self.peer_subject is not None:
            rows.append(("server certificate", self.peer_subject))
            rows.append(("issued by", self.peer_issuer or ""))
            if self.chain and self.chain[0].get("sans"):
                rows.append(("names", ", ".join(self.chain[0]["sans"])))
            rows.append(("valid until", self.peer_not_after or ""))
        rows.append(("chain verified", _yes_no(self.chain_verified)))
        rows.append(("host name verified", _yes_no(self.hostname_verified)))
        rows.append(("client certificate sent", _yes_no(self.client_cert_sent)))
        if self.server_message:
            rows.append(("server said", self.server_message))
        for note in self.notes:
            rows.append(("note", note))
        timed = ", ".join(
            f"{step.replace('_', ' ')} {value:.1f} ms"
            for step, value in self.timings.items()
            if value is not None
        )
        if timed:
            rows.append(("timings", timed))
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        return (
            f"<div class='tlsconnect-check'><strong style='color:{colour}'>"
            f"{html.escape(self.verdict)}</strong><table>{body}</table></div>"
        )


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _yes_no(value: bool | None) -> str:
    if value is None:
        return "unknown"
    return "yes" if value else "no"
