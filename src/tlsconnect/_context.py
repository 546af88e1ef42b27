"""The one context factory: secure defaults, set explicitly and in the right order.

It reads a plan (anything shaped like :class:`~tlsconnect.TLSPlan`: see :class:`PlanView`)
and never decides anything itself.

Cost: certifi's public CAs are loaded from a hashed CA directory built once per bundle
(see :mod:`tlsconnect._cadir`), so a public-CA context costs about what an empty one
does; material given by path or content is parsed once (see :mod:`tlsconnect._cache`).
Every call returns a new context that the caller may change freely, except with
``shared=True``, which returns one read-only context per identical plan.
"""

from __future__ import annotations

import _thread
import ssl

from ._cache import shared_contexts
from ._cadir import TrustLocation, public_trust
from ._errors import ConfigError, MissingDependencyError
from ._files import MemoryFiles
from ._handshake import DiagnosingContext
from ._model import Service, Trust
from ._trust import SYSTEM_EXTRA_HINT, system_store_is_file

# typing is not imported at run time: this module is on the path of every context.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, Protocol

    from ._diagnose import Expectation
    from ._material import Credentials

    class PlanView(Protocol):
        """What the factory reads of a plan."""

        @property
        def service(self) -> str: ...
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
    "apply_floor",
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
    kafka-python, aiokafka), and with the HTTP clients that touch the context they are
    given (httpx, urllib3, requests through an adapter, opensearch-py). What cannot weaken
    it and cannot disturb another holder is allowed: setting an attribute to the value it
    already has (urllib3 sets ``verify_mode`` to the context's own on every connection),
    and ALPN once: the first ``set_alpn_protocols`` call fixes the protocols (tlsconnect
    sets none), and later calls with the same list are accepted (httpx and urllib3 set
    ``["http/1.1"]`` per connection). Everything else raises: another value for an
    attribute (``check_hostname = False``, ``CERT_NONE``, lower versions: an
    :class:`AttributeError`), other ALPN protocols, new trust or certificates (``load_*``,
    ``set_*``: a :class:`TypeError`); so one caller cannot change what another caller's
    connections do.
    """

    _frozen = False
    #: The ALPN protocols set, once (None: none yet).
    _alpn: tuple[str, ...] | None = None

    def _freeze(self) -> None:
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name: str, value: object) -> None:
        if self._frozen:
            if _unchanged(self, name, value):
                return  # nothing changes for anyone
            raise AttributeError(f"cannot set {name!r} to another value: {_SHARED_HINT}")
        super().__setattr__(name, value)

    def __delattr__(self, name: str) -> None:
        if self._frozen:
            raise AttributeError(f"cannot delete {name!r}: {_SHARED_HINT}")
        super().__delattr__(name)

    def set_alpn_protocols(self, alpn_protocols: Iterable[str]) -> None:
        """Set once; the same protocols again are accepted, others refused when shared."""
        wanted = tuple(alpn_protocols)
        with _alpn_lock:
            if self._alpn is None or not self._frozen:
                super().set_alpn_protocols(list(wanted))
                object.__setattr__(self, "_alpn", wanted)
                return
        if wanted != self._alpn:
            raise TypeError(
                f"cannot set the ALPN protocols to {list(wanted)}: they were set to "
                f"{list(self._alpn)} by the first holder, and {_SHARED_HINT}"
            )


_alpn_lock = _thread.allocate_lock()


def _unchanged(context: ssl.SSLContext, name: str, value: object) -> bool:
    """Whether ``context.name`` already is ``value`` (of the same kind: ``True`` is not
    ``1``)."""
    try:
        current = getattr(context, name)
    except AttributeError:
        return False
    if isinstance(current, bool) != isinstance(value, bool):
        return False
    return bool(current == value)


# Every method of ssl.SSLContext that changes it (but ALPN, above); a frozen
# SharedSSLContext refuses them.
_MUTATORS = (
    "load_cert_chain",
    "load_verify_locations",
    "load_default_certs",
    "set_default_verify_paths",
    "load_dh_params",
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
    apply_floor(context)
    return context


def apply_floor(context: ssl.SSLContext) -> None:
    """tlsconnect's security floor, each line with its reason: the one place it is set on
    a context (the written-out recipes say the same in :data:`tlsconnect.adapters._recipe.
    FLOOR_LINES`, and a test holds the two equal), the same on every Python version."""
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION
    # Host names are checked against subjectAltName only, as RFC 6125 and libpq 14+ do
    # when a SAN is present; a certificate that names its host only in the CN is refused.
    context.hostname_checks_common_name = False
    # Anchors must be the CA that issued the chain's top: trusting an intermediate alone
    # is refused, as libpq and librdkafka refuse it (Python 3.13's create_default_context
    # and urllib3 on 3.13 would accept it).
    # VERIFY_X509_STRICT is off, as in libpq and librdkafka: the same certificates are
    # accepted on every Python, rather than some refused on 3.13 only (where
    # create_default_context sets it) for encoding details that do not weaken the chain.
    context.verify_flags &= ~(ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT)


def _os_verifying_context() -> DiagnosingContext:
    """A context that verifies the server through the operating system's own APIs
    (``truststore``: the Windows certificate store, the macOS Keychain), for
    ``trust="system"`` where the operating system's CAs are not a file OpenSSL reads."""
    try:
        import truststore
    except ImportError:
        raise MissingDependencyError(
            "trust='system' here needs the operating system's own verification (its CAs "
            f"are not a file OpenSSL can read); install it with `{SYSTEM_EXTRA_HINT}`"
        ) from None
    # An ssl.SSLContext in all but name; its verification errors are the OS's own.
    context: DiagnosingContext = truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # type: ignore[assignment,unused-ignore]
    return context


def build_context(
    plan: PlanView,
    *,
    public: TrustLocation | None = None,
    context_class: type[DiagnosingContext] = DiagnosingContext,
    client_cert: bool = True,
) -> DiagnosingContext:
    """A new :class:`ssl.SSLContext` configured as ``plan`` says.

    ``client_cert=False`` leaves the client certificate out, for connections that must not
    present it (``tlsconnect check``'s extra reads). ``trust="system"`` where the operating
    system's CAs are not a file (Windows, the macOS Keychain) gives a ``truststore``
    context, which verifies with the operating system's APIs (the ``system`` extra).
    """
    credentials = plan.credentials
    system = plan.verify_chain and plan.trust == Trust.SYSTEM.value
    through_os = system and not system_store_is_file()
    if through_os:
        if context_class is not DiagnosingContext:
            raise ConfigError(
                "trust='system' verifies through the operating system's own APIs here (its "
                "CAs are not a file), and such a context cannot be shared; call "
                "ssl_context() without shared=True"
            )
        context = _os_verifying_context()
    else:
        context = context_class(ssl.PROTOCOL_TLS_CLIENT)
    apply_floor(context)
    if plan.service == Service.POSTGRESQL.value and ssl.HAS_ALPN:
        # PostgreSQL 17+ refuses a direct TLS connection (sslnegotiation=direct) that does
        # not offer ALPN "postgresql"; libpq 17+ offers it on every connection, and so does
        # every PostgreSQL context (older servers ignore it).
        context.set_alpn_protocols(["postgresql"])
    trusts = []  # in words, for the context's repr
    if plan.verify_chain:
        # verify_mode before check_hostname: CERT_NONE with check_hostname is refused.
        context.verify_mode = ssl.CERT_REQUIRED
        context.check_hostname = plan.check_hostname
        trust = Trust(plan.trust)
        if trust in (Trust.PROJECT, Trust.PROJECT_AND_PUBLIC):
            if credentials is None or not credentials.has_ca:
                raise ConfigError(f"trust='{trust.value}' needs the project CA; pass ca='ca.pem'")
            context.load_verify_locations(cadata=credentials.ca_pem.decode("utf-8"))
            count = credentials.ca_pem.count(b"-----BEGIN CERTIFICATE-----")
            trusts.append(f"{count} project CA{'s' if count != 1 else ''}")
        if trust in (Trust.PUBLIC, Trust.PROJECT_AND_PUBLIC):
            location = public or public_trust()
            location.load_into(context)
            # A CA directory is read by OpenSSL when a handshake needs it: until then
            # cert_store_stats() counts none of it.
            trusts.append("certifi, loaded on demand" if location.capath else "certifi")
        if trust is Trust.SYSTEM and not through_os:
            context.load_default_certs(ssl.Purpose.SERVER_AUTH)
            trusts.append("the operating system's store")
        context.trusts = f"{trust.value} ({' + '.join(trusts)})"
    else:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        context.trusts = "none"
    # Verification errors then name the host, the certificate's names or issuer, and
    # the fix; they stay ssl.SSLCertVerificationError (see _handshake).
    if isinstance(context, DiagnosingContext) and not through_os:
        context.expectation = plan.expectation
        # Verified (and sent as SNI) instead of whatever host name a driver passes.
        context.server_name = plan.server_name
    if client_cert and credentials is not None and credentials.has_client_cert:
        # The pair loaded is the pair Credentials checked (its bytes, from memory files,
        # or private files removed as soon as it is loaded), never the user's files as
        # they are now: mid-rotation those may hold a new certificate beside the old key.
        try:
            with MemoryFiles(credentials.cert_chain_pem, credentials.key_pem) as files:
                context.load_cert_chain(files[0], files[1], credentials.key_password)
            context.client_cert = True
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
