"""confluent-kafka's Schema Registry client (Karapace):
``confluent_kafka.schema_registry.SchemaRegistryClient(p)`` and, where the installed
version has it, ``AsyncSchemaRegistryClient(p)``: one configuration dict.

The client builds its context from file paths only. ``ssl.ca.location`` replaces the
public roots: only that file is trusted, so it always names the plan's one CA file; left
out, the client reads ``SSL_CERT_FILE``/``SSL_CERT_DIR`` from the environment, and only
then certifi. A Kafka service's schema registry: given the project CA, the project CA and
the public CAs are both trusted (one bundle file), else the public CAs. The client pair
goes as files (private copies of the material as it was checked), the key's password as
``ssl.key.password``. The URI's user and password go in ``basic.auth.user.info``, and
``url`` carries none (the client refuses both together).

What it cannot do is refused, never downgraded: its context always checks the host name
when it verifies (no verify-ca), and it has no option for another name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from ._base import password_text, plan_trust_file
from ._http import base_url, client_files, refuse_query

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["USAGE", "build"]

USAGE = (
    "use: from confluent_kafka.schema_registry import SchemaRegistryClient; "
    "client = SchemaRegistryClient(cfg)"
)

_TLS_KEYS = (
    "url",
    "ssl.ca.location",
    "ssl.certificate.location",
    "ssl.key.location",
    "ssl.key.password",
    "basic.auth.user.info",
    "basic.auth.credentials.source",
)


def build(request: Request) -> dict[str, Any]:
    request.take("service")  # read by parse
    target, plan = request.target, request.plan
    refuse_query(target, "the schema registry client")
    if plan.verify_chain and not plan.check_hostname:
        how = (
            "sslmode='require' with a CA verifies the chain but not the host name (libpq's rule)"
            if plan.sslmode == "require"
            else "sslmode='verify-ca' verifies the chain but not the host name"
        )
        raise ConfigError(
            f"{how}, and confluent-kafka's schema registry client cannot do that: it takes "
            "file paths only and checks the host name whenever it verifies, with no option "
            "for another name. Use sslmode='verify-full' and connect with a host name the "
            "server's certificate holds (the one in the service URI)"
        )
    config: dict[str, Any] = {"url": base_url(target)}
    config["ssl.ca.location"] = plan_trust_file(request) if plan.verify_chain else False
    pair = client_files(request)
    if pair is not None:
        config["ssl.certificate.location"], config["ssl.key.location"] = pair
        credentials = plan.credentials
        if credentials is not None and credentials.key_password is not None:
            config["ssl.key.password"] = password_text(
                credentials.key_password, "the schema registry client"
            )
    if target.user:
        config["basic.auth.user.info"] = f"{target.user}:{target.password or ''}"
    return request.finish(config, tls_keys=_TLS_KEYS)
