"""The one context factory: secure defaults, set explicitly and in the right order.

It reads a plan (anything shaped like :class:`~tlsconnect.TLSPlan`: see :class:`PlanView`)
and never decides anything itself.

Cost: certifi's public CAs are loaded from a hashed CA directory built once per bundle
(see :mod:`tlsconnect._truststore`), so a public-CA context costs about what an empty one
does; material given by path or content is parsed once (see :mod:`tlsconnect._cache`).
Every call returns a new context that the caller may change freely, except with
``shared=True``, which returns one read-only context per identical plan.
"""

from __future__ import annotations

import ssl

from ._cache import shared_contexts
from ._errors import ConfigError
from ._files import MemoryFiles
from ._handshake import DiagnosingContext
from ._model import Trust
from ._trust import TrustLocation, public_trust

# typing is not imported at run time: this module is on the path of every context.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    from ._diagnose import Expectation
    from ._material import Credentials

    class PlanView(Protocol):
        """What the factory reads of a plan."""

        @property
        def trust(self) -> str: ...
        @property
        def verify_chain(self) -> bool: ...
        @property
        def check_hostname(self) -> bool: ...
        @property
        def credentials(self) -> Credentials | None: ...
        @property
        def server_name(self) -> str | None: ...
        @property
        def expectation(self) -> Expectation: ...


__all__ = [
    "SharedSSLContext",
    "build_context",
    "new_client_context",
    "shared_context",
]

_SHARED_HINT = (
    "this SSLContext is shared by every caller who asked for the same connection "
    "(ssl_context(..., shared=True)) and cannot be changed; call ssl_context() without "
    "shared=True to get a context of your own"
)


class SharedSSLContext(DiagnosingContext):
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


def new_client_context(context_class: type[ssl.SSLContext] = ssl.SSLContext) -> ssl.SSLContext:
    """A client context with tlsconnect's floor, before any trust is loaded."""
    context = context_class(ssl.PROTOCOL_TLS_CLIENT)
    _floor(context)
    return context


def _floor(context: ssl.SSLContext) -> None:
    """tlsconnect's security floor, each line with its reason."""
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION
    # Host names are checked against subjectAltName only, as RFC 6125 and libpq 14+ do
    # when a SAN is present; a certificate that names its host only in the CN is refused.
    context.hostname_checks_common_name = False
    # Anchors must be the CA that issued the chain's top: trusting an intermediate alone
    # is refused, as libpq and librdkafka refuse it (newer Pythons would accept it).
    context.verify_flags &= ~getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)


def build_context(
    plan: PlanView,
    *,
    public: TrustLocation | None = None,
    context_class: type[DiagnosingContext] = DiagnosingContext,
    client_cert: bool = True,
) -> DiagnosingContext:
    """A new :class:`ssl.SSLContext` configured as ``plan`` says.

    ``client_cert=False`` leaves the client certificate out, for connections that must not
    present it (``tlsconnect check``'s extra reads).
    """
    context = context_class(ssl.PROTOCOL_TLS_CLIENT)
    _floor(context)
    credentials = plan.credentials
    if plan.verify_chain:
        # verify_mode before check_hostname: CERT_NONE with check_hostname is refused.
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = plan.check_hostname
        trust = Trust(plan.trust)
        if trust in (Trust.PROJECT, Trust.PROJECT_AND_PUBLIC):
            if credentials is None or not credentials.has_ca:
                raise ConfigError(f"trust='{trust.value}' needs the project CA; pass ca='ca.pem'")
            context.load_verify_locations(cadata=credentials.ca_pem.decode("utf-8"))
        if trust in (Trust.PUBLIC, Trust.PROJECT_AND_PUBLIC):
            (public or public_trust()).load_into(context)
        if trust is Trust.SYSTEM:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    # Verification errors then name the host, the certificate's names or issuer, and
    # the fix; they stay ssl.SSLCertVerificationError (see _handshake).
    if isinstance(context, DiagnosingContext):
        context.expectation = plan.expectation
        # Verified (and sent as SNI) instead of whatever host name a driver passes.
        context.server_name = plan.server_name
    if client_cert and credentials is not None and credentials.has_client_cert:
        # The pair loaded is the pair Credentials checked (its bytes, from memory files),
        # never the user's files as they are now: mid-rotation those may hold a new
        # certificate beside the old key.
        try:
            with MemoryFiles(credentials.cert_chain_pem, credentials.key_pem) as files:
                context.load_cert_chain(files[0], files[1], credentials.key_password)
        except (ssl.SSLError, OSError) as exc:
            detail = getattr(exc, "reason", None) or type(exc).__name__
            raise ConfigError(
                f"the client certificate and {credentials.key_label()} could not be loaded "
                f"into an SSL context ({detail}); check that they are a matching pair"
            ) from exc
    return context


def shared_context(plan: PlanView) -> SharedSSLContext:
    """The one read-only context for ``plan`` (built on first use, kept in a bounded LRU)."""
    public = None
    if plan.verify_chain and plan.trust in (Trust.PUBLIC.value, Trust.PROJECT_AND_PUBLIC.value):
        public = public_trust()
    key = (plan, public)
    found = shared_contexts.get(key)
    if isinstance(found, SharedSSLContext):
        return found
    context = build_context(plan, public=public, context_class=SharedSSLContext)
    if not isinstance(context, SharedSSLContext):  # what context_class makes; for typing
        raise TypeError("build_context made the wrong class")
    context._freeze()
    shared_contexts.put(key, context)
    return context
