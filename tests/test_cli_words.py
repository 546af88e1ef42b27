"""The command line speaks its own words: every message it prints names its flags, never
the library's Python keywords; and the rough edges a new user meets (config's --service and
--trust, one key for a written-out context, plaintext and misspelt schemes, inspect's
directories, standard input and exit codes)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys

import pytest

from tlsconnect import MissingDependencyError
from tlsconnect._cli import FLAGS, cli_words, main
from tlsconnect.adapters import ADAPTERS

#: A library keyword as Python spells it (``ca='ca.pem'``, ``key_password=...``,
#: ``service=``): what no message of the command line may show.
PYTHON_WORDS = re.compile(
    r"(?<![\w.-])(?:" + "|".join([*FLAGS, "token", "user", "sasl_username", "sasl_password"]) + r")"
    r"=(?:'|\"|\.\.\.|(?=[\s,;)]|$))"
    r"|\bkey_password\b|Credentials[.(]"
)


def run(capsys, argv, monkeypatch=None, env=None):
    if env:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def speaks_flags(text: str) -> None:
    found = PYTHON_WORDS.search(text)
    assert found is None, f"a Python keyword ({found.group(0)!r}) in: {text}"


def pg_uri(server, host="localhost", query=""):
    return f"postgresql://{host}:{server.port}/defaultdb{query}"


@pytest.fixture
def no_ca_dir(pki, tmp_path):
    """A credentials directory as downloaded, but without its ca.pem."""
    directory = tmp_path / "creds-no-ca"
    directory.mkdir()
    for name in ("service.cert", "service.key"):
        shutil.copy(pki.creds_dir / name, directory / name)
    return directory


def cases(pki, no_ca_dir):
    """(argv, environment, what the message must say)."""
    ca, cert = pki.ca_pem, pki.client.cert_path
    encrypted = pki.client_key_encrypted_path
    pg = "postgresql://localhost:5432/defaultdb"
    return [
        (
            ["config", "--driver", "psycopg", pg, "--ca", ca, "--cert", cert, "--key", encrypted],
            {},
            "pass --password-env NAME",
        ),
        (
            [
                *["config", "--driver", "psycopg", pg, "--ca", ca, "--cert", cert],
                *["--key", encrypted, "--password-env", "TLSCONNECT_TEST_PW"],
            ],
            {"TLSCONNECT_TEST_PW": "wrong"},
            "(--password-env NAME)",
        ),
        (["config", "--driver", "psycopg", pg], {}, "pass --ca ca.pem"),
        (["check", "localhost:5432"], {}, "--service"),
        (["check", "https://localhost:1"], {}, "--service opensearch"),
        (
            ["config", "--driver", "psycopg", pg, "--cert", cert, "--key", pki.directory],
            {},
            "--credentials-dir DIR",
        ),
        (["check", pg, "--credentials-dir", no_ca_dir], {}, "--ca"),
        (["config", "--driver", "psycopg", pg, "--credentials-dir", no_ca_dir], {}, "--ca"),
        (["check", pg, "--trust", "project"], {}, "--ca ca.pem"),
        (
            ["config", "--driver", "psycopg", pg, "--from-env"],
            {"PGSSLROOTCERT": str(ca), "KAFKA_CA_CERT": str(pki.other_ca_pem)},
            "--env-convention NAME",
        ),
        (
            ["config", "--driver", "psycopg", pg, "--from-env"],
            {"PGSSLROOTCERT": "system"},
            "--trust system",
        ),
        (
            ["config", "--driver", "kafka-python", "kafka://localhost:1", "--ca", ca],
            {},
            "--cert service.cert",
        ),
        (
            ["config", "--driver", "pg8000", "postgres://localhost:1/db", "--ca", ca],
            {},
            "postgres://USER@",
        ),
        (["config", "--driver", "psycopg", pg, "--service", "redis"], {}, "not --service redis"),
        (["check", "postgress://localhost:1/db"], {}, "did you mean postgres://"),
        (["config", "--driver", "redis", "redis://localhost:1"], {}, "use rediss://localhost:1"),
    ]


def test_every_error_names_the_flags_not_python_keywords(pki, no_ca_dir, capsys, monkeypatch):
    for name in ("PGSSLROOTCERT", "PGSSLCERT", "PGSSLKEY", "KAFKA_CA_CERT"):
        monkeypatch.delenv(name, raising=False)
    for argv, env, expected in cases(pki, no_ca_dir):
        with monkeypatch.context() as patched:
            code, out, err = run(capsys, argv, patched, env)
        assert code == 2, (argv, out, err)
        assert expected in err, (argv, err)
        speaks_flags(err)


def test_a_credentials_directory_without_ca_pem_is_named_with_what_it_holds(pki, no_ca_dir, capsys):
    for command in ("check", "config"):
        driver = ["--driver", "psycopg"] if command == "config" else []
        code, _, err = run(
            capsys,
            [command, *driver, "postgresql://localhost:1/db", "--credentials-dir", no_ca_dir],
        )
        assert code == 2
        assert f"'{no_ca_dir}' has no ca.pem" in err
        assert "it holds: service.cert, service.key" in err
        speaks_flags(err)


def test_the_insecure_warning_and_a_checks_fix_name_flags(pg, pki, capsys):
    # No CA under require: the warning says which flags make it verify.
    code, out, err = run(
        capsys, ["config", "--driver", "psycopg", pg_uri(pg.good), "--sslmode", "require"]
    )
    assert code == 0, out + err
    assert "warning:" in err and "--sslmode verify-full" in err and "--ca ca.pem" in err
    speaks_flags(err)
    # The console's sslmode=require, raised to verify-full: the fix for a host name that
    # cannot match is --sslmode verify-ca, in the text and in the JSON.
    wrong = pg_uri(pg.wronghost, query="?sslmode=require")
    code, out, err = run(capsys, ["check", wrong, "--ca", pki.ca_pem])
    assert code == 1 and "--sslmode verify-ca" in out
    speaks_flags(out)
    code, out, _ = run(capsys, ["check", wrong, "--ca", pki.ca_pem, "--json"])
    report = json.loads(out)
    assert code == 1 and report["error_class"] == "hostname_mismatch"
    assert "--sslmode verify-ca" in report["fix"]
    speaks_flags(report["fix"] + report["error"])


def test_the_translation_leaves_code_and_other_words_alone():
    # Usage notes are code the user runs: no flag may be written into them.
    for adapter in ADAPTERS.values():
        if adapter.usage:
            assert cli_words(adapter.usage) == adapter.usage, adapter.driver
    for text in ("sslmode=require inside the target", "host=... port=... dbname=..."):
        assert cli_words(text) == text
    assert cli_words("pass service= (--service), e.g. service='x'") == (
        "pass --service, e.g. --service x"
    )
    for said in (
        "key_password= was given without key=; pass the key too",
        "key_password is not UTF-8 text",
        "pass sslmode=, trust= or the material",
        "use Credentials(ca=..., cert=..., key=...) or Credentials.from_directory(path)",
    ):
        speaks_flags(cli_words(said))


def test_a_missing_driver_is_named_by_its_flag():
    from tlsconnect.adapters import require_driver

    adapter = ADAPTERS[next(iter(ADAPTERS))]
    for function in (adapter.function, None):
        stand_in = type(adapter)(
            adapter.driver,
            module="tlsconnect_no_such_module",
            extra=adapter.extra,
            parse=adapter.parse,
            build=adapter.build,
            function=function,
        )
        with pytest.raises(MissingDependencyError) as caught:
            require_driver(stand_in)
        said = cli_words(str(caught.value))
        name = adapter.driver.value
        assert said.startswith(f"--driver {name} needs {name}, which is not installed"), said
        assert f'pip install "tlsconnect[{adapter.extra}]"' in said
        speaks_flags(said)


# -- config: --service, --trust, one key ----------------------------------------------------


def test_config_takes_service_and_trust(pki, capsys):
    import certifi

    https = "https://localhost:1"
    code, out, err = run(capsys, ["config", "--driver", "httpx", https, "--ca", pki.ca_pem])
    assert code == 0, err
    assert json.loads(out)["tls"]["cafiles"] == [str(pki.ca_pem), certifi.where()]
    code, out, err = run(
        capsys, ["config", "--driver", "httpx", https, "--ca", pki.ca_pem, "--trust", "project"]
    )
    assert code == 0, err
    assert json.loads(out)["tls"]["cafiles"] == [str(pki.ca_pem)]
    # A driver whose target leaves the service open is handed --service.
    code, out, err = run(
        capsys, ["config", "--driver", "redis", "localhost:6379", "--service", "valkey"]
    )
    assert code == 0, err
    code, out, err = run(
        capsys, ["config", "--driver", "redis", "localhost:6379", "--service", "kafka"]
    )
    assert code == 2 and "redis or valkey, not --service kafka" in err
    # --trust system: the operating system's CA file, not certifi's.
    code, out, err = run(
        capsys, ["config", "--driver", "psycopg", "postgresql://h:1/db", "--trust", "system"]
    )
    assert code == 0, err
    assert "sslmode=verify-full" in out and "sslrootcert=" in out
    assert certifi.where() not in out


@pytest.mark.parametrize(
    ("driver", "target"),
    [
        ("asyncpg", "postgresql://u@localhost:5432/db"),
        ("pg8000", "postgresql://u@localhost:5432/db"),
        ("redis", "rediss://localhost:6379"),
        ("aiomysql", "mysql://u@localhost:3306/db"),
        ("httpx", "https://localhost:1"),
        ("cassandra", "cassandra://localhost:9042"),
        ("aiokafka", "kafka://localhost:9092"),
    ],
)
def test_every_written_out_context_is_under_one_key(driver, target, pki, capsys):
    material = ["--ca", pki.ca_pem]
    if driver == "aiokafka":
        material = ["--credentials-dir", pki.creds_dir]
    code, out, err = run(capsys, ["config", "--driver", driver, target, *material])
    assert code == 0, err
    cfg = json.loads(out)
    assert set(cfg["tls"]) >= {"cafiles", "check_hostname", "verify_mode", "certfile"}
    assert "ssl_context" not in cfg
    assert 'cfg.pop("tls")' in err or "cfg.pop('tls')" in err


# -- inspect ------------------------------------------------------------------------------


def test_inspect_takes_a_credentials_directory(pki, tmp_path, capsys):
    directory = tmp_path / "creds"
    shutil.copytree(pki.creds_dir, directory)
    (directory / "notes.txt").write_text("not a certificate\n")
    code, out, err = run(capsys, ["inspect", directory])
    assert code == 0, err
    assert out.index("ca.pem #1") < out.index("service.cert #1") < out.index("service.key #1")
    assert "service.key #1 (private key) matches" in out
    assert "notes.txt skipped: not a certificate or key" in out


def test_inspect_of_an_empty_directory_says_so(tmp_path, capsys):
    code, _, err = run(capsys, ["inspect", tmp_path])
    assert code == 2 and f"directory '{tmp_path}' holds no files" in err


def test_inspect_reads_standard_input_and_exits_1_for_a_key_that_matches_nothing(pki):
    """As a whole process: the exit codes and standard input are the shell's."""
    command = [sys.executable, "-m", "tlsconnect", "inspect"]
    piped = subprocess.run(
        [*command, "-", str(pki.client.key_path)],
        input=pki.client.cert_path.read_bytes(),
        capture_output=True,
        timeout=60,
    )
    assert piped.returncode == 0, piped.stderr
    assert b"<stdin> #1: certificate" in piped.stdout
    assert b"(private key) matches <stdin> #1 (avnadmin)" in piped.stdout

    mismatched = subprocess.run(
        [*command, str(pki.other_client.cert_path), str(pki.client.key_path)],
        capture_output=True,
        timeout=60,
    )
    assert mismatched.returncode == 1, mismatched.stderr
    assert b"matches none of the certificates given" in mismatched.stderr
    # A key alone has nothing to match: no failure.
    alone = subprocess.run([*command, str(pki.client.key_path)], capture_output=True, timeout=60)
    assert alone.returncode == 0, alone.stderr


def test_inspect_of_empty_standard_input_is_bad_input(capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    code, _, err = run(capsys, ["inspect", "-"])
    assert code == 2 and "standard input is empty" in err


def test_a_plaintext_scheme_exits_2_naming_the_tls_scheme_as_a_process():
    done = subprocess.run(
        [sys.executable, "-m", "tlsconnect", "check", "redis://localhost:1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "redis:// is plaintext" in done.stderr and "use rediss://localhost:1 " in done.stderr
    speaks_flags(done.stderr)
