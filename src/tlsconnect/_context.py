"""The one context factory: secure defaults, set explicitly and in the right order.

It reads a :class:`~tlsconnect.TLSPlan` and never decides anything itself.

Cost: certifi's public CAs are loaded from a hashed CA directory built once per bundle
(see :mod:`tlsconnect._truststore`), so a public-CA context costs about what an empty one
does; material given by path or content is parsed once (see :mod:`tlsconnect._cache`).
Every call returns a new context that the caller may change freely, except with
``shared=True``, which returns one read-only context per identical plan.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any, TypeVar

from ._errors import ConfigError
from ._model import Trust
from ._plan import _resolve_quiet, warn_if_insecure
from ._truststore import TrustLocation, public_trust
from ._verify_hint import DiagnosingSSLSocket

if TYPE_CHECKING:
    from ._material import Credentials, Material
    from ._plan import TLSPlan

__all__ = [
    "SharedSSLContext",
    "build_context",
    "new_client_context",
    "public_ca_file",
    "shared_context",
    "ssl_context",
]

_C = TypeVar("_C", bound=ssl.SSLContext)


def public_ca_file() -> str:
    """certifi's Mozilla bundle."""
    import certifi

    return str(certifi.where())


_SHARED_HINT = (
    "this SSLContext is shared by every caller who asked for the same connection "
    "(ssl_context(..., shared=True)) and cannot be changed; call ssl_context() without "
    "shared=True to get a context of your own"
)


class SharedSSLContext(ssl.SSLContext):
    """A read-only :class:`ssl.SSLContext`, handed out by ``ssl_context(..., shared=True)``.

    It works wherever a context is used as it is (``wrap_socket``, ``wrap_bio``, asyncio,
    kafka-python, aiokafka). Setting an attribute raises :class:`AttributeError`; a method
    that would change it (``load_*``, ``set_*``) raises :class:`TypeError`; so one caller
    cannot change what another caller's connections do.
    """

    _frozen = False

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name: str, value: object) -> None:
        if self._frozen:
            raise AttributeError(f"cannot set {name!r}: {_SHARED_HINT}")
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if self._frozen:
            raise AttributeError(f"cannot delete {name!r}: {_SHARED_HINT}")
        super().__delattr__(name)


# Every method of ssl.SSLContext that changes it; a frozen SharedSSLContext refuses them.
_MUTATORS = (
    "load_cert_chain",
    "load_verify_locations",
    "load_default_certs",
    "set_default_verify_paths",
    "load_dh_params",
    "set_alpn_protocols",
    "set_npn_protocols",
    "set_ciphers",
    "set_ecdh_curve",
    "set_servername_callback",
    "set_psk_client_callback",
    "set_psk_server_callback",
)


def _refusing(name: str) -> Any:
    inherited = getattr(ssl.SSLContext, name)

    def method(self: SharedSSLContext, *args: Any, **kwargs: Any) -> Any:
        if self._frozen:
            raise TypeError(f"cannot call {name}(): {_SHARED_HINT}")
        return inherited(self, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = inherited.__doc__
    return method


for _name in _MUTATORS:
    if hasattr(ssl.SSLContext, _name):
        setattr(SharedSSLContext, _name, _refusing(_name))


def new_client_context(context_class: type[_C] = ssl.SSLContext) -> _C:  # type: ignore[assignment]
    """A client context with tlsconnect's floor, before any trust is loaded."""
    context = context_class(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION
    # Host names are checked against subjectAltName only, as RFC 6125 and libpq 14+ do
    # when a SAN is present; a certificate that names its host only in the CN is refused.
    context.hostname_checks_common_name = False
    # Anchors must be the CA that issued the chain's top: trusting an intermediate alone
    # is refused, as libpq and librdkafka refuse it (newer Pythons would accept it).
    context.verify_flags &= ~getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)
    return context


def build_context(
    plan: TLSPlan,
    *,
    public: TrustLocation | None = None,
    context_class: type[_C] = ssl.SSLContext,  # type: ignore[assignment]
) -> _C:
    """A new :class:`ssl.SSLContext` configured as ``plan`` says."""
    context = new_client_context(context_class)
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
            (public or public_trust()).load_into(context)
        if trust is Trust.SYSTEM:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    # Verification errors then name the host, the certificate's names or issuer, and
    # the fix; they stay ssl.SSLCertVerificationError (see _verify_hint).
    context.sslsocket_class = DiagnosingSSLSocket
    context._tlsconnect_plan = plan  # type: ignore[attr-defined]
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
    shared: bool = False,
) -> ssl.SSLContext:
    """A new :class:`ssl.SSLContext` for ``service``: ``resolve(...).ssl_context()``.

    With ``shared=True``, calls that resolve to the same plan (same service, sslmode,
    trust and material) get the same :class:`SharedSSLContext`, which refuses changes:
    the fastest choice for code that builds a context per request and uses it as it is.
    """
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
    if shared:
        return shared_context(plan)
    return build_context(plan)


def shared_context(plan: TLSPlan) -> SharedSSLContext:
    """The one read-only context for ``plan`` (built on first use, kept in a bounded LRU)."""
    from ._cache import shared_contexts

    public = None
    if plan.verify_chain and plan.trust in (Trust.PUBLIC.value, Trust.PROJECT_AND_PUBLIC.value):
        public = public_trust()
    key = (plan, public)
    found = shared_contexts.get(key)
    if isinstance(found, SharedSSLContext):
        return found
    context = build_context(plan, public=public, context_class=SharedSSLContext)
    context._freeze()
    shared_contexts.put(key, context)
    return context
