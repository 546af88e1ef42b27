"""mysql-connector-python: ``mysql.connector.connect(**p)``, in its pure-Python mode.

Its options are a trap: given only ``ssl_ca`` it encrypts and verifies nothing
(``ssl_verify_cert`` defaults to ``False``, ``ssl_verify_identity`` too), so the
parameters always say ``ssl_verify_cert`` and ``ssl_verify_identity`` explicitly, as the
plan decided. ``use_pure=True``: the C extension reads the same options through
libmysqlclient, differently, and the wheel's build needs OpenSSL 3.2 (it does not load on
Debian 12, whose OpenSSL is 3.0).

What no option can fix: the pure-Python TLS builds its own ``SSLContext`` and calls
``load_default_certs()`` on it whatever it is given (``network.MySQLTCPSocket.
build_ssl_context``, 9.x and later), then adds ``ssl_ca``; it takes no context. So the
operating system's CAs, and whatever ``SSL_CERT_FILE``/``SSL_CERT_DIR`` name, are trusted
besides the plan's: a :class:`~tlsconnect.InsecureConnectionWarning` says so on every
call whose plan trusts less than that (use PyMySQL to trust exactly the project CA). The
CA is still always named (``ssl_ca``: the project CA, certifi's bundle, or both in one
file), so that the trust the plan asked for is never left to those variables.

Without a CA (``require``), it verifies nothing and, when the server does not offer TLS,
goes on without it: a second warning says so (with ``ssl_verify_cert=True`` it refuses
such a server). It has no option for the key's password (an encrypted key is refused, as
for mysqlclient) and none for the name to verify (the host is the name). ``unix_socket``
would turn TLS off silently, and ``option_files`` could set TLS options of their own:
both are refused.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import ConfigError, InsecureConnectionWarning, warn
from .._model import Trust
from .._trust import trust_file
from ._base import refuse_plan_server_name
from ._mysql import connection_keywords

if TYPE_CHECKING:
    from .._plan import TLSPlan
    from ._base import Request

__all__ = ["TLS_KEYS", "build", "mysql_connector_tls"]

#: mysql-connector's TLS options, and those that would bypass them: tlsconnect sets TLS.
TLS_KEYS = (
    "ssl_ca",
    "ssl_cert",
    "ssl_key",
    "ssl_verify_cert",
    "ssl_verify_identity",
    "ssl_disabled",
    "ssl_cipher",
    "tls_versions",
    "tls_ciphersuites",
    "use_pure",
    "unix_socket",
    "option_files",
    "option_groups",
    "failover",
    "dns_srv",
    "dsn",
)


def mysql_connector_tls(plan: TLSPlan, *, durable: bool, what: str) -> dict[str, Any]:
    """mysql-connector's TLS keywords that verify what the plan says, with the warnings
    for what its pure-Python TLS does besides."""
    refuse_plan_server_name(
        plan,
        what,
        "its TLS builds its own context, takes none, and has no option for the name to verify",
    )
    credentials = plan.credentials
    if credentials is not None and credentials.has_client_cert and credentials.key_password:
        raise ConfigError(
            f"{what} cannot read an encrypted key: it has no option for the key's password; "
            f"decrypt {credentials.key_label()} into a file only you can read (`openssl pkey "
            "-in service.key -out plain.key && chmod 600 plain.key`) and pass that"
        )
    result: dict[str, Any] = {
        "use_pure": True,
        "ssl_disabled": False,
        "ssl_verify_cert": plan.verify_chain,
        "ssl_verify_identity": plan.check_hostname,
    }
    trust = Trust(plan.trust)
    if plan.verify_chain:
        result["ssl_ca"] = trust_file(trust, credentials)
        if trust is not Trust.SYSTEM:
            warn(
                f"{what} also trusts the operating system's CAs (and any SSL_CERT_FILE or "
                f"SSL_CERT_DIR) besides trust='{trust.value}': its pure-Python TLS loads "
                "them whatever it is given, and it takes no SSLContext; a certificate for "
                "this host from any of them is accepted. Use PyMySQL (params('pymysql', "
                "...)) to trust exactly what the plan says.",
                InsecureConnectionWarning,
            )
    else:
        warn(
            f"{what} without a CA goes on WITHOUT TLS when the server does not offer it "
            "(it refuses such a server only when it verifies the certificate); pass the "
            "project CA (ca='ca.pem')",
            InsecureConnectionWarning,
        )
    if credentials is not None and credentials.has_client_cert:
        if durable:
            result["ssl_cert"] = str(credentials.cert_file())
            result["ssl_key"] = str(credentials.key_file())
        else:
            # The pair as it was checked: mid-rotation the user's files may not match.
            result["ssl_cert"] = str(credentials.private_cert_file())
            result["ssl_key"] = str(credentials.private_key_file())
    return result


def build(request: Request) -> dict[str, Any]:
    keywords = connection_keywords(request, database_keyword="database")
    if keywords["host"].startswith("/"):
        raise ConfigError(
            f"host {keywords['host']!r} names a Unix socket, where no TLS is spoken; pass "
            "the service's host name"
        )
    attributes = dict(request.take("conn_attrs") or {})
    program = keywords.pop("program_name", None)
    if program is not None:
        attributes.setdefault("program_name", program)
    if attributes:
        keywords["conn_attrs"] = attributes
    plan = request.plan
    keywords.update(mysql_connector_tls(plan, durable=request.durable, what="mysql-connector"))
    return request.finish(keywords, tls_keys=TLS_KEYS)
