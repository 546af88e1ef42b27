"""The rotation recipes of README's "Rotated certificates", against the real PostgreSQL
(client-certificate authentication as avnadmin), with a new client certificate written
while the pool is in use: pg_stat_ssl shows which certificate each connection presented.

* psycopg_pool: ``kwargs`` is a callable (a new connection asks the source), and
  ``pool.drain()`` when ``source.refresh()`` says the material changed;
* asyncpg: ``ssl=source.ssl_context("postgresql")``, then ``pool.set_connect_args(...)``
  and ``await pool.expire_connections()`` when it changed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import uuid

import asyncpg
import pytest
from psycopg_pool import ConnectionPool

from aiven_standin import service, service_user
from tlsconnect import CredentialsSource
from tlsconnect._cli import main

pytest_plugins = ["aiven_fixtures"]  # the stand-in API's fixtures: standin, aiven_env

SERIAL = "SELECT client_serial, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"


@pytest.fixture(scope="module")
def generations(pki):
    """Two client certificates from the project CA, CN=avnadmin (PostgreSQL's cert auth)."""
    return [pki.issue_cert(f"pool-{n}", common_name="avnadmin", is_client=True) for n in (1, 2)]


def replace(source, target):
    staged = target.with_name(f".{target.name}.new")
    shutil.copyfile(source, staged)
    os.chmod(staged, 0o600)
    os.replace(staged, target)


def test_psycopg_pool_drains_onto_the_rotated_certificate_from_the_environment(
    tmp_path, pki, pg, generations, monkeypatch
):
    first, second = generations
    mounted = tmp_path / "secret"
    mounted.mkdir()
    shutil.copyfile(pki.ca.cert_path, mounted / "ca.crt")
    replace(first.cert_path, mounted / "tls.crt")
    replace(first.key_path, mounted / "tls.key")
    for name in ("PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAFKA_CA_PATH", str(mounted / "ca.crt"))
    monkeypatch.setenv("KAFKA_CERTIFICATE_PATH", str(mounted / "tls.crt"))
    monkeypatch.setenv("KAFKA_PRIVATE_KEY_PATH", str(mounted / "tls.key"))

    source = CredentialsSource.from_env()
    uri = f"postgresql://avnadmin@localhost:{pg.good.port}/defaultdb"
    with ConnectionPool(
        "", kwargs=lambda: source.psycopg_params(uri), min_size=2, max_size=2, open=True
    ) as pool:
        pool.wait(timeout=20)
        with pool.connection(timeout=10) as busy:
            serial, dn = busy.execute(SERIAL).fetchone()
            assert int(serial) == first.cert.serial_number and "CN=avnadmin" in dn
            # the platform writes the new certificate and key while the pool is in use
            replace(second.cert_path, mounted / "tls.crt")
            replace(second.key_path, mounted / "tls.key")
            assert source.refresh() is True
            pool.drain()  # idle connections now; this one when it is returned
            with pool.connection(timeout=10) as fresh:
                assert int(fresh.execute(SERIAL).fetchone()[0]) == second.cert.serial_number
            # the connection in use keeps working, with the certificate it started with
            assert int(busy.execute(SERIAL).fetchone()[0]) == first.cert.serial_number
        seen = set()
        for _ in range(4):
            with pool.connection(timeout=10) as conn:
                seen.add(int(conn.execute(SERIAL).fetchone()[0]))
        assert seen == {second.cert.serial_number}
    assert source.generation == 2


def test_asyncpg_pool_moves_to_a_certificate_fetch_wrote(aiven_env, tmp_path, pki, pg, generations):
    """The provider renewed avnadmin's certificate; `tlsconnect fetch` writes the new
    files while the pool is in use; the pool's next connections present it."""
    first, second = generations
    project = f"proj-{uuid.uuid4().hex[:8]}"

    def publish(leaf):
        aiven_env.add_project(
            project,
            pki.ca.cert_pem,
            [
                service(
                    "pg-1",
                    "pg",
                    "localhost",
                    pg.good.port,
                    users=[service_user("avnadmin", cert_pem=leaf.cert_pem, key_pem=leaf.key_pem)],
                )
            ],
        )

    creds = tmp_path / "creds"
    publish(first)
    assert main(["fetch", project, "pg-1", "-d", str(creds)]) == 0
    source = CredentialsSource.from_directory(creds)
    dsn = f"postgresql://avnadmin@localhost:{pg.good.port}/defaultdb"

    async def scenario() -> tuple[int, int, set[int]]:
        pool = await asyncpg.create_pool(
            dsn, ssl=source.ssl_context("postgresql"), min_size=1, max_size=2
        )
        try:
            async with pool.acquire() as busy:
                before = int((await busy.fetchrow(SERIAL))[0])
                publish(second)  # the provider renews the certificate...
                fetched = await asyncio.to_thread(
                    main, ["fetch", project, "pg-1", "-d", str(creds)]
                )  # ...and the files are written while the pool is in use
                assert fetched == 0
                assert source.refresh() is True
                pool.set_connect_args(dsn, ssl=source.ssl_context("postgresql"))
                await pool.expire_connections()
                still = int((await busy.fetchrow(SERIAL))[0])
            after = set()
            for _ in range(3):
                async with pool.acquire() as conn:
                    after.add(int((await conn.fetchrow(SERIAL))[0]))
            return before, still, after
        finally:
            await pool.close()

    before, still, after = asyncio.run(scenario())
    assert before == first.cert.serial_number
    assert still == first.cert.serial_number  # a connection in use is not cut
    assert after == {second.cert.serial_number}


def test_a_pool_keeps_working_through_a_half_written_rotation(tmp_path, pki, pg, generations):
    """Connections made while only the new certificate is in place (its key not yet) use
    the last good pair, never a mismatched one."""
    first, second = generations
    creds = tmp_path / "creds"
    creds.mkdir()
    shutil.copyfile(pki.ca.cert_path, creds / "ca.pem")
    replace(first.cert_path, creds / "service.cert")
    replace(first.key_path, creds / "service.key")
    source = CredentialsSource.from_directory(creds)
    uri = f"postgresql://avnadmin@localhost:{pg.good.port}/defaultdb"
    errors: list[BaseException] = []
    serials: list[int] = []
    stop = threading.Event()

    def use(pool: ConnectionPool) -> None:
        while not stop.is_set():
            try:
                with pool.connection(timeout=10) as conn:
                    serials.append(int(conn.execute(SERIAL).fetchone()[0]))
                pool.drain()
            except BaseException as exc:
                errors.append(exc)
                return

    with ConnectionPool(
        "", kwargs=lambda: source.psycopg_params(uri), min_size=1, max_size=2, open=True
    ) as pool:
        worker = threading.Thread(target=use, args=(pool,))
        worker.start()
        try:
            replace(second.cert_path, creds / "service.cert")  # half-way...
            # held half-written until the pool has made two connections in that state
            before = len(serials)
            deadline = 200
            while len(serials) < before + 2 and deadline and not errors:
                stop.wait(0.05)
                deadline -= 1
            half_way = serials[before:]
            replace(second.key_path, creds / "service.key")  # ...and done
            deadline = 100
            while second.cert.serial_number not in serials and deadline and not errors:
                stop.wait(0.05)
                deadline -= 1
        finally:
            stop.set()
            worker.join(30)
    assert errors == []
    # the connections made with the new certificate beside the old key used the last
    # good pair: the old certificate
    assert len(half_way) >= 2 and set(half_way) == {first.cert.serial_number}, half_way
    assert set(serials) <= {first.cert.serial_number, second.cert.serial_number}
    assert serials[-1] == second.cert.serial_number
