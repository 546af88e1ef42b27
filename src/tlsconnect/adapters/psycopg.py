"""psycopg (libpq): connection parameters for ``psycopg.connect(**params)``.

libpq verifies the server itself, from files: this adapter turns the plan into libpq's
``sslmode``, ``sslrootcert``, ``sslcert``, ``sslkey`` and ``sslpassword``. Two libpq
habits are neutralised: files under ``~/.postgresql/`` are never picked up (every path is
named, non-existent ones in a private directory nobody else can write), and a key file
that group or others can read (which libpq refuses) is replaced by a private 0600 copy,
with a :class:`~tlsconnect.KeyPermissionWarning` that gives the ``chmod 600`` fix.

Host names: libpq (14 and later) matches subjectAltName entries and, only when a
certificate has no DNS SAN, its common name; tlsconnect's Python contexts never use the
common name. Managed services' certificates carry SANs, so both agree on them.
"""

from __future__ import annotations

import os
import ssl
import warnings
from typing import Any

from .._conninfo import parse_conninfo
from .._context import public_ca_file
from .._errors import ConfigError, TLSConnectWarning
from .._files import missing_path, write_private
from .._material import Credentials, Material
from .._model import Driver, SSLMode, Trust
from .._plan import TLSPlan, _resolve_quiet, warn_if_insecure
from . import require_driver

__all__ = ["KeyPermissionWarning", "libpq_params", "psycopg_params"]

_SSL_KEYS = ("sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword")


class KeyPermissionWarning(TLSConnectWarning):
    """A key file group or others can read was replaced by a private copy for libpq."""


def libpq_params(plan: TLSPlan) -> dict[str, str]:
    """libpq's TLS keywords for a plan (without the connection's other keywords)."""
    credentials = plan.credentials
    params: dict[str, str] = {"sslmode": plan.libpq_sslmode}
    if plan.verify_chain:
        trust = Trust(plan.trust)
        if trust is Trust.PROJECT:
            assert credentials is not None
            params["sslrootcert"] = str(credentials.ca_file())
        elif trust is Trust.PUBLIC:
            params["sslrootcert"] = public_ca_file()
        elif trust is Trust.PROJECT_AND_PUBLIC:
            assert credentials is not None
            with open(public_ca_file(), "rb") as handle:
                bundle = credentials.ca_pem + b"\n" + handle.read()
            params["sslrootcert"] = str(write_private(bundle, ".bundle.pem"))
        else:
            params["sslrootcert"] = _system_ca_file(plan)
    else:
        # Without this, libpq would verify against a stray ~/.postgresql/root.crt.
        params["sslrootcert"] = str(missing_path("root-cert"))
    if credentials is not None and credentials.has_client_cert:
        params["sslcert"] = str(credentials.cert_file())
        params["sslkey"] = str(_libpq_key_file(credentials))
        if credentials.key_password is not None:
            params["sslpassword"] = credentials.key_password.decode("utf-8")
    else:
        # Without these, libpq would send a stray ~/.postgresql/postgresql.crt.
        params["sslcert"] = str(missing_path("client-cert"))
        params["sslkey"] = str(missing_path("client-key"))
    return params


def _system_ca_file(plan: TLSPlan) -> str:
    """The operating system's CA file, for libpq (which takes files)."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            return candidate
    if plan.check_hostname:
        return "system"  # libpq 16+ finds the store itself, with verify-full only
    raise ConfigError(
        "trust='system' found no CA file of the operating system for libpq; install the "
        "ca-certificates package, or use sslmode='verify-full'"
    )


def _libpq_key_file(credentials: Credentials) -> str:
    own = credentials.key_file_as_given()
    mode = credentials.key_file_mode()
    if own is not None and mode is not None and mode & 0o077 == 0:
        return str(own)
    if own is not None:
        warnings.warn(
            f"{credentials.key_label()} can be read by group or others (mode "
            f"{mode or 0:04o}), which libpq refuses; a private 0600 copy is used instead. "
            f"Fix it for good with `chmod 600 '{own}'`.",
            KeyPermissionWarning,
            stacklevel=4,
        )
    return str(credentials.private_key_file())


def psycopg_params(
    conninfo: str = "",
    *,
    sslmode: str | None = None,
    credentials: Credentials | None = None,
    ca: Material | None = None,
    cert: Material | None = None,
    key: Material | None = None,
    key_password: str | bytes | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A new dict for ``psycopg.connect(**params)``.

    ``conninfo`` is a ``postgresql://`` URI or a ``key=value`` string; every key in it is
    kept, then ``overrides`` are applied. An ``sslmode`` inside ``conninfo`` is honoured
    unless ``sslmode`` is given; so are ``sslrootcert``, ``sslcert``, ``sslkey`` and
    ``sslpassword`` unless material is given as arguments.
    """
    require_driver(Driver.PSYCOPG)
    params: dict[str, Any] = dict(parse_conninfo(conninfo))
    params.update({k: v for k, v in overrides.items()})
    mode = sslmode if sslmode is not None else params.get("sslmode")
    if mode is not None and sslmode is None:
        try:
            SSLMode.parse(mode)
        except ConfigError as exc:
            raise ConfigError(f"conninfo: {exc}") from None
    trust = None
    if credentials is None:
        # Files named in the conninfo are the material, field by field, unless the
        # same field is given as an argument.
        rootcert = params.get("sslrootcert") or None
        if ca is None and rootcert == "system":
            trust = "system"
        elif ca is None and rootcert is not None:
            ca = rootcert
        if cert is None and key is None and (params.get("sslcert") or params.get("sslkey")):
            cert = params.get("sslcert") or None
            key = params.get("sslkey") or None
            if key_password is None:
                key_password = params.get("sslpassword") or None
    plan = _resolve_quiet(
        "postgresql",
        sslmode=mode,
        trust=trust,
        credentials=credentials,
        ca=ca,
        cert=cert,
        key=key,
        key_password=key_password,
    )
    warn_if_insecure(plan, stacklevel=2)
    for name in _SSL_KEYS:
        params.pop(name, None)
    params.update(libpq_params(plan))
    return params
