"""Processes, ports and clean-up shared by the lookalike servers.

Every process a server starts goes through :func:`spawn`, which records it before a
Ctrl-C can act, asks the kernel to signal it if this interpreter dies, and is stopped
by its PID: at the server's ``stop()`` and, as a safety net, at interpreter exit. Nothing
here ever finds a process by its name, so servers of other test runs on the same machine
are never touched.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import functools
import gc
import logging
import os
import pathlib
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any, Generic, Protocol, TypeVar

__all__ = [
    "LOOPBACK4",
    "LOOPBACK6",
    "MissingBinaryError",
    "ServerError",
    "find_binary",
    "free_port",
    "ipv6_loopback_available",
    "quiet_resource_leaks",
    "wait_for_port",
]

LOOPBACK4 = "127.0.0.1"
LOOPBACK6 = "::1"


class ServerError(RuntimeError):
    """A lookalike server could not be started; the message carries its log's tail."""


class MissingBinaryError(ServerError):
    """A program a server needs is not installed.

    ``binary`` is what was looked for and ``install`` the command that provides it, both
    also in the message.
    """

    def __init__(self, binary: str, install: str, detail: str = "") -> None:
        self.binary = binary
        self.install = install
        where = f" ({detail})" if detail else ""
        super().__init__(f"{binary} is not installed or not executable{where}: {install}")


@functools.lru_cache(maxsize=1)
def ipv6_loopback_available() -> bool:
    """True when ``::1`` can be bound here (servers then also listen on ``::1``)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK6, 0))
        return True
    except OSError:
        return False


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


_handed_out: set[int] = set()
_handed_out_lock = threading.Lock()


def free_port(ipv6: bool | None = None) -> int:
    """A TCP port free on 127.0.0.1 (and on ::1 when ``ipv6``), never handed out before
    by this process.

    Another process may still take it before the server binds it: the servers retry on
    a fresh port when that happens.
    """
    if ipv6 is None:
        ipv6 = ipv6_loopback_available()
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK4, 0))
            port = int(s.getsockname()[1])
        with _handed_out_lock:
            if port in _handed_out:
                continue
            if ipv6 and not _port_free(LOOPBACK6, port):
                continue
            _handed_out.add(port)
        return port
    raise ServerError("could not find a free loopback port")


def wait_for_port(
    host: str,
    port: int,
    timeout: float = 15.0,
    proc: subprocess.Popen[bytes] | None = None,
    describe: Callable[[], str] = lambda: "",
) -> None:
    """Poll until a TCP connect to ``host:port`` succeeds.

    Fails early, with ``describe()`` (e.g. the log's tail) in the message, if ``proc``
    exits before the port opens.
    """
    deadline = time.monotonic() + timeout
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    last_err: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServerError(
                f"process {proc.args!r} exited with {proc.returncode} before "
                f"{host}:{port} was ready\n{describe()}"
            )
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(1.0)
                s.connect((host, port))
            return
        except OSError as exc:
            last_err = exc
            time.sleep(0.05)
    raise ServerError(f"timed out waiting for {host}:{port} ({last_err})\n{describe()}")


def read_tail(path: pathlib.Path, limit: int = 4000) -> str:
    """The last ``limit`` characters of a log file, or why it cannot be read."""
    try:
        data = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return data[-limit:]


_SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def find_binary(binary: str | os.PathLike[str], install: str) -> str:
    """The absolute path of ``binary`` (a path, or a name looked up on ``PATH``).

    Raises :class:`MissingBinaryError` naming ``install`` (e.g. ``apt-get install
    redis-server``) when it is not there, so that a missing package is a clear error,
    never a skipped test.
    """
    name = os.fspath(binary)
    if os.sep in name:
        if os.path.isfile(name) and os.access(name, os.X_OK):
            return name
        raise MissingBinaryError(name, install)
    # Servers such as mariadbd live in sbin directories, which a non-root PATH may lack.
    path = os.pathsep.join([os.environ.get("PATH", os.defpath), *_SBIN_DIRS])
    found = shutil.which(name, path=path)
    if found is None:
        raise MissingBinaryError(name, install, "not on PATH")
    return found


def env_path(*names: str) -> str | None:
    """The first of the environment variables ``names`` that is set and not empty."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


# ---------------------------------------------------------------------------
# Running as the service's own OS user
# ---------------------------------------------------------------------------


class RunAs:
    """The OS user a server runs as: its own service user when we are root (PostgreSQL
    and MariaDB refuse to run as root), else ourselves."""

    def __init__(self, user: str | None) -> None:
        self.user = user if os.geteuid() == 0 else None  # type: ignore[attr-defined,unused-ignore]
        if self.user is None:
            self.uid, self.gid = os.geteuid(), os.getegid()  # type: ignore[attr-defined,unused-ignore]
            self.home = os.environ.get("HOME", "/")
        else:
            try:
                entry = pwd.getpwnam(self.user)  # type: ignore[attr-defined,unused-ignore]
            except KeyError:
                raise ServerError(
                    f"the OS user {self.user!r} does not exist (the server's Debian package "
                    "creates it)"
                ) from None
            self.uid, self.gid, self.home = entry.pw_uid, entry.pw_gid, entry.pw_dir

    @property
    def switches(self) -> bool:
        """True when commands must switch to another user (we are root)."""
        return self.user is not None

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str] | None:
        """The environment for a command run as this user (``None``: ours as it is)."""
        if self.user is None and not extra:
            return None
        env = dict(os.environ)
        if self.user is not None:
            env.update(HOME=self.home, USER=self.user, LOGNAME=self.user)
        env.update(extra or {})
        return env

    def own(self, path: pathlib.Path, mode: int | None = None) -> None:
        """Give ``path`` to this user (when that is not us), then set ``mode``."""
        if self.user is not None:
            os.chown(path, self.uid, self.gid)  # type: ignore[attr-defined,unused-ignore]
        if mode is not None:
            os.chmod(path, mode)

    def own_tree(self, root: pathlib.Path) -> None:
        """Give a whole directory tree to this user."""
        if self.user is None:
            return
        for current, _dirs, files in os.walk(root):
            os.chown(current, self.uid, self.gid)  # type: ignore[attr-defined,unused-ignore]
            for name in files:
                os.chown(os.path.join(current, name), self.uid, self.gid, follow_symlinks=False)  # type: ignore[attr-defined,unused-ignore]

    def check_reachable(self, path: pathlib.Path) -> None:
        """Raise unless this user may traverse every parent of ``path``: a server running
        as ``postgres`` cannot use a data directory below a 0700 root-owned directory
        (such as pytest's ``tmp_path``)."""
        if self.user is None:
            return
        groups = set(os.getgrouplist(self.user, self.gid))  # type: ignore[attr-defined,unused-ignore]
        for parent in path.resolve().parents:
            st = parent.stat()
            if st.st_uid == self.uid:
                ok = bool(st.st_mode & stat.S_IXUSR)
            elif st.st_gid in groups:
                ok = bool(st.st_mode & stat.S_IXGRP)
            else:
                ok = bool(st.st_mode & stat.S_IXOTH)
            if not ok:
                raise ServerError(
                    f"the OS user {self.user!r} cannot reach {path}: {parent} is "
                    f"mode {stat.filemode(st.st_mode)}; use a directory every user can "
                    "traverse (the default, under the system temporary directory, is)"
                )


# ---------------------------------------------------------------------------
# Starting and stopping processes
# ---------------------------------------------------------------------------


class _Stoppable(Protocol):
    def stop(self) -> None: ...


class _Registry:
    """Every server and process started, so that interpreter exit stops leftovers."""

    def __init__(self) -> None:
        self._servers: list[_Stoppable] = []
        self._procs: dict[int, tuple[subprocess.Popen[bytes], int]] = {}
        self._lock = threading.Lock()

    def add_server(self, server: _Stoppable) -> None:
        with self._lock:
            self._servers.append(server)

    def discard_server(self, server: _Stoppable) -> None:
        with self._lock:
            if server in self._servers:
                self._servers.remove(server)

    def add_process(self, proc: subprocess.Popen[bytes], stop_signal: int) -> None:
        with self._lock:
            self._procs[proc.pid] = (proc, stop_signal)

    def discard_process(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            self._procs.pop(proc.pid, None)

    def stop_all(self) -> None:
        with self._lock:
            servers = list(reversed(self._servers))
        for server in servers:
            with contextlib.suppress(Exception):  # best effort at exit
                server.stop()
        with self._lock:
            procs = list(self._procs.values())
        for proc, stop_signal in procs:
            with contextlib.suppress(Exception):
                stop_process(proc, stop_signal)


REGISTRY = _Registry()
atexit.register(REGISTRY.stop_all)


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """Hold Ctrl-C (and SIGTERM) while a process is started and recorded, then deliver
    them, so that an interrupt can never leave a process running that nobody knows of.
    Signal handlers exist only in the main thread; elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: object) -> None:
        held.append(signum)

    previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            # None: the handler was not set from Python; the default is the nearest
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
    for signum in dict.fromkeys(held):
        signal.raise_signal(signum)  # the handler in place before runs now, as it would have


def _death_signal_setup(death_signal: int) -> Callable[[], None] | None:
    """``preexec_fn`` asking the kernel to send ``death_signal`` to the child when the
    thread that started it goes away, so that servers do not outlive a killed test run
    (pytest-timeout ends with ``os._exit``, which skips ``atexit``).

    Only for processes started by the main thread: the kernel ties the signal to the
    starting *thread*, and a worker thread that ends would take its servers with it.
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    libc: ctypes.CDLL | None = None
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
    if libc is None:
        return None
    parent = os.getpid()
    prctl = libc.prctl

    def setup() -> None:
        # Runs after subprocess switched user: a credential change would reset it.
        prctl(1, death_signal, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before prctl: nobody will signal us
            os._exit(1)

    return setup


def spawn(
    argv: Sequence[str],
    *,
    log: IO[bytes] | int,
    cwd: pathlib.Path,
    stop_signal: int = signal.SIGTERM,
    run_as: RunAs | None = None,
    env: Mapping[str, str] | None = None,
    stdin: int | None = subprocess.DEVNULL,
) -> subprocess.Popen[bytes]:
    """Start a server process in its own session and record it (see the module's
    docstring); ``stop_signal`` is what :func:`stop_process` and the death signal send."""
    user = run_as if run_as is not None else RunAs(None)
    with _signals_held():
        proc = subprocess.Popen(
            list(argv),
            stdin=stdin,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=user.env(env),
            start_new_session=True,
            preexec_fn=_death_signal_setup(stop_signal),
            user=user.uid if user.switches else None,
            group=user.gid if user.switches else None,
            extra_groups=[] if user.switches else None,
        )
        REGISTRY.add_process(proc, stop_signal)
    return proc


def stop_process(
    proc: subprocess.Popen[bytes] | None, stop_signal: int = signal.SIGTERM, timeout: float = 15.0
) -> None:
    """Stop one process by its PID: ``stop_signal``, then SIGKILL after ``timeout``.

    Safe to call again after an interruption: it picks up where it stopped.
    """
    if proc is None:
        return
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(stop_signal)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(timeout)
    REGISTRY.discard_process(proc)


def run_checked(
    argv: Sequence[str],
    what: str,
    *,
    run_as: RunAs | None = None,
    input: bytes | None = None,
    timeout: float = 120.0,
    cwd: pathlib.Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run a one-shot command (initdb, install-db, a client), raising :class:`ServerError`
    with its output when it fails."""
    user = run_as if run_as is not None else RunAs(None)
    try:
        res = subprocess.run(
            list(argv),
            input=input,
            stdin=None if input is not None else subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            cwd=cwd,
            check=False,
            env=user.env(),
            user=user.uid if user.switches else None,
            group=user.gid if user.switches else None,
            extra_groups=[] if user.switches else None,
        )
    except subprocess.TimeoutExpired as exc:
        raise ServerError(f"{what} did not finish within {timeout} s: {argv!r}") from exc
    if res.returncode != 0:
        out = (res.stdout + res.stderr).decode(errors="replace")[-4000:]
        raise ServerError(f"{what} failed with exit code {res.returncode}: {argv!r}\n{out}")
    return res


class _Member(Protocol):
    _stopped: bool

    def stop(self) -> None: ...


_S = TypeVar("_S", bound=_Member)
_F = TypeVar("_F", bound="Farm[Any]")


class Farm(Generic[_S]):
    """Servers by server-certificate name, each started on first use and stopped together.

    ``farm.get("good")`` / ``farm["good"]`` / ``farm.good`` (for the names in
    :attr:`NAMES`) start the server once and return it; :meth:`start` adds one with
    another certificate. A subclass says how one server starts (:meth:`_start`) and
    where its files go (``_base_dir``, removed at :meth:`stop`).
    """

    NAMES: tuple[str, ...] = ()
    KIND = "server"  # in error messages: "unknown {KIND} 'x'"

    def __init__(
        self,
        ca_path: str | os.PathLike[str],
        certs: dict[str, tuple[pathlib.Path, pathlib.Path]],
        directory: str | os.PathLike[str] | None,
    ) -> None:
        self.ca_path = pathlib.Path(ca_path)
        self.certs = {k: (pathlib.Path(c), pathlib.Path(key)) for k, (c, key) in certs.items()}
        self.instances: dict[str, _S] = {}
        self._directory = pathlib.Path(directory) if directory is not None else None
        self._base_dir: pathlib.Path | None = None
        self._lock = threading.Lock()

    def _start(self, name: str, cert: pathlib.Path, key: pathlib.Path) -> _S:
        raise NotImplementedError

    def _launch(self, name: str) -> _S:
        """Start the server ``name`` of :attr:`certs` (a subclass may know more names)."""
        if name not in self.certs:
            raise KeyError(f"unknown {self.KIND} {name!r}; known: {sorted(self.certs)}")
        return self._start(name, *self.certs[name])

    def __getitem__(self, name: str) -> _S:
        return self.get(name)

    def __getattr__(self, name: str) -> _S:
        if name in type(self).NAMES:
            return self.get(name)
        raise AttributeError(name)

    def get(self, name: str) -> _S:
        """The running server ``name``, started now if it is not running yet."""
        with self._lock:
            inst = self.instances.get(name)
            if inst is None or inst._stopped:
                inst = self.instances[name] = self._launch(name)
            return inst

    def start(
        self, name: str, cert_path: str | os.PathLike[str], key_path: str | os.PathLike[str]
    ) -> _S:
        """Start an extra server with another server certificate; a name that is
        running already is refused (stop it first)."""
        with self._lock:
            running = self.instances.get(name)
            if running is not None and not running._stopped:
                raise ValueError(f"{self.KIND} {name!r} already running")
            self.certs[name] = (pathlib.Path(cert_path), pathlib.Path(key_path))
            inst = self.instances[name] = self._start(name, *self.certs[name])
            return inst

    def stop(self) -> None:
        """Stop every server and remove the farm's files."""
        for inst in list(self.instances.values()):
            inst.stop()
        self.instances.clear()
        REGISTRY.discard_server(self)
        if self._base_dir is not None:
            shutil.rmtree(self._base_dir, ignore_errors=True)

    def __enter__(self: _F) -> _F:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def make_work_dir(prefix: str, directory: pathlib.Path | None) -> pathlib.Path:
    """A fresh directory for one server: under ``directory`` when given, else under the
    system temporary directory (not pytest's ``tmp_path``, whose 0700 parents a server
    running as its own OS user could not traverse)."""
    import tempfile

    if directory is not None:
        pathlib.Path(directory).mkdir(parents=True, exist_ok=True)
    path = pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir=directory)).resolve()
    # Other OS users (postgres, mysql) must be able to traverse it; nothing secret lies
    # directly in it: keys are written 0600 below.
    os.chmod(path, 0o755)  # noqa: S103
    return path


@contextlib.contextmanager
def quiet_resource_leaks() -> Iterator[None]:
    """Swallow ResourceWarnings from code in the block and collect its garbage.

    kafka-python 3.x leaks an ``SSLSocket`` per failed TLS handshake (and its wake-up
    socketpair when a client constructor raises); they are freed later by the cyclic
    GC, which pytest reports as unraisable ResourceWarnings (errors under
    ``filterwarnings = error``). Worse, the log records kafka-python emits while failing
    reference those objects (``exc_info`` tracebacks) and pytest's log capture keeps
    them until the test ends, so logging is disabled inside the block. Wrap calls that
    are *expected* to fail in it, and don't keep the exception (or ``pytest.raises``
    excinfo) alive beyond the block.
    """
    previous = logging.root.manager.disable
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        logging.disable(logging.CRITICAL)
        try:
            yield
        finally:
            logging.disable(previous)
            gc.collect()


def retry_on_port_race(
    start_once: Callable[[], None], clean_up: Callable[[], None], attempts: int
) -> None:
    """Run ``start_once`` until it succeeds, ``attempts`` times at most (at least once).

    A :class:`ServerError` there is most likely a lost race for the free port chosen
    (another process took it between choosing and binding): ``clean_up`` stops what the
    failed attempt started, and the next attempt chooses again; the last error is raised.
    """
    for attempt in range(max(attempts, 1)):
        try:
            start_once()
            return
        except ServerError:
            clean_up()
            if attempt >= attempts - 1:
                raise
