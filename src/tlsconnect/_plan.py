"""The decision core: which issuer to trust, what to verify, whether to send a certificate.

:func:`decide` is a pure function of (service type, sslmode, trust, what material was
given): no I/O, no driver imports. :func:`resolve` loads the material and wraps the
decision in a :class:`TLSPlan`; everything else (contexts, driver parameters, probes)
reads the plan and never decides again.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ._cache import cached_credentials
from ._errors import ConfigError, InsecureConnectionWarning
from ._material import Credentials, Material
from ._model import Service, SSLMode, Trust

if TYPE_CHECKING:
    import ssl

__all__ = ["Decision", "TLSPlan", "decide", "resolve"]

_CA_HINT = (
    "pass ca='ca.pem' (the project CA: download it from the service's Overview page or "
    "with `avn service user-creds-download`)"
)


@dataclass(frozen=True)
class Decision:
    """What a plan decided, without the material itself."""

    trust: Trust
    verify_chain: bool
    check_hostname: bool
    client_cert: bool
    reasons: tuple[str, ...]


def decide(
    service: Service,
    sslmode: SSLMode,
    trust: Trust | None,
    *,
    has_ca: bool,
    has_client_cert: bool,
) -> Decision:
    """Decide, purely, how a connection to ``service`` is verified."""
    reasons: list[str] = []
    kind = "the project's private CA" if service.uses_project_ca else "a public CA"
    reasons.append(f"{service.value} servers present a certificate issued by {kind}.")

    if trust is Trust.PROJECT_AND_PUBLIC and not has_ca:
        raise ConfigError(f"trust='project+public' needs the project CA; {_CA_HINT}")
    if trust is Trust.PROJECT and not has_ca:
        raise ConfigError(f"trust='project' needs the project CA; {_CA_HINT}")

    if sslmode is SSLMode.REQUIRE and not has_ca and trust is None:
        reasons.append(
            "sslmode=require without a CA encrypts but verifies nothing (as libpq does): "
            "anyone on the network path can impersonate the server; pass the CA and use "
            "verify-full."
        )
        return Decision(
            Trust.NONE, False, False, has_client_cert, tuple(reasons + _client(has_client_cert))
        )

    if trust is None:
        if service.uses_project_ca:
            if not has_ca:
                raise ConfigError(
                    f"{service.value} with sslmode={sslmode.value} verifies the server against "
                    f"the project CA, and none was given; {_CA_HINT}"
                )
            chosen = Trust.PROJECT
            reasons.append("Only the project CA given is trusted (trust='project').")
        elif has_ca:
            chosen = Trust.PROJECT_AND_PUBLIC
            reasons.append(
                "The CA given and the public CAs of certifi are both trusted "
                "(trust='project+public'): older services may still use the project CA."
            )
        else:
            chosen = Trust.PUBLIC
            reasons.append("The public CAs of certifi's Mozilla bundle are trusted.")
    else:
        chosen = trust
        if trust is Trust.PROJECT:
            reasons.append("Only the project CA given is trusted (trust='project').")
        elif trust is Trust.PROJECT_AND_PUBLIC:
            reasons.append("The CA given and certifi's public CAs are trusted.")
        elif trust is Trust.PUBLIC:
            reasons.append("Only certifi's public CAs are trusted (trust='public').")
            if has_ca:
                reasons.append("The CA given is not trusted, because trust='public' was asked.")
        else:
            reasons.append("The operating system's trust store is trusted (trust='system').")
            if has_ca:
                reasons.append("The CA given is not trusted, because trust='system' was asked.")
        if service.uses_project_ca and trust in (Trust.PUBLIC, Trust.SYSTEM):
            reasons.append(
                f"Warning: {service.value} servers normally use the project CA, which "
                f"trust='{trust.value}' does not include; verification will likely fail."
            )

    check_hostname = sslmode is SSLMode.VERIFY_FULL
    if sslmode is SSLMode.REQUIRE:
        reasons.append(
            "sslmode=require with a trust store verifies the certificate chain but not the "
            "host name (libpq's rule: as verify-ca)."
        )
    elif sslmode is SSLMode.VERIFY_CA:
        reasons.append("sslmode=verify-ca verifies the certificate chain but not the host name.")
    else:
        reasons.append(
            "sslmode=verify-full verifies the certificate chain and that the host name is "
            "one the certificate names (subjectAltName only, never the common name)."
        )
    return Decision(
        chosen, True, check_hostname, has_client_cert, tuple(reasons + _client(has_client_cert))
    )


def _client(has_client_cert: bool) -> list[str]:
    if has_client_cert:
        return ["The client certificate given is sent when the server asks for one."]
    return ["No client certificate is sent."]


@dataclass(frozen=True)
class TLSPlan:
    """An immutable decision about one service connection, and the material it uses."""

    service: str
    sslmode: str
    trust: str
    verify_chain: bool
    check_hostname: bool
    client_cert: bool
    reasons: tuple[str, ...]
    credentials: Credentials | None = field(default=None, repr=False, compare=True)

    @property
    def service_type(self) -> Service:
        return Service.parse(self.service)

    @property
    def libpq_sslmode(self) -> str:
        """The libpq sslmode that does what this plan decided."""
        if not self.verify_chain:
            return "require"
        return "verify-full" if self.check_hostname else "verify-ca"

    def ssl_context(self) -> ssl.SSLContext:
        """A new :class:`ssl.SSLContext` configured as this plan says."""
        from ._context import build_context

        return build_context(self)

    def explain(self) -> str:
        """The decisions, one sentence each, for a terminal."""
        verdict = (
            "verifies NOTHING (encryption only)"
            if not self.verify_chain
            else "verifies the chain and the host name"
            if self.check_hostname
            else "verifies the chain, not the host name"
        )
        lines = [
            f"{self.service} over TLS, sslmode={self.sslmode}, trust={self.trust}: {verdict}",
        ]
        lines += [f"  - {reason}" for reason in self.reasons]
        if self.credentials is not None:
            lines.append(f"  material: {self.credentials.describe()}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()

    def _repr_html_(self) -> str:
        rows = [
            ("service", self.service),
            ("sslmode", self.sslmode),
            ("trust", self.trust),
            ("verify chain", _yes_no(self.verify_chain)),
            ("check host name", _yes_no(self.check_hostname)),
            ("client certificate", _yes_no(self.client_cert)),
        ]
        if self.credentials is not None:
            rows.append(("material", self.credentials.describe()))
        body = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'>{html.escape(v)}</td></tr>"
            for k, v in rows
        )
        reasons = "".join(f"<li>{html.escape(r)}</li>" for r in self.reasons)
        colour = "#b00020" if not self.verify_chain else "#1b5e20"
        title = "NOT VERIFIED" if not self.verify_chain else "verified"
        return (
            f"<div class='tlsconnect-plan'><strong style='color:{colour}'>"
            f"TLS plan for {html.escape(self.service)}: {title}</strong>"
            f"<table>{body}</table><ul>{reasons}</ul></div>"
        )


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def resolve(
    service: str | Service,
    *,
    sslmode: str | SSLMode | None = None,
    trust: str | Trust | None = None,
    credentials: Credentials | None = None,
    ca: Material | None = None,
    cert: Material | None = None,
    key: Material | None = None,
    key_password: str | bytes | None = None,
) -> TLSPlan:
    """Decide how to connect to ``service``; see the API contract for every rule."""
    plan = _resolve_quiet(
        service,
        sslmode=sslmode,
        trust=trust,
        credentials=credentials,
        ca=ca,
        cert=cert,
        key=key,
        key_password=key_password,
    )
    warn_if_insecure(plan, stacklevel=2)
    return plan


def _resolve_quiet(
    service: str | Service,
    *,
    sslmode: str | SSLMode | None,
    trust: str | Trust | None,
    credentials: Credentials | None,
    ca: Material | None,
    cert: Material | None,
    key: Material | None,
    key_password: str | bytes | None,
) -> TLSPlan:
    """:func:`resolve` without the warning, for callers that warn themselves."""
    service_type = Service.parse(service)
    mode = SSLMode.parse("verify-full" if sslmode is None else sslmode)
    chosen_trust = None if trust is None else Trust.parse(trust)
    if credentials is not None:
        given = [
            name
            for name, value in (
                ("ca", ca),
                ("cert", cert),
                ("key", key),
                ("key_password", key_password),
            )
            if value is not None
        ]
        if given:
            raise ConfigError(
                f"credentials= and {'/'.join(given)}= were both given; pass either a "
                "Credentials object or the separate files, not both"
            )
        if not isinstance(credentials, Credentials):
            raise ConfigError(
                f"credentials must be a tlsconnect.Credentials, not "
                f"{type(credentials).__name__}; use Credentials(ca=..., cert=..., key=...) "
                "or Credentials.from_directory(path)"
            )
    elif any(value is not None for value in (ca, cert, key)):
        # Parsed once per exact input (content, or path and file state): see _cache.
        credentials = cached_credentials(ca=ca, cert=cert, key=key, key_password=key_password)
    elif key_password is not None:
        raise ConfigError("key_password= was given without key=; pass the key too")
    has_ca = credentials is not None and credentials.has_ca
    has_client = credentials is not None and credentials.has_client_cert
    decision = decide(service_type, mode, chosen_trust, has_ca=has_ca, has_client_cert=has_client)
    return TLSPlan(
        service=service_type.value,
        sslmode=mode.value,
        trust=decision.trust.value,
        verify_chain=decision.verify_chain,
        check_hostname=decision.check_hostname,
        client_cert=decision.client_cert,
        reasons=decision.reasons,
        credentials=credentials,
    )


def warn_if_insecure(plan: TLSPlan, *, stacklevel: int) -> None:
    if not plan.verify_chain:
        warnings.warn(
            f"{plan.service} with sslmode=require and no CA: the connection is encrypted but "
            "the server is NOT verified, so anyone on the network path can impersonate it. "
            f"{_CA_HINT[0].upper()}{_CA_HINT[1:]} and use sslmode='verify-full'.",
            InsecureConnectionWarning,
            stacklevel=stacklevel + 1,
        )
