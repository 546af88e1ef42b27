"""The private CA-directory cache: certifi's public CAs as a hashed CA directory, built
once per bundle, read lazily; its manifest, the pointers that find it, and its pruning.

Loading certifi's bundle with ``cafile=`` parses every one of its ~120 certificates into
each new context (about 15 ms). OpenSSL can instead look issuers up on demand in a
directory where each certificate is stored under its subject-name hash (``capath=``, the
layout ``openssl rehash`` makes): a context then costs nothing to set up, and the one
certificate a handshake needs is read when it is needed. The verification result is the
same, because OpenSSL finds an issuer by name in either store and then checks it the same
way (the tests show it for every certifi root).

The directory is built once per bundle content (keyed by its SHA-256) under a private
cache directory (``$TLSCONNECT_CACHE_DIR``, else ``$XDG_CACHE_HOME/tlsconnect`` or
``~/.cache/tlsconnect``; where files have no owners, ``%LOCALAPPDATA%\\tlsconnect\\cache``),
private as :mod:`tlsconnect._files` defines it (mode 0700 and owned by this user where
those exist), in a temporary directory that is renamed into place when complete:
concurrent builders never see half a directory, and the loser of a race uses the
winner's. Anything unexpected (no home, read-only disk, a directory owned by someone else
or writable by others, a certificate whose name cannot be hashed) falls back to
``cafile=`` of the bundle: slower, never weaker.

This module owns the cache and where certifi's bundle is (:func:`certifi_file`,
:func:`public_trust`); the hash is :mod:`tlsconnect._certs`'s, every file is written and
checked through :mod:`tlsconnect._files`.
"""

from __future__ import annotations

import _thread
import os
import sys
import time

from ._certs import pem_certificates, subject_hash
from ._files import (
    BINARY,
    ensure_private_dir,
    owner_uid,
    private_dir_ok,
    private_file_ok,
    read_small,
    remove_tree,
    write_new,
    write_small,
)

# pathlib, hashlib and tempfile are not imported at run time until needed: the lookup of
# certifi's directory runs in the first public-CA context of every process.

__all__ = [
    "CACHE_DIR_ENV",
    "TrustLocation",
    "build_hashed_dir",
    "cache_root",
    "certifi_file",
    "file_identity",
    "forget",
    "hashed_dir_for_bundle",
    "public_trust",
]

#: Overrides the cache root (tests and benchmarks use it for a cold cache).
CACHE_DIR_ENV = "TLSCONNECT_CACHE_DIR"
#: A build directory left behind by a crashed builder is removed after this many seconds.
_STALE_BUILD_SECONDS = 3600
#: A hashed directory no installed certifi bundle has used for this long is removed (a
#: process that started long ago may still look issuers up in it: it is kept a while).
_UNUSED_DIR_SECONDS = 30 * 86400
_MANIFEST = "MANIFEST"


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


# -- the hashed directory --------------------------------------------------------------
#
# Paths here are strings and os.path, not pathlib: the lookup below runs in the first
# public-CA context of every process, and pathlib's import would cost more than it does.


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
        write_new(path, block, sync=True)
    return len(seen)


def cache_root() -> str | None:
    """The private cache directory's path (not created), or ``None`` when there is none."""
    override = os.environ.get(CACHE_DIR_ENV)
    if override:
        return override
    local = os.environ.get("LOCALAPPDATA", "")
    if owner_uid() is None and os.path.isabs(local):
        return os.path.join(local, "tlsconnect", "cache")
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = os.path.expanduser("~")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return os.path.join(base, "tlsconnect")


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
                    remove_tree(path)
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
        if not (private_dir_ok(info) and _root_ok(root)):
            return None
        if _intact(final, digest):
            return final
        _discard(final)  # changed since it was built: never trusted as it is now
    if not ensure_private_dir(root):
        return None
    _prune_stale_builds(root)
    try:
        building = tempfile.mkdtemp(prefix=".build-", dir=root)
    except OSError:
        return None
    try:
        build_hashed_dir(bundle, building)
        _write_manifest(building, digest)
        _sync_directory(building)
        os.rename(building, final)  # atomic; fails if another builder got there first
    except (OSError, ValueError):
        remove_tree(building)
        try:
            info = os.lstat(final)
        except OSError:
            return None
        return final if private_dir_ok(info) and _intact(final, digest) else None
    _prune_unused(root, keep=os.path.basename(final))
    return final


def _sync_directory(directory: str) -> None:
    """Flush a directory's entries where a directory can be opened (not on Windows, whose
    rename is what makes the directory visible, complete, to others)."""
    try:
        dir_fd = os.open(directory, os.O_RDONLY | BINARY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _write_manifest(directory: str, digest: str) -> None:
    """What the directory must hold: the bundle's digest, then each file and its size."""
    lines = [f"sha256 {digest}"]
    for name in sorted(os.listdir(directory)):
        lines.append(f"{name} {os.lstat(os.path.join(directory, name)).st_size}")
    write_new(os.path.join(directory, _MANIFEST), ("\n".join(lines) + "\n").encode(), sync=True)


def _intact(directory: str, digest: str | None = None) -> bool:
    """Whether ``directory`` still holds exactly what its manifest lists (names, sizes,
    regular files of ours only nobody else can read or write), for ``digest`` when given.

    A certificate added to, removed from or replaced in the directory would silently
    change what every public-CA context trusts; this costs one listing and one ``lstat``
    per file, once per process."""
    try:
        manifest = read_small(os.path.join(directory, _MANIFEST), 64 * 1024)
        if manifest is None:
            return False
        lines = manifest.decode("utf-8").splitlines()
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
        for entry, recorded in expected.items():
            if not private_file_ok(os.lstat(os.path.join(directory, entry)), recorded):
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
    remove_tree(aside)


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


def _read_lines(path: str) -> list[str] | None:
    """The lines of a small file of ours (not a link), or ``None``."""
    content = read_small(path)
    return None if content is None else content.decode("utf-8", "replace").splitlines()


def _write_lines(path: str, text: str) -> None:
    write_small(path, text.encode("utf-8", "surrogateescape"))


def _live_pointer_target(pointer: str) -> str | None:
    """The directory a pointer names, when the bundle file it was made for is still there
    and unchanged; ``None`` for a stale pointer."""
    lines = _read_lines(pointer)
    if lines is None or len(lines) < 3:
        return None  # unreadable, or written before pointers named their bundle
    try:
        info = os.stat(lines[1])
    except OSError:
        return None
    if lines[2] != file_identity(lines[1], info):
        return None
    return lines[0].strip()


def _root_ok(root: str) -> bool:
    try:
        return private_dir_ok(os.lstat(root))
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


def file_identity(path: str, info: os.stat_result) -> str:
    """What identifies a file's state: path, device, inode, size, modification time."""
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
        lines = _read_lines(os.path.join(root, f"where-{_fnv(key)}"))
        if lines is not None and len(lines) >= 2 and lines[0] == key and os.path.isfile(lines[1]):
            return lines[1]
    import certifi

    where = str(certifi.where())
    if root is not None and key is not None and ensure_private_dir(root):
        _write_lines(os.path.join(root, f"where-{_fnv(key)}"), f"{key}\n{where}\n")
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
            parts.append(file_identity(path, os.stat(path)))
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
    if root is None:
        return TrustLocation(cafile=bundle_path)
    # A pointer keyed by the bundle file's identity and state names the directory of its
    # content, so that a process does not read and hash the bundle to find it.
    identity = file_identity(bundle_path, info)
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
    _write_lines(pointer, f"{os.path.basename(directory)}\n{bundle_path}\n{identity}\n")
    return TrustLocation(capath=directory)


_HEX = "0123456789abcdef"


def _follow_pointer(pointer: str, root: str, identity: str) -> str | None:
    lines = _read_lines(pointer)
    if lines is None or len(lines) < 3 or lines[2] != identity:
        return None
    name = lines[0].strip()
    # "ca-" and 32 hex digits (checked by hand: a regular expression compiled here would
    # cost more than the rest of the lookup).
    if len(name) != 35 or not name.startswith("ca-") or name[3:].strip(_HEX):
        return None
    directory = os.path.join(root, name)
    try:
        if private_dir_ok(os.lstat(directory)) and _root_ok(root):
            return directory
    except OSError:
        pass
    return None


def forget() -> None:
    """Drop the in-process memo (tests use it to see a fresh process's first call)."""
    with _lock:
        _memo.clear()
