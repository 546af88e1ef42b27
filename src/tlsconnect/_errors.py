"""The one error root and the one warning root of tlsconnect, and how warnings are given.

Standard library only: every other module may import this one.
"""

from __future__ import annotations

import sys
import warnings

__all__ = [
    "CertificateExpiryWarning",
    "ConfigError",
    "InsecureConnectionWarning",
    "KeyPermissionWarning",
    "MissingDependencyError",
    "ProviderAPIError",
    "TLSConnectError",
    "TLSConnectWarning",
    "TLSDowngradeWarning",
    "warn",
]


class TLSConnectError(Exception):
    """Base of every error tlsconnect raises on purpose."""


class ConfigError(TLSConnectError, ValueError):
    """Bad input: the message names the input, what is wrong and how to fix it."""


class MissingDependencyError(TLSConnectError, ImportError):
    """A driver extra is not installed; the message names the ``pip install`` that fixes it."""


class ProviderAPIError(TLSConnectError):
    """The provider's API refused a request or could not be reached. ``status`` is the
    HTTP status (401, 403, 404, ...), or ``None`` when no answer came. The message says
    what to do; it never holds the API token."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TLSConnectWarning(UserWarning):
    """Base of every warning tlsconnect emits."""


class InsecureConnectionWarning(TLSConnectWarning):
    """The plan will not verify the server's certificate, or a driver will trust more
    issuers than the plan (mysql-connector's pure-Python TLS also loads the system's CAs)."""


class CertificateExpiryWarning(TLSConnectWarning):
    """Loaded material is expired, not yet valid, or expires within 30 days."""


class KeyPermissionWarning(TLSConnectWarning):
    """A key file group or others can read was replaced by a private copy for libpq."""


class TLSDowngradeWarning(TLSConnectWarning):
    """The driver can be talked out of TLS: a server greeting (or someone on the network
    path rewriting it) that does not offer TLS makes it go on without TLS."""


def _outside_package_level() -> int:
    """The ``stacklevel`` that makes a warning point at the first caller outside tlsconnect.

    A fixed ``stacklevel`` is right for one call path only: the same warning is reached
    through ``resolve()``, ``ssl_context()``, ``params()`` and each driver's function, at
    different depths. Walking the stack finds the user's line whichever way was taken.
    """
    frame = sys._getframe(2)  # the caller of warn()
    level = 2
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if module != "tlsconnect" and not module.startswith("tlsconnect."):
            return level
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level


def warn(message: str, category: type[Warning]) -> None:
    """``warnings.warn`` pointing at the user's code, not at tlsconnect's."""
    warnings.warn(message, category, stacklevel=_outside_package_level())
