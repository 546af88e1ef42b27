"""The suite "as on Windows": ``TLSCONNECT_TEST_NO_POSIX=1`` runs it with the POSIX-only
names removed before the library is imported.

What goes: ``os.geteuid``, ``getuid``, ``getegid``, ``getgid``, ``chown``, ``fchown``,
``lchown``, ``fchmod``, ``lchmod``, ``getgrouplist``, ``memfd_create``, ``MFD_CLOEXEC``,
``O_NOFOLLOW``; the modules ``pwd``, ``grp`` and ``fcntl`` become unimportable; and
``/proc/self/fd`` is not offered to the library (:data:`tlsconnect._files.PROC_SELF_FD`
points nowhere). The library then takes exactly the path a Windows user's process takes
(it looks every one of these up), except that ``msvcrt`` does not exist here either, so
the process's directory is not locked and nothing is reaped (never a guess).

``tlsconnect.testing`` is a Linux tool (it runs servers as their own OS users): it is
imported before the names go, and the few calls it makes that need them (every one is in
``RunAs``, which runs while a server starts) see them put back for that call only.
Tests read the real values through :data:`REAL` when they check the platform itself.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

ENV = "TLSCONNECT_TEST_NO_POSIX"
ACTIVE = os.environ.get(ENV) == "1"

OS_NAMES = (
    "geteuid",
    "getuid",
    "getegid",
    "getgid",
    "chown",
    "fchown",
    "lchown",
    "fchmod",
    "lchmod",
    "getgrouplist",
    "memfd_create",
    "MFD_CLOEXEC",
    "O_NOFOLLOW",
)
MODULES = ("pwd", "grp", "fcntl")

#: The real values, saved before they were removed (tests that check owners use them).
REAL: dict[str, Any] = {name: getattr(os, name) for name in OS_NAMES if hasattr(os, name)}
_REAL_MODULES: dict[str, Any] = {}

# Only these tlsconnect modules may be loaded when the names go: the package's lazy
# front and the Linux-only testing package.
_ALLOWED_BEFORE = ("tlsconnect", "tlsconnect._version", "tlsconnect.testing")


def _remove() -> None:
    for name in REAL:
        if hasattr(os, name):
            delattr(os, name)
    for name in MODULES:
        sys.modules[name] = None  # type: ignore[assignment]  # "import pwd" fails


def _restore() -> None:
    for name, value in REAL.items():
        setattr(os, name, value)
    for name, module in _REAL_MODULES.items():
        sys.modules[name] = module


@contextlib.contextmanager
def posix_names() -> Iterator[None]:
    """The POSIX names back for the duration of the block (a server starting)."""
    _restore()
    try:
        yield
    finally:
        _remove()


def _with_posix_names(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with posix_names():
            return function(*args, **kwargs)

    return wrapper


def activate() -> None:
    """Remove the names (before any library module is imported)."""
    loaded = [
        name
        for name in sys.modules
        if name.startswith("tlsconnect")
        and not any(name == a or name.startswith(a + ".") for a in _ALLOWED_BEFORE)
    ]
    if loaded:
        raise RuntimeError(f"{ENV}=1: library modules were imported too early: {loaded}")
    for name in MODULES:
        _REAL_MODULES[name] = importlib.import_module(name)
    process = importlib.import_module("tlsconnect.testing._process")
    run_as = process.RunAs
    for method in ("__init__", "own", "own_tree", "check_reachable"):
        setattr(run_as, method, _with_posix_names(getattr(run_as, method)))
    # The user's local application data, as on Windows: the processes' directories go there.
    local = tempfile.mkdtemp(prefix="tlsconnect-localappdata-")
    os.environ["LOCALAPPDATA"] = local
    import atexit

    atexit.register(shutil.rmtree, local, True)
    _remove()


def hide_proc_self_fd() -> None:
    """Point the library's memory-file path nowhere (after the names went)."""
    files = importlib.import_module("tlsconnect._files")
    files.PROC_SELF_FD = os.path.join(os.sep, "nonexistent", "proc-self-fd")


def uid() -> int:
    """The real effective uid, in either mode."""
    return int(REAL["geteuid"]())
