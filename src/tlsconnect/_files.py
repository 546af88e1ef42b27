"""Every file tlsconnect writes: private per-process files, and durable ones the user keeps.

Private files are for drivers that only take paths.

Material handed over as text or bytes, or that a driver cannot use as it is, is written
once into a directory only this process's user can enter (0700, unpredictable name, made
by :func:`tempfile.mkdtemp`), as files only the owner can read (0600), created with
``O_EXCL | O_NOFOLLOW`` so that nothing planted in advance is followed or reused. Names
are a keyed hash of the content: the same material written twice gives the same file, and
the name says nothing about the content to anyone without the per-process key. The
directory is removed when the interpreter exits (by the process that made it, not by a
forked child).

Durable files (:func:`write_durable`) outlive the process: configuration and material
written into a directory the user named (``tlsconnect config --output-dir``). They are
0600, written to a temporary name and renamed into place, so a reader never sees half a
file and a symlink planted at the name is replaced, never followed.
"""

from __future__ import annotations

import _thread
import atexit
import os
import stat

from ._errors import ConfigError

# pathlib, tempfile, shutil and hmac are imported where they are used: this module is
# imported on the path of every context, and most processes never write a file.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "NEVER_EXISTS",
    "MemoryFiles",
    "is_private_file",
    "missing_path",
    "prepare_durable_dir",
    "private_dir",
    "write_durable",
    "write_private",
]

#: Paths that can never exist (/dev/null is not a directory), for configuration that
#: outlives the process: libpq then neither picks up ~/.postgresql/root.crt nor sends a
#: stray ~/.postgresql/postgresql.crt.
NEVER_EXISTS = {
    "root-cert": "/dev/null/tlsconnect-no-root-cert",
    "client-cert": "/dev/null/tlsconnect-no-client-cert",
    "client-key": "/dev/null/tlsconnect-no-client-key",
}

_lock = _thread.allocate_lock()
_state: dict[str, object] = {}
_written: dict[str, Path] = {}
_hash_key = os.urandom(32)


def private_dir() -> Path:
    """The process's private directory, made on first use."""
    with _lock:
        return _private_dir_locked()


def _private_dir_locked() -> Path:
    import tempfile
    from pathlib import Path

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
    import shutil

    directory = _state.get("dir")
    if directory is not None and _state.get("pid") == os.getpid():
        shutil.rmtree(str(directory), ignore_errors=True)


def _replace_atomically(directory: Path, name: str, content: bytes) -> Path:
    """Write ``content`` to ``directory/name`` (0600) through a fresh temporary file.

    ``O_EXCL | O_NOFOLLOW`` on the temporary name means nothing planted in advance is
    followed or reused; ``os.replace`` swaps a symlink at ``name`` itself, never its target.
    """
    path = directory / name
    temporary = directory / f".{os.urandom(8).hex()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
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


class MemoryFiles:
    """Material as paths that exist only in memory while OpenSSL reads them: each content
    in an anonymous memory file (``memfd_create``, Linux) named ``/proc/self/fd/N``, closed
    on leaving the block. Used for loading a checked client pair into a context: nothing
    touches the disk (a new file costs more than the whole load on some disks), and what
    OpenSSL reads is exactly the bytes that were checked. Only this process's user can open
    another process's ``/proc/PID/fd``. Where memory files are not available, private 0600
    files (:func:`write_private`) are named instead::

        with MemoryFiles(cert_pem, key_pem) as (cert_path, key_path):
            context.load_cert_chain(cert_path, key_path)
    """

    __slots__ = ("_contents", "_fds")

    def __init__(self, *contents: bytes) -> None:
        self._contents = contents
        self._fds: list[int] = []

    def __enter__(self) -> list[str]:
        create = getattr(os, "memfd_create", None)
        if create is None or not os.path.isdir("/proc/self/fd"):
            return [str(write_private(content, ".pem")) for content in self._contents]
        try:
            for content in self._contents:
                fd = create("tlsconnect", getattr(os, "MFD_CLOEXEC", 0))
                self._fds.append(fd)
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view) :]
        except OSError:
            self._close()
            return [str(write_private(content, ".pem")) for content in self._contents]
        except BaseException:
            # Anything else (an interrupt, a content that is not bytes): __exit__ will not
            # run for a failed __enter__, so the descriptors are closed here.
            self._close()
            raise
        return [f"/proc/self/fd/{fd}" for fd in self._fds]

    def __exit__(self, *exc_info: object) -> None:
        self._close()

    def _close(self) -> None:
        fds, self._fds = self._fds, []
        for fd in fds:
            try:
                os.close(fd)
            except OSError:  # closed already: close the others all the same
                continue
