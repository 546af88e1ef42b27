"""Credentials from environment variables: every convention, PEM text and paths, the
forms platforms store PEM in, missing, partial and conflicting sets, hostile values; and
the command line's --from-env against the real servers. Values never appear in a
message or a repr."""

from __future__ import annotations

import base64
import json
import os
import shutil

import pytest

import tlsconnect
from tlsconnect import ConfigError, Credentials, CredentialsSource
from tlsconnect._cli import main

ALL_VARIABLES = [
    "KAFKA_CA_CERT",
    "KAFKA_ACCESS_CERT",
    "KAFKA_ACCESS_KEY",
    "SERVICEUSER_CA_CERT",
    "SERVICEUSER_ACCESS_CERT",
    "SERVICEUSER_ACCESS_KEY",
    "CA_CERT",
    "ACCESS_CERT",
    "ACCESS_KEY",
    "KAFKA_CA_PATH",
    "KAFKA_CERTIFICATE_PATH",
    "KAFKA_PRIVATE_KEY_PATH",
    "PGSSLROOTCERT",
    "PGSSLCERT",
    "PGSSLKEY",
]

TEXT_CONVENTIONS = {
    "kafka": ("KAFKA_CA_CERT", "KAFKA_ACCESS_CERT", "KAFKA_ACCESS_KEY"),
    "serviceuser": ("SERVICEUSER_CA_CERT", "SERVICEUSER_ACCESS_CERT", "SERVICEUSER_ACCESS_KEY"),
    "operator": ("CA_CERT", "ACCESS_CERT", "ACCESS_KEY"),
}
PATH_CONVENTIONS = {
    "kafka-path": ("KAFKA_CA_PATH", "KAFKA_CERTIFICATE_PATH", "KAFKA_PRIVATE_KEY_PATH"),
    "libpq": ("PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY"),
}


@pytest.fixture
def clean_env(monkeypatch):
    """No TLS variable of the machine (conftest points PGSSL* at nowhere) in the way."""
    for name in ALL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def material(pki):
    return pki.ca.cert_pem.decode(), pki.client.cert_pem.decode(), pki.client.key_pem.decode()


def assert_pair(creds, pki):
    assert creds.ca_certificates[0].subject == pki.ca.cert.subject
    assert creds.certificate.serial_number == pki.client.cert.serial_number
    assert creds.has_client_cert


def assert_nothing_leaked(text, *values):
    for value in values:
        for line in value.strip().splitlines():
            if "-----" not in line and len(line) > 16:
                assert line not in text
        assert value.strip() not in text


# -- each convention ----------------------------------------------------------------


@pytest.mark.parametrize("convention", sorted(TEXT_CONVENTIONS))
def test_each_text_convention_reads_pem_text(pki, convention):
    names = TEXT_CONVENTIONS[convention]
    creds = Credentials.from_env(dict(zip(names, material(pki), strict=True)))
    assert_pair(creds, pki)
    assert creds.ca_file().read_bytes() == pki.ca.cert_pem


@pytest.mark.parametrize("convention", sorted(PATH_CONVENTIONS))
def test_each_path_convention_reads_files_and_libpq_uses_them_as_they_are(pki, convention):
    names = PATH_CONVENTIONS[convention]
    paths = (pki.ca.cert_path, pki.client.cert_path, pki.client.key_path)
    creds = Credentials.from_env({n: str(p) for n, p in zip(names, paths, strict=True)})
    assert_pair(creds, pki)
    assert creds.ca_file() == pki.ca.cert_path and creds.key_file() == pki.client.key_path


def test_text_variables_may_hold_paths_too(pki):
    creds = Credentials.from_env(
        {
            "KAFKA_CA_CERT": str(pki.ca.cert_path),
            "KAFKA_ACCESS_CERT": str(pki.client.cert_path),
            "KAFKA_ACCESS_KEY": str(pki.client.key_path),
        }
    )
    assert_pair(creds, pki)


def test_the_ca_alone_is_enough(pki):
    creds = Credentials.from_env({"KAFKA_CA_CERT": pki.ca.cert_pem.decode()})
    assert creds.has_ca and not creds.has_client_cert


def test_environ_defaults_to_os_environ(pki, clean_env):
    clean_env.setenv("KAFKA_CA_PATH", str(pki.ca.cert_path))
    assert Credentials.from_env().has_ca


# -- the forms platforms store PEM in -----------------------------------------------


def _forms(pem: str) -> dict[str, str]:
    return {
        "escaped newlines": pem.replace("\n", "\\n"),
        "escaped CRLF": pem.replace("\n", "\\r\\n"),
        "CRLF": pem.replace("\n", "\r\n"),
        "flattened to spaces": " ".join(pem.split("\n")),
        "double quotes": f'"{pem}"',
        "single quotes, escaped": "'" + pem.replace("\n", "\\n") + "'",
        "base64 of the PEM file": base64.b64encode(pem.encode()).decode(),
        "base64, wrapped at 76": base64.encodebytes(pem.encode()).decode(),
    }


@pytest.mark.parametrize(
    "form",
    list(_forms("x")),
)
def test_pem_as_platforms_store_it(pki, form):
    ca, cert, key = material(pki)
    env = {
        "KAFKA_CA_CERT": _forms(ca)[form],
        "KAFKA_ACCESS_CERT": _forms(cert)[form],
        "KAFKA_ACCESS_KEY": _forms(key)[form],
    }
    assert_pair(Credentials.from_env(env), pki)


def test_base64_der_is_read(pki):
    from cryptography.hazmat.primitives import serialization

    der_ca = pki.ca.cert.public_bytes(serialization.Encoding.DER)
    der_cert = pki.client.cert.public_bytes(serialization.Encoding.DER)
    der_key = pki.client.key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    env = {
        "ACCESS_CERT": base64.b64encode(der_cert).decode(),
        "ACCESS_KEY": base64.b64encode(der_key).decode(),
        "CA_CERT": base64.b64encode(der_ca).decode(),
    }
    creds = Credentials.from_env(env)
    assert_pair(creds, pki)
    # libpq needs PEM: the key becomes a private PEM copy
    assert creds.key_file().read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    assert os.stat(creds.key_file()).st_mode & 0o077 == 0


def test_an_encrypted_key_takes_key_password(pki):
    env = {
        "KAFKA_CA_CERT": pki.ca.cert_pem.decode(),
        "KAFKA_ACCESS_CERT": pki.client.cert_pem.decode(),
        "KAFKA_ACCESS_KEY": pki.client_key_encrypted_path.read_text().replace("\n", "\\n"),
    }
    with pytest.raises(ConfigError, match="no key_password"):
        Credentials.from_env(env)
    creds = Credentials.from_env(env, key_password=pki.client_key_password)
    assert creds.key_encrypted


# -- missing, partial, conflicting ----------------------------------------------------


def test_none_found_names_every_variable_looked_for():
    with pytest.raises(ConfigError) as info:
        Credentials.from_env({"HOME": "/root", "KAFKA_CA_CERT": "  "})
    message = str(info.value)
    for name in ALL_VARIABLES:
        assert name in message


def test_none_found_for_one_convention_names_its_variables(pki):
    with pytest.raises(ConfigError, match="looked for PGSSLROOTCERT, PGSSLCERT, PGSSLKEY;"):
        Credentials.from_env({"KAFKA_CA_CERT": pki.ca.cert_pem.decode()}, convention="libpq")


def test_unknown_convention_lists_them():
    with pytest.raises(ConfigError, match="kafka, serviceuser, operator, kafka-path, libpq"):
        Credentials.from_env({}, convention="heroku")


@pytest.mark.parametrize(("have", "lack"), [("cert", "key"), ("key", "cert")])
@pytest.mark.parametrize("convention", ["kafka", "operator", "kafka-path", "libpq"])
def test_a_certificate_without_its_key_is_a_config_error(pki, convention, have, lack):
    names = {**TEXT_CONVENTIONS, **PATH_CONVENTIONS}[convention]
    _, cert_name, key_name = names
    paths = convention in PATH_CONVENTIONS
    value = {
        "cert": str(pki.client.cert_path) if paths else pki.client.cert_pem.decode(),
        "key": str(pki.client.key_path) if paths else pki.client.key_pem.decode(),
    }
    env = {(cert_name if have == "cert" else key_name): value[have]}
    with pytest.raises(ConfigError) as info:
        Credentials.from_env(env)
    lacking = key_name if lack == "key" else cert_name
    assert f"but {lacking} is not" in str(info.value)
    assert_nothing_leaked(
        str(info.value), pki.client.key_pem.decode(), pki.client.cert_pem.decode()
    )


def test_conventions_that_agree_are_fine(pki):
    ca, cert, key = material(pki)
    env = {
        "KAFKA_CA_CERT": ca.replace("\n", "\\n"),
        "KAFKA_ACCESS_CERT": cert,
        "KAFKA_ACCESS_KEY": key,
        "CA_CERT": ca,  # an operator secret mounted with envFrom gives both spellings
        "PGSSLROOTCERT": str(pki.ca.cert_path),
    }
    assert_pair(Credentials.from_env(env), pki)


def test_conventions_that_disagree_name_both_variables_and_how_to_choose(pki):
    ca, cert, key = material(pki)
    env = {
        "KAFKA_CA_CERT": ca,
        "KAFKA_ACCESS_CERT": cert,
        "KAFKA_ACCESS_KEY": key,
        "PGSSLROOTCERT": str(pki.other_ca.cert_path),
    }
    with pytest.raises(ConfigError) as info:
        Credentials.from_env(env)
    message = str(info.value)
    assert "KAFKA_CA_CERT and PGSSLROOTCERT both give the CA" in message
    assert "convention=" in message and "--env-convention" in message
    assert_nothing_leaked(message, ca, key)
    # choosing one settles it
    assert_pair(Credentials.from_env(env, convention="kafka"), pki)
    assert Credentials.from_env(env, convention="libpq").ca_certificates[0].subject == (
        pki.other_ca.cert.subject
    )


def test_two_client_certificates_that_differ_are_refused(pki):
    other = pki.other_client
    env = {
        "KAFKA_ACCESS_CERT": pki.client.cert_pem.decode(),
        "KAFKA_ACCESS_KEY": pki.client.key_pem.decode(),
        "KAFKA_CERTIFICATE_PATH": str(other.cert_path),
        "KAFKA_PRIVATE_KEY_PATH": str(other.key_path),
    }
    with pytest.raises(
        ConfigError, match="KAFKA_ACCESS_CERT and KAFKA_CERTIFICATE_PATH both give the client"
    ):
        Credentials.from_env(env)


def test_generic_names_holding_other_things_are_skipped(pki):
    env = {
        "ACCESS_KEY": "AKIAIOSFODNN7EXAMPLE",  # another cloud's access key
        "CA_CERT": "/etc/ssl/certs/ca-certificates.crt-not-here",
        "KAFKA_CA_CERT": pki.ca.cert_pem.decode(),
    }
    creds = Credentials.from_env(env)
    assert creds.has_ca and not creds.has_client_cert


def test_libpq_system_root_cert_says_to_use_trust_system():
    with pytest.raises(ConfigError, match="trust='system'"):
        Credentials.from_env({"PGSSLROOTCERT": "system"})


def test_pem_in_a_path_variable_says_where_text_goes(pki):
    with pytest.raises(ConfigError) as info:
        Credentials.from_env({"KAFKA_CA_PATH": pki.ca.cert_pem.decode()})
    assert "KAFKA_CA_PATH holds PEM text, but it names a file" in str(info.value)
    assert "KAFKA_CA_CERT" in str(info.value)
    assert_nothing_leaked(str(info.value), pki.ca.cert_pem.decode())


def test_a_missing_file_in_a_path_variable_names_the_path(tmp_path):
    missing = tmp_path / "mounted" / "ca.pem"
    with pytest.raises(ConfigError) as info:
        Credentials.from_env({"KAFKA_CA_PATH": str(missing)})
    assert f"KAFKA_CA_PATH file '{missing}' does not exist" in str(info.value)


# -- hostile values ------------------------------------------------------------------

SECRETISH = "hunter2-this-is-a-secret-value-0123456789"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (SECRETISH, "holds neither PEM text"),
        (SECRETISH * 200_000, "larger than"),
        ("\x00\x01\x02binary\xff\xfe" + SECRETISH, "holds neither PEM text"),
        ("-----BEGIN CERTIFICATE-----\n" + SECRETISH + "\n", "no complete PEM certificate"),
        (
            "-----BEGIN CERTIFICATE-----\nnot base64 at all: "
            + SECRETISH
            + "\n-----END CERTIFICATE-----\n",
            "malformed",
        ),
        ("-----BEGIN CERTIFICATE-----\n\u00e9" + SECRETISH, "characters that cannot be in PEM"),
        (base64.b64encode(b"\x30" + SECRETISH.encode() * 4).decode(), "neither a PEM nor a DER"),
    ],
    ids=["word", "huge", "binary", "truncated", "garbage-body", "non-ascii", "base64-junk"],
)
def test_hostile_values_are_config_errors_that_leak_nothing(value, expected):
    env = {"KAFKA_CA_CERT": value}
    with pytest.raises(ConfigError) as info:
        Credentials.from_env(env)
    message = str(info.value)
    assert expected in message and "KAFKA_CA_CERT" in message
    assert SECRETISH not in message and SECRETISH[:20] not in message
    assert SECRETISH not in repr(info.value)


def test_a_key_where_the_certificate_belongs_names_the_variable_not_the_key(pki):
    key = pki.client.key_pem.decode()
    env = {"KAFKA_ACCESS_CERT": key, "KAFKA_ACCESS_KEY": key}
    with pytest.raises(ConfigError) as info:
        Credentials.from_env(env)
    message = str(info.value)
    assert "KAFKA_ACCESS_CERT (PEM text from the environment) holds a private key" in message
    assert_nothing_leaked(message, key)


def test_a_certificate_where_the_key_belongs(pki):
    cert = pki.client.cert_pem.decode()
    env = {"KAFKA_ACCESS_CERT": cert, "KAFKA_ACCESS_KEY": cert}
    with pytest.raises(ConfigError, match="KAFKA_ACCESS_KEY .* holds a certificate, not"):
        Credentials.from_env(env)


def test_a_key_of_another_certificate(pki):
    env = {
        "KAFKA_ACCESS_CERT": pki.client.cert_pem.decode(),
        "KAFKA_ACCESS_KEY": pki.other_client.key_pem.decode(),
    }
    with pytest.raises(ConfigError, match="does not belong to the certificate"):
        Credentials.from_env(env)


def test_values_never_show_in_reprs(pki):
    ca, cert, key = material(pki)
    env = {"KAFKA_CA_CERT": ca, "KAFKA_ACCESS_CERT": cert, "KAFKA_ACCESS_KEY": key}
    creds = Credentials.from_env(env)
    source = CredentialsSource.from_env(env)
    for text in (repr(creds), str(creds), repr(source), repr(source.current())):
        assert_nothing_leaked(text, key, cert)


def test_non_string_values_are_refused(pki):
    with pytest.raises(ConfigError, match="KAFKA_CA_CERT must be a string"):
        Credentials.from_env({"KAFKA_CA_CERT": pki.ca.cert_pem})  # type: ignore[dict-item]


# -- following the environment: CredentialsSource.from_env -------------------------


def test_source_from_env_follows_a_file_swapped_under_a_path_variable(tmp_path, pki, caplog):
    """A Kubernetes secret volume replaces its files in place; a path variable names them."""
    first, second = (
        pki.issue_cert(f"env-rotation-{n}", common_name="avnadmin", is_client=True) for n in (1, 2)
    )
    mounted = tmp_path / "secret"
    mounted.mkdir()
    for source, name in ((pki.ca.cert_path, "ca.crt"), (first.cert_path, "tls.crt")):
        shutil.copyfile(source, mounted / name)
    shutil.copyfile(first.key_path, mounted / "tls.key")
    env = {
        "KAFKA_CA_PATH": str(mounted / "ca.crt"),
        "KAFKA_CERTIFICATE_PATH": str(mounted / "tls.crt"),
        "KAFKA_PRIVATE_KEY_PATH": str(mounted / "tls.key"),
    }
    source = CredentialsSource.from_env(env)
    creds = source.current()
    assert creds.certificate.serial_number == first.cert.serial_number
    assert source.current() is creds and source.refresh() is False
    # half-way: the new certificate is there, its key not yet
    staged = mounted / ".tls.crt.new"
    shutil.copyfile(second.cert_path, staged)
    os.replace(staged, mounted / "tls.crt")
    assert source.current() is creds
    assert "previous material stays in use" in caplog.text
    staged = mounted / ".tls.key.new"
    shutil.copyfile(second.key_path, staged)
    os.replace(staged, mounted / "tls.key")
    assert source.current().certificate.serial_number == second.cert.serial_number
    assert source.generation == 2


def test_source_from_env_follows_a_changed_variable(pki):
    env = {"KAFKA_CA_CERT": pki.ca.cert_pem.decode()}
    source = CredentialsSource.from_env(env)
    assert source.current().ca_certificates[0].subject == pki.ca.cert.subject
    env["KAFKA_CA_CERT"] = pki.other_ca.cert_pem.decode().replace("\n", "\\n")
    assert source.refresh() is True
    assert source.current().ca_certificates[0].subject == pki.other_ca.cert.subject


def test_source_from_env_must_start_from_good_material():
    with pytest.raises(ConfigError, match="no TLS material"):
        CredentialsSource.from_env({})


# -- the command line -----------------------------------------------------------------


def test_check_from_env_against_real_kafka_with_escaped_pem(kafka, pki, clean_env, capsys):
    ca, cert, key = material(pki)
    clean_env.setenv("KAFKA_CA_CERT", ca.replace("\n", "\\n"))
    clean_env.setenv("KAFKA_ACCESS_CERT", cert.replace("\n", "\\n"))
    clean_env.setenv("KAFKA_ACCESS_KEY", base64.b64encode(key.encode()).decode())
    code = main(["check", f"kafka://localhost:{kafka.good.port}", "--from-env", "--json"])
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert code == 0, captured
    assert data["ok"] and data["chain_verified"] and data["client_cert_sent"]
    assert_nothing_leaked(captured.out + captured.err, key)


def test_check_from_env_against_real_postgresql_with_libpq_variables(pg, pki, clean_env, capsys):
    clean_env.setenv("PGSSLROOTCERT", str(pki.ca.cert_path))
    clean_env.setenv("PGSSLCERT", str(pki.client.cert_path))
    clean_env.setenv("PGSSLKEY", str(pki.client.key_path))
    code = main(["check", f"postgresql://localhost:{pg.good.port}/defaultdb", "--from-env"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("OK, verified") and "client certificate sent: yes" in out


def test_check_from_env_with_nothing_set_exits_2_naming_the_variables(pg, clean_env, capsys):
    code = main(["check", f"postgresql://localhost:{pg.good.port}/defaultdb", "--from-env"])
    err = capsys.readouterr().err
    assert code == 2
    assert "KAFKA_CA_CERT" in err and "PGSSLROOTCERT" in err


def test_env_convention_picks_one_and_implies_from_env(pg, pki, clean_env, capsys):
    clean_env.setenv("KAFKA_CA_CERT", pki.other_ca.cert_pem.decode())
    clean_env.setenv("PGSSLROOTCERT", str(pki.ca.cert_path))
    uri = f"postgresql://localhost:{pg.good.port}/defaultdb"
    assert main(["check", uri, "--from-env"]) == 2
    assert "both give the CA" in capsys.readouterr().err
    assert main(["check", uri, "--env-convention", "libpq"]) == 0


def test_from_env_and_files_together_is_bad_usage(pki, clean_env, capsys):
    code = main(["check", "localhost:1", "--service", "pg", "--from-env", "--ca", "x.pem"])
    assert code == 2
    assert "--from-env and --credentials-dir/--ca/--cert/--key" in capsys.readouterr().err


def test_config_from_env_names_the_files_path_variables_give(pki, clean_env, capsys):
    clean_env.setenv("PGSSLROOTCERT", str(pki.ca.cert_path))
    code = main(["config", "--driver", "psycopg", "postgres://h:5432/db", "--from-env"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"sslrootcert={pki.ca.cert_path}" in out


def test_config_from_env_text_needs_an_output_dir_then_writes_there(
    pki, clean_env, tmp_path, capsys
):
    ca, cert, key = material(pki)
    for name, value in zip(TEXT_CONVENTIONS["kafka"], (ca, cert, key), strict=True):
        clean_env.setenv(name, value.replace("\n", "\\n"))
    args = ["config", "--driver", "kafka-python", "kafka://h:9093", "--from-env"]
    assert main(args) == 2
    assert "--output-dir" in capsys.readouterr().err
    out_dir = tmp_path / "out"
    assert main([*args, "--output-dir", str(out_dir)]) == 0
    captured = capsys.readouterr()
    config = json.loads(captured.out)
    assert config["ssl_cafile"] == str(out_dir / "ca.pem")
    assert (out_dir / "service.key").read_bytes().strip() == pki.client.key_pem.strip()
    assert os.stat(out_dir / "service.key").st_mode & 0o077 == 0
    assert_nothing_leaked(captured.out + captured.err, key)


def test_from_env_is_public_api():
    assert tlsconnect.Credentials.from_env.__doc__
    assert tlsconnect.CredentialsSource.from_env.__doc__
