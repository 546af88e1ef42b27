"""The pure decision core: a wide table of (service, sslmode, trust, material) -> decision."""

from __future__ import annotations

import pytest

from tlsconnect import ConfigError, Service, SSLMode, Trust
from tlsconnect._decide import decide

PROJECT = [Service.POSTGRESQL, Service.MYSQL, Service.KAFKA]
PUBLIC = [s for s in Service if s not in PROJECT]


@pytest.mark.parametrize("service", list(Service))
@pytest.mark.parametrize(
    ("sslmode", "chain", "host"),
    [
        (SSLMode.VERIFY_FULL, True, True),
        (SSLMode.VERIFY_CA, True, False),
        (SSLMode.REQUIRE, True, False),
    ],
)
def test_sslmode_with_ca_verifies_as_libpq_does(service, sslmode, chain, host):
    d = decide(service, sslmode, None, has_ca=True, has_client_cert=False)
    assert (d.verify_chain, d.check_hostname) == (chain, host)
    expected = Trust.PROJECT if service in PROJECT else Trust.PROJECT_AND_PUBLIC
    assert d.trust is expected


@pytest.mark.parametrize("service", list(Service))
def test_require_without_ca_verifies_nothing(service):
    d = decide(service, SSLMode.REQUIRE, None, has_ca=False, has_client_cert=False)
    assert d.trust is Trust.NONE
    assert not d.verify_chain and not d.check_hostname
    assert any("verifies nothing" in r for r in d.reasons)


@pytest.mark.parametrize("service", PROJECT)
@pytest.mark.parametrize("sslmode", [SSLMode.VERIFY_FULL, SSLMode.VERIFY_CA])
def test_project_ca_service_without_ca_is_rejected(service, sslmode):
    with pytest.raises(ConfigError, match="ca="):
        decide(service, sslmode, None, has_ca=False, has_client_cert=False)


@pytest.mark.parametrize("service", PUBLIC)
@pytest.mark.parametrize("sslmode", [SSLMode.VERIFY_FULL, SSLMode.VERIFY_CA])
def test_public_service_without_ca_trusts_certifi(service, sslmode):
    d = decide(service, sslmode, None, has_ca=False, has_client_cert=False)
    assert d.trust is Trust.PUBLIC and d.verify_chain


@pytest.mark.parametrize("service", list(Service))
@pytest.mark.parametrize("trust", [Trust.PROJECT, Trust.PROJECT_AND_PUBLIC])
def test_trust_needing_the_project_ca_without_one_is_rejected(service, trust):
    with pytest.raises(ConfigError, match="project CA"):
        decide(service, SSLMode.VERIFY_FULL, trust, has_ca=False, has_client_cert=False)


@pytest.mark.parametrize("service", list(Service))
@pytest.mark.parametrize("trust", [Trust.PUBLIC, Trust.SYSTEM])
@pytest.mark.parametrize("has_ca", [True, False])
def test_explicit_public_or_system_trust_is_kept_and_require_then_verifies_the_chain(
    service, trust, has_ca
):
    d = decide(service, SSLMode.REQUIRE, trust, has_ca=has_ca, has_client_cert=False)
    assert d.trust is trust
    assert d.verify_chain and not d.check_hostname
    if has_ca:
        assert any("is not trusted" in r for r in d.reasons)


@pytest.mark.parametrize("service", PROJECT)
def test_public_trust_for_a_project_ca_service_says_it_will_likely_fail(service):
    d = decide(service, SSLMode.VERIFY_FULL, Trust.PUBLIC, has_ca=False, has_client_cert=False)
    assert any("likely fail" in r for r in d.reasons)


@pytest.mark.parametrize("client", [True, False])
def test_client_certificate_is_sent_only_when_given(client):
    d = decide(Service.KAFKA, SSLMode.VERIFY_FULL, None, has_ca=True, has_client_cert=client)
    assert d.client_cert is client


def test_every_decision_gives_one_sentence_per_reason():
    d = decide(Service.POSTGRESQL, SSLMode.VERIFY_FULL, None, has_ca=True, has_client_cert=True)
    assert len(d.reasons) >= 3
    assert all(r.endswith(".") for r in d.reasons)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("PG", "postgresql"),
        ("postgres", "postgresql"),
        ("pgsql", "postgresql"),
        ("PostgreSQL", "postgresql"),
        ("Kafka", "kafka"),
        ("kafka_connect", "kafka-connect"),
        ("Schema-Registry", "schema-registry"),
        (" valkey ", "valkey"),
        ("MySQL", "mysql"),
        ("redis", "redis"),
        ("opensearch", "opensearch"),
        ("clickhouse", "clickhouse"),
        ("grafana", "grafana"),
        ("cassandra", "cassandra"),
        ("flink", "flink"),
    ],
)
def test_service_names_and_aliases_are_case_insensitive(name, canonical):
    assert Service.parse(name).value == canonical


def test_unknown_service_lists_the_known_names():
    with pytest.raises(ConfigError) as info:
        Service.parse("mongodb")
    assert "mongodb" in str(info.value)
    for known in ("postgresql", "kafka", "mysql", "redis", "valkey", "opensearch"):
        assert known in str(info.value)


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer", "PREFER"])
def test_plaintext_sslmodes_are_rejected(mode):
    with pytest.raises(ConfigError, match="without TLS"):
        SSLMode.parse(mode)


@pytest.mark.parametrize("mode", ["verify_full", "verfy-full", "", "full", 3])
def test_sslmode_typos_are_rejected_with_the_valid_words(mode):
    if mode == "verify_full":
        assert SSLMode.parse(mode) is SSLMode.VERIFY_FULL
        return
    with pytest.raises(ConfigError, match="verify-full"):
        SSLMode.parse(mode)


def test_trust_none_is_not_a_choice():
    with pytest.raises(ConfigError, match="sslmode='require'"):
        Trust.parse("none")
