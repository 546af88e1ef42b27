"""Secrets stay secret: key material and passwords never appear in reprs, explanations,
exception messages (or their chained causes), log records or ``--json`` output; private
files are 0600 in a 0700 directory, unpredictably named, never written through a planted
symlink, and removed at exit by the process that made them."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import textwrap
import traceback

import psycopg
import pytest
from cryptography.hazmat.primitives import serialization

import _no_posix
import tlsconnect
from tlsconnect import ConfigError, Credentials
from tlsconnect._cli import main as cli_main
from tlsconnect._files import private_dir, write_private

PASSWORD = "Pa55-unique-S3CRET-7f3a"


@pytest.fixture(scope="module")
def encrypted_key_pem(pki) -> bytes:
    return pki.client.key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(PASSWORD.encode()),
    )


def secret_fragments(pki, encrypted_key_pem: bytes) -> list[str]:
    """Strings that must never show: the password and lines of both key encodings."""
    plain = [line for line in pki.client.key_pem.decode().splitlines() if "-----" not in line]
    encrypted = [line for line in encrypted_key_pem.decode().splitlines() if "-----" not in line]
    numbers = pki.client.key.private_numbers()
    return [PASSWORD, *plain[1:4], *encrypted[1:4], str(numbers.d)[:40], hex(numbers.p)[2:40]]


def assert_clean(text: str, fragments: list[str]) -> None:
    for fragment in fragments:
        assert fragment not in text, f"secret fragment found: {fragment[:12]}..."


def full_exception_text(exc: BaseException) -> str:
    """The message, args, and every chained cause and context, as a traceback prints them."""
    return "".join(traceback.format_exception(exc)) + repr(exc.args)


def test_repr_str_explain_and_html_hold_no_secret(pki, encrypted_key_pem):
    fragments = secret_fragments(pki, encrypted_key_pem)
    creds = Credentials(
        ca=pki.ca_pem, cert=pki.client.cert_pem, key=encrypted_key_pem, key_password=PASSWORD
    )
    plan = tlsconnect.resolve("kafka", credentials=creds)
    for text in (
        repr(creds),
        str(creds),
        repr(plan),
        str(plan),
        plan.explain(),
        plan._repr_html_(),
    ):
        assert_clean(text, fragments)
    assert "key=<hidden> (encrypted)" in repr(creds)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"key_password": "wrong-" + PASSWORD}, id="wrong-password"),
        pytest.param({}, id="no-password"),
        pytest.param({"key_password": PASSWORD, "mismatch": True}, id="mismatched-key"),
        pytest.param({"key_password": PASSWORD, "truncate": True}, id="truncated-key"),
    ],
)
def test_errors_and_their_causes_hold_no_secret(pki, encrypted_key_pem, kwargs):
    fragments = secret_fragments(pki, encrypted_key_pem)
    key = encrypted_key_pem
    cert = pki.client.cert_pem
    if kwargs.pop("mismatch", False):
        cert = pki.other_client.cert_pem
    if kwargs.pop("truncate", False):
        key = key[: len(key) // 2] + b"\n-----END ENCRYPTED PRIVATE KEY-----\n"
    with pytest.raises(ConfigError) as info:
        Credentials(ca=pki.ca_pem, cert=cert, key=key.decode(), **kwargs)
    assert "key (given as text)" in str(info.value)
    assert_clean(full_exception_text(info.value), fragments)
    # psycopg_params and the Kafka configurations raise the same, equally clean
    for call in (
        lambda: tlsconnect.psycopg_params("host=x", ca=pki.ca_pem, cert=cert, key=key, **kwargs),
        lambda: tlsconnect.kafka_python_config("x:1", ca=pki.ca_pem, cert=cert, key=key, **kwargs),
    ):
        with pytest.raises(ConfigError) as info:
            call()
        assert_clean(full_exception_text(info.value), fragments)


def test_no_log_record_holds_a_secret_over_a_whole_flow(pki, pg, encrypted_key_pem, caplog):
    fragments = secret_fragments(pki, encrypted_key_pem)
    caplog.set_level(logging.DEBUG)
    creds = Credentials(
        ca=pki.ca_pem, cert=pki.client.cert_pem, key=encrypted_key_pem, key_password=PASSWORD
    )
    tlsconnect.resolve("postgresql", credentials=creds).explain()
    tlsconnect.ssl_context("kafka", credentials=creds)
    params = tlsconnect.psycopg_params(
        f"host=localhost port={pg.good.port} dbname=defaultdb user=avnadmin", credentials=creds
    )
    with psycopg.connect(**params, connect_timeout=10) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("avnadmin",)
    tlsconnect.kafka_python_config("localhost:9092", credentials=creds)
    tlsconnect.confluent_kafka_config("localhost:9092", credentials=creds)
    tlsconnect.aiokafka_config("localhost:9092", credentials=creds)
    with pytest.raises(ConfigError):
        Credentials(cert=pki.client.cert_pem, key=encrypted_key_pem, key_password="nope")
    text = "\n".join(
        f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    assert_clean(text, fragments)


def test_cli_json_output_holds_no_secret(pki, pg, tmp_path, encrypted_key_pem, capsys, monkeypatch):
    fragments = secret_fragments(pki, encrypted_key_pem)
    key = tmp_path / "service.key"
    key.write_bytes(encrypted_key_pem)
    key.chmod(0o600)
    monkeypatch.setenv("TLSCONNECT_TEST_KEY_PASSWORD", PASSWORD)
    argv = [
        "check",
        f"postgresql://avnadmin@localhost:{pg.good.port}/defaultdb",
        "--ca",
        str(pki.ca_pem),
        "--cert",
        str(pki.client.cert_path),
        "--key",
        str(key),
        "--password-env",
        "TLSCONNECT_TEST_KEY_PASSWORD",
        "--json",
    ]
    code = cli_main(argv)
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert code == 0 and report["ok"] is True, captured
    assert_clean(captured.out + captured.err, fragments)


# -- private files ----------------------------------------------------------------------


def test_private_files_are_0600_in_a_0700_directory_owned_by_us(pki, encrypted_key_pem):
    """Without owners and mode bits (the no-POSIX mode, as on Windows): private means the
    process's directory under the user's local application data, nothing else checked."""
    creds = Credentials(cert=pki.client.cert_pem, key=encrypted_key_pem, key_password=PASSWORD)
    params = tlsconnect.psycopg_params("host=x", ca=pki.ca.cert_pem.decode())
    paths = [creds.cert_file(), creds.key_file(), params["sslrootcert"]]
    directory = private_dir()
    info = os.lstat(directory)
    if _no_posix.ACTIVE:
        assert str(directory).startswith(os.environ["LOCALAPPDATA"] + os.sep)
    else:
        assert stat.S_IMODE(info.st_mode) == 0o700 and info.st_uid == _no_posix.uid()
    for path in map(str, paths):
        assert os.path.dirname(path) == str(directory)
        file_info = os.lstat(path)
        assert stat.S_ISREG(file_info.st_mode)
        assert stat.S_IMODE(file_info.st_mode) == 0o600  # asked for, where it means anything
    # the key stays encrypted on disk
    assert b"ENCRYPTED" in creds.key_file().read_bytes()


def test_private_names_are_unpredictable_across_processes(pki):
    """Names are a keyed hash of the content, the key drawn per process: the same material
    gets a different name in another process, and a different directory."""
    program = textwrap.dedent(
        f"""
        from tlsconnect import Credentials
        c = Credentials(ca={pki.ca.cert_pem.decode()!r})
        print(c.ca_file())
        """
    )
    runs = [
        subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    first, second = (r.stdout.strip() for r in runs)
    assert os.path.basename(first) != os.path.basename(second)
    assert os.path.dirname(first) != os.path.dirname(second)
    here = Credentials(ca=pki.ca.cert_pem.decode()).ca_file()
    assert here.name not in (os.path.basename(first), os.path.basename(second))


def test_a_symlink_planted_at_the_final_path_is_replaced_not_followed(tmp_path):
    content = b"-----BEGIN CERTIFICATE-----\nplanted-test\n-----END CERTIFICATE-----\n"
    path = write_private(content, ".ca.pem")
    victim = tmp_path / "victim.pem"
    victim.write_bytes(b"the attacker's CA")
    path.unlink()
    path.symlink_to(victim)  # planted where the file will be looked for again
    again = write_private(content, ".ca.pem")
    assert again == path
    assert not again.is_symlink() and again.read_bytes() == content
    assert victim.read_bytes() == b"the attacker's CA"  # not written through
    # a file others could read is replaced too, where mode bits exist; without them (as on
    # Windows) the directory's access list is what keeps it private, and it is reused
    path.chmod(0o644)
    if _no_posix.ACTIVE:
        assert write_private(content, ".ca.pem").read_bytes() == content
    else:
        assert write_private(content, ".ca.pem").stat().st_mode & 0o077 == 0


def test_the_private_directory_is_removed_at_exit_but_not_by_a_forked_child(tmp_path):
    program = textwrap.dedent(
        """
        import os, sys
        from tlsconnect._files import write_private
        path = write_private(b"secret-ish", ".key.pem")
        print(path.parent, flush=True)
        pid = os.fork()
        if pid == 0:
            sys.exit(0)  # the child runs atexit handlers: it must not remove the directory
        os.waitpid(pid, 0)
        print(path.exists(), flush=True)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True
    )
    directory, survived_child = result.stdout.split()
    assert survived_child == "True"
    assert not os.path.exists(directory)
