"""Where trust comes from: certifi's public CAs (as a hashed CA directory), the project
CA, the operating system's store, and one trust file per plan for drivers that take paths.

certifi's public CAs are a hashed CA directory, built once per bundle, read lazily.

Loading certifi's bundle with ``cafile=`` parses every one of its ~120 certificates into
each new context (about 15 ms). OpenSSL can instead look issuers up on demand in a
directory where each certificate is stored under its subject-name hash (``capath=``, the
layout ``openssl rehash`` makes): a context then costs nothing to set up, and the one
certificate a handshake needs is read when it is needed. The verification result is the
same, because OpenSSL finds an issuer by name in either store and then checks it the same
way (the tests show it for every certifi root).

The directory is built once per bundle content (keyed by its SHA-256) under a private
cache directory (``$XDG_CACHE_HOME/tlsconnect`` or ``~/.cache/tlsconnect``, mode 0700,
owned by this user), in a temporary directory that is renamed into place when complete:
concurrent builders never see half a directory, and the loser of a race uses the
winner's. Anything unexpected (no home, read-only disk, a directory owned by someone else
or writable by others, a certificate whose name cannot be hashed) falls back to
``cafile=`` of the bundle: slower, never weaker.

:func:`subject_hash` computes OpenSSL's ``X509_NAME_hash`` (the SHA-1 based "new" hash of
``openssl x509 -subject_hash``) in pure Python, so no ``openssl`` binary and no
``cryptography`` import is needed.
"""

from __future__ import annotations

import _thread
import base64
import os
import re
import ssl
import stat
import sys
import time
from functools import lru_cache

from ._errors import ConfigError
from ._files import is_private_file, write_private
from ._model import Trust

# typing, pathlib, hashlib and tempfile are not imported at run time until needed: the
# lookup of certifi's directory runs in the first public-CA context of every process.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._material import Credentials

__all__ = [
    "CACHE_DIR_ENV",
    "TrustLocation",
    "build_hashed_dir",
    "cache_root",
    "certifi_file",
    "hashed_dir_for_bundle",
    "public_trust",
    "subject_hash",
    "trust_file",
]

#: Overrides the cache root (tests and benchmarks use it for a cold cache).
CACHE_DIR_ENV = "TLSCONNECT_CACHE_DIR"
#: A build directory left behind by a crashed builder is removed after this many seconds.
_STALE_BUILD_SECONDS = 3600
#: A hashed directory no installed certifi bundle has used for this long is removed (a
#: process that started long ago may still look issuers up in it: it is kept a while).
_UNUSED_DIR_SECONDS = 30 * 86400
_MANIFEST = "MANIFEST"


@lru_cache(maxsize=1)
def _pem_cert_pattern() -> re.Pattern[bytes]:
    return re.compile(
        rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----\r?\n(.*?)-----END "
        rb"(?:X509 |TRUSTED )?CERTIFICATE-----",
        re.DOTALL,
    )


class TrustLocation:
    """Where a context loads the public CAs from: exactly one of ``capath``/``cafile``."""

    __slots__ = ("cafile", "capath")

    def __init__(self, *, cafile: str | None = None, capath: str | None = None) -> None:
        self.cafile = cafile
        self.capath = capath

    def _key(self) -> tuple[str | None, str | None]:
        return (self.cafile, self.capath)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TrustLocation) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return f"TrustLocation(cafile={self.cafile!r}, capath={self.capath!r})"

    def load_into(self, context: object) -> None:
        load = context.load_verify_locations  # type: ignore[attr-defined]
        if self.capath is not None:
            load(capath=self.capath)
        else:
            load(cafile=self.cafile)


# -- OpenSSL's subject-name hash --------------------------------------------------------

# Tags whose values OpenSSL converts to UTF-8 and canonicalises (ASN1_MASK_CANON), with
# how ASN1_STRING_to_UTF8 reads their bytes.
_UTF8, _PRINTABLE, _T61, _IA5, _VISIBLE, _UNIVERSAL, _BMP = 0x0C, 0x13, 0x14, 0x16, 0x1A, 0x1C, 0x1E
_ONE_BYTE_TAGS = frozenset({_PRINTABLE, _T61, _IA5, _VISIBLE})
_ASCII_SPACE = frozenset(b" \t\n\v\f\r")


def _read_tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at ``pos``."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("high tag numbers do not occur in X.509 names")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, pos, end


def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes((tag, length)) + content
    size = (length.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + length.to_bytes(size, "big") + content


def _to_utf8(tag: int, value: bytes) -> bytes:
    if tag == _UTF8:
        value.decode("utf-8")  # OpenSSL refuses invalid UTF-8; so do we
        return value
    if tag in _ONE_BYTE_TAGS:
        return value.decode("latin-1").encode("utf-8")
    if tag == _BMP:
        if len(value) % 2:
            raise ValueError("odd BMPString")
        units = [int.from_bytes(value[i : i + 2], "big") for i in range(0, len(value), 2)]
        return "".join(map(chr, units)).encode("utf-8")
    if tag == _UNIVERSAL:
        if len(value) % 4:
            raise ValueError("bad UniversalString")
        points = [int.from_bytes(value[i : i + 4], "big") for i in range(0, len(value), 4)]
        return "".join(map(chr, points)).encode("utf-8")
    raise AssertionError(tag)


def _canonical_value(value: bytes) -> bytes:
    """OpenSSL's asn1_string_canon on UTF-8 bytes: trim and collapse ASCII whitespace,
    lowercase ASCII letters; other bytes are kept as they are."""
    start, end = 0, len(value)
    while start < end and value[start] in _ASCII_SPACE:
        start += 1
    while end > start and value[end - 1] in _ASCII_SPACE:
        end -= 1
    out = bytearray()
    in_space = False
    for byte in value[start:end]:
        if byte in _ASCII_SPACE:
            if not in_space:
                out.append(0x20)
            in_space = True
            continue
        in_space = False
        out.append(byte + 32 if 0x41 <= byte <= 0x5A else byte)
    return bytes(out)


def canonical_name(name_der: bytes) -> bytes:
    """The canonical encoding OpenSSL hashes: each RDN's SET with canonical values,
    concatenated, without the outer SEQUENCE."""
    tag, pos, end = _read_tlv(name_der, 0)
    if tag != 0x30:
        raise ValueError("a Name is a SEQUENCE")
    out = []
    while pos < end:
        set_tag, set_pos, set_end = _read_tlv(name_der, pos)
        if set_tag != 0x31:
            raise ValueError("an RDN is a SET")
        entries = []
        while set_pos < set_end:
            seq_tag, seq_pos, seq_end = _read_tlv(name_der, set_pos)
            if seq_tag != 0x30:
                raise ValueError("an attribute is a SEQUENCE")
            oid_tag, _, oid_end = _read_tlv(name_der, seq_pos)
            if oid_tag != 0x06:
                raise ValueError("an attribute type is an OID")
            value_tag, value_pos, value_end = _read_tlv(name_der, oid_end)
            if value_end != seq_end:
                raise ValueError("an attribute has one value")
            value = name_der[value_pos:value_end]
            if value_tag in _ONE_BYTE_TAGS or value_tag in (_UTF8, _BMP, _UNIVERSAL):
                value_tlv = _der(_UTF8, _canonical_value(_to_utf8(value_tag, value)))
            else:
                value_tlv = name_der[oid_end:value_end]  # copied as it is, tag and all
            entries.append(_der(0x30, name_der[seq_pos:oid_end] + value_tlv))
            set_pos = seq_end
        # DER sorts the members of a SET OF by their encodings (as OpenSSL's i2d does).
        out.append(_der(0x31, b"".join(sorted(entries))))
        pos = set_end
    return b"".join(out)


def certificate_subject(cert_der: bytes) -> bytes:
    """The DER of a certificate's subject Name."""
    tag, pos, _ = _read_tlv(cert_der, 0)
    if tag != 0x30:
        raise ValueError("a certificate is a SEQUENCE")
    tag, pos, tbs_end = _read_tlv(cert_der, pos)
    if tag != 0x30:
        raise ValueError("tbsCertificate is a SEQUENCE")
    tag, _, end = _read_tlv(cert_der, pos)
    if tag == 0xA0:  # [0] version
        pos = end
    for _field in ("serialNumber", "signature", "issuer", "validity"):
        _, _, pos = _read_tlv(cert_der, pos)
    tag, _, end = _read_tlv(cert_der, pos)
    if tag != 0x30 or end > tbs_end:
        raise ValueError("subject is a SEQUENCE")
    return cert_der[pos:end]


def subject_hash(cert_der: bytes) -> str:
    """``openssl x509 -subject_hash`` of a DER certificate, as 8 hex digits."""
    # OpenSSL's name hash is defined with SHA-1; it names files, it protects nothing.
    import hashlib

    digest = hashlib.sha1(
        canonical_name(certificate_subject(cert_der)), usedforsecurity=False
    ).digest()
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def pem_certificates(bundle: bytes) -> list[tuple[bytes, bytes]]:
    """(PEM block, DER) of every certificate in a PEM bundle."""
    found = []
    for match in _pem_cert_pattern().finditer(bundle):
        der = base64.b64decode(b"".join(match.group(1).split()), validate=True)
        block = (
            b"-----BEGIN CERTIFICATE-----\n"
            + base64.encodebytes(der)
            + b"-----END CERTIFICATE-----\n"
        )
        found.append((block, der))
    return found


# -- the hashed directory --------------------------------------------------------------
#
# Paths here are strings and os.path, not pathlib: the lookup below runs in the first
# public-CA context of every process, and pathlib's import would cost more than it does.

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def build_hashed_dir(bundle: bytes, directory: str | os.PathLike[str]) -> int:
    """Write every certificate of ``bundle`` into ``directory`` as ``<hash>.<n>`` files
    (n counts certificates whose subjects share a hash); return how many were written.
    Identical certificates are written once, as ``openssl rehash`` does."""
    import hashlib

    certificates = pem_certificates(bundle)
    if not certificates:
        raise ValueError("the bundle holds no certificate")
    counts: dict[str, int] = {}
    seen: set[bytes] = set()
    for block, der in certificates:
        fingerprint = hashlib.sha256(der).digest()
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        name_hash = subject_hash(der)
        number = counts.get(name_hash, 0)
        counts[name_hash] = number + 1
        path = os.path.join(directory, f"{name_hash}.{number}")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(block)
            handle.flush()
            os.fsync(handle.fileno())
    return len(seen)


def cache_root() -> str | None:
    """The private cache directory's path (not created), or ``None`` when there is none."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return override
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "tlsconnect")


def _private_dir_ok(info: os.stat_result) -> bool:
    """A real directory (not a link), owned by this user, that nobody else can enter."""
    return (
        stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.geteuid()
        and stat.S_IMODE(info.st_mode) & 0o077 == 0
    )


def _ensure_root(root: str) -> bool:
    try:
        os.makedirs(os.path.dirname(root), mode=0o700, exist_ok=True)
        try:
            os.mkdir(root, 0o700)
        except FileExistsError:
            pass
        info = os.lstat(root)
    except OSError:
        return False
    ours = stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid()
    if ours and stat.S_IMODE(info.st_mode) & 0o077:
        try:
            os.chmod(root, 0o700)  # ours, but too open (e.g. made under a loose umask)
            info = os.lstat(root)
        except OSError:
            return False
    return _private_dir_ok(info)


def _remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def _prune_stale_builds(root: str) -> None:
    now = time.time()
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        if name.startswith(".build-"):
            path = os.path.join(root, name)
            try:
                if now - os.lstat(path).st_mtime > _STALE_BUILD_SECONDS:
                    _remove_tree(path)
            except OSError:
                pass


def hashed_dir_for_bundle(bundle: bytes, root: str | os.PathLike[str]) -> str | None:
    """The hashed directory for ``bundle`` under ``root``, built now if it does not exist
    or no longer holds exactly the bundle's certificates; ``None`` when it cannot be made
    safely (the caller then uses ``cafile=``)."""
    import hashlib
    import tempfile

    root = os.fspath(root)
    digest = hashlib.sha256(bundle).hexdigest()
    final = os.path.join(root, f"ca-{digest[:32]}")
    try:
        info: os.stat_result | None = os.lstat(final)
    except FileNotFoundError:
        info = None
    except OSError:
        return None
    if info is not None:
        if not (_private_dir_ok(info) and _root_ok(root)):
            return None
        if _intact(final, digest):
            return final
        _discard(final)  # changed since it was built: never trusted as it is now
    if not _ensure_root(root):
        return None
    _prune_stale_builds(root)
    try:
        building = tempfile.mkdtemp(prefix=".build-", dir=root)
    except OSError:
        return None
    try:
        build_hashed_dir(bundle, building)
        _write_manifest(building, digest)
        dir_fd = os.open(building, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        os.rename(building, final)  # atomic; fails if another builder got there first
    except (OSError, ValueError):
        _remove_tree(building)
        try:
            info = os.lstat(final)
        except OSError:
            return None
        return final if _private_dir_ok(info) and _intact(final, digest) else None
    _prune_unused(root, keep=os.path.basename(final))
    return final


def _write_manifest(directory: str, digest: str) -> None:
    """What the directory must hold: the bundle's digest, then each file and its size."""
    lines = [f"sha256 {digest}"]
    for name in sorted(os.listdir(directory)):
        lines.append(f"{name} {os.lstat(os.path.join(directory, name)).st_size}")
    path = os.path.join(directory, _MANIFEST)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write("\n".join(lines) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _intact(directory: str, digest: str | None = None) -> bool:
    """Whether ``directory`` still holds exactly what its manifest lists (names, sizes,
    regular files of ours only nobody else can read or write), for ``digest`` when given.

    A certificate added to, removed from or replaced in the directory would silently
    change what every public-CA context trusts; this costs one listing and one ``lstat``
    per file, once per process."""
    try:
        fd = os.open(os.path.join(directory, _MANIFEST), os.O_RDONLY | _O_NOFOLLOW)
        with os.fdopen(fd, "r", encoding="utf-8") as handle:
            lines = handle.read(64 * 1024).splitlines()
        if not lines or not lines[0].startswith("sha256 "):
            return False
        if digest is not None and lines[0] != f"sha256 {digest}":
            return False
        expected: dict[str, int] = {}
        for line in lines[1:]:
            entry, _, size_text = line.partition(" ")
            expected[entry] = int(size_text)
        if set(os.listdir(directory)) != {*expected, _MANIFEST}:
            return False
        uid = os.geteuid()
        for entry, recorded in expected.items():
            info = os.lstat(os.path.join(directory, entry))
            if not (
                stat.S_ISREG(info.st_mode)
                and info.st_uid == uid
                and stat.S_IMODE(info.st_mode) & 0o077 == 0
                and info.st_size == recorded
            ):
                return False
    except (OSError, ValueError):
        return False
    return True


def _discard(directory: str) -> None:
    """Move a directory out of the way (atomically), then remove it."""
    parent, name = os.path.split(directory)
    aside = os.path.join(parent, f".build-discard-{os.getpid()}-{name}")
    try:
        os.rename(directory, aside)
    except OSError:
        return
    _remove_tree(aside)


def _prune_unused(root: str, *, keep: str) -> None:
    """Remove pointers whose bundle changed or is gone, and hashed directories that no
    pointer names and nobody has used for :data:`_UNUSED_DIR_SECONDS` (older certifi
    versions' directories)."""
    try:
        names = os.listdir(root)
    except OSError:
        return
    referenced = {keep}
    for name in names:
        if not name.startswith("bundle-"):
            continue
        pointer = os.path.join(root, name)
        target = _live_pointer_target(pointer)
        if target is None:
            try:
                os.unlink(pointer)
            except OSError:
                pass
        else:
            referenced.add(target)
    now = time.time()
    for name in names:
        if name.startswith("ca-") and name not in referenced:
            path = os.path.join(root, name)
            try:
                if now - os.lstat(path).st_mtime > _UNUSED_DIR_SECONDS:
                    _discard(path)
            except OSError:
                pass


def _read_small(path: str) -> list[str] | None:
    """The lines of a small file of ours (not a link), or ``None``."""
    try:
        fd = os.open(path, os.O_RDONLY | _O_NOFOLLOW)
        with os.fdopen(fd, "r", encoding="utf-8", errors="replace") as handle:
            if os.fstat(handle.fileno()).st_uid != os.geteuid():
                return None
            return handle.read(8192).splitlines()
    except OSError:
        return None


def _live_pointer_target(pointer: str) -> str | None:
    """The directory a pointer names, when the bundle file it was made for is still there
    and unchanged; ``None`` for a stale pointer."""
    lines = _read_small(pointer)
    if lines is None or len(lines) < 3:
        return None  # unreadable, or written before pointers named their bundle
    try:
        info = os.stat(lines[1])
    except OSError:
        return None
    if lines[2] != _identity(lines[1], info):
        return None
    return lines[0].strip()


def _root_ok(root: str) -> bool:
    try:
        return _private_dir_ok(os.lstat(root))
    except OSError:
        return False


# -- certifi, once per process -----------------------------------------------------------

_lock = _thread.allocate_lock()
_memo: dict[tuple[object, ...], TrustLocation] = {}


def _fnv(text: str) -> str:
    """A short, stable name for a key (64-bit FNV-1a). It names cache files only: what a
    file holds is compared with the full key when it is read, so a collision is a miss."""
    value = 0xCBF29CE484222325
    for byte in text.encode("utf-8", "surrogateescape"):
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{value:016x}"


def _identity(path: str, info: os.stat_result) -> str:
    return f"{path}\0{info.st_dev}\0{info.st_ino}\0{info.st_size}\0{info.st_mtime_ns}"


def certifi_file() -> str:
    """certifi's Mozilla bundle: ``certifi.where()``.

    Importing certifi costs more than the rest of a first public-CA context (it imports
    ``importlib.resources``), so the answer is kept in the cache directory, keyed by the
    installed certifi's own files, and certifi is imported only when that changed.
    """
    module = sys.modules.get("certifi")
    if module is not None:
        return str(module.where())
    root = cache_root()
    key = _certifi_key()
    if root is not None and key is not None:
        lines = _read_small(os.path.join(root, f"where-{_fnv(key)}"))
        if lines is not None and len(lines) >= 2 and lines[0] == key and os.path.isfile(lines[1]):
            return lines[1]
    import certifi

    where = str(certifi.where())
    if root is not None and key is not None and _ensure_root(root):
        _write_small(os.path.join(root, f"where-{_fnv(key)}"), f"{key}\n{where}\n")
    return where


def _certifi_key() -> str | None:
    """What identifies the installed certifi: the identity of the files that decide
    ``where()`` (``core.py`` and the bundle next to it), in the package directory the
    import system would use. ``None`` when that is not a plain directory on ``sys.path``
    (a zip, a namespace, a module shadowing it): certifi is then imported as usual."""
    package = None
    for entry in sys.path:
        base = os.path.join(entry or os.curdir, "certifi")
        if os.path.isfile(os.path.join(base, "__init__.py")):
            package = base
            break
        if os.path.exists(base + ".py") or os.path.exists(base):
            return None  # something else answers to "certifi" first
    if package is None:
        return None
    parts = []
    for name in ("core.py", "cacert.pem"):
        path = os.path.join(package, name)
        try:
            parts.append(_identity(path, os.stat(path)))
        except OSError:
            return None
    return "\0".join(parts)


def public_trust() -> TrustLocation:
    """Where to load certifi's CAs from: its hashed directory when one can be had,
    else the bundle file itself."""
    bundle_path = certifi_file()
    root = cache_root()
    try:
        info = os.stat(bundle_path)
    except OSError:
        return TrustLocation(cafile=bundle_path)  # let OpenSSL report the missing bundle
    key = (bundle_path, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, root)
    found = _memo.get(key)
    if found is not None and (found.capath is None or os.path.isdir(found.capath)):
        return found
    with _lock:
        found = _memo.get(key)
        if found is None or (found.capath is not None and not os.path.isdir(found.capath)):
            found = _locate(bundle_path, info, root)
            _memo[key] = found
    return found


def _locate(bundle_path: str, info: os.stat_result, root: str | None) -> TrustLocation:
    if root is None or os.name != "posix":
        return TrustLocation(cafile=bundle_path)
    # A pointer keyed by the bundle file's identity and state names the directory of its
    # content, so that a process does not read and hash the bundle to find it.
    identity = _identity(bundle_path, info)
    pointer = os.path.join(root, f"bundle-{_fnv(identity)}")
    known = _follow_pointer(pointer, root, identity)
    if known is not None and _intact(known):
        # Marks it in use, so that pruning (after another certifi version's build) keeps it.
        try:
            os.utime(known)
        except OSError:
            pass
        return TrustLocation(capath=known)
    try:
        with open(bundle_path, "rb") as handle:
            bundle = handle.read()
    except OSError:
        return TrustLocation(cafile=bundle_path)
    directory = hashed_dir_for_bundle(bundle, root)
    if directory is None:
        return TrustLocation(cafile=bundle_path)
    _write_small(pointer, f"{os.path.basename(directory)}\n{bundle_path}\n{identity}\n")
    return TrustLocation(capath=directory)


_HEX = "0123456789abcdef"


def _follow_pointer(pointer: str, root: str, identity: str) -> str | None:
    lines = _read_small(pointer)
    if lines is None or len(lines) < 3 or lines[2] != identity:
        return None
    name = lines[0].strip()
    # "ca-" and 32 hex digits (checked by hand: a regular expression compiled here would
    # cost more than the rest of the lookup).
    if len(name) != 35 or not name.startswith("ca-") or name[3:].strip(_HEX):
        return None
    directory = os.path.join(root, name)
    try:
        if _private_dir_ok(os.lstat(directory)) and _root_ok(root):
            return directory
    except OSError:
        pass
    return None


def _write_small(path: str, text: str) -> None:
    """Write a small file of ours atomically (a reader never sees half of it)."""
    parent, name = os.path.split(path)
    temporary = os.path.join(parent, f".build-{os.getpid()}-{_thread.get_ident()}-{name}")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass


def forget() -> None:
    """Drop the in-process memo (tests use it to see a fresh process's first call)."""
    with _lock:
        _memo.clear()


# -- one trust file per plan, for drivers that only take paths ---------------------------


def trust_file(
    trust: Trust, credentials: Credentials | None, *, system_fallback: str | None = None
) -> str:
    """A CA file that trusts exactly what ``trust`` says, for drivers that take a path.

    ``project``: the CA given (the user's own file when it is PEM, else a private copy);
    ``public``: certifi's bundle; ``project+public``: both, in one private file;
    ``system``: the operating system's CA file, else ``system_fallback`` (libpq 16+ reads
    ``sslrootcert=system`` itself, with verify-full only), else a :class:`ConfigError`.
    """
    if trust is Trust.PUBLIC:
        return certifi_file()
    if trust is Trust.SYSTEM:
        paths = ssl.get_default_verify_paths()
        for candidate in (paths.cafile, paths.openssl_cafile):
            if candidate and os.path.isfile(candidate):
                return candidate
        if system_fallback is not None:
            return system_fallback
        raise ConfigError(
            "trust='system' found no CA file of the operating system for a driver that "
            "takes a file; install the ca-certificates package"
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
    key = (ca_pem, _identity(bundle_path, info))
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
