"""The written-out form of a context, for drivers that take only an ``ssl.SSLContext``
(or, as redis-py, not even that): the files and switches it is built from.

JSON cannot hold a context, so ``tlsconnect config`` writes this block instead, and the
driver's usage note gives the lines that build the context from it with Python's
``ssl`` module alone. ``ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)`` trusts nothing until
told, so the context trusts exactly the files named: the project CA, certifi's bundle,
or both for ``project+public`` (two files, because one combined file would be a
private temporary one that does not outlive ``tlsconnect config``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._model import Trust
from .._trust import trust_file
from ._base import password_text

if TYPE_CHECKING:
    from .._plan import TLSPlan

__all__ = ["CONTEXT_LINES", "context_files"]

#: The lines that build the context from the block (``tls``), in the usage notes.
CONTEXT_LINES = (
    "context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # it trusts nothing until told",
    'for cafile in tls["cafiles"]: context.load_verify_locations(cafile)',
    'context.check_hostname = tls["check_hostname"]',
    'context.verify_mode = ssl.CERT_REQUIRED if tls["verify"] else ssl.CERT_NONE',
    'if tls.get("certfile"): '
    'context.load_cert_chain(tls["certfile"], tls["keyfile"], tls.get("password"))',
)


def context_files(plan: TLSPlan, driver: str) -> dict[str, Any]:
    """The block: ``cafiles`` (none when nothing is verified), ``verify``,
    ``check_hostname``, and the client pair's files when there is one."""
    credentials = plan.credentials
    trust = Trust(plan.trust)
    if not plan.verify_chain:
        cafiles = []
    elif trust is Trust.PROJECT_AND_PUBLIC:
        cafiles = [trust_file(Trust.PROJECT, credentials), trust_file(Trust.PUBLIC, credentials)]
    else:
        cafiles = [trust_file(trust, credentials)]
    block: dict[str, Any] = {
        "cafiles": cafiles,
        "verify": plan.verify_chain,
        "check_hostname": plan.check_hostname,
    }
    if credentials is not None and credentials.has_client_cert:
        block["certfile"] = str(credentials.cert_file())
        block["keyfile"] = str(credentials.key_file())
        if credentials.key_password is not None:
            block["password"] = password_text(credentials.key_password, driver)
    return block
