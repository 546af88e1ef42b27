"""The two host-name rules, as a table: libpq's (fe-secure-openssl.c and
fe-secure-common.c) and OpenSSL's under Python's ssl with tlsconnect's floor. The zoo
test (test_check_zoo.py) holds both to what psycopg and asyncpg really do; this table
covers the corners no zoo certificate has."""

from __future__ import annotations

import pytest

from tlsconnect import ConfigError, Driver, Service
from tlsconnect._hostnames import (
    LIBPQ,
    PYTHON_SSL,
    PeerNames,
    check_driver,
    drivers_with_rule,
    libpq_matches,
    name_rule,
    peer_names,
    python_ssl_matches,
)


def names(*sans: tuple[str, str], cn: str | None = None) -> PeerNames:
    return PeerNames(list(sans), [cn] if cn else [])


DNS = "DNS"
IP = "IP Address"


@pytest.mark.parametrize(
    ("host", "certificate", "libpq", "python_ssl"),
    [
        # names
        ("db.example.test", names((DNS, "db.example.test")), True, True),
        ("DB.Example.Test", names((DNS, "db.example.test")), True, True),  # case
        ("a.example.test", names((DNS, "*.example.test")), True, True),
        ("a.b.example.test", names((DNS, "*.example.test")), False, False),  # one label
        ("example.test", names((DNS, "*.example.test")), False, False),
        ("a.test", names((DNS, "*.test")), True, False),  # OpenSSL: two labels after *
        ("a.example.test", names((DNS, "a*.example.test")), False, False),  # partial
        ("localhost", names(cn="localhost"), True, False),  # CN only: libpq reads it
        ("localhost", names((IP, "127.0.0.1"), cn="localhost"), True, False),  # no DNS SAN
        ("localhost", names((DNS, "other"), cn="localhost"), False, False),  # DNS SAN: no CN
        ("localhost", names(cn="zoo server"), False, False),
        # addresses
        ("127.0.0.1", names((IP, "127.0.0.1")), True, True),
        ("::1", names((IP, "0:0:0:0:0:0:0:1")), True, True),  # as getpeercert writes it
        ("[::1]", names((IP, "::1")), True, True),
        ("127.0.0.1", names((DNS, "127.0.0.1")), True, False),  # address as a DNS name
        ("127.0.0.1", names(cn="127.0.0.1"), True, False),  # address in the CN
        ("127.0.0.1", names((DNS, "db"), cn="127.0.0.1"), True, False),  # no IP SAN: CN
        ("127.0.0.1", names((IP, "10.0.0.1"), cn="127.0.0.1"), False, False),  # IP SAN: no CN
        ("127.1", names((IP, "127.0.0.1")), True, False),  # inet_aton's shorthand: libpq
        ("", names(cn="localhost"), False, False),  # libpq: a host name must be given
        ("localhost", names(cn="local\x00host"), False, False),  # embedded NUL
    ],
)
def test_each_rule_decides_as_its_library_does(host, certificate, libpq, python_ssl):
    assert libpq_matches(host, certificate) is libpq
    assert python_ssl_matches(host, certificate) is python_ssl


def test_peer_names_read_what_getpeercert_returns():
    peer = {
        "subject": ((("organizationName", "o"),), (("commonName", "first"),)),
        "subjectAltName": (("DNS", "a"), ("IP Address", "127.0.0.1"), ("URI", "u")),
    }
    read = peer_names(peer)
    assert read.sans == [("DNS", "a"), ("IP Address", "127.0.0.1"), ("URI", "u")]
    assert read.common_names == ["first"]


@pytest.mark.parametrize(
    ("driver", "scheme", "rule"),
    [
        (None, None, LIBPQ),
        (Driver.PSYCOPG, None, LIBPQ),
        (Driver.PSYCOPG2, None, LIBPQ),
        (Driver.ASYNCPG, None, PYTHON_SSL),
        (Driver.PG8000, None, PYTHON_SSL),
        (Driver.SQLALCHEMY, "postgresql", LIBPQ),
        (Driver.SQLALCHEMY, "postgresql+asyncpg", PYTHON_SSL),
        (Driver.SQLALCHEMY, "postgresql+pg8000", PYTHON_SSL),
    ],
)
def test_postgresql_drivers_follow_their_rule(driver, scheme, rule):
    assert name_rule(Service.POSTGRESQL, driver, scheme) == rule


def test_other_services_follow_python_ssl_and_no_driver_differs():
    assert name_rule(Service.KAFKA, None) == PYTHON_SSL
    assert drivers_with_rule(Service.KAFKA, LIBPQ) == []


def test_a_driver_of_another_service_is_refused_naming_what_it_reaches():
    assert check_driver("ASYNCPG", Service.POSTGRESQL) is Driver.ASYNCPG
    with pytest.raises(ConfigError, match=r"'redis' does not connect to postgresql"):
        check_driver("redis", Service.POSTGRESQL)
    with pytest.raises(ConfigError, match="unknown driver|driver"):
        check_driver("nosuchdriver", Service.POSTGRESQL)
