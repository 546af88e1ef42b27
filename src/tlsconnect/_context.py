"""The one context factory: secure defaults, set explicitly and in the right order.

It reads a :class:`~tlsconnect.TLSPlan` and never decides anything itself.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING

from ._errors import ConfigError
from ._model import Trust
from ._verify_hint import DiagnosingSSLSocket

if TYPE_CHECKING:
    from ._material import Credentials, Material
    from ._plan import TLSPlan

__all__ = ["build_context", "new_client_context", "public_ca_file", "ssl_context"]


def public_ca_file() -> str:
    """certifi's Mozilla bundle."""
    import certifi

    return str(certifi.where())


def new_client_context() -> ssl.SSLContext:
    """A client context with tlsconnect's floor, before any trust is loaded."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION
    # Host names are checked against subjectAltName only, as RFC 6125 and libpq 14+ do
    # when a SAN is present; a certificate that names its host only in the CN is refused.
    context.hostname_checks_common_name = False
    # Anchors must be the CA that issued the chain's top: trusting an intermediate alone
    # is refused, as libpq and librdkafka refuse it (newer Pythons would accept it).
    context.verify_flags &= ~getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)
    return context


def build_context(plan: TLSPlan) -> ssl.SSLContext:
    """A new :class:`ssl.SSLContext` configured as ``plan`` says."""
    context = new_client_context()
    credentials = plan.credentials
    if plan.verify_chain:
        # verify_mode before check_hostname: CERT_NONE with check_hostname is refused.
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = plan.check_hostname
        trust = Trust(plan.trust)
        if trust in (Trust.PROJECT, Trust.PROJECT_AND_PUBLIC):
            assert credentials is not None and credentials.has_ca
            context.load_verify_locations(cadata=credentials.ca_pem.decode("ascii"))
        if trust in (Trust.PUBLIC, Trust.PROJECT_AND_PUBLIC):
            context.load_verify_locations(cafile=public_ca_file())
        if trust is Trust.SYSTEM:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    # Verification errors then name the host, the certificate's names or issuer, and
    # the fix; they stay ssl.SSLCertVerificationError (see _verify_hint).
    context.sslsocket_class = DiagnosingSSLSocket
    context._tlsconnect_trust = plan.trust  # type: ignore[attr-defined]
    if credentials is not None and credentials.has_client_cert:
        client_files = (
            str(credentials.cert_file()),
            str(credentials.key_file()),
            credentials.key_password,
        )
        context._tlsconnect_client_files = client_files  # type: ignore[attr-defined]
        try:
            context.load_cert_chain(*client_files)
        except (ssl.SSLError, OSError) as exc:
            detail = getattr(exc, "reason", None) or type(exc).__name__
            raise ConfigError(
                f"the client certificate and {credentials.key_label()} could not be loaded "
                f"into an SSL context ({detail}); check that they are a matching pair"
            ) from exc
    return context


def ssl_context(
    service: str,
    *,
    sslmode: str | None = None,
    trust: str | None = None,
    credentials: Credentials | None = None,
    ca: Material | None = None,
    cert: Material | None = None,
    key: Material | None = None,
    key_password: str | bytes | None = None,
) -> ssl.SSLContext:
    """A new :class:`ssl.SSLContext` for ``service``: ``resolve(...).ssl_context()``."""
    from ._plan import _resolve_quiet, warn_if_insecure

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
    return build_context(plan)
