"""The trust files handed to drivers that take only paths: one CA file per plan.

This module owns :func:`trust_file`: for ``project``, the CA given (the user's own file
when it is PEM, else a private copy); for ``public``, certifi's bundle; for
``project+public``, both in one private file; for ``system``, the operating system's CA
file where the operating system keeps one (where it does not, the Windows certificate
store or the macOS Keychain, a driver that takes only a file cannot use it: a
:class:`~tlsconnect.ConfigError` says so). Where the system store is a file is decided by
:func:`system_store_file`, which contexts read too. Every private file is written by
:mod:`tlsconnect._files`; certifi's bundle is found by :mod:`tlsconnect._cadir`.
"""

from __future__ import annotations

import os
import ssl

from ._cadir import certifi_file, file_identity
from ._errors import ConfigError
from ._files import is_private_file, write_private
from ._model import Trust

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._material import Credentials

__all__ = ["SYSTEM_EXTRA_HINT", "system_store_file", "system_store_is_file", "trust_file"]

#: What installs the verification through the operating system's own APIs.
SYSTEM_EXTRA_HINT = 'pip install "tlsconnect[system]"'


def system_store_file() -> str | None:
    """The operating system's CA file, when it keeps its CAs in one (Linux, the BSDs);
    ``None`` where the store is not a file OpenSSL reads (Windows, the macOS Keychain)."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            return candidate
    return None


def system_store_is_file() -> bool:
    """Whether OpenSSL itself can read the operating system's CAs (a file, or a hashed
    directory that holds certificates): else contexts verify through ``truststore``."""
    if system_store_file() is not None:
        return True
    capath = ssl.get_default_verify_paths().capath
    try:
        return bool(capath) and any(name[-2:-1] == "." for name in os.listdir(str(capath)))
    except OSError:
        return False


# -- one trust file per plan, for drivers that only take paths ---------------------------


def trust_file(
    trust: Trust, credentials: Credentials | None, *, system_fallback: str | None = None
) -> str:
    """A CA file that trusts exactly what ``trust`` says, for drivers that take a path.

    ``project``: the CA given (the user's own file when it is PEM, else a private copy);
    ``public``: certifi's bundle; ``project+public``: both, in one private file;
    ``system``: the operating system's CA file, else ``system_fallback`` where the store
    is a hashed directory (libpq 16+ reads ``sslrootcert=system`` itself, with verify-full
    only), else a :class:`ConfigError` that says why.
    """
    if trust is Trust.PUBLIC:
        return certifi_file()
    if trust is Trust.SYSTEM:
        paths = ssl.get_default_verify_paths()
        found = system_store_file()
        if found is not None:
            return found
        if system_fallback is not None and paths.capath and os.path.isdir(paths.capath):
            return system_fallback
        raise ConfigError(
            "trust='system': the operating system's CAs are not in a file here (the Windows "
            "certificate store, the macOS Keychain), and this driver takes only a CA file; "
            "use a driver that takes an SSLContext (with tlsconnect[system]), or pass "
            "trust='public' or the CA file to trust"
        )
    if trust not in (Trust.PROJECT, Trust.PROJECT_AND_PUBLIC):
        raise ConfigError("a plan that verifies nothing has no trust file")
    if credentials is None or not credentials.has_ca:
        raise ConfigError(f"trust='{trust.value}' needs the project CA; pass ca='ca.pem'")
    if trust is Trust.PROJECT:
        return str(credentials.ca_file())
    return _combined_file(credentials.ca_pem)


#: project+public bundles already written, per (CA, certifi bundle file state): path, size.
_combined: dict[tuple[bytes, str], tuple[str, int]] = {}


def _combined_file(ca_pem: bytes) -> str:
    """One private file holding the CA given and certifi's bundle, made once per (CA,
    certifi version): a driver that takes a path gets it without certifi being read again."""
    bundle_path = certifi_file()
    try:
        info = os.stat(bundle_path)
    except OSError:
        raise ConfigError(f"certifi's bundle '{bundle_path}' cannot be read") from None
    key = (ca_pem, file_identity(bundle_path, info))
    known = _combined.get(key)
    if known is not None and is_private_file(*known):
        return known[0]
    with open(bundle_path, "rb") as handle:
        bundle = ca_pem + b"\n" + handle.read()
    path = str(write_private(bundle, ".bundle.pem"))
    if len(_combined) >= 64:  # bounded: a process that meets many CAs starts over
        _combined.clear()
    _combined[key] = (path, len(bundle))
    return path
