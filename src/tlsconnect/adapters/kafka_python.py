"""kafka-python: keyword arguments for KafkaProducer, KafkaConsumer and KafkaAdminClient.

kafka-python uses a given ``ssl_context`` as it is; ``ssl_check_hostname`` is set to the
same value so the configuration reads true. Written out (``tlsconnect config``), the
context becomes the file options kafka-python builds its own context from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._model import Trust
from .._trust import trust_file
from ._base import password_text, refuse_server_name
from ._kafka import kafka_setup, sasl_keywords

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["build"]

_TLS_KEYS = (
    "ssl_context",
    "ssl_check_hostname",
    "ssl_cafile",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_password",
    "security_protocol",
)


def build(request: Request) -> dict[str, Any]:
    setup = kafka_setup(request)
    plan = request.plan
    config: dict[str, Any] = {
        "bootstrap_servers": list(setup.servers),
        "security_protocol": setup.protocol,
        "ssl_check_hostname": plan.check_hostname,
    }
    if request.durable:
        refuse_server_name(
            request,
            "from ssl_cafile and its kin kafka-python builds a context that verifies each "
            "broker's own host name, and it has no option for another name",
        )
        credentials = plan.credentials
        config["ssl_cafile"] = trust_file(Trust(plan.trust), credentials)
        if credentials is not None and credentials.has_client_cert:
            config["ssl_certfile"] = str(credentials.cert_file())
            config["ssl_keyfile"] = str(credentials.key_file())
            if credentials.key_password is not None:
                config["ssl_password"] = password_text(credentials.key_password, "kafka-python")
    else:
        config["ssl_context"] = plan.ssl_context()
    config.update(sasl_keywords(setup))
    return request.finish(config, tls_keys=_TLS_KEYS)
