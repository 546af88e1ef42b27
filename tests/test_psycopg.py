"""psycopg_params against a real PostgreSQL 15 with ssl=on, on loopback."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import warnings

import psycopg
import pytest

import _no_posix
import tlsconnect
from tlsconnect import ConfigError, Credentials, InsecureConnectionWarning, KeyPermissionWarning

HOSTS = ["localhost", "127.0.0.1"]


def select_one(params: dict) -> tuple:
    with psycopg.connect(**params, connect_timeout=10) as conn:
        row = conn.execute(
            "SELECT 1, ssl, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone()
    assert row is not None
    return row


def conninfo(server, host: str = "localhost", user: str = "tlsuser") -> str:
    return f"host={host} port={server.port} dbname=defaultdb user={user}"


@pytest.mark.parametrize("host", HOSTS)
def test_verify_full_from_a_credentials_directory_selects(pg, pki, host):
    params = tlsconnect.psycopg_params(
        conninfo(pg.good, host), credentials=Credentials.from_directory(pki.creds_dir)
    )
    assert params["sslmode"] == "verify-full"
    assert params["sslrootcert"] == str(pki.creds_dir / "ca.pem")
    assert select_one(params)[:2] == (1, True)


def test_uri_input_keeps_every_key(pg, pki):
    uri = (
        f"postgresql://tlsuser@localhost:{pg.good.port}/defaultdb"
        "?application_name=tls%20test&connect_timeout=7"
    )
    params = tlsconnect.psycopg_params(uri, ca=pki.ca_pem)
    assert params["application_name"] == "tls test" and params["connect_timeout"] == "7"
    assert (params["host"], params["port"], params["user"], params["dbname"]) == (
        "localhost",
        str(pg.good.port),
        "tlsuser",
        "defaultdb",
    )
    params.pop("connect_timeout")
    with psycopg.connect(**params) as conn:
        assert conn.execute("SHOW application_name").fetchone() == ("tls test",)


def test_keyword_conninfo_with_quotes_and_overrides(pg, pki):
    info = conninfo(pg.good) + r" application_name='it\'s tls'"
    params = tlsconnect.psycopg_params(info, ca=pki.ca_pem, options="-c search_path=public")
    assert params["application_name"] == "it's tls"
    assert params["options"] == "-c search_path=public"
    assert select_one(params)[0] == 1


def test_sslmode_in_conninfo_is_honoured_unless_the_argument_is_given(pg, pki):
    info = conninfo(pg.wronghost) + " sslmode=verify-ca"
    params = tlsconnect.psycopg_params(info, ca=pki.ca_pem)
    assert params["sslmode"] == "verify-ca"
    assert select_one(params)[0] == 1
    strict = tlsconnect.psycopg_params(info, ca=pki.ca_pem, sslmode="verify-full")
    assert strict["sslmode"] == "verify-full"
    with pytest.raises(psycopg.OperationalError, match="wrong.example.com|does not match"):
        select_one(strict)


def test_plaintext_sslmode_in_conninfo_is_rejected(pg, pki):
    with pytest.raises(ConfigError, match="conninfo: sslmode 'prefer'"):
        tlsconnect.psycopg_params(conninfo(pg.good) + " sslmode=prefer", ca=pki.ca_pem)


def test_sslrootcert_in_conninfo_is_used_as_the_ca(pg, pki):
    params = tlsconnect.psycopg_params(conninfo(pg.good) + f" sslrootcert={pki.ca_pem}")
    assert params["sslrootcert"] == str(pki.ca_pem)
    assert select_one(params)[0] == 1


@pytest.mark.parametrize("host", HOSTS)
def test_verify_full_rejects_wrong_host_and_verify_ca_accepts_it(pg, pki, host):
    full = tlsconnect.psycopg_params(conninfo(pg.wronghost, host), ca=pki.ca_pem)
    with pytest.raises(psycopg.OperationalError, match="does not match host name"):
        select_one(full)
    partial = tlsconnect.psycopg_params(
        conninfo(pg.wronghost, host), ca=pki.ca_pem, sslmode="verify-ca"
    )
    assert select_one(partial)[0] == 1


@pytest.mark.parametrize("sslmode", ["verify-full", "verify-ca", "require"])
def test_wrong_ca_is_rejected_in_every_verifying_mode(pg, pki, sslmode):
    params = tlsconnect.psycopg_params(conninfo(pg.othersigned), ca=pki.ca_pem, sslmode=sslmode)
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        select_one(params)


def test_expired_server_certificate_is_rejected(pg, pki):
    params = tlsconnect.psycopg_params(conninfo(pg.expired), ca=pki.ca_pem)
    # libpq says only "certificate verify failed"; `tlsconnect check` says why.
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        select_one(params)


def test_require_without_ca_connects_to_anything_with_a_warning(pg):
    with pytest.warns(InsecureConnectionWarning):
        params = tlsconnect.psycopg_params(conninfo(pg.othersigned), sslmode="require")
    assert params["sslmode"] == "require"
    assert not os.path.exists(params["sslrootcert"])
    assert select_one(params)[:2] == (1, True)


def test_client_certificate_authenticates_the_cert_user(pg, pki):
    params = tlsconnect.psycopg_params(
        conninfo(pg.good, user="avnadmin"), credentials=Credentials.from_directory(pki.creds_dir)
    )
    row = select_one(params)
    assert row[0] == 1 and "avnadmin" in row[2]


def test_cert_user_without_client_certificate_is_refused(pg, pki):
    params = tlsconnect.psycopg_params(conninfo(pg.good, user="avnadmin"), ca=pki.ca_pem)
    with pytest.raises(psycopg.OperationalError, match="certificate"):
        select_one(params)


def test_encrypted_key_given_as_text_connects_with_sslpassword(pg, pki):
    params = tlsconnect.psycopg_params(
        conninfo(pg.good, user="avnadmin"),
        ca=pki.ca_pem,
        cert=pki.client.cert_path,
        key=pki.client_key_encrypted_path.read_text(),
        key_password=pki.client_key_password,
    )
    assert params["sslpassword"] == pki.client_key_password
    assert "avnadmin" in select_one(params)[2]


def test_material_given_as_text_is_written_once_to_private_files(pg, pki):
    text = dict(
        ca=pki.ca_pem.read_text(),
        cert=pki.client.cert_path.read_bytes(),
        key=pki.client.key_path.read_text(),
    )
    first = tlsconnect.psycopg_params(conninfo(pg.good, user="avnadmin"), **text)
    second = tlsconnect.psycopg_params(conninfo(pg.good, user="avnadmin"), **text)
    for name in ("sslrootcert", "sslcert", "sslkey"):
        path = first[name]
        assert path == second[name]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert "avnadmin" in select_one(first)[2]


def test_private_files_are_removed_at_interpreter_exit(pki):
    code = (
        "import tlsconnect, sys\n"
        "p = tlsconnect.psycopg_params('host=localhost', ca=open(sys.argv[1]).read())\n"
        "print(p['sslrootcert'])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(pki.ca_pem)], capture_output=True, text=True, check=True
    )
    path = out.stdout.strip()
    assert path and "tlsconnect-" in path
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))


def test_group_readable_key_gets_a_private_copy_and_a_warning(pg, pki, tmp_path):
    key = tmp_path / "service.key"
    key.write_bytes(pki.client.key_path.read_bytes())
    key.chmod(0o644)
    if _no_posix.ACTIVE:  # as on Windows: no mode bits, nothing to warn about or copy
        params = tlsconnect.psycopg_params(
            conninfo(pg.good, user="avnadmin"), ca=pki.ca_pem, cert=pki.client.cert_path, key=key
        )
        assert params["sslkey"] == str(key)
        return
    with pytest.warns(KeyPermissionWarning, match="chmod 600") as record:
        params = tlsconnect.psycopg_params(
            conninfo(pg.good, user="avnadmin"),
            ca=pki.ca_pem,
            cert=pki.client.cert_path,
            key=key,
        )
    assert str(key) in str(record[0].message)
    assert params["sslkey"] != str(key)
    assert stat.S_IMODE(os.stat(params["sslkey"]).st_mode) == 0o600
    assert "avnadmin" in select_one(params)[2]


def test_a_private_key_file_is_used_as_it_is(pki):
    params = tlsconnect.psycopg_params(
        "host=localhost", credentials=Credentials.from_directory(pki.creds_dir)
    )
    assert params["sslkey"] == str(pki.creds_dir / "service.key")
    assert params["sslcert"] == str(pki.creds_dir / "service.cert")


def test_der_ca_file_becomes_a_private_pem_copy(pg, pki, tmp_path):
    from cryptography.hazmat.primitives.serialization import Encoding

    der = tmp_path / "ca.der"
    der.write_bytes(pki.ca.cert.public_bytes(Encoding.DER))
    params = tlsconnect.psycopg_params(conninfo(pg.good), ca=der)
    assert params["sslrootcert"] != str(der)
    assert select_one(params)[0] == 1


@pytest.fixture
def stray_home(pki, tmp_path, monkeypatch):
    """A home directory whose ~/.postgresql holds files libpq would pick up by itself."""
    home = tmp_path / "home"
    dot = home / ".postgresql"
    dot.mkdir(parents=True)
    (dot / "root.crt").write_bytes(pki.other_ca.cert_pem)
    (dot / "postgresql.crt").write_bytes(pki.client.cert_pem)
    (dot / "postgresql.key").write_bytes(pki.client.key_path.read_bytes())
    (dot / "postgresql.key").chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    for var in ("PGSSLCERT", "PGSSLKEY", "PGSSLROOTCERT"):
        monkeypatch.delenv(var, raising=False)
    return dot


def test_stray_root_crt_does_not_replace_the_ca_given(pg, pki, stray_home):
    # Control: libpq alone, sslmode=verify-full with no sslrootcert, uses the stray file.
    with pytest.raises(psycopg.OperationalError, match="certificate verify failed"):
        psycopg.connect(conninfo(pg.good) + " sslmode=verify-full", connect_timeout=10).close()
    assert select_one(tlsconnect.psycopg_params(conninfo(pg.good), ca=pki.ca_pem))[0] == 1
    with pytest.warns(InsecureConnectionWarning):
        params = tlsconnect.psycopg_params(conninfo(pg.good), sslmode="require")
    assert select_one(params)[0] == 1  # the stray other-CA root.crt is not used to verify


def test_stray_postgresql_crt_is_not_sent(pg, pki, stray_home):
    # Control: libpq alone sends ~/.postgresql/postgresql.crt.
    with psycopg.connect(
        conninfo(pg.good) + f" sslmode=verify-full sslrootcert={pki.ca_pem}", connect_timeout=10
    ) as conn:
        row = conn.execute(
            "SELECT client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
        ).fetchone()
    assert row is not None and "avnadmin" in (row[0] or "")
    params = tlsconnect.psycopg_params(conninfo(pg.good), ca=pki.ca_pem)
    assert not select_one(params)[2]


def test_params_are_a_new_dict_each_time(pki):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        a = tlsconnect.psycopg_params("host=h", ca=pki.ca_pem)
        b = tlsconnect.psycopg_params("host=h", ca=pki.ca_pem)
    assert a == b and a is not b


def test_conninfo_client_files_are_kept_when_only_the_ca_is_an_argument(pg, pki):
    info = conninfo(pg.good, user="avnadmin") + (
        f" sslcert={pki.client.cert_path} sslkey={pki.client.key_path}"
    )
    params = tlsconnect.psycopg_params(info, ca=pki.ca_pem)
    assert params["sslcert"] == str(pki.client.cert_path)
    assert "avnadmin" in select_one(params)[2]


def test_system_trust_gives_libpq_a_ca_file_it_can_use_in_every_mode(pki):
    params = tlsconnect.psycopg_params("host=h sslrootcert=system sslmode=verify-ca")
    assert params["sslmode"] == "verify-ca"
    assert os.path.isfile(params["sslrootcert"])
