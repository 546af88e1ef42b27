"""The one shape every adapter has: ``build(request) -> dict`` and ``parse(target, options)``.

An adapter turns a decided :class:`~tlsconnect.TLSPlan` into one driver's parameters. It
reads the plan and never decides anything itself. What it needs arrives in one
:class:`Request`: the plan, the parsed target, the driver options the caller gave (those
it does not consume are passed through, and may never override a TLS setting), and
whether the result is written out (``durable``: ``tlsconnect config``), in which case it
must be JSON-ready and name files that outlive the process instead of holding objects.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from .._cadir import certifi_file
from .._errors import ConfigError
from .._files import write_durable
from .._model import Trust
from .._trust import trust_file

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from pathlib import Path

    from .._model import Driver
    from .._plan import TLSPlan
    from .._target import Target

__all__ = [
    "TRUST_OPTIONS",
    "Adapter",
    "Request",
    "installed",
    "password_text",
    "plan_trust_file",
    "refuse_plan_server_name",
    "refuse_server_name",
]

#: Driver options (lower case) that add trust, present other material or weaken
#: verification, in the words of every driver tlsconnect writes for: never passed through,
#: whether or not the adapter set the same key (librdkafka takes ``ssl.ca.location`` beside
#: ``ssl.ca.pem`` and trusts both).
TRUST_OPTIONS = frozenset(
    {
        # librdkafka
        "ssl.ca.location",
        "ssl.ca.pem",
        "ssl.ca.certificate.stores",
        "ssl.certificate.location",
        "ssl.certificate.pem",
        "ssl.key.location",
        "ssl.key.pem",
        "ssl.keystore.location",
        "ssl.keystore.password",
        "ssl.engine.location",
        "ssl.providers",
        "enable.ssl.certificate.verification",
        "ssl.endpoint.identification.algorithm",
        "ssl_engine_callback_data",
        # Python drivers (kafka-python, aiokafka, PyMySQL, redis-py, HTTP clients, ...)
        "ssl",
        "ssl_context",
        "ssl_cafile",
        "ssl_capath",
        "ssl_ca",
        "ssl_ca_certs",
        "ssl_ca_data",
        "ssl_ca_path",
        "ssl_certfile",
        "ssl_keyfile",
        "ssl_cert_reqs",
        "ssl_check_hostname",
        "ssl_verify_cert",
        "ssl_verify_identity",
        "ssl_disabled",
        "ssl_assert_hostname",
        "ssl_assert_fingerprint",
        "cafile",
        "capath",
        "cadata",
        "ca_certs",
        "ca_cert",
        "cert_reqs",
        "check_hostname",
        "verify",
        "verify_certs",
        "assert_hostname",
        "assert_fingerprint",
        "server_hostname",
        # libpq
        "sslmode",
        "sslrootcert",
        "sslcert",
        "sslkey",
    }
)


class Request:
    """Everything an adapter is given for one call."""

    __slots__ = ("_options", "driver", "durable", "output_dir", "plan", "target", "written")

    def __init__(
        self,
        driver: Driver,
        plan: TLSPlan,
        target: Target,
        options: dict[str, Any],
        *,
        durable: bool = False,
        output_dir: Path | None = None,
        written: list[Path] | None = None,
    ) -> None:
        self.driver = driver
        self.plan = plan
        self.target = target
        self._options = dict(options)
        self.durable = durable
        # Written out: where files made for the configuration go (``--output-dir``), and
        # the list of those written, for the caller to report.
        self.output_dir = output_dir
        self.written = written if written is not None else []

    def take(self, name: str, default: Any = None) -> Any:
        """Consume one driver option (it is then not passed through)."""
        return self._options.pop(name, default)

    def rest(self) -> dict[str, Any]:
        """Consume every driver option not consumed yet."""
        rest, self._options = self._options, {}
        return rest

    def finish(self, result: dict[str, Any], *, tls_keys: Iterable[str] = ()) -> dict[str, Any]:
        """``result`` with the driver options not consumed added, refusing any that would
        replace what tlsconnect set for TLS (``tls_keys``, and every key it set), or that
        would add trust or weaken verification beside it (:data:`TRUST_OPTIONS`)."""
        protected = set(result) | set(tls_keys)
        clashes = sorted(name for name in self._options if name in protected)
        if clashes:
            raise ConfigError(
                f"{', '.join(clashes)} {'is' if len(clashes) == 1 else 'are'} set by tlsconnect "
                f"for {self.driver.value} from the plan; pass sslmode=, trust=, sslnegotiation= "
                "or the material instead of overriding TLS settings"
            )
        adding = sorted(name for name in self._options if name.lower() in TRUST_OPTIONS)
        if adding:
            raise ConfigError(
                f"{', '.join(adding)} would add trust or change what is verified for "
                f"{self.driver.value}, beside what tlsconnect set from the plan; pass "
                "sslmode=, trust= or the material (ca=, cert=, key=) to tlsconnect instead"
            )
        return {**result, **self._options}


class Adapter:
    """One driver's entry in the registry."""

    __slots__ = ("build", "driver", "extra", "function", "module", "parse", "usage")

    def __init__(
        self,
        driver: Driver,
        *,
        module: str,
        extra: str,
        parse: Callable[[object, dict[str, Any]], Target],
        build: Callable[[Request], dict[str, Any]],
        function: str | None = None,
        usage: str | None = None,
    ) -> None:
        self.driver = driver
        self.module = module  # what the driver is imported as
        self.extra = extra  # the tlsconnect extra that installs it
        self.parse = parse  # the target (and driver options) -> Target
        self.build = build  # Request -> the driver's parameters
        self.function = function  # the named public function, when there is one
        # How to use the written-out form (``tlsconnect config``) when it is not simply
        # the keyword arguments of the driver's call; printed as a note.
        self.usage = usage


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it; a dotted name whose
    parent package is missing is not installed either)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def password_text(password: bytes, driver: str) -> str:
    """A key's password for a driver that takes it as text."""
    try:
        return password.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(
            f"key_password is not UTF-8 text, and {driver} takes the key's password as text; "
            "re-encrypt the key with a text password "
            "(`openssl pkcs8 -topk8 -v2 aes-256-cbc -in OLD -out NEW`)"
        ) from None


def refuse_server_name(request: Request, why: str) -> None:
    """A :class:`ConfigError` when the plan has a ``server_name`` that ``request``'s driver
    cannot be made to verify; ``why`` says what it lacks. Never ignored: the driver would
    verify the host it connects to instead."""
    where = " written out (tlsconnect config)" if request.durable else ""
    refuse_plan_server_name(request.plan, f"{request.driver.value}{where}", why)


def refuse_plan_server_name(plan: TLSPlan, what: str, why: str) -> None:
    """:func:`refuse_server_name` for code that has the plan and names the driver itself."""
    name = plan.server_name
    if name is None:
        return
    raise ConfigError(
        f"server_name={name!r} cannot be applied to {what}: {why}. Connect to a host name "
        "the certificate holds instead (an /etc/hosts entry that points it at the tunnel or "
        "the address works with every driver), or use a driver that takes an SSLContext"
    )


def plan_trust_file(request: Request) -> str:
    """The plan's one CA file (:func:`~tlsconnect._trust.trust_file`), for a driver that
    takes a path.

    Written out, the file must outlive the process: the project CA and the public CAs
    together (a public-CA service given a CA) are then written as ``ca-bundle.pem`` in the
    output directory, which must have been given.
    """
    plan = request.plan
    trust = Trust(plan.trust)
    credentials = plan.credentials
    if not request.durable or trust is not Trust.PROJECT_AND_PUBLIC:
        return trust_file(trust, credentials)
    if credentials is None or not credentials.has_ca:
        raise ConfigError(f"trust='{trust.value}' needs the project CA; pass ca='ca.pem'")
    if request.output_dir is None:
        raise ConfigError(
            f"{plan.service} with a CA trusts that CA and the public CAs together, which "
            f"{request.driver.value} takes as one file; pass --output-dir DIR to have that "
            "file written there"
        )
    with open(certifi_file(), "rb") as handle:
        bundle = credentials.ca_pem + b"\n" + handle.read()
    path = write_durable(request.output_dir, "ca-bundle.pem", bundle)
    request.written.append(path)
    return str(path)
