"""``tlsconnect inspect``: what certificate, key and bundle files hold, and how they relate.

For each certificate: subject, issuer, SANs, validity and days left, SHA-256 fingerprint,
key type and size, CA flag. For each key: type and size, and whether it is encrypted.
Then which key matches which certificate and which certificate issued which. Key material
is never shown: a key is described by its type, its size and the certificate it matches.

A directory stands for the files in it (``ca.pem``, ``service.cert``, ``service.key`` first,
as ``avn service user-creds-download`` writes them, then the others by name); ``-`` for
standard input.
"""

from __future__ import annotations

import datetime as _dt
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ._errors import ConfigError
from ._pem import (
    KEY_LABELS,
    MAX_INPUT_BYTES,
    display_name,
    pem_blocks,
    public_key_der,
    read_path,
)
from ._report import certificate_info
from ._term import printable

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["InspectedItem", "Inspection", "inspect_files"]


@dataclass
class InspectedItem:
    """One certificate or key found in a file."""

    file: str
    index: int  # 1-based position in the file
    kind: str  # "certificate", "private key", or "other"
    info: dict[str, Any] = field(default_factory=dict)
    certificate: x509.Certificate | None = field(default=None, repr=False)
    public_der: bytes | None = field(default=None, repr=False)

    @property
    def label(self) -> str:
        return f"{self.file} #{self.index}"


@dataclass
class Inspection:
    items: list[InspectedItem] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    relations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def unmatched_keys(self) -> list[InspectedItem]:
        """Keys that match none of the certificates inspected with them (a key alone, or
        one not decrypted, is not counted: there was nothing to match it against)."""
        if not any(i.kind == "certificate" for i in self.items):
            return []
        return [i for i in self.items if i.kind == "private key" and i.info.get("matches") == []]

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": [
                {"file": i.file, "index": i.index, "kind": i.kind, **i.info} for i in self.items
            ],
            "relations": list(self.relations),
            "errors": list(self.errors),
            "notes": list(self.notes),
        }

    def render(self) -> str:
        lines: list[str] = []
        for item in self.items:
            info = item.info
            if item.kind == "certificate":
                lines.append(f"{item.label}: certificate{' (CA)' if info['is_ca'] else ''}")
                lines.append(f"  subject: {info['subject']}")
                lines.append(f"  issuer:  {info['issuer']}")
                if info["sans"]:
                    lines.append(f"  names:   {', '.join(info['sans'])}")
                lines.append(
                    f"  valid:   {info['not_before']} to {info['not_after']} ({info['validity']})"
                )
                lines.append(f"  key:     {info['key_type']}")
                lines.append(f"  CA:      {'yes' if info['is_ca'] else 'no'}")
                lines.append(f"  sha256:  {info['sha256']}")
            elif item.kind == "private key":
                state = "encrypted" if info["encrypted"] else "not encrypted"
                if info.get("decrypted") is False:
                    state += ", not decrypted (pass --password-env NAME to check it)"
                lines.append(f"{item.label}: private key ({info['key_type']}, {state})")
            else:
                lines.append(f"{item.label}: {info.get('label', 'unknown PEM block')}")
        if self.relations:
            lines.append("relations:")
            lines.extend(f"  {relation}" for relation in self.relations)
        lines.extend(f"note: {note}" for note in self.notes)
        # Names and labels come from the files: control characters are shown escaped.
        return "\n".join(printable(line) for line in lines)


def _key_type(public: object) -> str:
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    if isinstance(public, rsa.RSAPublicKey):
        return f"RSA {public.key_size}"
    if isinstance(public, ec.EllipticCurvePublicKey):
        return f"EC {public.curve.name} ({public.key_size})"
    if isinstance(public, ed25519.Ed25519PublicKey):
        return "Ed25519 (256)"
    if isinstance(public, ed448.Ed448PublicKey):
        return "Ed448 (456)"
    if isinstance(public, dsa.DSAPublicKey):
        return f"DSA {public.key_size}"
    return type(public).__name__


def _validity(cert: x509.Certificate, now: _dt.datetime) -> str:
    after, before = cert.not_valid_after_utc, cert.not_valid_before_utc
    if before > now:
        return f"NOT YET VALID, starts in {(before - now).days} days"
    if after <= now:
        return f"EXPIRED {(now - after).days} days ago"
    return f"{(after - now).days} days left"


def _certificate_item(name: str, index: int, cert: x509.Certificate) -> InspectedItem:
    from cryptography import x509 as _x509

    now = _dt.datetime.now(_dt.timezone.utc)
    info = certificate_info(cert)
    try:
        constraints = cert.extensions.get_extension_for_class(_x509.BasicConstraints).value
        is_ca = bool(constraints.ca)
    except _x509.ExtensionNotFound:
        is_ca = False
    public = cert.public_key()
    info.update(
        {
            "is_ca": is_ca,
            "self_signed": cert.issuer == cert.subject,
            "key_type": _key_type(public),
            "days_left": (cert.not_valid_after_utc - now).days,
            "validity": _validity(cert, now),
        }
    )
    return InspectedItem(name, index, "certificate", info, cert, public_key_der(public))


def _key_item(
    name: str, index: int, data: bytes, *, pem: bool, password: bytes | None
) -> InspectedItem:
    from cryptography.hazmat.primitives import serialization

    load = serialization.load_pem_private_key if pem else serialization.load_der_private_key
    encrypted = False
    try:
        key = load(data, password=None)
    except TypeError:
        encrypted = True
        if password is None:
            info: dict[str, Any] = {"key_type": "unknown", "encrypted": True, "decrypted": False}
            return InspectedItem(name, index, "private key", info)
        try:
            key = load(data, password=password)
        except (ValueError, TypeError):
            raise ConfigError(
                f"{name}: the encrypted private key could not be decrypted with the password "
                "given; check the password"
            ) from None
    public = key.public_key()
    info = {"key_type": _key_type(public), "encrypted": encrypted, "decrypted": True}
    return InspectedItem(name, index, "private key", info, None, public_key_der(public))


#: A credentials directory's files, in the order they are shown.
_DIRECTORY_FILES = ("ca.pem", "service.cert", "service.key")
#: The end of the message for a file that is no certificate or key.
_NEITHER = " is neither a PEM file nor a DER certificate or key"
#: Standard input's name in messages and in the report.
STDIN_NAME = "<stdin>"


def _read_stdin(stdin: BinaryIO) -> bytes:
    data = stdin.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise ConfigError(
            f"standard input is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB, far "
            "larger than any certificate, key or CA bundle"
        )
    if not data.strip():
        raise ConfigError("standard input is empty; pipe a certificate or key into it")
    return data


def _directory_files(directory: Path, notes: list[str]) -> list[Path]:
    """The files a directory stands for: the credentials' own first, then every other
    regular file (hidden ones left out), by name."""
    try:
        names = sorted(os.listdir(directory))
    except OSError as exc:
        raise ConfigError(f"directory '{directory}' cannot be read: {exc.strerror}") from None
    known = [name for name in _DIRECTORY_FILES if name in names]
    others = [n for n in names if n not in _DIRECTORY_FILES and not n.startswith(".")]
    files = [directory / name for name in known + others if (directory / name).is_file()]
    if not files:
        raise ConfigError(
            f"directory '{directory}' holds no files to inspect; pass the certificate and "
            "key files, or the directory `avn service user-creds-download` wrote"
        )
    if not known:
        notes.append(f"{directory} has none of {', '.join(_DIRECTORY_FILES)}")
    return files


def _inspect_one(path: Path, password: bytes | None) -> list[InspectedItem]:
    return _inspect_data(str(path), read_path(path, "inspected").data, password)


def _inspect_data(name: str, data: bytes, password: bytes | None) -> list[InspectedItem]:
    from cryptography import x509 as _x509
    from cryptography.hazmat.primitives import serialization

    items: list[InspectedItem] = []
    if b"-----BEGIN" in data:
        blocks = pem_blocks(data)
        if not blocks:
            raise ConfigError(f"{name} holds no complete PEM block; it may be truncated")
        for index, (label, block) in enumerate(blocks, 1):
            if label in (b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE"):
                try:
                    cert = _x509.load_pem_x509_certificate(
                        block.replace(b"TRUSTED CERTIFICATE", b"CERTIFICATE")
                    )
                except ValueError:
                    raise ConfigError(
                        f"{name}: PEM block #{index} is a malformed certificate"
                    ) from None
                items.append(_certificate_item(name, index, cert))
            elif label in KEY_LABELS:
                try:
                    items.append(_key_item(name, index, block, pem=True, password=password))
                except ValueError as exc:
                    if isinstance(exc, ConfigError):
                        raise
                    raise ConfigError(
                        f"{name}: PEM block #{index} is a malformed private key"
                    ) from None
            else:
                items.append(InspectedItem(name, index, "other", {"label": label.decode("ascii")}))
        return items
    try:
        return [_certificate_item(name, 1, _x509.load_der_x509_certificate(data))]
    except ValueError:
        pass
    try:
        return [_key_item(name, 1, data, pem=False, password=password)]
    except ConfigError:
        raise
    except (ValueError, TypeError):
        pass
    try:
        serialization.load_der_public_key(data)
    except ValueError:
        raise ConfigError(f"{name}{_NEITHER}") from None
    return [InspectedItem(name, 1, "other", {"label": "DER public key"})]


def inspect_files(
    paths: list[str | os.PathLike[str]],
    *,
    password: bytes | None = None,
    stdin: BinaryIO | None = None,
) -> Inspection:
    """Inspect every file; unreadable or malformed files are listed in ``errors``. A
    directory stands for its files; ``-`` reads ``stdin`` when it is given."""
    from cryptography.utils import CryptographyDeprecationWarning

    result = Inspection()
    # (path, whether a directory named it); None: standard input.
    expanded: list[tuple[Path | None, bool]] = []
    for raw in paths:
        if stdin is not None and os.fspath(raw) == "-":
            expanded.append((None, False))
            continue
        path = Path(os.fspath(raw))
        if path.is_dir():
            try:
                expanded.extend((file, True) for file in _directory_files(path, result.notes))
            except ConfigError as exc:
                result.errors.append(str(exc))
        else:
            expanded.append((path, False))
    with warnings.catch_warnings():
        # cryptography warns once per certificate whose serial number is not positive
        # (several of certifi's roots); it is said once below, as a note naming them.
        warnings.filterwarnings(
            "ignore", message="Parsed a serial number", category=CryptographyDeprecationWarning
        )
        for source, in_directory in expanded:
            try:
                if source is None and stdin is not None:
                    data = _read_stdin(stdin)
                    result.items.extend(_inspect_data(STDIN_NAME, data, password))
                elif source is not None:
                    result.items.extend(_inspect_one(source, password))
            except ConfigError as exc:
                if in_directory and str(exc).endswith(_NEITHER):
                    # A directory's other files need not be certificates: said, not failed.
                    result.notes.append(f"{source} skipped: not a certificate or key")
                else:
                    result.errors.append(str(exc))
        odd_serials = [
            item.label
            for item in result.items
            if item.certificate is not None and item.certificate.serial_number <= 0
        ]
    for item in result.items:
        item.info["serial_positive"] = item.label not in odd_serials
    if odd_serials:
        result.notes.append(
            f"{len(odd_serials)} certificate{'s' if len(odd_serials) != 1 else ''} "
            f"({', '.join(odd_serials)}) "
            f"{'have' if len(odd_serials) != 1 else 'has'} a serial number that is not positive, "
            "which RFC 5280 forbids; OpenSSL accepts them, and cryptography says it will "
            "refuse them in a future release"
        )
    certs = [i for i in result.items if i.kind == "certificate" and i.certificate is not None]
    keys = [i for i in result.items if i.kind == "private key"]
    for key in keys:
        if key.public_der is None:
            continue
        matches = [c for c in certs if c.public_der == key.public_der]
        key.info["matches"] = [c.label for c in matches]
        for cert in matches:
            result.relations.append(f"{key.label} (private key) matches {cert.label} ({_cn(cert)})")
        if not matches and certs:
            result.relations.append(f"{key.label} (private key) matches none of the certificates")
    for child in certs:
        issuers = []
        for parent in certs:
            if _issued(parent.certificate, child.certificate):
                issuers.append(parent.label)
                if parent is not child:
                    result.relations.append(
                        f"{parent.label} ({_cn(parent)}) issued {child.label} ({_cn(child)})"
                    )
        child.info["issued_by"] = issuers
    return result


def _cn(item: InspectedItem) -> str:
    cert = item.certificate
    return "?" if cert is None else display_name(cert.subject)


def _issued(parent: x509.Certificate | None, child: x509.Certificate | None) -> bool:
    if parent is None or child is None or child.issuer != parent.subject:
        return False
    from cryptography.exceptions import InvalidSignature

    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
