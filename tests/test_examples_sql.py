"""The SQL family's examples run as written, against the real servers."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"


def run(*args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_asyncpg_example_connects_with_verify_full_and_a_client_certificate(pg, pki):
    uri = f"postgres://avnadmin@localhost:{pg.good.port}/defaultdb?sslmode=require"
    out = run(str(EXAMPLES / "asyncpg_verify_full.py"), uri, str(pki.creds_dir))
    assert "verified: chain and host name" in out and "CN=avnadmin" in out
    assert "pool: SELECT 1 -> 1" in out


def test_sqlalchemy_example_builds_three_engines(pg, mariadb, pki):
    pg_uri = f"postgres://avnadmin@localhost:{pg.good.port}/defaultdb?sslmode=require"
    mysql_uri = mariadb.url(**{"ssl-mode": "REQUIRED"})
    out = run(str(EXAMPLES / "sqlalchemy_engines.py"), pg_uri, mysql_uri, str(pki.creds_dir))
    lines = out.splitlines()
    from sqlalchemy.engine import make_url

    # plain postgres:// is the installed SQLAlchemy's default dialect (2.0: psycopg2; 2.1: psycopg)
    default = make_url("postgresql://").get_dialect().driver
    assert lines[0].startswith(f"postgresql+{default}: (") and "CN=avnadmin" in lines[0]
    assert lines[1].startswith("postgresql+asyncpg: (") and "CN=avnadmin" in lines[1]
    assert lines[2].startswith("mysql+pymysql: ('Ssl_cipher', 'TLS_")


def test_django_example_queries_through_the_orm_connection(pg, mariadb, pki):
    env = {
        "DATABASE_URL": f"postgres://avnadmin@localhost:{pg.good.port}/defaultdb?sslmode=require",
        "CREDENTIALS_DIR": str(pki.creds_dir),
    }
    out = run(str(EXAMPLES / "django_settings.py"), env=env)
    assert out.startswith("django.db.backends.postgresql: sslmode=verify-full, TLS TLSv1.3")
    assert "CN=avnadmin" in out
    # Django's MySQL engine (mysqlclient reads 'localhost' as the Unix socket: 127.0.0.1)
    env["DATABASE_URL"] = mariadb.url(user=mariadb.x509_user).replace("localhost", "127.0.0.1")
    out = run(str(EXAMPLES / "django_settings.py"), env=env)
    assert out.startswith("django.db.backends.mysql: sslmode=verify-full, TLS_")
    assert "as x509user@" in out
