"""MariaDB 10.11 that accepts TLS only, like a managed MySQL service.

``mariadb-install-db`` makes a fresh data directory (about 0.7 s with a 4 MB redo log,
less than copying a template would take, so every server gets its own), with a
database, a user with a password (``avnadmin``) and a user that must present a client
certificate (``REQUIRE X509``). ``mariadbd`` runs as a direct child, as the OS user
``mysql`` when we are root, with ``--require-secure-transport=ON``: a TCP connection
without TLS is refused (MariaDB answers it with "Access denied").
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import subprocess
import time
from typing import Any
from urllib.parse import quote, urlencode

from ._process import (
    LOOPBACK4,
    LOOPBACK6,
    REGISTRY,
    RunAs,
    ServerError,
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

__all__ = ["MariaDBServer"]

SERVER_INSTALL = "apt-get install mariadb-server"
CLIENT_INSTALL = "apt-get install mariadb-client"
MYSQL_OS_USER = "mysql"
DEFAULT_PASSWORD = "avnadmin-s3cret"


def _sql_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _sql_name(value: str) -> str:
    return "`" + value.replace("`", "``") + "`"


class MariaDBServer:
    """One MariaDB server on loopback that requires TLS.

    >>> with MariaDBServer(pki.server.cert_path, pki.server.key_path, pki.ca_pem) as db:
    ...     pymysql.connect(host=db.host, port=db.port, user=db.user,
    ...                     password=db.password, ssl={"ca": str(pki.ca_pem)})

    Accounts: ``user``/``password`` (all privileges on ``database``) and ``x509_user``
    (no password, ``REQUIRE X509``: only with a client certificate chaining to
    ``ca_path``); ``root`` only over the Unix socket (:meth:`sql`). ``tls=False`` makes
    a plaintext-only server (no TLS at all, the certificate arguments unused), to show
    what clients do with one. ``mariadbd``,
    ``install_db`` and ``client`` name the binaries (defaults: on ``PATH``).
    """

    def __init__(
        self,
        cert_path: str | os.PathLike[str],
        key_path: str | os.PathLike[str],
        ca_path: str | os.PathLike[str],
        *,
        user: str = "avnadmin",
        password: str = DEFAULT_PASSWORD,
        database: str = "defaultdb",
        x509_user: str = "x509user",
        name: str = "mariadb",
        directory: str | os.PathLike[str] | None = None,
        mariadbd: str | os.PathLike[str] = "mariadbd",
        install_db: str | os.PathLike[str] = "mariadb-install-db",
        client: str | os.PathLike[str] = "mariadb",
        host: str = "localhost",
        ipv6: bool | None = None,
        tls: bool = True,
    ) -> None:
        self.tls = tls
        self.cert_path = pathlib.Path(cert_path)
        self.key_path = pathlib.Path(key_path)
        self.ca_path = pathlib.Path(ca_path)
        self.user = user
        self.password = password
        self.database = database
        self.x509_user = x509_user
        self.name = name
        self.host = host
        self.ipv6 = ipv6_loopback_available() if ipv6 is None else ipv6
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.work_dir: pathlib.Path | None = None
        self._directory = pathlib.Path(directory) if directory is not None else None
        self._mariadbd = mariadbd
        self._install_db = install_db
        self._client = client

    @classmethod
    def missing(
        cls,
        mariadbd: str | os.PathLike[str] = "mariadbd",
        install_db: str | os.PathLike[str] = "mariadb-install-db",
    ) -> list[ServerError]:
        """What is missing to start one here (empty when nothing is)."""
        problems: list[ServerError] = []
        for binary in (mariadbd, install_db):
            try:
                find_binary(binary, SERVER_INSTALL)
            except ServerError as exc:
                problems.append(exc)
        try:
            RunAs(MYSQL_OS_USER)
        except ServerError as exc:
            problems.append(exc)
        return problems

    # -- information -----------------------------------------------------------
    @property
    def data_dir(self) -> pathlib.Path:
        return self._dir / "data"

    @property
    def socket_path(self) -> pathlib.Path:
        return self._dir / "mysqld.sock"

    @property
    def log_path(self) -> pathlib.Path:
        return self._dir / "error.log"

    @property
    def _dir(self) -> pathlib.Path:
        if self.work_dir is None:
            raise ServerError(f"mariadb {self.name!r} is not running")
        return self.work_dir

    def log_tail(self, limit: int = 4000) -> str:
        """The server log's last ``limit`` characters (for assertion messages)."""
        return read_tail(self.log_path, limit)

    def url(
        self,
        user: str | None = None,
        password: str | None = None,
        database: str | None = None,
        **query: Any,
    ) -> str:
        """``mysql://user:password@host:port/database`` for :attr:`user`, or for
        ``user``/``password`` given (``url(user=server.x509_user)`` has no password);
        ``query`` becomes its parameters."""
        who = user if user is not None else self.user
        if password is None and who == self.user:
            password = self.password
        auth = quote(who, safe="")
        if password is not None:
            auth += ":" + quote(password, safe="")
        q = ("?" + urlencode(query)) if query else ""
        return f"mysql://{auth}@{self.host}:{self.port}/{quote(database or self.database)}{q}"

    def sql(self, statement: str) -> str:
        """Run SQL as ``root`` over the Unix socket (never TCP: that needs TLS) with the
        ``mariadb`` client; returns its tab-separated output without headers."""
        client = find_binary(self._client, CLIENT_INSTALL)
        res = run_checked(
            [
                client,
                "--no-defaults",
                f"--socket={self.socket_path}",
                "--user=root",
                "--batch",
                "--skip-column-names",
                "--execute",
                statement,
            ],
            "mariadb",
            timeout=30,
        )
        return res.stdout.decode()

    # -- lifecycle ---------------------------------------------------------------
    def __enter__(self) -> MariaDBServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, attempts: int = 3) -> MariaDBServer:
        """Initialise a data directory, start ``mariadbd`` and wait until it is ready for
        connections; returns ``self``. Retries on a fresh port when another process took
        the chosen one first."""
        if self.process is not None and self.process.poll() is None:
            return self
        problems = self.missing(self._mariadbd, self._install_db)
        if problems:
            raise problems[0]
        mariadbd = find_binary(self._mariadbd, SERVER_INSTALL)
        install_db = find_binary(self._install_db, SERVER_INSTALL)
        run_as = RunAs(MYSQL_OS_USER)
        REGISTRY.add_server(self)
        try:
            work = self.work_dir = make_work_dir(
                f"tlsconnect-mariadb-{self.name}-", self._directory
            )
            run_as.check_reachable(work)
            run_as.own(work)
            self._install(install_db, run_as)
            retry_on_port_race(
                lambda: self._start_once(mariadbd, run_as),
                lambda: stop_process(self.process),
                attempts,
            )
            return self
        except BaseException:
            self.stop()  # also on Ctrl-C: nothing is left running
            raise

    def _install(self, install_db: str, run_as: RunAs) -> None:
        work = self._dir
        # Copies owned by the server's user: mariadbd runs as that user.
        for src, dst, mode in (
            (self.cert_path, work / "server.pem", 0o644),
            (self.key_path, work / "server.key", 0o600),
            (self.ca_path, work / "ca.pem", 0o644),
        ):
            shutil.copyfile(src, dst)
            run_as.own(dst, mode)
        db, user, x509 = (_sql_name(self.database), _sql_string(self.user), self.x509_user)
        init = work / "init.sql"
        init.write_text(
            # The bootstrap runs without grant tables; FLUSH PRIVILEGES loads them, so
            # that CREATE USER works.
            "FLUSH PRIVILEGES;\n"
            f"CREATE DATABASE {db};\n"
            f"CREATE USER {user}@'%' IDENTIFIED BY {_sql_string(self.password)};\n"
            f"GRANT ALL PRIVILEGES ON {db}.* TO {user}@'%';\n"
            f"CREATE USER {_sql_string(x509)}@'%' REQUIRE X509;\n"
            f"GRANT ALL PRIVILEGES ON {db}.* TO {_sql_string(x509)}@'%';\n"
        )
        run_as.own(init, 0o600)
        run_checked(
            [
                install_db,
                "--no-defaults",
                f"--datadir={self.data_dir}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--skip-name-resolve",
                "--innodb-log-file-size=4M",
                f"--extra-file={init}",
            ],
            "mariadb-install-db",
            run_as=run_as,
            cwd=work,
        )

    def _start_once(self, mariadbd: str, run_as: RunAs) -> None:
        work = self._dir
        self.port = free_port(self.ipv6)
        bind = f"{LOOPBACK4},{LOOPBACK6}" if self.ipv6 else LOOPBACK4
        argv = [
            mariadbd,
            "--no-defaults",  # must come first
            f"--datadir={self.data_dir}",
            f"--socket={self.socket_path}",
            f"--port={self.port}",
            f"--bind-address={bind}",
            f"--pid-file={work / 'mariadbd.pid'}",
            f"--log-error={self.log_path}",
            f"--tmpdir={work}",
        ]
        if self.tls:
            argv += [
                f"--ssl-cert={work / 'server.pem'}",
                f"--ssl-key={work / 'server.key'}",
                f"--ssl-ca={work / 'ca.pem'}",
                "--require-secure-transport=ON",
            ]
        argv += [
            "--skip-name-resolve",
            "--skip-log-bin",
            "--performance-schema=OFF",
            "--innodb-buffer-pool-size=16M",
            "--max-connections=50",
        ]
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(work / "mariadbd.out", "ab") as out:
            self.process = spawn(argv, log=out, cwd=work, run_as=run_as)
        proc = self.process

        def describe() -> str:
            return f"--- {self.log_path} ---\n{self.log_tail()}"

        wait_for_port(LOOPBACK4, self.port, timeout=30, proc=proc, describe=describe)
        # The port opens before the server accepts; this line says it does.
        deadline = time.monotonic() + 30
        while True:
            try:
                with open(self.log_path, "rb") as fh:
                    fh.seek(log_start)
                    if b"ready for connections" in fh.read():
                        return
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise ServerError(f"mariadbd {self.name!r} did not get ready\n{describe()}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Shut the server down (SIGTERM, by its PID) and remove its files. Safe to call
        more than once."""
        stop_process(self.process, signal.SIGTERM, timeout=30)
        if self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir = None
        REGISTRY.discard_server(self)

    def __repr__(self) -> str:
        tls = "" if self.tls else ", tls=False"
        return f"MariaDBServer(name={self.name!r}, port={self.port}{tls})"
