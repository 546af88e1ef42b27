"""The probes' one interface: each service type's protocol module, and the one helper
for side connections, whose sends and reads share one deadline (a server that trickles
bytes cannot hold a check past its timeout)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

import tlsconnect
from tlsconnect import CheckReport, Service
from tlsconnect._target import parse_target
from tlsconnect._wire import read_redis_line
from tlsconnect.probes import DIAGNOSIS_WAIT, PROBES, SIDE_LIMIT, Probe, Session, probe_for


class Trickler:
    """A TCP server that answers every connection with one byte every ``interval``
    seconds, never a whole line, for ``duration`` seconds."""

    def __init__(self, interval: float = 0.1, duration: float = 8.0) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.interval, self.duration = interval, duration
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        with conn:
            stop = time.monotonic() + self.duration
            try:
                while time.monotonic() < stop:
                    conn.sendall(b"x")
                    time.sleep(self.interval)
            except OSError:
                return

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def trickler():
    server = Trickler()
    yield server
    server.close()


def session_for(port: int, timeout: float) -> Session:
    spec = parse_target(f"127.0.0.1:{port}", "redis")
    plan = tlsconnect.resolve("redis", trust="system")
    report = CheckReport(
        ok=False, target="t", service="redis", host="127.0.0.1", port=port, sslmode="", trust=""
    )
    session = Session(spec, plan, report, timeout, "127.0.0.1")
    session.address = (socket.AF_INET, socket.SOCK_STREAM, 0, ("127.0.0.1", port))
    return session


@pytest.mark.parametrize("timeout", [0.5, 1.0])
def test_a_side_exchange_is_bounded_in_total_not_per_read(trickler, timeout):
    """Every read gets a byte well within any per-read timeout; only the shared deadline
    ends the exchange, at the check's timeout (under SIDE_LIMIT)."""
    session = session_for(trickler.port, timeout)
    started = time.monotonic()
    assert session.side_exchange(b"PING\r\n", read_redis_line) is None
    elapsed = time.monotonic() - started
    assert timeout - 0.05 <= elapsed < timeout + 0.6, elapsed


def test_a_side_exchange_never_outlasts_the_side_limit(trickler):
    session = session_for(trickler.port, 30.0)
    started = time.monotonic()
    assert session.side_exchange(b"PING\r\n", read_redis_line) is None
    assert time.monotonic() - started < SIDE_LIMIT + 0.6


def test_a_side_exchange_reads_a_whole_answer():
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(64)
            conn.sendall(b"+PONG\r\n")

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        session = session_for(listener.getsockname()[1], 5.0)
        assert session.side_exchange(b"PING\r\n", read_redis_line) == b"+PONG"
    finally:
        listener.close()
        thread.join(5)


def test_each_spoken_protocol_has_its_probe_and_the_rest_wait_for_an_alert():
    spoken = {service.value: probe.__module__ for service, probe in PROBES.items()}
    assert spoken["postgresql"].endswith(".postgresql")
    assert spoken["kafka"].endswith(".kafka")
    assert spoken["redis"] == spoken["valkey"] and spoken["redis"].endswith(".redis")
    assert spoken["mysql"].endswith(".mysql")
    assert spoken["opensearch"].endswith(".http")
    assert all(probe.speaks for probe in PROBES.values())
    assert probe_for(Service.CASSANDRA) is Probe and not Probe.speaks


def test_side_connections_end_by_the_checks_deadline_not_a_fresh_allowance(trickler):
    """The check's deadline bounds side connections too: once it has passed, a side
    exchange gives up at once; after a failed handshake, allow_diagnosis gives the side
    connections a short time of their own (DIAGNOSIS_WAIT at most)."""
    session = session_for(trickler.port, 30.0)
    session.deadline = time.monotonic() - 1
    started = time.monotonic()
    assert session.side_exchange(b"PING\r\n", read_redis_line) is None
    assert time.monotonic() - started < 0.3
    session.allow_diagnosis()
    assert 0 < session.deadline - time.monotonic() <= DIAGNOSIS_WAIT


def test_postgresql_has_a_direct_tls_probe_and_no_other_service_does():
    direct = probe_for(Service.POSTGRESQL, direct=True)
    assert direct.__module__.endswith(".postgresql_direct") and direct.speaks
    assert probe_for(Service.POSTGRESQL) is not direct
    assert probe_for(Service.REDIS, direct=True) is PROBES[Service.REDIS]
