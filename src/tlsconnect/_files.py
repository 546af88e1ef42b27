"""Every file tlsconnect writes, and what "private" means for each platform.

This module owns the private files of the whole library: the client pair a context loads
(memory files, or a file removed as soon as it is loaded), the copies that drivers taking
only paths need, the CA-directory cache's small files, and the durable files a user keeps
(``tlsconnect config --output-dir``). No other module opens a file for writing.

What "private" means depends on what the operating system offers, and the capability is
looked up (``getattr(os, "geteuid", None)``, guarded imports), never inferred from the
platform's name:

* **Owners and mode bits** (Linux, macOS, the BSDs): a file is private when it is a regular
  file (not a link), owned by this user, mode 0600; a directory when it is owned by this
  user and nobody else can enter it (0700). Both are checked before anything is trusted.
* **No owners or mode bits** (Windows): private files live under the user's local
  application data (``%LOCALAPPDATA%``), whose access list admits only that user; files are
  created ``O_EXCL`` (and ``O_BINARY``, so nothing is translated), nothing is checked for an
  owner, and no key is reported as "readable by others" (mode bits mean nothing there).

Every file is opened with ``O_BINARY`` where it exists and ``O_NOFOLLOW`` where it exists.

**The process's directory.** Material written for drivers that take only paths lives in a
directory of this process (``run-XXXXXXXX``, made by :func:`tempfile.mkdtemp`) under one
private parent: ``$TLSCONNECT_RUN_DIR``, else ``$XDG_RUNTIME_DIR/tlsconnect``, else
``<temp dir>/tlsconnect-<uid>``; without owners, ``%LOCALAPPDATA%\\tlsconnect\\run``. The
parent's owner and mode are checked where they exist; one that is not private is not
used (a directory of its own in the temporary directory is made instead, as before).
The process holds an advisory lock on ``.lock`` in its directory for its whole life
(``fcntl.flock``; ``msvcrt.locking`` on Windows), which the operating system releases when
the process ends, however it ends. The directory is removed at exit; and the first time
a process needs a private directory (never at import), it removes the directories under
the same parent whose lock it can take: their processes are gone, even if ``SIGKILL``,
the OOM killer or ``docker stop`` ended them. A PID is never used to decide (PIDs are
reused, containers sharing ``/tmp`` each have a PID 1). Without any lock (neither module
importable), nothing is removed but the process's own directory at exit.

Names in the process's directory are a keyed hash of the content: the same material
written twice gives the same file, and the name says nothing about the content to anyone
without the per-process key.

**Memory files.** A checked client pair is handed to ``load_cert_chain`` as memory files
(``memfd_create``, ``/proc/self/fd/N``) where both exist; elsewhere as private files with
fresh names, removed as soon as ``load_cert_chain`` returns (the context keeps the key in
memory).

**Durable files** (:func:`write_durable`) outlive the process: configuration and material
written into a directory the user named. They are 0600, written to a temporary name and
renamed into place, so a reader never sees half a file and a symlink planted at the name is
replaced, never followed.
"""

from __future__ import annotations

import _thread
import atexit
import os
import stat
import time

from ._errors import ConfigError

# pathlib, tempfile, shutil, hmac, importlib and fcntl are imported where they are used:
# this module is imported on the path of every context, and most processes never write.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

__all__ = [
    "BINARY",
    "NEVER_EXISTS",
    "NOFOLLOW",
    "PROC_SELF_FD",
    "RUN_DIR_ENV",
    "MemoryFiles",
    "ensure_private_dir",
    "is_private_file",
    "memory_files_available",
    "missing_path",
    "never_exists",
    "owner_uid",
    "permission_bits",
    "prepare_durable_dir",
    "private_dir",
    "private_dir_ok",
    "private_file_ok",
    "read_small",
    "remove_tree",
    "write_durable",
    "write_new",
    "write_private",
    "write_small",
]

#: Flags every ``os.open`` here adds: no newline translation (Windows), no link followed.
BINARY = getattr(os, "O_BINARY", 0)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
#: Where this process's memory files are named (Linux); a path that is not a directory
#: turns memory files off.
PROC_SELF_FD = "/proc/self/fd"
#: Overrides the parent of the processes' private directories.
RUN_DIR_ENV = "TLSCONNECT_RUN_DIR"
#: A directory found without its lock file is left alone this long (its process may be
#: between making it and locking it); after that its process is taken to be gone.
_UNLOCKED_GRACE_SECONDS = 60.0
_LOCK_NAME = ".lock"

_lock = _thread.allocate_lock()
_state: dict[str, object] = {}
_written: dict[str, Path] = {}
_hash_key = os.urandom(32)


# -- capabilities ----------------------------------------------------------------------


def owner_uid() -> int | None:
    """This process's effective user id where files have owners and mode bits; ``None``
    where they do not (Windows), and then nothing is checked for an owner or a mode."""
    geteuid = getattr(os, "geteuid", None)
    return None if geteuid is None else int(geteuid())


def permission_bits(info: os.stat_result) -> int:
    """A file's permission bits where they mean something; where there are no owners
    (Windows), the private modes (0700 for a directory, 0600 for a file): access there is
    the profile's access list, and no file is reported as readable by others."""
    if owner_uid() is None:
        return 0o700 if stat.S_ISDIR(info.st_mode) else 0o600
    return stat.S_IMODE(info.st_mode)


def private_dir_ok(info: os.stat_result) -> bool:
    """A real directory (not a link); where owners exist, ours and closed to others."""
    if not stat.S_ISDIR(info.st_mode):
        return False
    uid = owner_uid()
    return uid is None or (info.st_uid == uid and stat.S_IMODE(info.st_mode) & 0o077 == 0)


def private_file_ok(info: os.stat_result, size: int | None = None) -> bool:
    """A regular file (not a link); where owners exist, ours and closed to others; of
    ``size`` bytes when given."""
    if not stat.S_ISREG(info.st_mode) or (size is not None and info.st_size != size):
        return False
    uid = owner_uid()
    return uid is None or (info.st_uid == uid and stat.S_IMODE(info.st_mode) & 0o077 == 0)


def memory_files_available() -> bool:
    """Whether anonymous memory files can be named by path here (Linux)."""
    return getattr(os, "memfd_create", None) is not None and os.path.isdir(PROC_SELF_FD)


def _optional_module(name: str) -> Any:
    """A standard module that only some platforms have (``fcntl``, ``msvcrt``), or None."""
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _try_lock(fd: int) -> bool | None:
    """Take the advisory lock on ``fd`` without waiting: True, False (someone holds it),
    or None where no advisory lock exists."""
    fcntl = _optional_module("fcntl")
    if fcntl is not None and hasattr(fcntl, "flock"):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True
    msvcrt = _optional_module("msvcrt")
    if msvcrt is not None and hasattr(msvcrt, "locking"):
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    return None


def _unlock(fd: int) -> None:
    """Release a lock :func:`_try_lock` took (closing the descriptor releases it too,
    except on Windows, where the region must be unlocked first)."""
    msvcrt = _optional_module("msvcrt") if _optional_module("fcntl") is None else None
    if msvcrt is not None and hasattr(msvcrt, "locking"):
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        except OSError:
            pass


# -- small private files (the CA-directory cache and the process's directory) -----------


def write_new(path: str | os.PathLike[str], content: bytes, *, sync: bool = False) -> None:
    """Create ``path`` (0600) with ``content``; fails if anything is already there, a
    link included (``O_EXCL``), so nothing planted in advance is followed or reused."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | NOFOLLOW | BINARY | _CLOEXEC
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        if sync:
            handle.flush()
            os.fsync(handle.fileno())


def read_small(path: str, limit: int = 8192) -> bytes | None:
    """The first ``limit`` bytes of a small private file (not a link; ours where owners
    exist), or ``None``."""
    try:
        fd = os.open(path, os.O_RDONLY | NOFOLLOW | BINARY | _CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        uid = owner_uid()
        if not stat.S_ISREG(info.st_mode) or (uid is not None and info.st_uid != uid):
            return None
        chunks = []
        while limit > 0:
            chunk = os.read(fd, limit)
            if not chunk:
                break
            chunks.append(chunk)
            limit -= len(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def write_small(path: str, content: bytes) -> bool:
    """Write a small private file atomically (a reader never sees half of it); False when
    it could not be written."""
    parent, name = os.path.split(path)
    temporary = os.path.join(parent, f".build-{os.getpid()}-{_thread.get_ident()}-{name}")
    try:
        write_new(temporary, content)
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        return False
    return True


def ensure_private_dir(path: str) -> bool:
    """Make ``path`` (and its parents) a private directory when it is not one yet; whether
    it is one now. A directory of ours that others can enter is closed (0700); one owned by
    someone else is refused."""
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
        info = os.lstat(path)
    except OSError:
        return False
    uid = owner_uid()
    ours = stat.S_ISDIR(info.st_mode) and (uid is None or info.st_uid == uid)
    if ours and uid is not None and stat.S_IMODE(info.st_mode) & 0o077:
        try:
            os.chmod(path, 0o700)  # ours, but too open (e.g. made under a loose umask)
            info = os.lstat(path)
        except OSError:
            return False
    return private_dir_ok(info)


def remove_tree(path: str) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


# -- the process's private directory -----------------------------------------------------


def _runs_root() -> str:
    """The parent of the processes' private directories (not created)."""
    override = os.environ.get(RUN_DIR_ENV)
    if override:
        return os.path.abspath(override)
    import tempfile

    uid = owner_uid()
    if uid is None:
        base = os.environ.get("LOCALAPPDATA") or tempfile.gettempdir()
        return os.path.join(base, "tlsconnect", "run")
    runtime = os.environ.get("XDG_RUNTIME_DIR", "")
    if os.path.isabs(runtime) and os.path.isdir(runtime):
        return os.path.join(runtime, "tlsconnect")
    return os.path.join(tempfile.gettempdir(), f"tlsconnect-{uid}")


def private_dir() -> Path:
    """The process's private directory, made on first use (see the module's text)."""
    with _lock:
        return _private_dir_locked()


def _private_dir_locked() -> Path:
    import tempfile
    from pathlib import Path

    directory = _state.get("dir")
    if isinstance(directory, Path) and _state.get("pid") == os.getpid() and directory.is_dir():
        return directory
    held = _state.get("lock_fd")
    if isinstance(held, int) and _state.get("pid") == os.getpid():
        _unlock(held)  # its directory was removed under us: a new one is made
        os.close(held)
    root = _runs_root()
    if ensure_private_dir(root):
        _reap(root)
        made = Path(tempfile.mkdtemp(prefix="run-", dir=root))
        _state["lock_fd"] = _hold(str(made))
    else:  # a parent that is not private is never used; reaping is then not possible
        made = Path(tempfile.mkdtemp(prefix="tlsconnect-"))
        _state["lock_fd"] = None
    _state["dir"] = made
    _state["pid"] = os.getpid()
    _written.clear()
    if not _state.get("atexit"):
        atexit.register(_cleanup)
        _state["atexit"] = True
    return made


def _hold(directory: str) -> int | None:
    """Create and lock the directory's lock file, kept open for the process's life; the
    PID is written after the lock is taken (a reaper reads an empty file as "just made")."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | NOFOLLOW | BINARY | _CLOEXEC
    try:
        fd = os.open(os.path.join(directory, _LOCK_NAME), flags, 0o600)
    except OSError:
        return None
    if not _try_lock(fd):
        os.close(fd)
        return None
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def _held(directory: str) -> bool:
    """Whether a live process may still be using ``directory``: its lock cannot be taken,
    or no lock can be taken here at all, or it was made too recently to be sure."""
    try:
        age = time.time() - os.lstat(directory).st_mtime
    except OSError:
        return True  # gone already, or not ours to look at
    try:
        fd = os.open(os.path.join(directory, _LOCK_NAME), os.O_RDWR | NOFOLLOW | BINARY | _CLOEXEC)
    except FileNotFoundError:
        return age < _UNLOCKED_GRACE_SECONDS
    except OSError:
        return True
    try:
        taken = _try_lock(fd)
        if not taken:
            return True
        # Taken: its owner is gone, unless it had not locked it yet (nothing written).
        held = os.fstat(fd).st_size == 0 and age < _UNLOCKED_GRACE_SECONDS
        _unlock(fd)
        return held
    except OSError:
        return True
    finally:
        os.close(fd)


def _reap(root: str) -> None:
    """Remove the directories under ``root`` whose processes are gone."""
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:
        if not name.startswith("run-"):
            continue
        path = os.path.join(root, name)
        try:
            if not private_dir_ok(os.lstat(path)):
                continue
        except OSError:
            continue
        if not _held(path):
            remove_tree(path)


def _cleanup() -> None:
    directory = _state.get("dir")
    if directory is None or _state.get("pid") != os.getpid():
        return
    fd = _state.get("lock_fd")
    if isinstance(fd, int):
        _unlock(fd)
        os.close(fd)
        _state["lock_fd"] = None
    remove_tree(str(directory))


def _replace_atomically(directory: Path, name: str, content: bytes) -> Path:
    """Write ``content`` to ``directory/name`` (0600) through a fresh temporary file.

    ``O_EXCL | O_NOFOLLOW`` on the temporary name means nothing planted in advance is
    followed or reused; ``os.replace`` swaps a symlink at ``name`` itself, never its target.
    """
    path = directory / name
    temporary = directory / f".{os.urandom(8).hex()}.tmp"
    try:
        write_new(temporary, content)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def write_private(content: bytes, suffix: str) -> Path:
    """Write ``content`` to a 0600 file in the private directory; reuse it when it exists."""
    import hashlib
    import hmac

    name = hmac.new(_hash_key, content, hashlib.sha256).hexdigest()[:32] + suffix
    with _lock:
        directory = _private_dir_locked()
        known = _written.get(name)
        if known is not None and is_private_file(known, len(content)):
            return known
        path = _replace_atomically(directory, name, content)
        _written[name] = path
        return path


def _write_transient(content: bytes, suffix: str) -> str:
    """A new private file with a fresh random name, for the caller to remove."""
    with _lock:
        directory = _private_dir_locked()
    path = os.path.join(directory, f".{os.urandom(16).hex()}{suffix}")
    write_new(path, content)
    return path


def prepare_durable_dir(path: str | os.PathLike[str], what: str) -> Path:
    """A directory for durable files: made 0700 when new; ``what`` names it in errors."""
    from pathlib import Path

    directory = Path(os.fspath(path)).absolute()
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"{what} '{directory}' exists and is not a directory")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{what} '{directory}' cannot be made: {exc.strerror}") from None
    return directory


def write_durable(directory: Path, name: str, content: bytes) -> Path:
    """Write a file the user keeps: 0600, atomically, in ``directory``."""
    return _replace_atomically(directory, name, content)


def is_private_file(path: str | os.PathLike[str], size: int) -> bool:
    """Whether ``path`` is still the private file written here: a regular file (not a
    symlink put in its place), ours and 0600 where owners exist, of the right size.
    Anything else is replaced (``os.replace`` swaps the link itself, never following it)."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return private_file_ok(info, size)


def missing_path(purpose: str) -> Path:
    """A path in the private directory that does not and will not exist.

    libpq falls back to ``~/.postgresql/root.crt`` and ``postgresql.crt`` (on Windows
    ``%APPDATA%\\postgresql\\``) when no file is named; naming a path nobody else can create
    there keeps those stray files out.
    """
    return private_dir() / f"no-{purpose}"


def _never_parent() -> str:
    """A file that always exists and is not a directory, so that no path beneath it can
    exist: the null device where it is a path (``/dev/null``), else the system's own
    ``ntdll.dll`` (Windows, where the null device is not a file system path)."""
    if os.path.isabs(os.devnull):
        return os.devnull
    system_root = os.environ.get("SYSTEMROOT") or os.environ.get("WINDIR") or "C:\\Windows"
    return os.path.join(system_root, "System32", "ntdll.dll")


def never_exists(purpose: str) -> str:
    """A path that can never exist on this system, for configuration that outlives the
    process: libpq then neither picks up a stray root certificate nor sends a stray client
    certificate from its default directory. ``purpose``: ``root-cert``, ``client-cert``
    or ``client-key``."""
    return os.path.join(_never_parent(), f"tlsconnect-no-{purpose}")


#: Paths that can never exist (see :func:`never_exists`), per purpose.
NEVER_EXISTS = {
    purpose: never_exists(purpose) for purpose in ("root-cert", "client-cert", "client-key")
}


class MemoryFiles:
    """Material as paths that exist only while OpenSSL reads them: each content in an
    anonymous memory file (``memfd_create``, Linux) named ``/proc/self/fd/N``, closed on
    leaving the block; where memory files are not available, private 0600 files with
    fresh names in the process's directory, removed on leaving the block. Used for loading
    a checked client pair into a context: what OpenSSL reads is exactly the bytes that
    were checked, and no key stays on disk once the context holds it::

        with MemoryFiles(cert_pem, key_pem) as (cert_path, key_path):
            context.load_cert_chain(cert_path, key_path)
    """

    __slots__ = ("_contents", "_fds", "_paths")

    def __init__(self, *contents: bytes) -> None:
        self._contents = contents
        self._fds: list[int] = []
        self._paths: list[str] = []

    def __enter__(self) -> list[str]:
        create = getattr(os, "memfd_create", None)
        if create is None or not os.path.isdir(PROC_SELF_FD):
            return self._on_disk()
        try:
            for content in self._contents:
                fd = create("tlsconnect", getattr(os, "MFD_CLOEXEC", 0))
                self._fds.append(fd)
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view) :]
        except OSError:
            self._close()
            return self._on_disk()
        except BaseException:
            # Anything else (an interrupt, a content that is not bytes): __exit__ will not
            # run for a failed __enter__, so the descriptors are closed here.
            self._close()
            raise
        return [f"{PROC_SELF_FD}/{fd}" for fd in self._fds]

    def _on_disk(self) -> list[str]:
        try:
            for content in self._contents:
                self._paths.append(_write_transient(content, ".pem"))
        except BaseException:
            self._close()
            raise
        return list(self._paths)

    def __exit__(self, *exc_info: object) -> None:
        self._close()

    def _close(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            try:
                os.close(fd)
            except OSError:  # closed already: close the others all the same
                continue
        for path in self._paths:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        self._paths.clear()
