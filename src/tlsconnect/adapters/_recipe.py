"""The written-out form of an ``ssl.SSLContext``, for drivers that take only a context
(asyncpg, pg8000, SQLAlchemy with asyncpg or PyMySQL, aiomysql, redis-py, httpx,
cassandra-driver, aiokafka), always under the one key ``tls``.

JSON cannot hold a context, so ``tlsconnect config`` writes what builds it, as one block:
the plan's CA files (``cafiles``: none when nothing is verified; for ``project+public`` the
project CA and certifi's bundle, two files that outlive the process rather than one
combined temporary one), whether to check the host name, the verify mode, the client
pair's files, and for PostgreSQL the ALPN protocol every PostgreSQL context offers
(``alpn``: PostgreSQL 17+ refuses a direct TLS connection without it).
:data:`CONTEXT_LINES` build ``context`` from the block ``tls`` with Python's ``ssl`` alone;
``ssl.SSLContext(PROTOCOL_TLS_CLIENT)`` trusts nothing until told, so the context trusts
exactly the files named. Each adapter's usage note includes these lines, and the tests run
every note as printed. A driver handed the written-out dict as it is refuses the unknown
block rather than connecting unverified.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._model import Service, Trust
from .._trust import trust_file
from ._base import password_text, refuse_server_name

if TYPE_CHECKING:
    from ._base import Request

__all__ = ["CONTEXT_LINES", "CONTEXT_ONE_LINE", "FLOOR_LINES", "context_files", "usage"]

#: tlsconnect's floor (:func:`tlsconnect._context.apply_floor`, the reasons are there) as
#: statements on ``context``, for every recipe that builds or is handed a context: TLS 1.2
#: at least, no compression, no common-name fallback, no partial chains, and
#: ``VERIFY_X509_STRICT`` off as in libpq, the same on every Python (3.13's
#: ``create_default_context`` sets both flags). A test holds these equal to apply_floor.
FLOOR_LINES = (
    "context.minimum_version = ssl.TLSVersion.TLSv1_2",
    "context.options |= ssl.OP_NO_COMPRESSION",
    "context.hostname_checks_common_name = False",
    "context.verify_flags &= ~(ssl.VERIFY_X509_PARTIAL_CHAIN | ssl.VERIFY_X509_STRICT)",
)

#: The statements that build ``context`` from the block ``tls`` (each one line, so that a
#: note may join them with "; " or print them one per line).
CONTEXT_LINES = (
    "import ssl",
    "context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)",
    *FLOOR_LINES,
    'for cafile in tls["cafiles"]: context.load_verify_locations(cafile)',
    'context.check_hostname = tls["check_hostname"]',
    'context.verify_mode = ssl.VerifyMode[tls["verify_mode"]]',
    'if tls["certfile"]: context.load_cert_chain(tls["certfile"], tls["keyfile"], tls["password"])',
    'if tls.get("alpn"): context.set_alpn_protocols(tls["alpn"])',
)
#: The same on one line (a ``for`` or ``if`` statement cannot follow "; " on one line).
CONTEXT_ONE_LINE = "; ".join(
    (
        "import ssl",
        "context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)",
        *FLOOR_LINES,
        '[context.load_verify_locations(cafile) for cafile in tls["cafiles"]]',
        'context.check_hostname = tls["check_hostname"]',
        'context.verify_mode = ssl.VerifyMode[tls["verify_mode"]]',
        'context.load_cert_chain(tls["certfile"], tls["keyfile"], tls["password"]) '
        'if tls["certfile"] else None',
        'context.set_alpn_protocols(tls["alpn"]) if tls.get("alpn") else None',
    )
)


def context_files(request: Request, driver: str, *, names_server: bool = False) -> dict[str, Any]:
    """The block that :data:`CONTEXT_LINES` build the plan's context from, naming files
    that outlive the process (the user's own, or copies in ``--output-dir``).

    A context built so is Python's own: it verifies the host name the driver passes, so a
    ``server_name`` is refused unless the driver's own option carries it (``names_server``).
    """
    if not names_server:
        refuse_server_name(
            request,
            "the context is rebuilt from files with Python's ssl, which verifies the host "
            "the driver connects to, and the driver has no option for another name",
        )
    plan = request.plan
    credentials = plan.credentials
    trust = Trust(plan.trust)
    if not plan.verify_chain:
        cafiles: list[str] = []
    elif trust is Trust.PROJECT_AND_PUBLIC:
        cafiles = [trust_file(Trust.PROJECT, credentials), trust_file(Trust.PUBLIC, credentials)]
    else:
        cafiles = [trust_file(trust, credentials)]
    block: dict[str, Any] = {
        "cafiles": cafiles,
        "check_hostname": plan.check_hostname,
        "verify_mode": "CERT_REQUIRED" if plan.verify_chain else "CERT_NONE",
        "certfile": None,
        "keyfile": None,
        "password": None,
    }
    if credentials is not None and credentials.has_client_cert:
        block["certfile"] = str(credentials.cert_file())
        block["keyfile"] = str(credentials.key_file())
        if credentials.key_password is not None:
            block["password"] = password_text(credentials.key_password, driver)
    if plan.service == Service.POSTGRESQL.value:
        block["alpn"] = ["postgresql"]
    return block


def usage(take: str, use: str, *, when: str = "") -> str:
    """A one-line note: ``take`` binds ``tls``, :data:`CONTEXT_ONE_LINE` builds
    ``context``, ``use`` connects; ``when`` says which outputs it is for, when not all."""
    return f"{when}use: tls = {take}; {CONTEXT_ONE_LINE}; {use}"
