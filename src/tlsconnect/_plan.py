"""The plan: :func:`resolve` loads the material and wraps the decision in a :class:`TLSPlan`.

The decision itself is :func:`tlsconnect._decide.decide`, a pure function; this module
adds the material (parsed once per input, see :mod:`._cache`), the options every entry
point shares (:class:`Options`), the warning for plans that verify nothing, and
:func:`ssl_context`.
"""

from __future__ import annotations

import ssl

from ._cache import cached_credentials, plans
from ._context import build_context, shared_context
from ._decide import CA_HINT, decide
from ._diagnose import Expectation
from ._errors import ConfigError, InsecureConnectionWarning, warn
from ._material import Credentials
from ._model import Service, SSLMode, SSLNegotiation, Trust

# typing is not imported at run time: this module is on the path of the first context.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._pem import Material
    from ._target import Target


__all__ = [
    "OPTIONS_DOC",
    "OPTION_NAMES",
    "Options",
    "TLSPlan",
    "check_server_name",
    "options_for_target",
    "plan_for",
    "resolve_plan",
    "ssl_context",
    "warn_if_insecure",
]

#: The keyword options every entry point takes, in order: the parameters of
#: :class:`Options`, the one definition of their types and defaults.
OPTION_NAMES = (
    "sslmode",
    "trust",
    "credentials",
    "ca",
    "cert",
    "key",
    "key_password",
    "sslnegotiation",
    "server_name",
)

OPTIONS_DOC = """
Options (keyword-only, shared by every entry point):

- ``sslmode``: ``"verify-full"`` (default), ``"verify-ca"`` or ``"require"`` (libpq's words).
- ``trust``: ``None`` (the service type's default), ``"project"``, ``"public"``,
  ``"system"`` or ``"project+public"``.
- ``credentials``: a :class:`tlsconnect.Credentials`; or the material itself:
- ``ca``, ``cert``, ``key``: a path, PEM text or bytes; ``key_password``: str or bytes.
- ``sslnegotiation``: PostgreSQL only: ``"postgres"`` (default: the SSLRequest first) or
  ``"direct"`` (the TLS handshake at once, with ALPN "postgresql": PostgreSQL 17+ servers,
  libpq 17+, asyncpg 0.26+).
- ``server_name``: connect to the target's host, but verify the certificate against this
  name and send it as SNI (an SSH tunnel, a port-forward, a private endpoint's address).
"""


class Options:
    """The options of one call, bundled once and passed on as one value.

    Its parameters are the one definition of the options every entry point takes. Each
    public entry point (:func:`resolve`, :func:`ssl_context`, ``check``, ``params`` and the
    named driver functions) spells them out as keyword-only parameters, with the same
    types and defaults, so that ``help()``, ``inspect.signature`` and type checkers show
    them; a test holds every one of those signatures to this one.
    """

    __slots__ = OPTION_NAMES

    def __init__(
        self,
        *,
        sslmode: str | SSLMode | None = None,
        trust: str | Trust | None = None,
        credentials: Credentials | None = None,
        ca: Material | None = None,
        cert: Material | None = None,
        key: Material | None = None,
        key_password: str | bytes | None = None,
        sslnegotiation: str | SSLNegotiation | None = None,
        server_name: str | None = None,
    ) -> None:
        self.sslmode = sslmode
        self.trust = trust
        self.credentials = credentials
        self.ca = ca
        self.cert = cert
        self.key = key
        self.key_password = key_password
        self.sslnegotiation = sslnegotiation
        self.server_name = server_name

    @property
    def material_given(self) -> bool:
        return self.credentials is not None or any(
            value is not None for value in (self.ca, self.cert, self.key)
        )

    def replace(self, **changes: Any) -> Options:
        values: dict[str, Any] = {name: getattr(self, name) for name in OPTION_NAMES}
        values.update(changes)
        return Options(**values)

    def __repr__(self) -> str:
        shown = [
            f"{name}={getattr(self, name)!r}"
            for name in ("sslmode", "trust", "credentials", "sslnegotiation", "server_name")
            if getattr(self, name) is not None
        ]
        shown += [f"{name}=<given>" for name in ("ca", "cert", "key") if getattr(self, name)]
        if self.key_password is not None:
            shown.append("key_password=<hidden>")
        return f"Options({', '.join(shown)})"


class TLSPlan:
    """An immutable decision about one service connection, and the material it uses.

    A plain class with ``__slots__`` rather than a dataclass: it is made on every call to
    ``ssl_context()``, and ``dataclasses`` (with ``inspect``) would be most of what the
    first call imports. It behaves as the frozen dataclass it was: equal and hashed by its
    fields, and assigning to one raises ``dataclasses.FrozenInstanceError``.
    """

    __slots__ = (
        "check_hostname",
        "client_cert",
        "credentials",
        "raised_from",
        "reasons",
        "server_name",
        "service",
        "sslmode",
        "sslnegotiation",
        "trust",
        "verify_chain",
    )

    service: str
    sslmode: str
    trust: str
    verify_chain: bool
    check_hostname: bool
    client_cert: bool
    reasons: tuple[str, ...]
    credentials: Credentials | None
    #: The target's TLS word (``sslmode=require``) when this plan raised it to verify-full.
    raised_from: str | None
    sslnegotiation: str
    server_name: str | None

    def __init__(
        self,
        service: str,
        sslmode: str,
        trust: str,
        verify_chain: bool,
        check_hostname: bool,
        client_cert: bool,
        reasons: tuple[str, ...],
        credentials: Credentials | None = None,
        raised_from: str | None = None,
        sslnegotiation: str = SSLNegotiation.POSTGRES.value,
        server_name: str | None = None,
    ) -> None:
        for name, value in (
            ("service", service),
            ("sslmode", sslmode),
            ("trust", trust),
            ("verify_chain", verify_chain),
            ("check_hostname", check_hostname),
            ("client_cert", client_cert),
            ("reasons", tuple(reasons)),
            ("credentials", credentials),
            ("raised_from", raised_from),
            ("sslnegotiation", sslnegotiation),
            ("server_name", server_name),
        ):
            object.__setattr__(self, name, value)

    def _fields(self) -> tuple[object, ...]:
        return (
            self.service,
            self.sslmode,
            self.trust,
            self.verify_chain,
            self.check_hostname,
            self.client_cert,
            self.reasons,
            self.credentials,
            self.raised_from,
            self.sslnegotiation,
            self.server_name,
        )

    def __setattr__(self, name: str, value: object) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name: str) -> None:
        from dataclasses import FrozenInstanceError

        raise FrozenInstanceError(f"cannot delete field {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TLSPlan) or other.__class__ is not self.__class__:
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        # The material is left out (as the dataclass's repr=False did): it is summarised
        # by explain(), and never shows a key.
        return (
            f"TLSPlan(service={self.service!r}, sslmode={self.sslmode!r}, trust={self.trust!r}, "
            f"verify_chain={self.verify_chain!r}, check_hostname={self.check_hostname!r}, "
            f"client_cert={self.client_cert!r}, reasons={self.reasons!r}, "
            f"sslnegotiation={self.sslnegotiation!r}"
            + ("" if self.server_name is None else f", server_name={self.server_name!r}")
            + ")"
        )

    def __reduce__(self) -> str | tuple[object, ...]:
        return (self.__class__, self._fields())

    @property
    def service_type(self) -> Service:
        return Service.parse(self.service)

    @property
    def direct_tls(self) -> bool:
        """True when the connection starts TLS at once (``sslnegotiation=direct``)."""
        return self.sslnegotiation == SSLNegotiation.DIRECT.value

    @property
    def libpq_sslmode(self) -> str:
        """The libpq sslmode that does what this plan decided."""
        if not self.verify_chain:
            return "require"
        return "verify-full" if self.check_hostname else "verify-ca"

    @property
    def expectation(self) -> Expectation:
        """What this plan expects of the server, for diagnosing a failure."""
        credentials = self.credentials
        return Expectation(
            self.service,
            self.trust,
            self.client_cert,
            tuple(credentials.ca_certificates) if credentials is not None else (),
            raised_from=self.raised_from,
            server_name=self.server_name,
        )

    def ssl_context(self) -> ssl.SSLContext:
        """A new :class:`ssl.SSLContext` configured as this plan says."""
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
        if self.server_name is not None:
            lines.append(f"  - {_server_name_sentence(self)}")
        if self.verify_chain and self.trust in (Trust.PUBLIC.value, Trust.PROJECT_AND_PUBLIC.value):
            lines.append(
                "  - certifi's CAs are read from a hashed CA directory when a handshake needs "
                "them, so the context's cert_store_stats() reports x509_ca: 0 for them: its "
                "repr() says what it trusts"
            )
        if self.credentials is not None:
            lines.append(f"  material: {self.credentials.describe()}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain()

    def _repr_html_(self) -> str:
        import html

        rows = [
            ("service", self.service),
            ("sslmode", self.sslmode),
            ("trust", self.trust),
            ("verify chain", _yes_no(self.verify_chain)),
            ("check host name", _yes_no(self.check_hostname)),
            ("client certificate", _yes_no(self.client_cert)),
        ]
        if self.server_name is not None:
            rows.append(("server name", self.server_name))
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


def _server_name_sentence(plan: TLSPlan) -> str:
    name = plan.server_name
    what = (
        f"verifies the certificate against server_name '{name}' and sends it as SNI"
        if plan.check_hostname
        else f"sends server_name '{name}' as SNI (the host name is not checked)"
    )
    return (
        f"Connects to the target's host, and {what}, whatever host name the driver uses. "
        f"libpq drivers get host={name} and hostaddr= the target's addresses: a host name "
        "there is resolved, to every address it has, when the parameters are made (a "
        "written-out configuration takes an IP address only)."
    )


def check_server_name(value: object) -> str | None:
    """``server_name`` as given, checked: one host name or IP address, nothing else."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConfigError(
            f"server_name must be a host name (str), not {type(value).__name__}; pass the "
            "name the server's certificate holds, e.g. server_name='pg-x.aivencloud.com'"
        )
    # A trailing dot spells the same name fully qualified; certificates name it without.
    name = value.strip().removesuffix(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    if not name:
        raise ConfigError(
            "server_name is empty; pass the name the server's certificate holds (the host "
            "of the service URI), or leave server_name out"
        )
    if any(c in name for c in "/@?#") or any(c.isspace() for c in name):
        raise ConfigError(
            f"server_name {value!r} is not a host name: pass only the name the certificate "
            "holds (e.g. 'pg-x.aivencloud.com'), without a scheme, user, path or spaces"
        )
    if ":" in name:
        import ipaddress

        try:
            return str(ipaddress.IPv6Address(name))
        except ValueError:
            raise ConfigError(
                f"server_name {value!r} has a port or is not a host name; pass the name "
                "alone (the port is the target's, where the connection goes)"
            ) from None
    if "*" in name:
        raise ConfigError(
            f"server_name {value!r} is a wildcard; a certificate may hold one, but the name "
            "to verify is one concrete host name (e.g. 'pg-x.aivencloud.com')"
        )
    try:
        encoded = name.encode("idna")
    except UnicodeError:
        raise ConfigError(
            f"server_name {value!r} is not a valid host name (each label 1 to 63 letters, "
            "digits or hyphens)"
        ) from None
    if len(encoded) > 253:
        raise ConfigError(f"server_name {value[:40]!r}... is longer than a host name can be")
    return name


def ssl_context(
    service: str | Service,
    *,
    sslmode: str | SSLMode | None = None,
    trust: str | Trust | None = None,
    credentials: Credentials | None = None,
    ca: Material | None = None,
    cert: Material | None = None,
    key: Material | None = None,
    key_password: str | bytes | None = None,
    sslnegotiation: str | SSLNegotiation | None = None,
    server_name: str | None = None,
    shared: bool = False,
) -> ssl.SSLContext:
    """A new :class:`ssl.SSLContext` for ``service``: ``resolve(...).ssl_context()``.

    With ``shared=True``, calls that resolve to the same plan (same service, sslmode,
    trust and material) get the same :class:`SharedSSLContext`, which refuses changes:
    the fastest choice for code that builds a context per request and uses it as it is.
    """
    options = Options(
        sslmode=sslmode,
        trust=trust,
        credentials=credentials,
        ca=ca,
        cert=cert,
        key=key,
        key_password=key_password,
        sslnegotiation=sslnegotiation,
        server_name=server_name,
    )
    plan = resolve_plan(service, options)
    warn_if_insecure(plan)
    if shared:
        return shared_context(plan)
    return build_context(plan)


def resolve_plan(
    service: str | Service, options: Options, *, raisable: str | None = None
) -> TLSPlan:
    """:func:`resolve` without the warning, for the entry points that warn themselves.

    ``raisable``: the target's TLS word when it only asks for encryption and no
    ``sslmode`` was given (see :func:`plan_for`); with the project CA at hand, ``require``
    then becomes verify-full.
    """
    service_type = Service.parse(service)
    mode = SSLMode.parse("verify-full" if options.sslmode is None else options.sslmode)
    chosen_trust = None if options.trust is None else Trust.parse(options.trust)
    negotiation = _negotiation(service_type, options.sslnegotiation)
    credentials = options.credentials
    ca, cert, key, key_password = options.ca, options.cert, options.key, options.key_password
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
    # A plan is a pure function of these; repeated calls (a context per request) reuse it.
    # The material is keyed by identity, not equality: equal PEM read from a path and
    # given as text make different file choices for drivers. (The cached plan holds the
    # object, so its id cannot be reused while the entry lives.)
    has_ca = credentials is not None and credentials.has_ca
    raised_from = raisable if raisable and mode is SSLMode.REQUIRE and has_ca else None
    if raised_from is not None:
        mode = SSLMode.VERIFY_FULL
    server_name = check_server_name(options.server_name)
    plan_key = (
        service_type,
        mode,
        chosen_trust,
        negotiation,
        id(credentials),
        raised_from,
        server_name,
    )
    plan = plans.get(plan_key)
    if isinstance(plan, TLSPlan):
        return plan
    has_client = credentials is not None and credentials.has_client_cert
    try:
        decision = decide(
            service_type, mode, chosen_trust, has_ca=has_ca, has_client_cert=has_client
        )
    except ConfigError as exc:
        note = credentials.missing_ca_note if credentials is not None else None
        if note is None:
            raise
        raise ConfigError(f"{exc}; {note}") from None
    reasons = decision.reasons
    if raised_from is not None:
        reasons = (
            *reasons,
            f"The target's {raised_from} (the console's default) only asks for encryption; "
            "with the project CA at hand it was raised to verify-full, so the host name is "
            'checked too. To check the chain only, pass sslmode="verify-ca".',
        )
    if negotiation is SSLNegotiation.DIRECT:
        reasons += (
            "sslnegotiation=direct: the TLS handshake starts at once, offering ALPN "
            "'postgresql', one round trip fewer than the SSLRequest (PostgreSQL 17+ servers)",
        )
    plan = TLSPlan(
        service=service_type.value,
        sslmode=mode.value,
        trust=decision.trust.value,
        verify_chain=decision.verify_chain,
        check_hostname=decision.check_hostname,
        client_cert=decision.client_cert,
        reasons=reasons,
        credentials=credentials,
        raised_from=raised_from,
        sslnegotiation=negotiation.value,
        server_name=server_name,
    )
    plans.put(plan_key, plan)
    return plan


def plan_for(target: Target, options: Options) -> TLSPlan:
    """The plan for a parsed target: the one way every entry point that reads a target
    (``params()``, the named functions, ``check``, ``config``, ``resolve(target=)``) decides.

    The options are completed from the target (:func:`options_for_target`); a TLS word in
    the target that only asks for encryption (the console's ``sslmode=require``, MySQL's
    ``ssl-mode=REQUIRED``) is raised to verify-full when the project CA is at hand, unless
    ``sslmode`` was given or the target names its own root certificate (libpq's rule then
    applies: the chain only).
    """
    completed = options_for_target(options, target)
    raisable = None
    if options.sslmode is None and not target.material.get("sslrootcert"):
        raisable = target.asks_encryption_only
    return resolve_plan(target.service, completed, raisable=raisable)


def _negotiation(service: Service, given: object) -> SSLNegotiation:
    """The sslnegotiation word, parsed; ``direct`` is PostgreSQL's alone."""
    negotiation = SSLNegotiation.POSTGRES if given is None else SSLNegotiation.parse(given)
    if negotiation is SSLNegotiation.DIRECT and service is not Service.POSTGRESQL:
        raise ConfigError(
            f"sslnegotiation='direct' is PostgreSQL's (a PostgreSQL 17+ server starts TLS at "
            f"once); a {service.value} service negotiates TLS its own way: leave it out"
        )
    return negotiation


def options_for_target(options: Options, target: Target) -> Options:
    """The options, completed from what the target itself says.

    The target's TLS word (``?sslmode=require``) is used only when no ``sslmode`` was
    given: what the caller asks for always wins, so a URI never weakens it; so is a
    PostgreSQL target's ``sslnegotiation``. Files a libpq
    target names (``sslrootcert``, ``sslcert``, ``sslkey``, ``sslpassword``) are the
    material, field by field, unless the same field was given or ``credentials=`` was.
    """
    changes: dict[str, Any] = {}
    refusal = target.plaintext_refusal()
    if options.sslmode is None and refusal is not None:
        raise ConfigError(refusal)
    if options.sslmode is None and target.sslmode is not None:
        try:
            SSLMode.parse(target.sslmode)
        except ConfigError as exc:
            raise ConfigError(f"{target.origin}: {exc}") from None
        changes["sslmode"] = target.sslmode
    negotiation = target.params.get("sslnegotiation")
    if options.sslnegotiation is None and negotiation and target.service is Service.POSTGRESQL:
        try:
            SSLNegotiation.parse(negotiation)
        except ConfigError as exc:
            raise ConfigError(f"{target.origin}: {exc}") from None
        changes["sslnegotiation"] = negotiation
    material = target.material
    if options.credentials is None and material:
        rootcert = material.get("sslrootcert") or None
        if options.ca is None and rootcert == "system":
            if options.trust is None:
                changes["trust"] = "system"
        elif options.ca is None and rootcert is not None:
            changes["ca"] = rootcert
        pair_given = options.cert is not None or options.key is not None
        if not pair_given and (material.get("sslcert") or material.get("sslkey")):
            changes["cert"] = material.get("sslcert") or None
            changes["key"] = material.get("sslkey") or None
            if options.key_password is None:
                changes["key_password"] = material.get("sslpassword") or None
    return options.replace(**changes) if changes else options


def warn_if_insecure(plan: TLSPlan) -> None:
    """The :class:`InsecureConnectionWarning` for a plan that verifies nothing, pointing
    at the user's line."""
    if not plan.verify_chain:
        warn(
            f"{plan.service} with sslmode=require and no CA: the connection is encrypted but "
            "the server is NOT verified, so anyone on the network path can impersonate it. "
            f"{CA_HINT[0].upper()}{CA_HINT[1:]} and use sslmode='verify-full'.",
            InsecureConnectionWarning,
        )


ssl_context.__doc__ = (ssl_context.__doc__ or "") + OPTIONS_DOC
