"""PyMySQL: ``pymysql.connect(**p)``.

PyMySQL's own options are a trap: given only ``ssl_ca`` it encrypts but verifies
nothing (``CERT_NONE``, no host name check); its ``ssl=`` dict is deprecated and reads
the same words differently; and before 1.2 it silently went on without TLS when the
server did not offer it. The parameters hand it the plan's ``ssl.SSLContext`` as
``ssl=`` and none of the ``ssl_*`` options: PyMySQL uses a given context as it is, and
would replace it with one of its own if any ``ssl_*`` option were set next to it (so
those are refused). PyMySQL 1.2 and later refuse a server that does not offer TLS when a
context is given.

Written out (``tlsconnect config``), the context becomes PyMySQL's file options, which
then mean exactly the plan: ``ssl_ca`` (PyMySQL builds its context from that file
alone), ``ssl_verify_cert=True`` and ``ssl_verify_identity`` set explicitly, and the
client pair. PyMySQL's individual options cannot require TLS without verifying
anything, so ``require`` without a CA and without a client certificate is written as
``ssl={"verify_mode": false}`` (PyMySQL's dict form, which still does exactly that).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._model import Trust
from .._trust import trust_file
from ._base import password_text, refuse_server_name
from ._mysql import connection_keywords

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["TLS_KEYS", "build"]

#: PyMySQL's TLS options: tlsconnect sets TLS, never these.
TLS_KEYS = (
    "ssl",
    "ssl_ca",
    "ssl_cert",
    "ssl_key",
    "ssl_key_password",
    "ssl_verify_cert",
    "ssl_verify_identity",
    "ssl_disabled",
)


def build(request: Request) -> dict[str, Any]:
    keywords = connection_keywords(request, database_keyword="database")
    plan = request.plan
    if not request.durable:
        keywords["ssl"] = plan.ssl_context()
        return request.finish(keywords, tls_keys=TLS_KEYS)
    refuse_server_name(
        request,
        "from ssl_ca and its kin PyMySQL builds a context that verifies the host it "
        "connects to, and it has no option for another name",
    )
    credentials = plan.credentials
    pair = credentials is not None and credentials.has_client_cert
    if plan.verify_chain:
        keywords["ssl_ca"] = trust_file(Trust(plan.trust), credentials)
    elif not pair:
        keywords["ssl"] = {"verify_mode": False, "check_hostname": False}
    keywords["ssl_verify_cert"] = plan.verify_chain
    keywords["ssl_verify_identity"] = plan.check_hostname
    if credentials is not None and pair:
        keywords["ssl_cert"] = str(credentials.cert_file())
        keywords["ssl_key"] = str(credentials.key_file())
        if credentials.key_password is not None:
            keywords["ssl_key_password"] = password_text(credentials.key_password, "PyMySQL")
    return request.finish(keywords, tls_keys=TLS_KEYS)
