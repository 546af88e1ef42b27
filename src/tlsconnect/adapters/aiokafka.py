"""aiokafka: keyword arguments for AIOKafkaProducer, AIOKafkaConsumer and the admin client.

aiokafka takes only an ``ssl.SSLContext``. Written out (``tlsconnect config``), which JSON
cannot hold, the configuration gives the context's files and switches under ``tls``, as for
every driver that takes a context (:mod:`._recipe`), and :data:`USAGE` builds the context
from them with Python's ``ssl`` alone (not ``aiokafka.helpers.create_ssl_context``, which is
``create_default_context``: it falls back on the common name, and on 3.13 accepts partial
chains)::

    cfg = json.load(open("aiokafka.json"))
    tls = cfg.pop("tls")
    ...  # the recipe's lines: context = ssl.SSLContext(...), tlsconnect's floor, the files
    producer = AIOKafkaProducer(**cfg, ssl_context=context)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._kafka import kafka_setup, sasl_keywords
from ._recipe import context_files, usage

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["USAGE", "build"]

USAGE = usage('cfg.pop("tls")', "producer = AIOKafkaProducer(**cfg, ssl_context=context)")


def build(request: Request) -> dict[str, Any]:
    setup = kafka_setup(request)
    plan = request.plan
    config: dict[str, Any] = {
        "bootstrap_servers": list(setup.servers),
        "security_protocol": setup.protocol,
    }
    if request.durable:
        config["tls"] = context_files(request, "aiokafka")
    else:
        config["ssl_context"] = plan.ssl_context()
    config.update(sasl_keywords(setup))
    return request.finish(config, tls_keys=("ssl_context", "security_protocol", "tls"))
