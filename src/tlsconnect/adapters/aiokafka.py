"""aiokafka: keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and the admin client.

aiokafka takes only an ``ssl.SSLContext``. Written out (``tlsconnect config``), which JSON
cannot hold, the configuration gives the keyword arguments of
``aiokafka.helpers.create_ssl_context`` instead::

    cfg = json.load(open("aiokafka.json"))
    context = aiokafka.helpers.create_ssl_context(**cfg.pop("create_ssl_context"))
    context.check_hostname = cfg.pop("check_hostname")
    context.hostname_checks_common_name = False  # and the rest of tlsconnect's floor
    producer = AIOKafkaProducer(**cfg, ssl_context=context)

``create_ssl_context`` is Python's ``create_default_context``: it falls back on the common
name, and on 3.13 accepts partial chains; :data:`USAGE` holds the floor's lines
(:data:`._recipe.FLOOR_LINES`) that undo that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._model import Trust
from .._trust import trust_file
from ._base import password_text, refuse_server_name
from ._kafka import kafka_setup, sasl_keywords
from ._recipe import FLOOR_LINES

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["USAGE", "build"]

USAGE = (
    'use: context = aiokafka.helpers.create_ssl_context(**cfg.pop("create_ssl_context")); '
    'context.check_hostname = cfg.pop("check_hostname"); '
    f"import ssl; {'; '.join(FLOOR_LINES)}; "
    "AIOKafkaProducer(**cfg, ssl_context=context)"
)


def build(request: Request) -> dict[str, Any]:
    setup = kafka_setup(request)
    plan = request.plan
    config: dict[str, Any] = {
        "bootstrap_servers": list(setup.servers),
        "security_protocol": setup.protocol,
    }
    if request.durable:
        refuse_server_name(
            request,
            "aiokafka.helpers.create_ssl_context builds a context that verifies each "
            "broker's own host name, and aiokafka has no option for another name",
        )
        credentials = plan.credentials
        files: dict[str, Any] = {"cafile": trust_file(Trust(plan.trust), credentials)}
        if credentials is not None and credentials.has_client_cert:
            files["certfile"] = str(credentials.cert_file())
            files["keyfile"] = str(credentials.key_file())
            password = credentials.key_password
            files["password"] = (
                password_text(password, "aiokafka") if password is not None else None
            )
        config["create_ssl_context"] = files
        config["check_hostname"] = plan.check_hostname
    else:
        config["ssl_context"] = plan.ssl_context()
    config.update(sasl_keywords(setup))
    return request.finish(config, tls_keys=("ssl_context", "security_protocol"))
