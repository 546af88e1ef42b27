"""The decision core: which issuer to trust, what to verify, whether to send a certificate.

:func:`decide` is a pure function of (service type, sslmode, trust, what material was
given): no I/O, no material, no driver. It reads the one service table
(:data:`tlsconnect._model.SERVICE_TABLE`) and returns a :class:`Decision`; everything else
(contexts, driver parameters, probes) reads the decision and never decides again.
"""

from __future__ import annotations

from ._errors import ConfigError
from ._model import Service, SSLMode, Trust

__all__ = ["CA_HINT", "Decision", "decide"]

CA_HINT = (
    "pass ca='ca.pem' (the project CA: download it from the service's Overview page or "
    "with `avn service user-creds-download`)"
)


class Decision:
    """What a plan decided, without the material itself."""

    __slots__ = ("check_hostname", "client_cert", "reasons", "trust", "verify_chain")

    def __init__(
        self,
        trust: Trust,
        verify_chain: bool,
        check_hostname: bool,
        client_cert: bool,
        reasons: tuple[str, ...],
    ) -> None:
        self.trust = trust
        self.verify_chain = verify_chain
        self.check_hostname = check_hostname
        self.client_cert = client_cert
        self.reasons = reasons

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Decision):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def _fields(self) -> tuple[object, ...]:
        return (self.trust, self.verify_chain, self.check_hostname, self.client_cert, self.reasons)

    def __repr__(self) -> str:
        return (
            f"Decision(trust={self.trust.value!r}, verify_chain={self.verify_chain}, "
            f"check_hostname={self.check_hostname}, client_cert={self.client_cert})"
        )


def decide(
    service: Service,
    sslmode: SSLMode,
    trust: Trust | None,
    *,
    has_ca: bool,
    has_client_cert: bool,
) -> Decision:
    """Decide, purely, how a connection to ``service`` is verified."""
    reasons: list[str] = [service.issuer_reason]

    if trust is Trust.PROJECT_AND_PUBLIC and not has_ca:
        raise ConfigError(f"trust='project+public' needs the project CA; {CA_HINT}")
    if trust is Trust.PROJECT and not has_ca:
        raise ConfigError(f"trust='project' needs the project CA; {CA_HINT}")

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
                    f"the project CA, and none was given; {CA_HINT}"
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
