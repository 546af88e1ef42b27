"""mysqlclient (``MySQLdb``): the TLS keywords of ``MySQLdb.connect``, for Django's MySQL
engine (``OPTIONS``) and SQLAlchemy's ``mysql+mysqldb://`` (``connect_args``).

mysqlclient takes files (``ssl={"ca", "cert", "key"}``) and ``ssl_mode``; what each mode
verifies depends on the C library it was built on:

- Oracle's libmysqlclient: ``VERIFY_IDENTITY`` checks chain and host name, ``VERIFY_CA``
  the chain only, ``REQUIRED`` nothing.
- MariaDB Connector/C (Debian's and Ubuntu's ``libmariadb-dev``): both ``VERIFY_*`` set
  ``MYSQL_OPT_SSL_VERIFY_SERVER_CERT``, which checks chain *and* host name; a CA file
  alone (with ``REQUIRED``) checks the chain only. So verify-ca is ``REQUIRED`` plus the
  CA there.

The library is asked (``MySQLdb._mysql.get_client_info()``) only for verify-ca, the one
mode the two spell differently. Both read the host ``localhost`` as the Unix socket (and
Django a ``HOST`` starting with ``/``), where no TLS is spoken: refused, with the fix
(``127.0.0.1``). The key's password has no keyword: an encrypted key is refused with the
command that decrypts it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._errors import ConfigError
from .._model import Trust
from .._trust import trust_file
from ._base import refuse_plan_server_name

if TYPE_CHECKING:
    from .._plan import TLSPlan

__all__ = ["TLS_KEYS", "check_host", "mysqlclient_tls"]

#: The keywords that carry TLS for mysqlclient (``sslmode`` is libpq's: a TypeError there,
#: as Django and dj-database-url users meet it, dj-database-url #280).
#: ``unix_socket`` would bypass TLS altogether.
TLS_KEYS = ("ssl", "ssl_mode", "sslmode", "unix_socket")


def check_host(host: str, what: str) -> None:
    """Refuse ``localhost`` and socket paths, which mysqlclient reaches through a Unix
    socket."""
    if host.lower() == "localhost" or host.startswith("/"):
        raise ConfigError(
            f"{what} reads the host {host!r} as a local Unix socket, where no TLS is "
            "spoken and nothing would be verified; use 127.0.0.1 (or the service's host "
            "name)"
        )


def mysqlclient_tls(plan: TLSPlan, *, durable: bool, what: str) -> dict[str, Any]:
    """``ssl`` and ``ssl_mode`` for ``MySQLdb.connect`` that verify what the plan says."""
    refuse_plan_server_name(
        plan, what, "mysqlclient takes files and has no option for the name to verify"
    )
    credentials = plan.credentials
    ssl: dict[str, str] = {}
    if not plan.verify_chain:
        mode = "REQUIRED"
    else:
        ssl["ca"] = trust_file(Trust(plan.trust), credentials)
        if plan.check_hostname:
            mode = "VERIFY_IDENTITY"
        else:
            mode = "REQUIRED" if _mariadb_connector(what) else "VERIFY_CA"
    if credentials is not None and credentials.has_client_cert:
        if credentials.key_password is not None:
            raise ConfigError(
                f"{what} (mysqlclient) cannot read an encrypted key: it has no keyword for "
                f"the key's password; decrypt {credentials.key_label()} into a file only you "
                "can read (`openssl pkey -in service.key -out plain.key && chmod 600 "
                "plain.key`) and pass that"
            )
        if durable:
            ssl["cert"] = str(credentials.cert_file())
            ssl["key"] = str(credentials.key_file())
        else:
            # The pair as it was checked: mid-rotation the user's files may not match.
            ssl["cert"] = str(credentials.private_cert_file())
            ssl["key"] = str(credentials.private_key_file())
    result: dict[str, Any] = {"ssl_mode": mode}
    if ssl:
        result["ssl"] = ssl
    return result


def _mariadb_connector(what: str) -> bool:
    """Whether mysqlclient is built on MariaDB Connector/C (3.x) rather than Oracle's
    libmysqlclient (5.x and later)."""
    try:
        from MySQLdb import _mysql
    except ImportError:
        raise ConfigError(
            f"verify-ca with {what} depends on the C library mysqlclient is built on, and "
            "mysqlclient is not installed here to ask; install it (pip install "
            '"tlsconnect[mysqlclient]"), or use verify-full'
        ) from None
    version = str(_mysql.get_client_info())
    major = version.split(".", 1)[0]
    return major.isdigit() and int(major) < 5
