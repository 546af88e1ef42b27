"""Targets as the console shows them: URIs of every scheme, their TLS words, and errors."""

from __future__ import annotations

import urllib.parse

import pytest

import tlsconnect
from tlsconnect import ConfigError, Service
from tlsconnect._conninfo import unquote as target_unquote
from tlsconnect._target import parse_target, uri_sslmode


@pytest.mark.parametrize(
    ("uri", "service", "host", "port", "user", "password", "dbname", "sslmode"),
    [
        (
            "mysql://avnadmin:pa%40ss@mysql-x.aivencloud.com:12691/defaultdb?ssl-mode=REQUIRED",
            Service.MYSQL,
            "mysql-x.aivencloud.com",
            12691,
            "avnadmin",
            "pa@ss",
            "defaultdb",
            "require",
        ),
        (
            "mysql://u@h:3306/db?ssl-mode=VERIFY_IDENTITY",
            Service.MYSQL,
            "h",
            3306,
            "u",
            None,
            "db",
            "verify-full",
        ),
        (
            "mysql://u@h:3306/db?ssl_mode=verify_ca",
            Service.MYSQL,
            "h",
            3306,
            "u",
            None,
            "db",
            "verify-ca",
        ),
        (
            "rediss://default:secret@redis-x.aivencloud.com:12692",
            Service.REDIS,
            "redis-x.aivencloud.com",
            12692,
            "default",
            "secret",
            None,
            None,
        ),
        ("rediss://h:1?ssl_cert_reqs=none", Service.REDIS, "h", 1, None, None, None, "require"),
        (
            "rediss://h:1?ssl_cert_reqs=required&ssl_check_hostname=false",
            Service.REDIS,
            "h",
            1,
            None,
            None,
            None,
            "verify-ca",
        ),
        ("valkeys://h:1", Service.VALKEY, "h", 1, None, None, None, None),
        (
            "clickhouse://avnadmin:secret@ch-x.aivencloud.com:24950/analytics",
            Service.CLICKHOUSE,
            "ch-x.aivencloud.com",
            24950,
            "avnadmin",
            "secret",
            "analytics",
            None,
        ),
        (
            "clickhouses://u@h/db?secure=true",
            Service.CLICKHOUSE,
            "h",
            9440,
            "u",
            None,
            "db",
            "require",
        ),
        (
            "https://os-x.aivencloud.com:443",
            None,
            "os-x.aivencloud.com",
            443,
            None,
            None,
            None,
            None,
        ),
        ("https://[::1]:8443/base?verify=false", None, "::1", 8443, None, None, None, "require"),
    ],
)
def test_console_uris_are_read_with_user_password_database_and_tls_words(
    uri, service, host, port, user, password, dbname, sslmode
):
    target = parse_target(uri, service or "opensearch")
    assert (target.service, target.host, target.port) == (
        service or Service.OPENSEARCH,
        host,
        port,
    )
    assert (target.user, target.password, target.dbname, target.sslmode) == (
        user,
        password,
        dbname,
        sslmode,
    )
    assert "pa@ss" not in repr(target) and "secret" not in repr(target)


@pytest.mark.parametrize(
    "uri",
    [
        "redis://h:6379",
        "http://h:80",
        "mysql://h:1/db?ssl-mode=DISABLED",
        "mysql://h:1/?ssl-mode=PREFERRED",
    ],
)
def test_plaintext_uris_are_refused_unless_the_caller_asks_for_verification(uri, pki):
    service = "redis" if uri.startswith("redis") else "mysql" if "mysql" in uri else "opensearch"
    target = parse_target(uri, service)
    with pytest.raises(ConfigError, match="without TLS"):
        tlsconnect.resolve(service, sslmode=target.sslmode)


def test_https_without_a_service_says_to_pass_one():
    with pytest.raises(ConfigError, match="service="):
        parse_target("https://h:443")


def test_a_scheme_that_contradicts_the_service_is_refused():
    with pytest.raises(ConfigError, match="mysql"):
        parse_target("mysql://h:1/db", "redis")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, None),
        ({"sslmode": "verify-ca"}, "verify-ca"),
        ({"ssl": "true"}, "require"),
        ({"ssl": "false"}, "disable"),
        ({"secure": "False"}, "disable"),
        ({"verify_certs": "False"}, "require"),
        ({"ssl_cert_reqs": "CERT_REQUIRED"}, "verify-full"),
        ({"SSL-MODE": "Verify_Identity"}, "verify-full"),
    ],
)
def test_tls_words_map_to_libpq_sslmodes(query, expected):
    assert uri_sslmode(query) == expected


@pytest.mark.parametrize(
    "text", ["a%20b", "%E2%82%AC", "%zz", "%", "50%", "%4", "p%40ss%2Fw", "%ff%fe", "plain", ""]
)
def test_target_unquote_is_urllibs(text):
    """The target's percent-decoding, written out to keep urllib.parse off the check
    path, decodes as urllib.parse.unquote does."""
    assert target_unquote(text) == urllib.parse.unquote(text)
    try:
        expected = urllib.parse.unquote(text, errors="strict")
    except UnicodeDecodeError:
        with pytest.raises(UnicodeDecodeError):
            target_unquote(text, errors="strict")
    else:
        assert target_unquote(text, errors="strict") == expected
