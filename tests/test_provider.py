"""Credentials from the provider's API, through the real aiven-client, against a local
stand-in of the API (tests/aiven_standin.py): Credentials.from_aiven, `tlsconnect
fetch`, the token's three sources, and every failure (401, 403, 404, unreachable, an
untrusted API certificate) as a clear error that never shows the token."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import time
import uuid

import pytest

from aiven_standin import closed_port, service, service_user
from tlsconnect import (
    ConfigError,
    Credentials,
    CredentialsSource,
    MissingDependencyError,
    ProviderAPIError,
    TLSConnectError,
    check,
)
from tlsconnect._cli import main

pytest_plugins = ["aiven_fixtures"]  # the stand-in API's fixtures: standin, aiven_env


def new_project(api, pki, *, services=None) -> str:
    """A project on the stand-in: a Kafka service whose avnadmin has the session's client
    certificate, and a PostgreSQL service whose users log in with passwords."""
    name = f"proj-{uuid.uuid4().hex[:8]}"
    api.add_project(
        name,
        pki.ca.cert_pem,
        services
        if services is not None
        else [
            service(
                "kafka-1",
                "kafka",
                "localhost",
                9093,
                users=[
                    service_user(
                        "avnadmin", cert_pem=pki.client.cert_pem, key_pem=pki.client.key_pem
                    ),
                    service_user("reader"),
                ],
            ),
            service("pg-1", "pg", "localhost", 5432),
        ],
    )
    return name


def assert_no_token(api, *texts):
    for text in texts:
        assert api.token not in str(text)
        assert api.token[4:20] not in str(text)


# -- Credentials.from_aiven -----------------------------------------------------------


def test_from_aiven_gets_the_project_ca_and_the_users_certificate(aiven_env, pki):
    project = new_project(aiven_env, pki)
    creds = Credentials.from_aiven(project, "kafka-1")
    assert creds.ca_certificates[0].subject == pki.ca.cert.subject
    assert creds.certificate.serial_number == pki.client.cert.serial_number
    # through aiven-client's own endpoints, with its own authorization header
    assert f"/v1/project/{project}/kms/ca" in aiven_env.paths(project)
    assert f"/v1/project/{project}/service/kafka-1" in aiven_env.paths(project)
    assert all(auth == f"aivenv1 {aiven_env.token}" for _, auth in aiven_env.requests[-2:])
    assert_no_token(aiven_env, repr(creds))


def test_material_from_the_api_connects_to_the_real_kafka_broker(aiven_env, pki, kafka):
    project = new_project(aiven_env, pki)
    creds = Credentials.from_aiven(project, "kafka-1", "avnadmin")
    report = check(f"kafka://localhost:{kafka.good.port}", credentials=creds)
    assert report.ok and report.client_cert_sent and report.chain_verified


def test_a_user_without_a_certificate_gives_the_ca_only(aiven_env, pki):
    project = new_project(aiven_env, pki)
    creds = Credentials.from_aiven(project, "pg-1")
    assert creds.has_ca and not creds.has_client_cert


def test_a_kafka_user_without_a_certificate_says_the_token_may_lack_the_permission(aiven_env, pki):
    project = new_project(aiven_env, pki)
    with pytest.raises(ProviderAPIError, match=r"service:secrets:read"):
        Credentials.from_aiven(project, "kafka-1", "reader")


def test_an_unknown_user_lists_the_services_users(aiven_env, pki):
    project = new_project(aiven_env, pki)
    with pytest.raises(ConfigError, match=r"has no user 'nobody' \(its users: avnadmin, reader\)"):
        Credentials.from_aiven(project, "kafka-1", "nobody")


def test_a_key_from_the_api_that_does_not_match_is_the_apis_fault(aiven_env, pki):
    project = new_project(
        aiven_env,
        pki,
        services=[
            service(
                "kafka-1",
                "kafka",
                "localhost",
                9093,
                users=[
                    service_user(
                        "avnadmin",
                        cert_pem=pki.client.cert_pem,
                        key_pem=pki.other_client.key_pem,
                    )
                ],
            )
        ],
    )
    with pytest.raises(ProviderAPIError, match="does not belong to the certificate") as info:
        Credentials.from_aiven(project, "kafka-1")
    assert "BEGIN" not in str(info.value)


# -- the token ----------------------------------------------------------------------


def test_token_argument_wins_over_the_environment(aiven_env, pki, monkeypatch):
    project = new_project(aiven_env, pki)
    monkeypatch.setenv("AIVEN_AUTH_TOKEN", "not-the-right-token")
    assert Credentials.from_aiven(project, "kafka-1", token=aiven_env.token).has_client_cert
    with pytest.raises(ProviderAPIError) as info:
        Credentials.from_aiven(project, "kafka-1")
    assert info.value.status == 401 and "AIVEN_AUTH_TOKEN" in str(info.value)


def test_token_from_the_cli_credentials_file(aiven_env, pki, monkeypatch, tmp_path):
    project = new_project(aiven_env, pki)
    monkeypatch.delenv("AIVEN_AUTH_TOKEN")
    config_dir = tmp_path / "aiven-config"
    config_dir.mkdir()
    (config_dir / "aiven-credentials.json").write_text(
        json.dumps({"auth_token": aiven_env.token, "user_email": "me@example.com"})
    )
    assert Credentials.from_aiven(project, "kafka-1").has_client_cert
    # AIVEN_CREDENTIALS_FILE names another file, as avn reads it
    other = tmp_path / "elsewhere.json"
    other.write_text(json.dumps({"auth_token": "wrong-token"}))
    monkeypatch.setenv("AIVEN_CREDENTIALS_FILE", str(other))
    with pytest.raises(ProviderAPIError, match=f"the credentials file '{other}'"):
        Credentials.from_aiven(project, "kafka-1")


def test_no_token_anywhere_says_how_to_get_one(aiven_env, monkeypatch):
    monkeypatch.delenv("AIVEN_AUTH_TOKEN")
    with pytest.raises(ConfigError, match="AIVEN_AUTH_TOKEN, or log in with `avn user login`"):
        Credentials.from_aiven("p", "s")


def test_a_broken_credentials_file_is_named_not_shown(aiven_env, monkeypatch, tmp_path):
    monkeypatch.delenv("AIVEN_AUTH_TOKEN")
    broken = tmp_path / "creds.json"
    broken.write_text('{"auth_token": ')
    monkeypatch.setenv("AIVEN_CREDENTIALS_FILE", str(broken))
    with pytest.raises(ConfigError, match=f"'{broken}' holds no auth_token"):
        Credentials.from_aiven("p", "s")


@pytest.mark.parametrize("bad", ["", "  ", "abc def", "abc\ndef", "tok\x00en"])
def test_a_token_that_cannot_be_a_header_is_refused_without_showing_it(aiven_env, bad):
    with pytest.raises(ConfigError, match="spaces or control characters") as info:
        Credentials.from_aiven("p", "s", token=bad)
    if bad.strip():
        assert bad not in str(info.value)


def test_the_api_must_be_https(aiven_env, pki, monkeypatch):
    monkeypatch.setenv("AIVEN_WEB_URL", f"http://127.0.0.1:{aiven_env.port}")
    with pytest.raises(ConfigError, match="AIVEN_WEB_URL must be an https:// URL"):
        Credentials.from_aiven("p", "s")


# -- API failures ------------------------------------------------------------------


def test_401_is_clear_and_never_echoes_the_token_even_when_the_server_does(aiven_env, pki, caplog):
    wrong = "tok-" + "W" * 30
    aiven_env.echo_token_in_errors = True
    try:
        with caplog.at_level(logging.DEBUG):
            with pytest.raises(ProviderAPIError) as info:
                Credentials.from_aiven("any", "kafka-1", token=wrong)
    finally:
        aiven_env.echo_token_in_errors = False
    error = info.value
    assert error.status == 401 and isinstance(error, TLSConnectError)
    assert "401 Unauthorized" in str(error) and "avn user access-token create" in str(error)
    assert "<token>" in str(error)  # the server's message, with the token cut out
    for text in (str(error), repr(error), caplog.text):
        assert wrong not in text and "W" * 20 not in text


def test_403_names_the_project_and_the_permission(aiven_env, pki):
    project = new_project(aiven_env, pki)
    aiven_env.forbidden.add(project)
    with pytest.raises(ProviderAPIError) as info:
        Credentials.from_aiven(project, "kafka-1")
    assert info.value.status == 403
    assert f"project '{project}'" in str(info.value) and "403 Forbidden" in str(info.value)
    assert_no_token(aiven_env, info.value)


@pytest.mark.parametrize(
    ("which", "said"),
    [("project", "Project does not exist"), ("service", "Service does not exist")],
)
def test_404_names_what_was_not_found(aiven_env, pki, which, said):
    project = new_project(aiven_env, pki)
    args = ("no-such-project", "kafka-1") if which == "project" else (project, "no-such-svc")
    with pytest.raises(ProviderAPIError) as info:
        Credentials.from_aiven(*args)
    assert info.value.status == 404
    assert said in str(info.value) and "avn service list" in str(info.value)


def test_an_unreachable_api_is_a_clear_error(aiven_env, monkeypatch):
    monkeypatch.setenv("AIVEN_WEB_URL", f"https://127.0.0.1:{closed_port()}")
    started = time.monotonic()
    with pytest.raises(ProviderAPIError) as info:
        Credentials.from_aiven("p", "s")
    assert time.monotonic() - started < 10
    assert info.value.status is None
    assert "cannot be reached (Connection refused)" in str(info.value)
    assert_no_token(aiven_env, info.value)


def test_an_api_certificate_that_is_not_trusted_says_what_to_set(aiven_env, monkeypatch):
    monkeypatch.delenv("AIVEN_CA_CERT")  # the stand-in's CA is not a public one
    with pytest.raises(ProviderAPIError, match="did not pass TLS verification") as info:
        Credentials.from_aiven("p", "s")
    assert "AIVEN_CA_CERT" in str(info.value) and "certificate verify failed" in str(info.value)


def test_without_aiven_client_the_error_names_the_extra(aiven_env, monkeypatch):
    monkeypatch.setitem(sys.modules, "aiven.client.client", None)  # as if not installed
    with pytest.raises(MissingDependencyError, match=r'pip install "tlsconnect\[aiven\]"'):
        Credentials.from_aiven("p", "s")


# -- tlsconnect fetch -----------------------------------------------------------------


def test_fetch_writes_the_three_files_private_with_an_expiry_line(aiven_env, pki, tmp_path, capsys):
    project = new_project(aiven_env, pki)
    target = tmp_path / "creds"
    code = main(["fetch", project, "kafka-1", "-d", str(target)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert (target / "ca.pem").read_bytes() == pki.ca.cert_pem
    assert (target / "service.cert").read_bytes() == pki.client.cert_pem
    assert (target / "service.key").read_bytes() == pki.client.key_pem
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o700
    for name in ("ca.pem", "service.cert", "service.key"):
        assert stat.S_IMODE(os.stat(target / name).st_mode) == 0o600
    lines = captured.out.splitlines()
    assert lines[0] == f"wrote ca.pem, service.cert, service.key to {target} (files 0600)"
    assert lines[1].startswith("expiry: project CA 'Test Project CA' valid until ")
    assert "avnadmin's certificate valid until" in lines[1] and "days)" in lines[1]
    assert "PRIVATE KEY" not in captured.out + captured.err
    assert_no_token(aiven_env, captured.out, captured.err)
    # and the directory is what Credentials.from_directory reads
    assert Credentials.from_directory(target) == Credentials.from_aiven(project, "kafka-1")


def test_fetch_replaces_files_atomically_and_never_follows_a_planted_symlink(
    aiven_env, pki, tmp_path
):
    project = new_project(aiven_env, pki)
    target = tmp_path / "creds"
    target.mkdir(mode=0o700)
    victim = tmp_path / "victim"
    victim.write_text("do not touch")
    (target / "service.key").symlink_to(victim)
    (target / "service.cert").write_text("old")
    assert main(["fetch", project, "kafka-1", "-d", str(target)]) == 0
    assert victim.read_text() == "do not touch"
    assert not (target / "service.key").is_symlink()
    assert sorted(p.name for p in target.iterdir()) == ["ca.pem", "service.cert", "service.key"]


def test_fetch_of_a_password_user_writes_the_ca_only(aiven_env, pki, tmp_path, capsys):
    project = new_project(aiven_env, pki)
    assert main(["fetch", project, "pg-1", "-d", str(tmp_path / "pg")]) == 0
    captured = capsys.readouterr()
    assert [p.name for p in (tmp_path / "pg").iterdir()] == ["ca.pem"]
    assert "only ca.pem was written" in captured.err


def test_fetch_writes_nothing_when_the_answer_does_not_check_out(aiven_env, pki, tmp_path, capsys):
    project = new_project(
        aiven_env,
        pki,
        services=[
            service(
                "kafka-1",
                "kafka",
                "localhost",
                9093,
                users=[
                    service_user(
                        "avnadmin", cert_pem=pki.client.key_pem, key_pem=pki.client.key_pem
                    )
                ],
            )
        ],
    )
    target = tmp_path / "creds"
    assert main(["fetch", project, "kafka-1", "-d", str(target)]) == 1
    assert "holds a private key, not a certificate" in capsys.readouterr().err
    assert not target.exists()


@pytest.mark.parametrize(
    ("setup", "code", "message"),
    [
        ("wrong-token", 1, "401 Unauthorized"),
        ("no-project", 1, "Project does not exist"),
        ("no-token", 2, "avn user login"),
        ("unreachable", 1, "cannot be reached"),
    ],
)
def test_fetch_failures_exit_codes(aiven_env, monkeypatch, tmp_path, capsys, setup, code, message):
    if setup == "wrong-token":
        monkeypatch.setenv("AIVEN_AUTH_TOKEN", "tok-wrong-" + "x" * 20)
    elif setup == "no-token":
        monkeypatch.delenv("AIVEN_AUTH_TOKEN")
    elif setup == "unreachable":
        monkeypatch.setenv("AIVEN_WEB_URL", f"https://127.0.0.1:{closed_port()}")
    assert main(["fetch", "no-such-project", "svc", "-d", str(tmp_path / "d")]) == code
    captured = capsys.readouterr()
    assert message in captured.err
    assert_no_token(aiven_env, captured.out, captured.err)
    assert "x" * 20 not in captured.err


def test_fetch_as_a_real_subprocess(aiven_env, pki, tmp_path):
    project = new_project(aiven_env, pki)
    src = os.path.dirname(os.path.dirname(os.path.abspath(sys.modules["tlsconnect"].__file__)))
    env = dict(os.environ, PYTHONPATH=src)
    result = subprocess.run(
        [sys.executable, "-m", "tlsconnect", "fetch", project, "kafka-1", "-d", "out"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("wrote ca.pem, service.cert, service.key to ")
    assert (tmp_path / "out" / "service.key").read_bytes() == pki.client.key_pem
    assert_no_token(aiven_env, result.stdout, result.stderr)


# -- following the provider: CredentialsSource.from_aiven -----------------------------


def test_source_from_aiven_asks_again_after_the_interval_and_keeps_the_last_good(
    aiven_env, pki, caplog
):
    renewed = pki.issue_cert("api-renewed", common_name="avnadmin", is_client=True)
    project = new_project(aiven_env, pki)
    source = CredentialsSource.from_aiven(project, "kafka-1", interval=0.3)
    first = source.current()
    assert first.certificate.serial_number == pki.client.cert.serial_number
    asked = len(aiven_env.paths(project))
    assert source.current() is first and len(aiven_env.paths(project)) == asked  # cached
    # the API goes away: the last good material stays, and the token is in no log line
    aiven_env.forbidden.add(project)
    time.sleep(0.35)
    with caplog.at_level(logging.DEBUG):
        assert source.current() is first
        assert source.current() is first  # not asked again at once after a failure
    assert "previous material stays in use" in caplog.text and "403" in caplog.text
    assert_no_token(aiven_env, caplog.text, repr(source))
    # the provider renews the certificate (a new key); the source picks it up once the
    # API answers again (a failed fetch is retried after a minute, or on a new source)
    aiven_env.forbidden.discard(project)
    aiven_env.set_services(
        project,
        [
            service(
                "kafka-1",
                "kafka",
                "localhost",
                9093,
                users=[
                    service_user("avnadmin", cert_pem=renewed.cert_pem, key_pem=renewed.key_pem)
                ],
            )
        ],
    )
    fresh = CredentialsSource.from_aiven(project, "kafka-1", interval=0.3)
    assert fresh.current().certificate.serial_number == renewed.cert.serial_number


def test_source_from_aiven_picks_up_a_renewed_certificate(aiven_env, pki):
    renewed = pki.issue_cert("api-renewed-2", common_name="avnadmin", is_client=True)
    project = new_project(aiven_env, pki)
    source = CredentialsSource.from_aiven(project, "kafka-1", interval=0.2)
    assert source.current().certificate.serial_number == pki.client.cert.serial_number
    aiven_env.set_services(
        project,
        [
            service(
                "kafka-1",
                "kafka",
                "localhost",
                9093,
                users=[
                    service_user("avnadmin", cert_pem=renewed.cert_pem, key_pem=renewed.key_pem)
                ],
            )
        ],
    )
    time.sleep(0.25)
    assert source.refresh() is True and source.generation == 2
    assert source.current().certificate.serial_number == renewed.cert.serial_number
    assert "every 0.2 s" in repr(source)


def test_source_from_aiven_must_start_from_a_good_answer(aiven_env):
    with pytest.raises(ProviderAPIError) as info:
        CredentialsSource.from_aiven("no-such-project", "s")
    assert info.value.status == 404
    with pytest.raises(ConfigError, match="interval must be a positive number"):
        CredentialsSource.from_aiven("p", "s", interval=0)
