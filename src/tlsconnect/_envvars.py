"""Which environment variables hold TLS material, under which convention, and how to read
their values: the logic behind :meth:`Credentials.from_env`.

Platforms hand TLS material to applications in environment variables, by convention:

==============  =======================================================================
``kafka``       ``KAFKA_CA_CERT``, ``KAFKA_ACCESS_CERT``, ``KAFKA_ACCESS_KEY``: the
                provider's application runtime, and its Kubernetes operator's Kafka
                secret (keys prefixed ``KAFKA_``)
``serviceuser`` ``SERVICEUSER_CA_CERT``, ``SERVICEUSER_ACCESS_CERT``,
                ``SERVICEUSER_ACCESS_KEY``: the operator's ServiceUser secret
``operator``    ``CA_CERT``, ``ACCESS_CERT``, ``ACCESS_KEY``: the operator's secrets
                without a prefix (older operator versions, or ``prefix: ""``)
``kafka-path``  ``KAFKA_CA_PATH``, ``KAFKA_CERTIFICATE_PATH``, ``KAFKA_PRIVATE_KEY_PATH``:
                platforms that mount the files and name them
``libpq``       ``PGSSLROOTCERT``, ``PGSSLCERT``, ``PGSSLKEY``: libpq's (paths)
==============  =======================================================================

The rules, in one place:

* A value is PEM text (also with its newlines written as ``\\n``, or flattened to spaces,
  or in quotes, as platforms store it), base64 of a PEM file or of DER (what
  ``base64 -w0 ca.pem`` gives, common where values must be one line), or the path of a
  file. The ``*_PATH`` and libpq variables are paths only. An empty variable counts as
  unset.
* The ``operator`` names are generic (another cloud's ``ACCESS_KEY``): there a value that
  holds no PEM or base64 material is skipped, not an error.
* Every convention found is used; two variables that give the same part (the CA, the
  certificate or the key) must give the same material, else :class:`ConfigError` naming
  both (``convention=`` picks one). A certificate without its key, or the reverse, in one
  convention is a :class:`ConfigError`. None found: :class:`ConfigError` naming every
  variable looked for.
* Messages name variables, and the path of a path variable; never a value.

Standard library only: values are read and labelled here; parsing and checking them is
:class:`tlsconnect.Credentials`'s job.
"""

from __future__ import annotations

import base64
import binascii
import functools
import os
import re

from ._errors import ConfigError
from ._pem import MAX_INPUT_BYTES, Input, pem_blocks, read_path

# Credentials imports this module, and Credentials is on the path of every context:
# typing, dataclasses, pathlib and hashlib are not imported at run time until needed
# (base64, binascii and re come with ssl).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "CONVENTIONS",
    "ROLES",
    "Convention",
    "EnvMaterial",
    "convention_names",
    "environment_signature",
    "read_environment",
    "variables_looked_for",
]

ROLES = ("ca", "cert", "key")
#: The longest value read: base64 of the largest file accepted (see MAX_INPUT_BYTES).
_MAX_VALUE = MAX_INPUT_BYTES * 4 // 3 + 4096
_ROLE_WORDS = {"ca": "the CA", "cert": "the client certificate", "key": "the client key"}
_FILES = {"ca": "ca.pem", "cert": "service.cert", "key": "service.key"}


class Convention:
    """One naming convention: its three variables (CA, certificate, key) and how its
    values are read."""

    __slots__ = ("generic", "name", "paths_only", "title", "variables")

    def __init__(
        self,
        name: str,
        title: str,
        variables: tuple[str, str, str],
        *,
        paths_only: bool = False,
        generic: bool = False,
    ) -> None:
        self.name = name
        self.title = title
        self.variables = variables
        self.paths_only = paths_only
        self.generic = generic

    def __repr__(self) -> str:
        return f"Convention({self.name!r}, {', '.join(self.variables)})"

    def variable(self, role: str) -> str:
        return self.variables[ROLES.index(role)]


#: Every convention, in the order they are read (the order only shapes messages: a
#: conflict between two of them is an error whatever the order).
CONVENTIONS: tuple[Convention, ...] = (
    Convention(
        "kafka",
        "the provider's application runtime and its Kubernetes operator's Kafka secret",
        ("KAFKA_CA_CERT", "KAFKA_ACCESS_CERT", "KAFKA_ACCESS_KEY"),
    ),
    Convention(
        "serviceuser",
        "the provider's Kubernetes operator's ServiceUser secret",
        ("SERVICEUSER_CA_CERT", "SERVICEUSER_ACCESS_CERT", "SERVICEUSER_ACCESS_KEY"),
    ),
    Convention(
        "operator",
        "the provider's Kubernetes operator's secrets without a prefix",
        ("CA_CERT", "ACCESS_CERT", "ACCESS_KEY"),
        generic=True,
    ),
    Convention(
        "kafka-path",
        "files named in *_PATH variables",
        ("KAFKA_CA_PATH", "KAFKA_CERTIFICATE_PATH", "KAFKA_PRIVATE_KEY_PATH"),
        paths_only=True,
    ),
    Convention(
        "libpq",
        "libpq's variables",
        ("PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY"),
        paths_only=True,
    ),
)


def convention_names() -> tuple[str, ...]:
    return tuple(c.name for c in CONVENTIONS)


def _conventions(convention: str | None) -> tuple[Convention, ...]:
    if convention is None:
        return CONVENTIONS
    if isinstance(convention, str):
        key = convention.strip().lower().replace("_", "-")
        for candidate in CONVENTIONS:
            if candidate.name == key:
                return (candidate,)
    raise ConfigError(
        f"unknown convention {convention!r}; use one of: {', '.join(convention_names())}"
    )


def variables_looked_for(convention: str | None = None) -> list[str]:
    return [name for c in _conventions(convention) for name in c.variables]


class _Found:
    __slots__ = ("canonical", "input", "role", "variable")

    def __init__(self, variable: str, role: str, given: Input, canonical: bytes) -> None:
        self.variable = variable
        self.role = role
        self.input = given
        self.canonical = canonical


class EnvMaterial:
    """What the environment holds: one labelled input per part, and where each came from."""

    __slots__ = ("ca", "cert", "key", "skipped", "sources")

    def __init__(
        self,
        *,
        ca: Input | None,
        cert: Input | None,
        key: Input | None,
        sources: tuple[tuple[str, tuple[str, ...]], ...],  # (role, variables that gave it)
        skipped: tuple[str, ...] = (),
    ) -> None:
        self.ca = ca
        self.cert = cert
        self.key = key
        self.sources = sources
        self.skipped = skipped

    def __repr__(self) -> str:
        return f"EnvMaterial({self.describe()})"

    def input(self, role: str) -> Input | None:
        value: Input | None = getattr(self, role)
        return value

    def describe(self) -> str:
        """``ca from KAFKA_CA_CERT, cert from KAFKA_ACCESS_CERT, ...`` (names only)."""
        return ", ".join(f"{role} from {' = '.join(names)}" for role, names in self.sources)


def read_environment(environ: Mapping[str, str], convention: str | None = None) -> EnvMaterial:
    """Read TLS material from ``environ`` by the rules in this module's docstring."""
    chosen = _conventions(convention)
    found: dict[str, list[_Found]] = {role: [] for role in ROLES}
    skipped: list[str] = []
    for conv in chosen:
        present: dict[str, _Found] = {}
        for role, name in zip(ROLES, conv.variables, strict=True):
            raw = environ.get(name)
            if raw is None:
                continue
            if not isinstance(raw, str):
                raise ConfigError(
                    f"environment variable {name} must be a string, not {type(raw).__name__}"
                )
            if not raw.strip():
                continue  # an empty variable counts as unset
            item = _read_value(conv, role, name, raw)
            if item is None:
                skipped.append(name)
                continue
            present[role] = item
        if ("cert" in present) != ("key" in present):
            have, lack = ("cert", "key") if "cert" in present else ("key", "cert")
            raise ConfigError(
                f"{conv.variable(have)} is set but {conv.variable(lack)} is not: "
                f"{_ROLE_WORDS['cert']} and {_ROLE_WORDS['key']} come together; set "
                f"{conv.variable(lack)} to {_ROLE_WORDS[lack]} ({_FILES[lack]}), or unset "
                f"{conv.variable(have)}"
            )
        for role, item in present.items():
            found[role].append(item)
    if not any(found.values()):
        looked = ", ".join(variables_looked_for(convention))
        extra = (
            f" ({', '.join(skipped)} {'is' if len(skipped) == 1 else 'are'} set but "
            "hold no PEM material, so were skipped)"
            if skipped
            else ""
        )
        raise ConfigError(
            f"no TLS material in the environment: looked for {looked}{extra}; set the "
            "project CA (and a client certificate with its key) in one of them, as PEM "
            "text or as a path"
        )
    chosen_inputs: dict[str, Input | None] = {}
    sources: list[tuple[str, tuple[str, ...]]] = []
    for role in ROLES:
        items = found[role]
        if not items:
            chosen_inputs[role] = None
            continue
        first = items[0]
        for other in items[1:]:
            if other.canonical != first.canonical:
                raise ConfigError(
                    f"{first.variable} and {other.variable} both give {_ROLE_WORDS[role]}, "
                    "and they differ; unset the one you do not mean, or pick a convention "
                    f"(convention=..., one of: {', '.join(convention_names())}; on the "
                    "command line --env-convention NAME)"
                )
        chosen_inputs[role] = first.input
        sources.append((role, tuple(item.variable for item in items)))
    return EnvMaterial(
        ca=chosen_inputs["ca"],
        cert=chosen_inputs["cert"],
        key=chosen_inputs["key"],
        sources=tuple(sources),
        skipped=tuple(skipped),
    )


def environment_signature(
    environ: Mapping[str, str], convention: str | None = None
) -> tuple[object, ...]:
    """What changes when the material the environment gives changes: a digest of every
    variable looked for, and the state of each file a short value may name (device, inode,
    size, times), so that a file swapped under a path variable (a Kubernetes secret
    volume) is noticed. Cheap enough to take per connection."""
    parts: list[object] = []
    for name in variables_looked_for(convention):
        raw = environ.get(name)
        if not isinstance(raw, str) or not raw.strip():
            parts.append(None)
            continue
        import hashlib

        digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).digest()
        state: tuple[int, ...] | None = None
        text = _unquote(raw.strip())
        if "-----BEGIN" not in text and "\n" not in text and 0 < len(text) < 4096:
            try:
                info = os.stat(text)
            except (OSError, ValueError):
                state = None
            else:
                state = (
                    info.st_dev,
                    info.st_ino,
                    info.st_size,
                    info.st_mtime_ns,
                    info.st_ctime_ns,
                )
        parts.append((digest, state))
    return tuple(parts)


# -- reading one value ----------------------------------------------------------------


def _read_value(conv: Convention, role: str, name: str, raw: str) -> _Found | None:
    if len(raw) > _MAX_VALUE:
        raise ConfigError(
            f"environment variable {name} is larger than {MAX_INPUT_BYTES // (1024 * 1024)} "
            "MiB of material (in base64 or escaped), far larger than any certificate, key or "
            "CA bundle; set it to the right material"
        )
    text = _unquote(raw.strip())
    if conv.paths_only:
        return _read_path_variable(conv, role, name, text)
    if "-----BEGIN" in text:
        data = _normalise_pem(text, name)
        return _found(name, role, data, f"{name} (PEM text from the environment)", None)
    decoded = _base64_material(text)
    if decoded is not None:
        if decoded.lstrip().startswith(b"-----BEGIN"):
            data = _normalise_pem(_ascii(decoded, name), name)
            label = f"{name} (base64 PEM from the environment)"
        else:
            data = decoded
            label = f"{name} (base64 DER from the environment)"
        return _found(name, role, data, label, None)
    if conv.generic:
        return None
    if "\n" not in text and "\x00" not in text and len(text) < 4096 and os.path.isfile(text):
        from pathlib import Path

        source = read_path(Path(text), name)
        return _found(name, role, source.data, source.label, source)
    raise ConfigError(
        f"environment variable {name} holds neither PEM text (-----BEGIN ...), base64 of "
        "PEM or DER, nor the path of an existing file; set it to "
        f"{_ROLE_WORDS[role]}'s PEM text (the contents of {_FILES[role]}) or to the path "
        "of that file"
    )


def _read_path_variable(conv: Convention, role: str, name: str, text: str) -> _Found:
    if "-----BEGIN" in text:
        text_variable = CONVENTIONS[0].variable(role)
        raise ConfigError(
            f"environment variable {name} holds PEM text, but it names a file: write the "
            f"PEM to a file and set {name} to its path, or set {text_variable} to the PEM "
            "text instead"
        )
    if conv.name == "libpq" and role == "ca" and text.lower() == "system":
        raise ConfigError(
            "PGSSLROOTCERT=system asks libpq for the operating system's trust store, which "
            "is not a CA file; pass trust='system' (--trust system) and unset PGSSLROOTCERT, "
            "or set PGSSLROOTCERT to the project CA file (ca.pem)"
        )
    from pathlib import Path

    source = read_path(Path(text), name)
    return _found(name, role, source.data, source.label, source)


def _found(name: str, role: str, data: bytes, label: str, source: Input | None) -> _Found:
    if len(data) > MAX_INPUT_BYTES:
        raise ConfigError(
            f"{label} is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB, far larger than "
            "any certificate, key or CA bundle; set it to the right material"
        )
    made = source if source is not None else Input(data, label, None, None)
    return _Found(name, role, made, _canonical(data))


def _unquote(text: str) -> str:
    """Strip one pair of matching quotes (docker --env-file and some .env loaders keep
    them)."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].strip()
    return text


def _ascii(data: bytes, name: str) -> str:
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise ConfigError(
            f"environment variable {name} holds characters that cannot be in PEM; set it to "
            "the exact contents of the file"
        ) from None


_ESCAPES = (("\\r\\n", "\n"), ("\\n", "\n"), ("\\r", "\n"), ("\r\n", "\n"), ("\r", "\n"))


# Compiled on first use: this module is imported with Credentials, on the path of every
# context, and most processes never read the environment.
@functools.cache
def _text_block() -> re.Pattern[str]:
    return re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)


def _normalise_pem(text: str, name: str) -> bytes:
    """PEM as files hold it, from PEM as platforms store it: ``\\n`` written out, newlines
    flattened to spaces, CRLF. Blocks with headers (legacy encrypted keys) keep their
    lines; other blocks get their base64 re-wrapped at 64 columns."""
    try:
        text.encode("ascii")
    except UnicodeEncodeError:
        raise ConfigError(
            f"environment variable {name} holds characters that cannot be in PEM; set it to "
            "the exact contents of the file"
        ) from None
    for escaped, plain in _ESCAPES:
        text = text.replace(escaped, plain)

    def rebuild(match: re.Match[str]) -> str:
        label, body = match.group(1), match.group(2)
        if ":" in body:  # RFC 1421 headers (Proc-Type, DEK-Info): keep the lines
            lines = [line.strip() for line in body.strip().split("\n")]
            return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"
        compact = "".join(body.split())
        wrapped = "\n".join(compact[i : i + 64] for i in range(0, len(compact), 64))
        return f"-----BEGIN {label}-----\n{wrapped}\n-----END {label}-----"

    blocks = [rebuild(m) for m in _text_block().finditer(text)]
    if not blocks:
        return text.encode("ascii")  # no complete block: Credentials says what is wrong
    return ("\n".join(blocks) + "\n").encode("ascii")


@functools.cache
def _base64() -> re.Pattern[str]:
    return re.compile(r"[A-Za-z0-9+/]+={0,2}")


def _base64_material(text: str) -> bytes | None:
    """The bytes of a base64 value that decodes to PEM or to DER (an ASN.1 SEQUENCE), else
    ``None``: short words, paths and prose are not base64 material."""
    compact = "".join(text.split())
    if len(compact) < 64 or len(compact) % 4 or not _base64().fullmatch(compact):
        return None
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return None
    if data.lstrip().startswith(b"-----BEGIN") or data[:1] == b"\x30":
        return data
    return None


def _canonical(data: bytes) -> bytes:
    """The material itself, for comparing two variables: the decoded body of each PEM
    block (so line breaks, spaces and PEM against DER do not matter), or DER as it is."""
    parts = []
    for _, block in pem_blocks(data):
        inside = block.split(b"\n", 1)[1].rsplit(b"-----END", 1)[0]
        body = b"".join(inside.split())
        try:
            parts.append(base64.b64decode(body))
        except (binascii.Error, ValueError):  # headers of a legacy encrypted key
            parts.append(body)
    return b"|".join(parts) if parts else data
