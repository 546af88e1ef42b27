"""``tlsconnect fetch PROJECT SERVICE``: the project CA and a service user's certificate
and key from the provider's API, written as ``avn service user-creds-download`` names
them (``ca.pem``, ``service.cert``, ``service.key``), but private: every file 0600, a
new directory 0700, each file written atomically (a temporary name, then renamed), and
only after the material was checked (the key matches the certificate, nothing is
malformed), so a bad answer never replaces good files.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ._aiven import ProviderAPI, user_material
from ._files import permission_bits, prepare_durable_dir, write_durable
from ._material import Credentials
from ._pem import display_name

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["FetchResult", "fetch_credentials"]


@dataclass
class FetchResult:
    directory: Path
    files: list[Path] = field(default_factory=list)
    summary: str = ""
    notes: list[str] = field(default_factory=list)


def _validity(cert: x509.Certificate, what: str, now: _dt.datetime) -> str:
    after = cert.not_valid_after_utc
    days = (after - now).days
    if after <= now:
        return f"{what} EXPIRED on {after:%Y-%m-%d}"
    return f"{what} valid until {after:%Y-%m-%d} ({days} day{'s' if days != 1 else ''})"


def fetch_credentials(
    project: str,
    service: str,
    username: str = "avnadmin",
    directory: str | os.PathLike[str] = ".",
    *,
    token: str | None = None,
) -> FetchResult:
    """Fetch and write the files; see the module docstring."""
    material = user_material(ProviderAPI(token), project, service, username)
    # Checked before anything is written: a malformed answer never replaces good files.
    credentials = Credentials.from_api_material(material)
    existed = Path(os.fspath(directory)).is_dir()
    out = prepare_durable_dir(directory, "-d directory")
    result = FetchResult(out)
    result.files.append(write_durable(out, "ca.pem", material.ca.data))
    if material.cert is not None and material.key is not None:
        # One file after the other, each atomically: a CredentialsSource reading in
        # between keeps its last good pair until both are in place.
        key = write_durable(out, "service.key", material.key.data)
        result.files.append(write_durable(out, "service.cert", material.cert.data))
        result.files.append(key)
    else:
        result.notes.append(
            f"user '{username}' of service '{service}' has no client certificate (it logs in "
            "with a password): only ca.pem was written"
        )
    mode = permission_bits(out.stat())
    if existed and mode & 0o077:
        result.notes.append(
            f"directory '{out}' can be entered by others (mode {mode:04o}); the files are "
            f"0600, and `chmod 700 '{out}'` keeps even their names private"
        )
    now = _dt.datetime.now(_dt.timezone.utc)
    newest_ca = max(credentials.ca_certificates, key=lambda c: c.not_valid_after_utc)
    parts = [_validity(newest_ca, f"project CA '{display_name(newest_ca.subject)}'", now)]
    if credentials.certificate is not None:
        parts.append(_validity(credentials.certificate, f"{username}'s certificate", now))
    result.summary = "; ".join(parts)
    return result
