"""Redis 7 over TLS only, like a managed Redis/Valkey service.

``redis-server`` (Debian's ``redis-server`` package is built with TLS) listens on a TLS
port only (``--port 0``), keeps nothing on disk, and asks for a client certificate
according to ``auth_clients``: ``"no"`` (what managed services do: a password instead),
``"optional"`` or ``"yes"``.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
from typing import Literal
from urllib.parse import quote

from ._process import (
    LOOPBACK4,
    LOOPBACK6,
    REGISTRY,
    ServerError,
    find_binary,
    free_port,
    ipv6_loopback_available,
    make_work_dir,
    read_tail,
    retry_on_port_race,
    spawn,
    stop_process,
    wait_for_port,
)

__all__ = ["RedisServer"]

REDIS_INSTALL = "apt-get install redis-server"

AuthClients = Literal["no", "optional", "yes"]


class RedisServer:
    """One ``redis-server`` with TLS on loopback.

    >>> with RedisServer(pki.server.cert_path, pki.server.key_path, pki.ca_pem,
    ...                  password="s3cret") as redis:
    ...     client = redis_py.from_url(redis.url(), ssl_ca_certs=str(pki.ca_pem))

    ``auth_clients`` is ``--tls-auth-clients``: client certificates must chain to
    ``ca_path`` when one is asked for. ``tls=False`` makes a plaintext-only server (the
    certificate arguments are then unused), to show what clients do with one. With
    ``password``, clients must authenticate: as ``default`` (``requirepass``) or, with
    another ``username``, as that ACL user (the ``default`` user is then disabled).
    ``redis_server`` names the binary (default: ``redis-server`` on ``PATH``).
    """

    def __init__(
        self,
        cert_path: str | os.PathLike[str],
        key_path: str | os.PathLike[str],
        ca_path: str | os.PathLike[str],
        *,
        auth_clients: AuthClients = "no",
        password: str | None = None,
        username: str = "default",
        name: str = "redis",
        directory: str | os.PathLike[str] | None = None,
        redis_server: str | os.PathLike[str] = "redis-server",
        host: str = "localhost",
        ipv6: bool | None = None,
        tls: bool = True,
    ) -> None:
        if auth_clients not in ("no", "optional", "yes"):
            raise ValueError(
                f"auth_clients must be 'no', 'optional' or 'yes', not {auth_clients!r}"
            )
        if username != "default" and password is None:
            raise ValueError("an ACL user needs a password")
        self.cert_path = pathlib.Path(cert_path)
        self.key_path = pathlib.Path(key_path)
        self.ca_path = pathlib.Path(ca_path)
        self.auth_clients = auth_clients
        self.tls = tls
        self.password = password
        self.username = username
        self.name = name
        self.host = host
        self.ipv6 = ipv6_loopback_available() if ipv6 is None else ipv6
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.work_dir: pathlib.Path | None = None
        self._directory = pathlib.Path(directory) if directory is not None else None
        self._binary = redis_server

    @classmethod
    def missing(cls, redis_server: str | os.PathLike[str] = "redis-server") -> list[ServerError]:
        """What is missing to start one here (empty when nothing is)."""
        try:
            find_binary(redis_server, REDIS_INSTALL)
        except ServerError as exc:
            return [exc]
        return []

    @property
    def log_path(self) -> pathlib.Path:
        if self.work_dir is None:
            raise ServerError(f"redis {self.name!r} is not running")
        return self.work_dir / "redis.log"

    def log_tail(self, limit: int = 4000) -> str:
        """The server log's last ``limit`` characters (for assertion messages)."""
        return read_tail(self.log_path, limit)

    def url(self, db: int = 0, *, username: str | None = None, password: str | None = None) -> str:
        """``rediss://[user:password@]host:port/db`` with this server's credentials
        unless others are given (``redis://`` for a plaintext server)."""
        user = username if username is not None else self.username
        secret = password if password is not None else self.password
        auth = ""
        if secret is not None:
            auth = f"{quote(user, safe='')}:{quote(secret, safe='')}@"
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{auth}{self.host}:{self.port}/{db}"

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, attempts: int = 3) -> RedisServer:
        """Start and wait until the TLS port accepts; returns ``self``.

        Retries on a fresh port when another process took the chosen one first.
        """
        if self.process is not None and self.process.poll() is None:
            return self
        binary = find_binary(self._binary, REDIS_INSTALL)
        REGISTRY.add_server(self)
        try:
            self.work_dir = make_work_dir(f"tlsconnect-redis-{self.name}-", self._directory)
            retry_on_port_race(
                lambda: self._start_once(binary), lambda: stop_process(self.process), attempts
            )
            return self
        except BaseException:
            self.stop()  # also on Ctrl-C: nothing is left running
            raise

    def _start_once(self, binary: str) -> None:
        if self.work_dir is None:  # made by start()
            raise ServerError("start() makes the work directory first")
        self.port = free_port(self.ipv6)
        bind = [LOOPBACK4, LOOPBACK6] if self.ipv6 else [LOOPBACK4]
        if self.tls:
            listen = ["--port", "0", "--tls-port", str(self.port)]
            listen += ["--tls-cert-file", str(self.cert_path)]
            listen += ["--tls-key-file", str(self.key_path)]
            listen += ["--tls-ca-cert-file", str(self.ca_path)]
            listen += ["--tls-auth-clients", self.auth_clients]
        else:
            listen = ["--port", str(self.port)]
        argv = [
            binary,
            *listen,
            "--bind",
            *bind,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.work_dir),
            "--daemonize",
            "no",
            "--logfile",
            "",  # to stdout, which is the log file
        ]
        if self.password is not None:
            if self.username == "default":
                argv += ["--requirepass", self.password]
            else:
                argv += [
                    "--user",
                    "default",
                    "off",
                    "--user",
                    self.username,
                    "on",
                    f">{self.password}",
                    "~*",
                    "&*",
                    "+@all",
                ]
        with open(self.log_path, "ab") as log:
            self.process = spawn(argv, log=log, cwd=self.work_dir)
        wait_for_port(
            LOOPBACK4,
            self.port,
            timeout=15,
            proc=self.process,
            describe=lambda: f"--- {self.log_path} ---\n{self.log_tail()}",
        )

    def stop(self) -> None:
        """Stop the server by its PID and remove its directory. Safe to call more than
        once."""
        stop_process(self.process)
        if self.work_dir is not None:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self.work_dir = None
        REGISTRY.discard_server(self)

    def __repr__(self) -> str:
        tls = "" if self.tls else ", tls=False"
        return f"RedisServer(name={self.name!r}, port={self.port}, auth={self.auth_clients!r}{tls})"
