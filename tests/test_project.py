"""`tlsconnect check --project`: every service the provider's API lists (here the local
stand-in, tests/aiven_standin.py), each with its own plan, checked for real against the
tests' PostgreSQL, Kafka-protocol broker and TLS servers; the days left on the project
CA and each service user's certificate; exit 0, 1 or 2; a table, JSON, and HTML."""

from __future__ import annotations

import datetime
import json
import time
import uuid

import pytest

from aiven_standin import component, service, service_user
from tlsconnect import ConfigError, ProjectReport, ProviderAPIError, check_project
from tlsconnect._aiven import service_endpoints
from tlsconnect._cli import main

pytest_plugins = ["aiven_fixtures"]  # the stand-in API's fixtures: standin, aiven_env


def kafka_service(name, port, cert, *, extra_components=()):
    return service(
        name,
        "kafka",
        "localhost",
        port,
        components=[
            component(
                "kafka",
                "localhost",
                port,
                kafka_authentication_method="certificate",
                kafka_ssl_ca="project_ca",
            ),
            component(
                "kafka",
                "10.0.0.1",
                port,
                route="private",
                kafka_authentication_method="certificate",
            ),
            *extra_components,
        ],
        users=[
            service_user("avnadmin", cert_pem=cert.cert_pem, key_pem=cert.key_pem),
        ],
    )


@pytest.fixture
def healthy_project(aiven_env, pki, pg, kafka, redis_server):
    """PostgreSQL, Kafka (client certificate) and Redis (the real server: check speaks
    PING to it), all verified; a service type without a check and a powered-off service,
    both skipped."""
    name = f"proj-{uuid.uuid4().hex[:8]}"
    redis = redis_server()
    aiven_env.add_project(
        name,
        pki.ca.cert_pem,
        [
            service("pg-main", "pg", "localhost", pg.good.port),
            kafka_service("kafka-main", kafka.good.port, pki.client),
            service("redis-cache", "redis", "127.0.0.1", redis.port),
            service("metrics", "thanos", "localhost", 1),
            service("pg-old", "pg", "localhost", 1, state="POWEROFF"),
        ],
    )
    return name


@pytest.fixture
def broken_project(aiven_env, pki, pg, kafka, tls_server):
    """A valkey whose server is signed by another project's CA, a PostgreSQL with an
    expired server certificate, and a Kafka user certificate that expires in 10 days."""
    name = f"proj-{uuid.uuid4().hex[:8]}"
    now = datetime.datetime.now(datetime.timezone.utc)
    expiring = pki.issue_cert(
        f"expiring-{name}",
        common_name="avnadmin",
        is_client=True,
        not_after=now + datetime.timedelta(days=10, hours=1),
    )
    aiven_env.add_project(
        name,
        pki.ca.cert_pem,
        [
            service("pg-main", "pg", "localhost", pg.good.port),
            service("pg-expired", "pg", "localhost", pg["expired"].port),
            kafka_service("kafka-main", kafka.good.port, expiring),
            service("valkey-other", "valkey", "127.0.0.1", tls_server("othersigned").port),
        ],
    )
    return name


def by_service(items, kind="endpoint"):
    return {item["service_name"]: item for item in items if item["kind"] == kind}


def test_a_healthy_project_exits_0_with_every_endpoint_verified(healthy_project, capsys):
    code = main(["check", "--project", healthy_project])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].startswith(f"project '{healthy_project}' (https://127.0.0.1:")
    assert "5 services, 3 endpoints checked in" in lines[0]
    table = "\n".join(lines)
    for row in ("pg-main", "kafka-main", "redis-cache"):
        assert any(line.startswith(row) and "OK, verified" in line for line in lines), row
    assert "kafka (certificate)" in table
    assert "skipped: tlsconnect has no check for service type 'thanos'" in table
    assert "skipped: the service is poweroff, not running" in table
    assert "project CA 'Test Project CA'" in table and "kafka-main: user avnadmin" in table
    assert lines[-1].startswith("OK: 3 endpoints verified; no certificate expires within 30")
    assert "\x1b[" not in out


def test_the_json_is_a_list_with_each_endpoints_check_and_each_certificates_days(
    healthy_project, pki, capsys
):
    assert main(["check", "--project", healthy_project, "--json"]) == 0
    items = json.loads(capsys.readouterr().out)
    assert isinstance(items, list)
    assert {item["kind"] for item in items} == {"endpoint", "project_ca", "user_certificate"}
    endpoints = by_service(items)
    kafka = endpoints["kafka-main"]
    assert kafka["status"] == "ok" and kafka["kafka_authentication_method"] == "certificate"
    assert kafka["check"]["client_cert_sent"] and kafka["check"]["chain_verified"]
    assert kafka["host"] == "localhost"  # the private route was not checked
    assert endpoints["redis-cache"]["check"]["trust"] == "project+public"
    assert endpoints["pg-main"]["check"]["trust"] == "project"
    assert endpoints["metrics"]["status"] == "skipped" and endpoints["metrics"]["ok"] is None
    (ca,) = [item for item in items if item["kind"] == "project_ca"]
    assert ca["ok"] and ca["days_left"] > 3000 and ca["subject"] == "Test Project CA"
    user = by_service(items, "user_certificate")["kafka-main"]
    assert user["username"] == "avnadmin" and 360 <= user["days_left"] <= 365
    assert all(item["project"] == healthy_project for item in items)
    assert "PRIVATE KEY" not in json.dumps(items)


def test_failures_and_an_expiring_certificate_exit_1_and_say_why(broken_project, capsys):
    code = main(["check", "--project", broken_project])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "FAILED: untrusted_issuer" in out and "FAILED: expired" in out
    assert "Other Project CA" in out  # the diagnosis names the issuer
    assert "EXPIRING within 30 days" in out
    assert out.splitlines()[-1] == (
        "NOT OK: 2 of 4 endpoints failed; 1 certificate expired or expiring within 30 days"
    )


def test_failures_in_json(broken_project, capsys):
    assert main(["check", "--project", broken_project, "--json"]) == 1
    items = json.loads(capsys.readouterr().out)
    endpoints = by_service(items)
    assert endpoints["valkey-other"]["check"]["error_class"] == "untrusted_issuer"
    assert endpoints["pg-expired"]["check"]["error_class"] == "expired"
    assert endpoints["kafka-main"]["status"] == "ok"  # the certificate still works...
    user = by_service(items, "user_certificate")["kafka-main"]
    assert user["status"] == "expiring" and user["days_left"] == 10  # ...for 10 more days


def test_warn_days_sets_the_window(broken_project, capsys):
    assert main(["check", "--project", broken_project, "--json", "--warn-days", "5"]) == 1
    items = json.loads(capsys.readouterr().out)
    assert by_service(items, "user_certificate")["kafka-main"]["status"] == "ok"


def test_a_kafka_user_without_a_certificate_is_checked_without_one(aiven_env, pki, kafka, capsys):
    name = f"proj-{uuid.uuid4().hex[:8]}"
    aiven_env.add_project(
        name, pki.ca.cert_pem, [kafka_service("kafka-main", kafka.good.port, pki.client)]
    )
    assert main(["check", "--project", name, "--username", "reader", "--json"]) == 1
    (item,) = [i for i in json.loads(capsys.readouterr().out) if i["kind"] == "endpoint"]
    assert item["check"]["error_class"] == "client_cert_required"
    assert "the service has no user 'reader' (--username)" in item["check"]["notes"]


def test_checks_run_at_once_so_a_project_takes_about_its_slowest_check(aiven_env, pki, tls_server):
    """Twelve Cassandra endpoints (a protocol check does not speak) whose server says
    nothing after the handshake: each check then waits half a second for a late TLS alert
    (a rejected client certificate)."""
    server = tls_server("good", greeting=b"")
    name = f"proj-{uuid.uuid4().hex[:8]}"
    aiven_env.add_project(
        name,
        pki.ca.cert_pem,
        [service(f"cass-{n:02}", "cassandra", "127.0.0.1", server.port) for n in range(12)],
    )
    seen = []
    report = check_project(name, progress=lambda done, total: seen.append((done, total)))
    assert isinstance(report, ProjectReport) and report.ok
    durations = [item.seconds for item in report.endpoints]
    assert len(durations) == 12 and min(durations) >= 0.4
    assert report.seconds < sum(durations) / 4
    assert report.seconds < max(durations) + 1.0
    assert seen == [(n, 12) for n in range(1, 13)]
    sequential = check_project(name, workers=1)
    assert sequential.seconds > report.seconds * 3


def test_the_report_is_a_table_in_jupyter(broken_project):
    report = check_project(broken_project)
    page = report._repr_html_()
    assert page.count("<table>") == 2 and "untrusted_issuer" in page
    assert "NOT OK" in page and "valkey-other" in page
    assert str(report) == report.render(colour=False)
    assert "\x1b[31m" in report.render(colour=True)


def test_api_failures_exit_1_without_the_token(aiven_env, monkeypatch, capsys):
    monkeypatch.setenv("AIVEN_AUTH_TOKEN", "tok-wrong-" + "z" * 24)
    assert main(["check", "--project", "any"]) == 1
    err = capsys.readouterr().err
    assert "401 Unauthorized" in err and "z" * 24 not in err
    with pytest.raises(ProviderAPIError):
        check_project("any")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check", "localhost:1", "--project", "p"], "leave out TARGET"),
        (["check", "--project", "p", "--ca", "ca.pem"], "leave out --ca"),
        (["check", "--project", "p", "--from-env"], "leave out --from-env"),
        (["check", "localhost:1", "--service", "pg", "--warn-days", "3"], "goes with --project"),
        (["check", "--project", "p", "--warn-days", "-1"], "warn_days must be"),
        (["check", "--project", "p", "--workers", "0"], "workers must be"),
        (["check"], "required: TARGET"),
    ],
)
def test_bad_usage_exits_2(aiven_env, argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_arguments_to_check_project_are_config_errors(aiven_env):
    with pytest.raises(ConfigError, match="timeout"):
        check_project("p", timeout=0)


# -- what a listing means: the endpoints of one service --------------------------------


def test_kafka_gets_one_endpoint_per_authentication_method_and_ca():
    listed = service(
        "k",
        "kafka",
        "h",
        1,
        components=[
            component(
                "kafka",
                "h",
                1,
                kafka_authentication_method="certificate",
                kafka_ssl_ca="project_ca",
            ),
            component(
                "kafka", "h", 2, kafka_authentication_method="sasl", kafka_ssl_ca="project_ca"
            ),
            component(
                "kafka", "h", 3, kafka_authentication_method="sasl", kafka_ssl_ca="letsencrypt"
            ),
            component("kafka", "h", 4, kafka_authentication_method="sasl", route="privatelink"),
            component("kafka", "r", 5, kafka_authentication_method="sasl", usage="replica"),
            component("schema_registry", "h", 6),
            component("kafka_connect", "h", 7),
        ],
    )
    endpoints, skipped = service_endpoints(listed)
    assert skipped is None
    assert [(e.port, e.kafka_authentication_method, e.public_ca) for e in endpoints] == [
        (1, "certificate", False),
        (2, "sasl", False),
        (3, "sasl", True),
    ]
    assert endpoints[0].kind == "kafka (certificate)"


@pytest.mark.parametrize(
    ("listed", "expected"),
    [
        (service("p", "pg", "h", 5432), ("postgresql", "h", 5432)),
        (service("p", "alloydbomni", "h", 5), ("postgresql", "h", 5)),
        (service("m", "mysql", "h", 3306), ("mysql", "h", 3306)),
        (service("o", "opensearch", "::1", 9200), ("opensearch", "::1", 9200)),
        (dict(service("n", "redis", "h", 6379), components=[]), ("redis", "h", 6379)),
        (
            service(
                "c",
                "clickhouse",
                "h",
                1,
                components=[component("clickhouse_https", "h", 2), component("clickhouse", "h", 1)],
            ),
            ("clickhouse", "h", 1),
        ),
    ],
)
def test_each_type_gets_its_plan_and_main_endpoint(listed, expected):
    (endpoint,), skipped = service_endpoints(listed)
    assert skipped is None
    assert (endpoint.service.value, endpoint.host, endpoint.port) == expected


@pytest.mark.parametrize(
    ("listed", "reason"),
    [
        (service("t", "thanos", "h", 1), "no check for service type 'thanos'"),
        (service("p", "pg", "h", 1, state="REBUILDING"), "rebuilding, not running"),
        (
            service("r", "redis", "h", 1, components=[component("redis", "h", 1, ssl_on=False)]),
            "TLS is turned off",
        ),
        (
            service("r", "redis", "h", 1, components=[component("redis", "bad host", 1)]),
            "no host and port",
        ),
        (
            service("r", "redis", "h", 1, components=[component("redis", "h", 70000)]),
            "no host and port",
        ),
        ({"service_name": "x"}, "no check for service type '?'"),
    ],
)
def test_services_that_cannot_be_checked_say_why(listed, reason):
    endpoints, skipped = service_endpoints(listed)
    assert endpoints == [] and reason in skipped


def test_the_whole_project_is_one_list_even_when_nothing_is_checked(aiven_env, pki, capsys):
    name = f"proj-{uuid.uuid4().hex[:8]}"
    aiven_env.add_project(name, pki.ca.cert_pem, [])
    started = time.monotonic()
    assert main(["check", "--project", name, "--json"]) == 0
    assert time.monotonic() - started < 10
    (only,) = json.loads(capsys.readouterr().out)
    assert only["kind"] == "project_ca"
