"""confluent-kafka (librdkafka): a property dict for Producer, Consumer and AdminClient.

Property names are librdkafka's own (CONFIGURATION.md). librdkafka checks host names by
default since 2.0; the properties here always say what the plan decided, explicitly.
Material is given in memory (``ssl.*.pem``) at run time, and as files written out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._model import Trust
from .._trust import trust_file
from ._base import password_text, refuse_server_name
from ._kafka import kafka_setup

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["build"]


def build(request: Request) -> dict[str, Any]:
    refuse_server_name(
        request,
        "librdkafka verifies (and sends as SNI) each broker's own host name and has no "
        "property for another one",
    )
    setup = kafka_setup(request)
    plan = request.plan
    credentials = plan.credentials
    config: dict[str, Any] = {
        "bootstrap.servers": ",".join(setup.servers),
        "security.protocol": setup.protocol.lower(),
    }
    if plan.verify_chain:
        config["enable.ssl.certificate.verification"] = "true"
        config["ssl.endpoint.identification.algorithm"] = "https" if plan.check_hostname else "none"
        trust = Trust(plan.trust)
        if trust is Trust.SYSTEM:
            config["ssl.ca.location"] = "probe"  # librdkafka's word for the system store
        elif (
            trust is Trust.PROJECT
            and not request.durable
            and credentials is not None
            and len(credentials.ca_certificates) == 1
        ):
            # ssl.ca.pem takes one certificate; a rotation's two-CA bundle needs a file.
            config["ssl.ca.pem"] = credentials.ca_pem.decode("ascii")
        else:
            config["ssl.ca.location"] = trust_file(trust, credentials)
    else:
        config["enable.ssl.certificate.verification"] = "false"
        config["ssl.endpoint.identification.algorithm"] = "none"
    if credentials is not None and credentials.has_client_cert:
        if request.durable:
            config["ssl.certificate.location"] = str(credentials.cert_file())
            config["ssl.key.location"] = str(credentials.key_file())
        else:
            config["ssl.certificate.pem"] = credentials.cert_chain_pem.decode("ascii")
            config["ssl.key.pem"] = credentials.key_pem.decode("ascii")
        if credentials.key_password is not None:
            config["ssl.key.password"] = password_text(credentials.key_password, "librdkafka")
    if setup.sasl_mechanism:
        config["sasl.mechanism"] = setup.sasl_mechanism
        config["sasl.username"] = setup.sasl_username
        config["sasl.password"] = setup.sasl_password
    return request.finish(config)
