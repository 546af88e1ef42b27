"""Private files for drivers that only take paths.

Material handed over as text or bytes, or that a driver cannot use as it is, is written
once into a directory only this process's user can enter (0700, unpredictable name, made
by :func:`tempfile.mkdtemp`), as files only the owner can read (0600), created with
``O_EXCL | O_NOFOLLOW`` so that nothing planted in advance is followed or reused. Names
are a keyed hash of the content: the same material written twice gives the same file, and
the name says nothing about the content to anyone without the per-process key. The
directory is removed when the interpreter exits (by the process that made it, not by a
forked child).
"""

from __future__ import annotations

import atexit
import hashlib
import hmac
import os
import secrets
import shutil
import stat
import tempfile
import threading
from pathlib import Path

__all__ = ["missing_path", "private_dir", "write_private"]

_lock = threading.Lock()
_state: dict[str, object] = {}
_written: dict[str, Path] = {}
_hash_key = secrets.token_bytes(32)


def private_dir() -> Path:
    """The process's private directory, made on first use."""
    with _lock:
        return _private_dir_locked()


def _private_dir_locked() -> Path:
    directory = _state.get("dir")
    if isinstance(directory, Path) and _state.get("pid") == os.getpid() and directory.is_dir():
        return directory
    made = Path(tempfile.mkdtemp(prefix="tlsconnect-"))
    os.chmod(made, 0o700)
    _state["dir"] = made
    _state["pid"] = os.getpid()
    _written.clear()
    if not _state.get("atexit"):
        atexit.register(_cleanup)
        _state["atexit"] = True
    return made


def _cleanup() -> None:
    directory = _state.get("dir")
    if isinstance(directory, Path) and _state.get("pid") == os.getpid():
        shutil.rmtree(directory, ignore_errors=True)


def write_private(content: bytes, suffix: str) -> Path:
    """Write ``content`` to a 0600 file in the private directory; reuse it when it exists."""
    name = hmac.new(_hash_key, content, hashlib.sha256).hexdigest()[:32] + suffix
    with _lock:
        directory = _private_dir_locked()
        known = _written.get(name)
        if known is not None and _is_ours(known, len(content)):
            return known
        path = directory / name
        temporary = directory / f".{secrets.token_hex(8)}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(temporary, flags, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _written[name] = path
        return path


def _is_ours(path: Path, size: int) -> bool:
    """Whether ``path`` is still the private file written here: a regular file (not a
    symlink put in its place), owned by this user, 0600, of the right size. Anything else
    is replaced (``os.replace`` swaps the link itself, never following it)."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_uid == os.geteuid()
        and stat.S_IMODE(info.st_mode) == 0o600
        and info.st_size == size
    )


def missing_path(purpose: str) -> Path:
    """A path in the private directory that does not and will not exist.

    libpq falls back to ``~/.postgresql/root.crt`` and ``postgresql.crt`` when no file is
    named; naming a path nobody else can create there keeps those stray files out.
    """
    return private_dir() / f"no-{purpose}"
