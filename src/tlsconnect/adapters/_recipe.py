"""The written-out form of an ``ssl.SSLContext``, for drivers that take only a context.

JSON cannot hold a context, so ``tlsconnect config`` writes what builds it under the key
``tls``: the one CA file of the plan, whether to check the host name, the verify mode
and the client pair's files. A driver handed the dict itself refuses the unknown keyword
``tls`` (``TypeError``) rather than connecting unverified. :func:`usage` is the note
printed with it: a few lines of standard-library code, which a test runs as written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._model import Trust
from .._trust import trust_file
from ._base import password_text

if TYPE_CHECKING:
    from .._plan import TLSPlan

__all__ = ["context_recipe", "usage"]

_STEPS = (
    "import ssl",
    "context = ssl.create_default_context(cafile=tls['cafile'])",
    "context.check_hostname = tls['check_hostname']",
    "context.verify_mode = ssl.VerifyMode[tls['verify_mode']]",
    "context.load_cert_chain(tls['certfile'], tls['keyfile'], tls['password']) "
    "if tls['certfile'] else None",
)


def context_recipe(plan: TLSPlan, driver: str) -> dict[str, Any]:
    """The JSON-ready description of ``plan.ssl_context()``, naming files that outlive
    the process: ``create_default_context(cafile=…)`` loads exactly the plan's trust."""
    credentials = plan.credentials
    recipe: dict[str, Any] = {
        "cafile": trust_file(Trust(plan.trust), credentials) if plan.verify_chain else None,
        "check_hostname": plan.check_hostname,
        "verify_mode": "CERT_REQUIRED" if plan.verify_chain else "CERT_NONE",
        "certfile": None,
        "keyfile": None,
        "password": None,
    }
    if credentials is not None and credentials.has_client_cert:
        recipe["certfile"] = str(credentials.cert_file())
        recipe["keyfile"] = str(credentials.key_file())
        if credentials.key_password is not None:
            recipe["password"] = password_text(credentials.key_password, driver)
    return recipe


def usage(take: str, use: str, *, when: str = "") -> str:
    """The note for a written-out form: ``take`` binds ``tls``, ``use`` connects; ``when``
    says which outputs it is for, when not all are."""
    return f"{when}use: " + "; ".join((f"tls = {take}", *_STEPS, use))
