"""What every Kafka adapter shares: bootstrap lists, SASL, and the plan."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._conninfo import split_host_port
from .._errors import ConfigError
from .._material import Credentials, Material
from .._plan import TLSPlan, _resolve_quiet, warn_if_insecure

__all__ = ["SASL_MECHANISMS", "KafkaSetup", "kafka_setup", "parse_bootstrap"]

SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_SCHEMES = ("kafka://", "kafka+ssl://", "ssl://", "sasl_ssl://")


@dataclass(frozen=True)
class KafkaSetup:
    servers: list[str]
    plan: TLSPlan
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = field(default=None, repr=False)

    @property
    def protocol(self) -> str:
        return "SASL_SSL" if self.sasl_mechanism else "SSL"


def parse_bootstrap(bootstrap_servers: object) -> list[str]:
    """``"h1:p1,h2:p2"`` or a list of ``host:port`` into a clean, duplicate-free list."""
    if isinstance(bootstrap_servers, str):
        items = bootstrap_servers.split(",")
    elif isinstance(bootstrap_servers, list | tuple):
        items = []
        for item in bootstrap_servers:
            if not isinstance(item, str):
                raise ConfigError(
                    f"bootstrap_servers entries must be strings, not {type(item).__name__}"
                )
            items.extend(item.split(","))
    else:
        raise ConfigError(
            "bootstrap_servers must be 'host:port' (comma-separated for several) or a list "
            f"of them, not {type(bootstrap_servers).__name__}"
        )
    servers: list[str] = []
    for raw in items:
        entry = raw.strip()
        if not entry:
            continue
        for scheme in _SCHEMES:
            if entry.lower().startswith(scheme):
                entry = entry[len(scheme) :]
        entry = entry.rstrip("/")
        host, port = split_host_port(entry, f"bootstrap server {raw.strip()!r}")
        server = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if server not in servers:
            servers.append(server)
    if not servers:
        raise ConfigError(
            "bootstrap_servers is empty; pass host:port of the Kafka service (from its "
            "Overview page)"
        )
    return servers


def kafka_setup(
    bootstrap_servers: object,
    *,
    sslmode: str | None,
    credentials: Credentials | None,
    ca: Material | None,
    cert: Material | None,
    key: Material | None,
    key_password: str | bytes | None,
    sasl_mechanism: str | None,
    sasl_username: str | None,
    sasl_password: str | None,
) -> KafkaSetup:
    servers = parse_bootstrap(bootstrap_servers)
    plan = _resolve_quiet(
        "kafka",
        sslmode=sslmode,
        trust=None,
        credentials=credentials,
        ca=ca,
        cert=cert,
        key=key,
        key_password=key_password,
    )
    mechanism = None
    if sasl_mechanism is not None or sasl_username is not None or sasl_password is not None:
        if sasl_mechanism is None:
            mechanism = "SCRAM-SHA-256"
        else:
            mechanism = str(sasl_mechanism).strip().upper().replace("_", "-")
            if mechanism not in SASL_MECHANISMS:
                raise ConfigError(
                    f"unknown sasl_mechanism {sasl_mechanism!r}; use one of: "
                    f"{', '.join(SASL_MECHANISMS)}"
                )
        if not sasl_username or sasl_password is None:
            raise ConfigError(
                "SASL needs both sasl_username and sasl_password (the service user's "
                "name and password from the console)"
            )
    elif not plan.client_cert:
        raise ConfigError(
            "Kafka needs a client certificate and key (cert='service.cert', "
            "key='service.key', from `avn service user-creds-download`) or SASL "
            "(sasl_username=..., sasl_password=...); neither was given"
        )
    warn_if_insecure(plan, stacklevel=3)
    return KafkaSetup(servers, plan, mechanism, sasl_username, sasl_password)
