"""The one error root and the one warning root of tlsconnect."""

from __future__ import annotations

__all__ = [
    "CertificateExpiryWarning",
    "ConfigError",
    "InsecureConnectionWarning",
    "MissingDependencyError",
    "TLSConnectError",
    "TLSConnectWarning",
]


class TLSConnectError(Exception):
    """Base of every error tlsconnect raises on purpose."""


class ConfigError(TLSConnectError, ValueError):
    """Bad input: the message names the input, what is wrong and how to fix it."""


class MissingDependencyError(TLSConnectError, ImportError):
    """A driver extra is not installed; the message names the ``pip install`` that fixes it."""


class TLSConnectWarning(UserWarning):
    """Base of every warning tlsconnect emits."""


class InsecureConnectionWarning(TLSConnectWarning):
    """The plan will not verify the server's certificate."""


class CertificateExpiryWarning(TLSConnectWarning):
    """Loaded material is expired, not yet valid, or expires within 30 days."""
