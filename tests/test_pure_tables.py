"""Tables for the pure modules (``_decide``, ``_target``, ``_conninfo``): every field of
what they return, for each form of input, so that a changed line changes a row. Fast (no
server, no material): mutmut runs these for each of its mutants (pyproject's
``[tool.mutmut]``)."""

from __future__ import annotations

import pytest

from tlsconnect import ConfigError, Service
from tlsconnect._conninfo import (
    check_port,
    is_secret_key,
    parse_conninfo,
    refuse_socket_hosts,
    split_hosts,
)
from tlsconnect._decide import Decision, decide
from tlsconnect._model import SSLMode, Trust
from tlsconnect._target import (
    Target,
    encryption_only_word,
    parse_bootstrap,
    parse_target,
    pg_target,
    redact_target,
    split_host_port,
    uri_sslmode,
)

# -- _decide


def _reasons(decision: Decision) -> str:
    return "\n".join(decision.reasons)


@pytest.mark.parametrize("client", [True, False])
def test_require_without_a_ca_trusts_nothing_and_says_so(client):
    d = decide(Service.REDIS, SSLMode.REQUIRE, None, has_ca=False, has_client_cert=client)
    assert (d.trust, d.verify_chain, d.check_hostname, d.client_cert) == (
        Trust.NONE,
        False,
        False,
        client,
    )
    assert type(d.verify_chain) is bool and type(d.check_hostname) is bool
    assert "verifies nothing" in _reasons(d)
    sent = "The client certificate given is sent when the server asks for one."
    assert d.reasons[-1] == (sent if client else "No client certificate is sent.")


@pytest.mark.parametrize(
    ("service", "trust", "has_ca", "chosen", "says", "not_says"),
    [
        (Service.POSTGRESQL, None, True, Trust.PROJECT, "Only the project CA given", "Warning"),
        (Service.OPENSEARCH, None, True, Trust.PROJECT_AND_PUBLIC, "both trusted", "Warning"),
        (Service.OPENSEARCH, None, False, Trust.PUBLIC, "certifi's Mozilla bundle", "Warning"),
        (Service.OPENSEARCH, Trust.PROJECT, True, Trust.PROJECT, "(trust='project')", "Warn"),
        (
            Service.OPENSEARCH,
            Trust.PROJECT_AND_PUBLIC,
            True,
            Trust.PROJECT_AND_PUBLIC,
            "The CA given and certifi's public CAs are trusted.",
            "Warning",
        ),
        (Service.OPENSEARCH, Trust.PUBLIC, False, Trust.PUBLIC, "(trust='public')", "not trusted"),
        (Service.OPENSEARCH, Trust.PUBLIC, True, Trust.PUBLIC, "trust='public' was asked", "Warn"),
        (Service.OPENSEARCH, Trust.SYSTEM, False, Trust.SYSTEM, "(trust='system')", "not trusted"),
        (Service.OPENSEARCH, Trust.SYSTEM, True, Trust.SYSTEM, "trust='system' was asked", "Warn"),
        (Service.POSTGRESQL, Trust.PUBLIC, False, Trust.PUBLIC, "Warning: postgresql", "given is"),
        (Service.KAFKA, Trust.SYSTEM, True, Trust.SYSTEM, "trust='system' does not include", "@"),
        (Service.KAFKA, Trust.PROJECT, True, Trust.PROJECT, "Only the project CA", "Warning"),
    ],
)
def test_trust_chosen_and_explained(service, trust, has_ca, chosen, says, not_says):
    d = decide(service, SSLMode.VERIFY_FULL, trust, has_ca=has_ca, has_client_cert=False)
    assert d.trust is chosen and d.verify_chain is True and d.check_hostname is True
    assert says in _reasons(d) and not_says not in _reasons(d)
    assert d.reasons[0] == service.issuer_reason
    assert d.reasons[-1] == "No client certificate is sent."


@pytest.mark.parametrize(
    ("sslmode", "hostname", "says"),
    [
        (SSLMode.REQUIRE, False, "sslmode=require with a trust store"),
        (SSLMode.VERIFY_CA, False, "sslmode=verify-ca verifies the certificate chain but not"),
        (SSLMode.VERIFY_FULL, True, "sslmode=verify-full verifies"),
    ],
)
def test_each_sslmode_with_a_ca_verifies_the_chain_and_says_what_of_the_host(
    sslmode, hostname, says
):
    d = decide(Service.POSTGRESQL, sslmode, None, has_ca=True, has_client_cert=True)
    assert d.verify_chain is True and d.check_hostname is hostname and d.client_cert is True
    assert d.reasons[-2].find(says) >= 0
    assert d.reasons[-1].startswith("The client certificate given is sent")
    assert sum("sslmode=" in reason for reason in d.reasons) == 1


@pytest.mark.parametrize(
    ("trust", "word"),
    [
        (Trust.PROJECT, "trust='project' needs"),
        (Trust.PROJECT_AND_PUBLIC, "'project\\+public' needs"),
    ],
)
def test_project_trust_without_a_ca_is_refused(trust, word):
    with pytest.raises(ConfigError, match=word):
        decide(Service.OPENSEARCH, SSLMode.VERIFY_FULL, trust, has_ca=False, has_client_cert=False)


def test_a_decision_equals_only_an_equal_decision():
    a = decide(Service.POSTGRESQL, SSLMode.VERIFY_FULL, None, has_ca=True, has_client_cert=False)
    b = decide(Service.POSTGRESQL, SSLMode.VERIFY_FULL, None, has_ca=True, has_client_cert=False)
    c = decide(Service.POSTGRESQL, SSLMode.VERIFY_CA, None, has_ca=True, has_client_cert=False)
    assert a == b and hash(a) == hash(b)
    assert a != c and hash(a) != hash(c)
    assert a != "a decision" and a.__eq__(object()) is NotImplemented
    assert len({a, b, c}) == 2


# -- _conninfo


@pytest.mark.parametrize(
    ("text", "port"), [("1", 1), ("65535", 65535), (" 5432 ", 5432), ("08", 8)]
)
def test_check_port_accepts_1_to_65535(text, port):
    assert check_port(text, "x") == port


@pytest.mark.parametrize(
    ("text", "shown"),
    [("0", "'0'"), ("65536", "'65536'"), ("-5", "'-5'"), ("+5", "'+5'"), ("٣", None), ("zz", None)],
)
def test_check_port_refuses_the_rest_showing_only_numbers(text, shown):
    with pytest.raises(ConfigError) as info:
        check_port(text, "the input")
    message = str(info.value)
    assert message.startswith("the input: port") and "from 1 to 65535" in message
    if shown is None:
        assert text not in message
    else:
        assert f"port {shown} is" in message


@pytest.mark.parametrize(
    ("params", "pairs"),
    [
        ({}, [("localhost", 5432)]),
        ({"host": "h"}, [("h", 5432)]),
        ({"host": "h", "port": "6"}, [("h", 6)]),
        ({"host": "a,b", "port": "7"}, [("a", 7), ("b", 7)]),
        ({"host": "a,b", "port": "7,8"}, [("a", 7), ("b", 8)]),
        ({"host": "a,,b", "port": ",9,"}, [("a", 5432), ("localhost", 9), ("b", 5432)]),
        ({"port": "1"}, [("localhost", 1)]),
        ({"host": "", "port": ""}, [("localhost", 5432)]),
    ],
)
def test_split_hosts_pairs_hosts_and_ports_as_libpq(params, pairs):
    assert split_hosts(params) == pairs


def test_split_hosts_refuses_a_port_count_that_does_not_match():
    with pytest.raises(ConfigError, match="names 3 hosts but 2 ports"):
        split_hosts({"host": "a,b,c", "port": "1,2"})
    with pytest.raises(ConfigError, match="conninfo: port '0'"):
        split_hosts({"host": "a", "port": "0"})


@pytest.mark.parametrize(
    ("host", "hostaddr", "reason"),
    [
        (None, None, "empty host"),
        ("", None, "empty host"),
        ("  ", None, "empty host"),
        ([], None, "empty host"),
        ("/tmp", None, "is a path"),
        ("\\\\pipe", None, "is a path"),
        ("@abstract", None, "abstract"),
        ("C:\\sock", None, "Windows drive"),
        ("c:/sock", None, "Windows drive"),
        ("h1,/tmp", None, "is a path"),
        (["h1", "/tmp"], None, "is a path"),
        ("h1,", "1.2.3.4", "empty host"),
        (",h2", ",5.6.7.8", "empty host"),
    ],
)
def test_socket_hosts_are_refused_naming_why(host, hostaddr, reason):
    with pytest.raises(ConfigError) as info:
        refuse_socket_hosts(host, "psycopg", hostaddr=hostaddr)
    message = str(info.value)
    assert message.startswith("psycopg: ") and reason in message and "no TLS" in message
    shown = "no host" if reason == "empty host" else "the host '"
    assert shown in message


@pytest.mark.parametrize(
    ("host", "hostaddr"),
    [
        ("h", None),
        ("h1,h2", None),
        (["h1", "h2"], None),
        ("", "1.2.3.4"),
        (",h2", "1.2.3.4,"),
        ("C:", None),
        ("c:x", None),
        ("1:/x", None),
        ("db.example:5432", None),
    ],
)
def test_tcp_hosts_pass(host, hostaddr):
    assert refuse_socket_hosts(host, "psycopg", hostaddr=hostaddr) is None


@pytest.mark.parametrize(
    ("conninfo", "params"),
    [
        ("", {}),
        ("   ", {}),
        ("postgres://h", {"host": "h"}),
        ("POSTGRESQL://u@h:1/d", {"user": "u", "host": "h", "port": "1", "dbname": "d"}),
        ("postgresql://u:p%40w@h/d", {"user": "u", "password": "p@w", "host": "h", "dbname": "d"}),
        ("postgresql://u:@h", {"user": "u", "password": "", "host": "h"}),
        ("postgresql://:pw@h", {"password": "pw", "host": "h"}),
        ("postgresql://a@b:pw@h", {"user": "a@b", "password": "pw", "host": "h"}),
        ("postgresql://h/d/e", {"host": "h", "dbname": "d/e"}),
        ("postgresql://h/", {"host": "h"}),
        ("postgresql://h1:1,h2:2", {"host": "h1,h2", "port": "1,2"}),
        ("postgresql://h1,h2", {"host": "h1,h2", "port": ","}),
        ("postgresql://[::1]:5/d", {"host": "::1", "port": "5", "dbname": "d"}),
        ("postgresql://h?ssl=true&x=1", {"host": "h", "sslmode": "require", "x": "1"}),
        ("postgresql://h?ssl=false", {"host": "h", "ssl": "false"}),
        ("postgresql://h?a=b=c&&d=", {"host": "h", "a": "b=c", "d": ""}),
        ("postgresql:///d?host=/tmp", {"dbname": "d", "host": "/tmp"}),
        ("host=h port=1", {"host": "h", "port": "1"}),
        ("host = h  dbname='a b'", {"host": "h", "dbname": "a b"}),
        ("password='it\\'s' x=y", {"password": "it's", "x": "y"}),
        ("a=b\\ c", {"a": "b c"}),
        ("a=", {"a": ""}),
        ("a= b=c", {"a": "b=c"}),
        ("a=x=y", {"a": "x=y"}),
        ("a='' b=2", {"a": "", "b": "2"}),
        ("k=v\\", {"k": "v\\"}),
        ("k='v\\", None),
        ("dbname=a://b", {"dbname": "a://b"}),
    ],
)
def test_conninfo_parses_as_libpq(conninfo, params):
    if params is None:
        with pytest.raises(ConfigError, match="never closed"):
            parse_conninfo(conninfo)
    else:
        assert parse_conninfo(conninfo) == params


@pytest.mark.parametrize(
    ("conninfo", "match"),
    [
        (5, "conninfo must be a string, not int"),
        ("mysql://h x=y", "scheme 'mysql://' is not PostgreSQL's"),
        ("host", "missing '=' after 'host'"),
        ("host=h port", "missing '=' after 'port'"),
        ("=v", "no key before"),
        ("password=a b", "followed by a word without '='"),
        ("postgresql://h?x", "'x' has no '='"),
        ("postgresql://[::1", "never closes"),
        ("postgresql://[::1]x", "text after"),
        ("postgresql://h:0", "port '0'"),
        ("postgresql://h/%zz", "the database name has a '%'"),
        ("postgresql://%C3%28@h", "the user name has percent-escapes that are not UTF-8"),
        ("postgresql://u:%zz@h", "the password has a '%'"),
        ("postgresql://%zz", "a host has a '%'"),
        ("postgresql://h?%zz=1", "a parameter name"),
        ("postgresql://h?k=%zz", "parameter 'k'"),
        ("postgresql://u:a/b@h", "percent-encode"),
    ],
)
def test_bad_conninfo_is_refused_saying_what(conninfo, match):
    with pytest.raises(ConfigError, match=match):
        parse_conninfo(conninfo)


# -- _target


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("h:1", ("h", 1)),
        ("[::1]:2", ("::1", 2)),
        ("a.b:65535", ("a.b", 65535)),
    ],
)
def test_split_host_port(text, pair):
    assert split_host_port(text, "x") == pair


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("h", "x has no port"),
        ("::1:5", "x has no port"),
        ("[::1]5", "write an IPv6 address as"),
        ("[::1", "write an IPv6 address as"),
        (":5", "x has no valid host"),
        ("a b:5", "x has no valid host"),
        ("h:0", "x: port '0'"),
    ],
)
def test_split_host_port_refuses(text, match):
    with pytest.raises(ConfigError, match=match.replace("[", r"\[")):
        split_host_port(text, "x")


@pytest.mark.parametrize(
    ("given", "servers"),
    [
        ("h:1", ["h:1"]),
        (" h:1 , ,g:2,h:1 ", ["h:1", "g:2"]),
        (["h:1", "g:2,f:3"], ["h:1", "g:2", "f:3"]),
        (("kafka://h:1/", "SASL_SSL://g:2"), ["h:1", "g:2"]),
        ("u:p@h:1", ["h:1"]),
        ("[::1]:9", ["[::1]:9"]),
    ],
)
def test_bootstrap_lists(given, servers):
    assert parse_bootstrap(given) == servers


@pytest.mark.parametrize(
    ("given", "match"),
    [
        ("", "is empty"),
        (" , ", "is empty"),
        ([], "is empty"),
        ([1], "entries must be strings, not int"),
        (5, "not int"),
        ("u:secret@h", r"bootstrap server 'u:\*\*\*@h' has no port"),
    ],
)
def test_bad_bootstrap_lists(given, match):
    with pytest.raises(ConfigError, match=match) as info:
        parse_bootstrap(given)
    assert "secret" not in str(info.value)


def _fields(t):
    return (t.service, t.host, t.port, t.user, t.password, t.dbname, t.sslmode, t.servers)


@pytest.mark.parametrize(
    ("target", "service", "fields", "origin"),
    [
        (
            "postgres://u:p@h:6/d?sslmode=require",
            None,
            (Service.POSTGRESQL, "h", 6, "u", "p", "d", "require", ("h:6",)),
            "conninfo",
        ),
        (
            "postgresql://u@a:7,b:8/d",
            None,
            (Service.POSTGRESQL, "a", 7, "u", None, "d", None, ("a:7",)),
            "conninfo",
        ),
        ("kafka://k:9", None, (Service.KAFKA, "k", 9, None, None, None, None, ("k:9",)), "target"),
        (
            "SSL://u:p@k:9/x",
            "kafka",
            (Service.KAFKA, "k", 9, None, None, None, None, ("k:9",)),
            "target",
        ),
        ("k:9", "kafka", (Service.KAFKA, "k", 9, None, None, None, None, ("k:9",)), "target"),
        (
            "opensearch://o:1?x#y",
            None,
            (Service.OPENSEARCH, "o", 1, None, None, None, None, ("o:1",)),
            "target",
        ),
        (
            "[::1]:3",
            Service.REDIS,
            (Service.REDIS, "::1", 3, None, None, None, None, ("[::1]:3",)),
            "target",
        ),
        (
            "mysql+pymysql://u@m/db",
            None,
            (Service.MYSQL, "m", 3306, "u", None, "db", None, ("m:3306",)),
            "target",
        ),
    ],
)
def test_targets_read_every_field(target, service, fields, origin):
    spec = parse_target(target, service)
    assert _fields(spec) == fields
    assert spec.origin == origin


def test_a_driver_variant_keeps_its_whole_scheme_lowered():
    assert parse_target("PostgreSQL+AsyncPG://h:1/d").scheme == "postgresql+asyncpg"
    assert parse_target("mariadb+mariadbconnector://h/d").scheme == "mariadb+mariadbconnector"
    assert parse_target("mysql://h/d").scheme == "mysql"
    with pytest.raises(ConfigError, match="scheme 'other\\+x://' is not one tlsconnect knows"):
        parse_target("other+x://h:1")
    with pytest.raises(ConfigError, match="scheme 'postgresql\\+://' is not one tlsconnect knows"):
        parse_target("postgresql+://h:1")
    with pytest.raises(ConfigError, match="scheme 'mysql\\+://' is not one tlsconnect knows"):
        parse_target("mysql+://h/d")


@pytest.mark.parametrize(
    ("target", "service", "match"),
    [
        ("", None, "target must be a service URI"),
        ("   ", None, "target must be a service URI"),
        (None, None, "target must be a service URI"),
        ("postgres://h", "kafka", "postgres:// is PostgreSQL but service=kafka"),
        ("kafka://h:1", "redis", "kafka:// is Kafka but service=redis"),
        ("opensearch://h:1", "kafka", "opensearch:// is opensearch but service=kafka"),
        ("h:1", None, "target 'h:1' does not say which service"),
        ("u:secret@h:1", None, r"target 'u:\*\*\*@h:1' does not say"),
        ("kafka://h", None, "has no port"),
        ("kafka://u:a/b@h:1", None, "percent-encode"),
        ("kafka://u@h", None, "has no port"),
    ],
)
def test_bad_targets_say_what_is_wrong(target, service, match):
    with pytest.raises(ConfigError, match=match) as info:
        parse_target(target, service)
    assert "secret" not in str(info.value)


def test_pg_target_reads_libpq_keywords():
    params = {
        "host": "h1,h2",
        "port": "1,2",
        "user": "u",
        "password": "p",
        "dbname": "d",
        "sslmode": "require",
        "sslrootcert": "/ca",
        "sslkey": "/k",
        "application_name": "a",
    }
    t = pg_target(params)
    assert _fields(t) == (Service.POSTGRESQL, "h1", 1, "u", "p", "d", "require", ("h1:1",))
    assert t.material == {"sslrootcert": "/ca", "sslkey": "/k"}
    assert t.params == params and t.origin == "conninfo"
    assert t.asks_encryption_only == "sslmode=require"
    bare = pg_target({})
    assert (bare.host, bare.port, bare.material, bare.asks_encryption_only) == (
        "localhost",
        5432,
        {},
        None,
    )
    assert pg_target({"sslmode": "verify-ca"}).asks_encryption_only is None
    assert pg_target({"host": "h", "gssencmode": "disable"}).host == "h"
    for mode in ("require", " Prefer "):
        with pytest.raises(ConfigError, match="asks libpq for GSSAPI encryption"):
            pg_target({"host": "h", "gssencmode": mode})


# -- the edges mutmut found unpinned: a second '://', '@' or ']' where only the first (or
# the last) is right, and the fields a URI target carries besides where to connect


@pytest.mark.parametrize(
    ("target", "service", "expected"),
    [
        # the path is the base path for HTTP and Cassandra only; the database for MySQL
        ("cassandra://u:p@h/ks", None, {"path": "/ks", "dbname": None, "port": 9042}),
        ("https://h:1/base/x?y=1", "opensearch", {"path": "/base/x", "params": {"y": "1"}}),
        ("https://h/x@y", "opensearch", {"path": "/x@y", "user": None, "host": "h"}),
        ("mysql://h/x@y", None, {"dbname": "x@y", "path": "", "port": 3306}),
        ("mysql://h:5/x@y", None, {"dbname": "x@y", "port": 5}),
        ("https://[::1]:5/x@y", "opensearch", {"host": "::1", "path": "/x@y"}),
        ("mysql://u:a@b@h:3306/db", None, {"user": "u", "password": "a@b", "host": "h"}),
        # a second '://' in the query is part of a value
        ("mysql://h:1/db?x=a://b", None, {"params": {"x": "a://b"}, "dbname": "db"}),
        ("mysql://h:1/db?a=b=c&d", None, {"params": {"a": "b=c", "d": ""}}),
        # TLS words leave params; the rest stay; Redis's path is its db
        (
            "rediss://u:p@h:6380/3?ssl_cert_reqs=none&x=1",
            None,
            {"params": {"x": "1", "db": "3"}, "sslmode": "require", "path": ""},
        ),
        ("rediss://h:1/3?db=5", None, {"params": {"db": "5"}}),
        ("mysql://h/db?x=1", None, {"params": {"x": "1"}}),
        ("redis://h:1/2", "valkey", {"params": {"db": "2"}, "service": Service.VALKEY}),
        ("rediss://h:1", "valkey", {"service": Service.VALKEY}),
        # the word that only asks for encryption, kept as written (never for plaintext)
        ("mysql://h/db?ssl-mode=REQUIRED", None, {"asks_encryption_only": "ssl-mode=REQUIRED"}),
        ("mysql://h/db?ssl-mode=VERIFY_CA", None, {"asks_encryption_only": None}),
        ("redis://h:1?ssl=true", None, {"asks_encryption_only": None, "sslmode": "disable"}),
    ],
)
def test_uri_targets_keep_path_params_and_tls_words(target, service, expected):
    spec = parse_target(target, service)
    assert {name: getattr(spec, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("target", "service", "match"),
    [
        ("mysql://u:a/b@h/db", None, "target mysql://: the host cannot be read"),
        ("https://h:abc/x@y", "opensearch", "target https://: the host cannot be read"),
        ("mysql://u@/db", None, "target mysql:// has no host"),
        ("mysql:///x@y", None, "target mysql://: the host cannot be read"),
        ("mysql://h:0/db", None, "target mysql://: port '0'"),
        ("mysql+pymysql://h/db", "kafka", "mysql:// is mysql but service=kafka"),
        ("postgresql+psycopg", None, "does not say which service"),
        ("kafka://h:1/x://y#", "redis", "kafka:// is Kafka"),
        ("opensearch://h:1#a b", None, None),
        ("opensearch://h:1#a#b", None, None),
        ("opensearch://h:1?a?b", None, None),
        ("opensearch://h:1/a/b", None, None),
        ("kafka://h:1/x://y", None, None),
        ("opensearch://h:1/a://b", None, None),
        ("kafka://u:a/b@h:1", None, r"^target 'kafka://u:\*\*\*@h:1': the host cannot"),
        # a second '://' right after the port is not read past
        ("kafka://h:1://x", None, "has no port"),
        ("opensearch://h:1://x", None, "has no port"),
    ],
)
def test_uri_target_edges(target, service, match):
    if match is None:
        spec = parse_target(target, service)
        assert (spec.host, spec.port) == ("h", 1)
        return
    with pytest.raises(ConfigError, match=match):
        parse_target(target, service)


def test_driver_variants_split_at_the_first_separator_and_the_first_plus():
    spec = parse_target("postgresql+asyncpg://h:1/d?application_name=a://b")
    assert (spec.scheme, spec.host, spec.params["application_name"]) == (
        "postgresql+asyncpg",
        "h",
        "a://b",
    )
    assert parse_target("postgresql+a+b://h:1/d").scheme == "postgresql+a+b"


def test_a_target_made_by_hand_has_no_path():
    spec = Target(Service.KAFKA, "h", 1)
    assert (spec.path, spec.servers, spec.material, spec.params) == ("", ("h:1",), {}, {})


@pytest.mark.parametrize(
    ("query", "sslmode", "word"),
    [
        ({"ssl-mode": "weird"}, "weird", None),  # passed on: SSLMode.parse refuses it
        ({"ssl_cert_reqs": "cert_none"}, "require", None),
        ({"ssl_mode": "required"}, "require", "ssl_mode=required"),
        ({"SSL-Mode": "Verify-Identity"}, "verify-full", None),
        ({"ssl": "true", "verify": "false"}, "require", None),
        ({"ssl": "true"}, "require", "ssl=true"),
        ({"Tls": "1"}, "require", "Tls=1"),
        ({"tls": "False"}, "disable", None),
        ({"secure": "true"}, "require", None),
    ],
)
def test_tls_words_and_the_word_that_only_asks_for_encryption(query, sslmode, word):
    assert uri_sslmode(query) == sslmode
    assert encryption_only_word(query) == word


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        ("u:p@h:1/?x=y@z", "u:***@h:1/?x=y@z"),
        ("rediss://u:p@h/a@b:c", "rediss://u:***@h/a@b:c"),
        ("rediss://u:p@h/a@b/c", "rediss://u:***@h/a@b/c"),
        ("mysql://u:p:q@h/db", "mysql://u:***@h/db"),
        ("kafka://@h:1/x", "kafka://@h:1/x"),
        ("host=h user=a@b password=x", "host=h user=a@b password=***"),
        ("@h password=a b c=d", "@h password=***"),
        ("rediss://@a:b@h:1", "rediss://@a:***@h:1"),  # a user name starting with '@'
    ],
)
def test_redaction_edges(target, shown):
    assert redact_target(target) == shown


@pytest.mark.parametrize("name", ["password", "PASSWORD", "sslPassword", "KeyPass", "passwd"])
def test_secret_keys_in_any_case(name):
    assert is_secret_key(name)


@pytest.mark.parametrize("name", ["user", "passfile", "password_file", "mykeypass"])
def test_keys_that_are_not_secrets(name):
    assert not is_secret_key(name)


@pytest.mark.parametrize(
    ("host", "hostaddr", "refused"),
    [
        ("C:/", None, True),
        ("c:\\", None, True),
        ("é:/x", None, False),  # a drive letter is an ASCII letter
        (",/tmp", "1.2.3.4,", True),  # the entry after one with an address is checked too
    ],
)
def test_socket_host_edges(host, hostaddr, refused):
    if refused:
        with pytest.raises(ConfigError, match="Unix socket"):
            refuse_socket_hosts(host, "x", hostaddr=hostaddr)
    else:
        refuse_socket_hosts(host, "x", hostaddr=hostaddr)


@pytest.mark.parametrize(
    ("conninfo", "params"),
    [
        ("a=1 b=x://y c=2", {"a": "1", "b": "x://y", "c": "2"}),
        ("postgresql://h/d?x=a://b", {"host": "h", "dbname": "d", "x": "a://b"}),
        ("a='x'b=1", {"a": "x", "b": "1"}),
        ("a=b\\c", {"a": "bc"}),
    ],
)
def test_conninfo_edges(conninfo, params):
    assert parse_conninfo(conninfo) == params


@pytest.mark.parametrize(
    ("conninfo", "match"),
    [
        ("xx://a://b", r"^conninfo URI scheme 'xx://' is not"),
        ("a='b\\'", "never closed"),
        ("postgresql://[::1]]:5", "has text after"),
        ("postgresql://h:0", "^conninfo URI: port '0'"),
        ("postgresql://[::1/x@y?z=a://b", "percent-encode"),
        ("postgresql://[::1/d?x=a://b@c", "percent-encode"),
        ("postgresql://[::1/d?x=a://b", "never closes"),
    ],
)
def test_conninfo_edge_refusals(conninfo, match):
    with pytest.raises(ConfigError, match=match):
        parse_conninfo(conninfo)


def test_split_host_port_reads_up_to_the_first_bracket():
    with pytest.raises(ConfigError, match="write an IPv6 address"):
        split_host_port("[::1]]:5", "x")
