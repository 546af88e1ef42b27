"""What the three Kafka adapters share: the bootstrap list, SASL, and the body of the
decision (which protocol, which mechanism), so each driver's module only spells it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import ConfigError, InsecureConnectionWarning, warn
from .._model import Service
from .._target import Target, parse_bootstrap, split_host_port

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["SASL_MECHANISMS", "KafkaSetup", "kafka_setup", "parse"]

SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


class KafkaSetup:
    """The bootstrap list and the authentication decided for one Kafka client."""

    __slots__ = ("sasl_mechanism", "sasl_password", "sasl_username", "servers")

    def __init__(
        self,
        servers: list[str],
        sasl_mechanism: str | None = None,
        sasl_username: str | None = None,
        sasl_password: str | None = None,
    ) -> None:
        self.servers = servers
        self.sasl_mechanism = sasl_mechanism
        self.sasl_username = sasl_username
        self.sasl_password = sasl_password

    @property
    def protocol(self) -> str:
        return "SASL_SSL" if self.sasl_mechanism else "SSL"

    def __repr__(self) -> str:
        return f"KafkaSetup({self.servers!r}, {self.protocol}, {self.sasl_mechanism!r})"


def parse(target: object, options: dict[str, Any]) -> Target:
    """A bootstrap list: ``"h1:p1,h2:p2"``, a list of them, or ``kafka://host:port``."""
    servers = parse_bootstrap(target)
    host, port = split_host_port(servers[0], "bootstrap server")
    return Target(Service.KAFKA, host.strip("[]"), port, servers=tuple(servers))


def kafka_setup(request: Request) -> KafkaSetup:
    """Consume the SASL options and check that the client can authenticate at all."""
    plan = request.plan
    sasl_mechanism = request.take("sasl_mechanism")
    sasl_username = request.take("sasl_username")
    sasl_password = request.take("sasl_password")
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
        if not plan.verify_chain:
            if mechanism == "PLAIN":
                # PLAIN sends the password itself: to an unverified server, that is to
                # anyone on the path.
                raise ConfigError(
                    "SASL PLAIN sends the password as it is, and sslmode=require without a CA "
                    "verifies nothing, so it would go to whoever answers; pass the project CA "
                    "(ca='ca.pem') and use sslmode='verify-full', or use SCRAM-SHA-256"
                )
            warn(
                f"SASL {mechanism} over a connection that verifies nothing: the password is "
                "not sent, but an impersonating server can still capture the handshake and "
                "try passwords offline; pass the project CA and use sslmode='verify-full'",
                InsecureConnectionWarning,
            )
    elif not plan.client_cert:
        raise ConfigError(
            "Kafka needs a client certificate and key (cert='service.cert', "
            "key='service.key', from `avn service user-creds-download`) or SASL "
            "(sasl_username=..., sasl_password=...); neither was given"
        )
    return KafkaSetup(list(request.target.servers), mechanism, sasl_username, sasl_password)


def sasl_keywords(setup: KafkaSetup) -> dict[str, Any]:
    """SASL keyword arguments as kafka-python and aiokafka both spell them."""
    if not setup.sasl_mechanism:
        return {}
    return {
        "sasl_mechanism": setup.sasl_mechanism,
        "sasl_plain_username": setup.sasl_username,
        "sasl_plain_password": setup.sasl_password,
    }
