"""No password from a target reaches a message or a report: every form a target takes
(URIs of every scheme, libpq ``key=value`` strings with ``password=`` and
``sslpassword=``, ``user:password@host:port``), through every way it is reported
(``str(exc)``, ``check``'s report as text, JSON and HTML, the command line's standard
output and standard error)."""

from __future__ import annotations

import json

import pytest

import tlsconnect
from tlsconnect import ConfigError
from tlsconnect._cli import main
from tlsconnect._target import redact_target

# Two halves of every secret: neither may be shown, even where the target is so malformed
# that the parser cannot tell the password from the host (a '/' or '?' in it).
A, B = "Pw9xK", "Qz7kM"
SECRET = A + B


def _assert_hidden(*texts: str) -> None:
    for text in texts:
        assert A not in text and B not in text, text


# (target, service for check, driver for params): each is malformed in a way that makes
# an error that names the target, with the secret in a different place.
BAD_TARGETS = [
    (f"opensearch://admin:{SECRET}@host", None, "opensearch"),  # no port
    (f"kafka://avnadmin:{SECRET}@host", None, "kafka-python"),  # no port
    (f"https://admin:{SECRET}@host:99999", "opensearch", "httpx"),  # port out of range
    (f"mysql://avnadmin:{SECRET}@host:abc/defaultdb", None, "pymysql"),  # port not a number
    (f"rediss://default:{SECRET}@host:99999", None, "redis"),
    (f"cassandra://avnadmin:{SECRET}@host:0", None, "cassandra"),
    (f"postgres://avnadmin:{SECRET}@host:99999/db?sslmode=require", None, "psycopg"),
    (f"postgres://avnadmin@host:99999/db?sslpassword={SECRET}", None, "psycopg"),
    (f"postgresql+asyncpg://avnadmin:{SECRET}@host:99999/db", None, "sqlalchemy"),
    # a password with '/', '?' or '@' that was not percent-encoded
    (f"opensearch://admin:{A}/{B}@host:9200", None, "opensearch"),
    (f"mysql://avnadmin:{A}?{B}@host:3306/db", None, "pymysql"),
    (f"mysql://avnadmin:{A}/{B}@host:3306/db", None, "pymysql"),
    (f"postgres://avnadmin:{A}/{B}@host:5432/db", None, "psycopg"),
    (f"rediss://default:{A}#{B}@host:6380", None, "redis"),
    # host:port with user information and no scheme
    (f"admin:{SECRET}@host", "opensearch", "opensearch"),
    (f"default:{SECRET}@host:abc", "redis", "redis"),
    # libpq key=value strings: password=, sslpassword=, quoted, escaped, unquoted space
    (f"host=h port=99999 password={SECRET} sslpassword={SECRET}", None, "psycopg"),
    (f"host=h port=99999 password='{A} {B}'", None, "psycopg"),
    (f"host=h port=99999 password={A}\\ {B}", None, "psycopg"),
    (f"host=h password={A} {B} dbname=x", None, "psycopg"),
]


@pytest.mark.parametrize(("target", "service", "driver"), BAD_TARGETS)
def test_no_error_made_from_a_target_shows_its_password(target, service, driver, capsys):
    with pytest.raises(ConfigError) as checked:
        tlsconnect.check(target, service=service, timeout=1)
    with pytest.raises(ConfigError) as made:
        tlsconnect.params(driver, target)
    _assert_hidden(str(checked.value), str(made.value), redact_target(target))
    argv = ["check", target, "--timeout", "1"] + (["--service", service] if service else [])
    assert main(argv) == 2
    assert main([*argv, "--json"]) == 2
    config = ["config", "--driver", "psycopg" if driver == "sqlalchemy" else driver, target]
    assert main(config) == 2
    out, err = capsys.readouterr()
    assert err.count("tlsconnect: ") >= 3  # each run said what was wrong
    _assert_hidden(out, err)


def test_the_message_still_names_the_target_with_the_user_kept():
    with pytest.raises(ConfigError) as info:
        tlsconnect.check(f"opensearch://admin:{SECRET}@host")
    assert "target 'opensearch://admin:***@host' has no port" in str(info.value)
    with pytest.raises(ConfigError, match="percent-encode"):
        tlsconnect.params("opensearch", f"opensearch://admin:{A}/{B}@host:9200")


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        (f"opensearch://admin:{SECRET}@host", "opensearch://admin:***@host"),
        (f"admin:{SECRET}@host:9200", "admin:***@host:9200"),
        (f"mysql://u:{A}@{B}@h:3306/db", "mysql://u:***@h:3306/db"),
        (f"mysql://u:{A}/{B}@h:3306/db?x=1", "mysql://u:***@h:3306/db?x=1"),
        (
            f"postgres://u:{SECRET}@h1:5432,h2:5433/db?sslpassword={SECRET}&sslmode=require",
            "postgres://u:***@h1:5432,h2:5433/db?sslpassword=***&sslmode=require",
        ),
        (f"host=h sslpassword={SECRET} user=u", "host=h sslpassword=*** user=u"),
        (f"host=h password = '{A} \\' {B}' user=u", "host=h password = *** user=u"),
        (f"host=h password={A} {B} user=u", "host=h password=*** user=u"),
        ("kafka://host:9092,other:9092", "kafka://host:9092,other:9092"),
        ("host=h user=u@example.com", "host=h user=u@example.com"),
    ],
)
def test_redaction_keeps_the_user_and_hides_the_password(target, shown):
    assert redact_target(target) == shown


def test_a_live_report_never_shows_the_password_of_its_target(pg_server, pki, capsys):
    server = pg_server("good")
    target = (
        f"postgresql://avnadmin:{SECRET}@{server.host}:{server.port}/db"
        f"?sslpassword={SECRET}&sslmode=verify-full"
    )
    pair = {"ca": pki.ca_pem, "cert": pki.client.cert_path, "key": pki.client.key_path}
    report = tlsconnect.check(target, **pair)
    assert report.ok, report.error
    assert report.target.startswith("postgresql://avnadmin:***@")
    _assert_hidden(str(report), json.dumps(report.to_dict()), report._repr_html_(), repr(report))
    given = [f"--{name}={path}" for name, path in pair.items()]
    assert main(["check", target, *given]) == 0
    assert main(["check", target, *given, "--json"]) == 0
    out, err = capsys.readouterr()
    assert "verified" in out
    _assert_hidden(out, err)
