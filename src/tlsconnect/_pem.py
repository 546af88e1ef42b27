"""Reading material: paths, PEM text or bytes into bytes; PEM blocks; names and keys.

Everything here names its input in errors (a path, or "given as text/bytes"; never the
material itself). ``cryptography`` is imported lazily, by the functions that need it.
"""

from __future__ import annotations

import os
import stat

from ._errors import ConfigError
from ._files import BINARY, permission_bits

# typing and pathlib are not imported at run time: this module is on the path of every
# context (re comes with ssl).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TypeAlias

    from cryptography import x509

    #: A path (``str`` or ``os.PathLike``), PEM text (a ``str`` holding ``-----BEGIN``), or
    #: bytes.
    Material: TypeAlias = str | bytes | os.PathLike[str]

__all__ = [
    "CERT_LABELS",
    "DOWNLOAD_HINT",
    "KEY_LABELS",
    "MAX_INPUT_BYTES",
    "Input",
    "Material",
    "common_name",
    "display_name",
    "looks_like_pem",
    "pem_blocks",
    "public_key_der",
    "read_input",
    "read_path",
    "san_strings",
]

#: Anything larger than this is not a certificate, key or CA bundle.
MAX_INPUT_BYTES = 4 * 1024 * 1024

CERT_LABELS = frozenset({b"CERTIFICATE", b"X509 CERTIFICATE"})
KEY_LABELS = frozenset(
    {
        b"PRIVATE KEY",
        b"RSA PRIVATE KEY",
        b"EC PRIVATE KEY",
        b"DSA PRIVATE KEY",
        b"ENCRYPTED PRIVATE KEY",
    }
)
DOWNLOAD_HINT = "download it again with `avn service user-creds-download`"


class Input:
    """Raw bytes of one input and how to name it in messages."""

    __slots__ = ("data", "label", "mode", "path")

    def __init__(self, data: bytes, label: str, path: str | None, mode: int | None) -> None:
        self.data = data
        self.label = label  # "ca file '/x/ca.pem'" or "ca (given as text)"
        self.path = path
        self.mode = mode

    def __repr__(self) -> str:
        return f"Input({self.label})"


def read_input(value: object, role: str) -> Input:
    """Turn a path, PEM text or bytes into bytes, naming the input for messages. An
    :class:`Input` already read (from the environment, from the provider's API) is taken
    as it is, with its own label."""
    if isinstance(value, Input):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        label = f"{role} (given as bytes)"
        return Input(_check_size(bytes(value), label), label, None, None)
    if isinstance(value, str) and "-----BEGIN" in value:
        label = f"{role} (given as text)"
        try:
            data = value.encode("ascii")
        except UnicodeEncodeError:
            raise ConfigError(
                f"{label} holds characters that cannot be in PEM; "
                "pass the file's path or its exact contents"
            ) from None
        return Input(_check_size(data, label), label, None, None)
    if isinstance(value, str | os.PathLike):
        raw = str(os.fspath(value))
        if not raw.strip():  # Path("") would silently become "."
            raise ConfigError(f"{role} is an empty path; pass the path of a PEM or DER file")
        if "\x00" in raw:  # os.stat() would raise a bare ValueError
            raise ConfigError(
                f"{role} path {raw!r} contains a NUL character; pass the path of a PEM or DER file"
            )
        return read_path(raw, role)
    raise ConfigError(f"{role} must be a path, PEM text or bytes, not {type(value).__name__}")


def _check_size(data: bytes, label: str) -> bytes:
    if len(data) > MAX_INPUT_BYTES:
        raise ConfigError(
            f"{label} is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB, far larger than "
            "any certificate, key or CA bundle; pass the right file"
        )
    if not data.strip():
        raise ConfigError(f"{label} is empty; {DOWNLOAD_HINT}")
    return data


def read_path(path: str | os.PathLike[str], role: str) -> Input:
    """Read one file, refusing directories, special files and anything over 4 MiB.

    The file is opened first and then examined through its descriptor (one path lookup:
    what is examined is what is read; ``O_NONBLOCK`` so that a FIFO cannot hang the
    caller, ``O_NOCTTY`` so that a terminal is never taken as the controlling one)."""
    path = os.fspath(path)
    label = f"{role} file '{path}'"
    if not str(path).strip():
        raise ConfigError(f"{role} is an empty path; pass the path of a PEM or DER file")
    flags = os.O_RDONLY | BINARY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ConfigError(f"{label} does not exist; check the path, or {DOWNLOAD_HINT}") from None
    except PermissionError:
        raise _unreadable(path, label) from None
    except IsADirectoryError:  # some systems refuse to open a directory at all
        raise _directory(label) from None
    except OSError as exc:
        raise ConfigError(f"{label} cannot be read: {exc.strerror}; check the path") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _directory(label)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{label} is not a regular file; pass a PEM or DER file")
        if info.st_size > MAX_INPUT_BYTES:
            raise ConfigError(
                f"{label} is {info.st_size} bytes, far larger than any certificate, key or CA "
                "bundle; pass the right file"
            )
        chunks = []
        left = MAX_INPUT_BYTES + 1
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
    except OSError as exc:
        raise ConfigError(f"{label} cannot be read: {exc.strerror}") from None
    finally:
        os.close(fd)
    # Absolute: a relative path in a result would name another file after a chdir.
    return Input(_check_size(data, label), label, os.path.abspath(path), permission_bits(info))


def _directory(label: str) -> ConfigError:
    return ConfigError(
        f"{label} is a directory, not a file; pass the file inside it, or use "
        "Credentials.from_directory() for a credentials directory"
    )


def _unreadable(path: str, label: str) -> ConfigError:
    """Which refusal it was: a directory on the path, or the file itself."""
    try:
        os.stat(path)
    except PermissionError:
        return ConfigError(
            f"{label} is not readable by this user: a directory on its path refuses entry; "
            "fix the permissions (`chmod 700` on directories you own, `chmod 600` on the file)"
        )
    except OSError:
        pass
    return ConfigError(
        f"{label} is not readable by this user; fix its permissions (for a key: "
        f"`chmod 600 '{path}'` as its owner)"
    )


def looks_like_pem(data: bytes) -> bool:
    return b"-----BEGIN" in data


def pem_blocks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(label, whole block) of every complete PEM block, in order: what the regular
    expression ``-----BEGIN ([A-Z0-9 ]+)-----\\r?\\n(.*?)-----END \\1-----`` (DOTALL)
    matches, found with ``bytes.find``: several times faster than that expression, whose
    lazy body and back-reference cost more than parsing the certificate (a test holds the
    two equal)."""
    blocks: list[tuple[bytes, bytes]] = []
    position = 0
    while True:
        start = data.find(b"-----BEGIN ", position)
        if start < 0:
            return blocks
        label_end = data.find(b"-----", start + 11)
        if label_end < 0:
            return blocks
        label = data[start + 11 : label_end]
        body = label_end + 5
        if data.startswith(b"\r\n", body):
            body += 2
        elif data.startswith(b"\n", body):
            body += 1
        else:
            position = start + 11
            continue
        if not label or label.strip(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 "):
            position = start + 11
            continue
        end_marker = b"-----END " + label + b"-----"
        end = data.find(end_marker, body)
        if end < 0:
            position = start + 11
            continue
        end += len(end_marker)
        blocks.append((label, data[start:end]))
        position = end


def display_name(name: x509.Name) -> str:
    """A name as people call it: its common name, else its RFC 4514 form."""
    from cryptography.x509.oid import NameOID

    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    if cns:
        return str(cns[0].value)
    return name.rfc4514_string() or "(empty name)"


def common_name(name: x509.Name) -> str | None:
    """The common name of ``name``, or ``None``."""
    from cryptography.x509.oid import NameOID

    cns = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(cns[0].value) if cns else None


def san_strings(cert: x509.Certificate) -> list[str]:
    """Every subjectAltName entry as ``DNS:name`` / ``IP:address`` / ``URI:...``."""
    from cryptography import x509 as _x509

    try:
        ext = cert.extensions.get_extension_for_class(_x509.SubjectAlternativeName).value
    except _x509.ExtensionNotFound:
        return []
    names = [f"DNS:{name}" for name in ext.get_values_for_type(_x509.DNSName)]
    names += [f"IP:{address}" for address in ext.get_values_for_type(_x509.IPAddress)]
    names += [f"URI:{uri}" for uri in ext.get_values_for_type(_x509.UniformResourceIdentifier)]
    names += [f"email:{mail}" for mail in ext.get_values_for_type(_x509.RFC822Name)]
    return names


def public_key_der(key_or_cert: object) -> bytes:
    """The SubjectPublicKeyInfo DER of a private key, a public key or a certificate: equal
    for a certificate and the key that belongs to it."""
    from cryptography.hazmat.primitives import serialization

    public = key_or_cert
    if hasattr(public, "public_key"):
        public = public.public_key()
    data: bytes = public.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return data
