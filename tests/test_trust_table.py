"""The provider's current trust table, one row per service type, proven with real handshakes.

MySQL verifies against the project CA like PostgreSQL; Kafka with SASL uses the project CA
unless a service was switched to publicly trusted SASL certificates (trust="public"); a
project CA rotation hands out a ca.pem holding the old and the new CA, and both are trusted,
in either order, with no warning unless one of them is expired.
"""

from __future__ import annotations

import datetime
import socket
import ssl
import warnings

import pytest

import tlsconnect
from tlsconnect import CertificateExpiryWarning, ConfigError, InsecureConnectionWarning, Service
from tlsconnect._model import SERVICE_TABLE
from tlsconnect.testing import make_ca


def talk(context: ssl.SSLContext, server, host: str = "localhost") -> bytes:
    with socket.create_connection(server.address, timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=host) as tls:
            return tls.recv(3)


def test_every_service_type_has_exactly_one_row_with_its_reason_in_explain(pki):
    assert set(SERVICE_TABLE) == set(Service)
    for service, (_, reason) in SERVICE_TABLE.items():
        assert reason.startswith(f"{service.value} servers present a certificate issued by")
        plan = tlsconnect.resolve(service.value, ca=pki.ca_pem)
        assert plan.reasons[0] == reason and reason in plan.explain()


@pytest.mark.parametrize("mode", ["verify-full", "verify-ca"])
def test_mysql_verifying_without_the_project_ca_is_a_config_error_naming_ca_pem(mode):
    with pytest.raises(ConfigError, match=r"ca='ca\.pem'"):
        tlsconnect.resolve("mysql", sslmode=mode)


def test_mysql_with_the_project_ca_trusts_only_it_and_verifies_a_real_server(pki, tls_server):
    plan = tlsconnect.resolve("mysql", ca=pki.ca_pem)
    assert plan.trust == "project" and plan.check_hostname
    assert "project's private CA" in plan.explain()
    assert talk(plan.ssl_context(), tls_server("good")) == b"OK\n"
    with pytest.raises(ssl.SSLCertVerificationError):
        talk(plan.ssl_context(), tls_server("othersigned"))


def test_mysql_require_without_a_ca_warns_as_postgresql_does():
    with pytest.warns(InsecureConnectionWarning, match="NOT verified"):
        plan = tlsconnect.resolve("mysql", sslmode="require")
    assert plan.trust == "none" and not plan.verify_chain


def test_kafka_explains_sasl_and_the_switch_to_public_certificates(pki):
    plan = tlsconnect.resolve("kafka", ca=pki.ca_pem)
    assert "SASL" in plan.explain() and "trust='public'" in plan.explain()
    public = tlsconnect.resolve("kafka", trust="public")
    assert public.trust == "public"


def test_kafka_sasl_with_public_trust_verifies_against_certifi_not_the_project_ca(pki, tls_server):
    cfg = tlsconnect.kafka_python_config(
        "localhost:9092", trust="public", sasl_username="u", sasl_password="p"
    )
    assert cfg["security_protocol"] == "SASL_SSL"
    with pytest.raises(ssl.SSLCertVerificationError):  # a project-CA server is not trusted
        talk(cfg["ssl_context"], tls_server("good"))


@pytest.fixture(scope="module")
def rotation(pki, tmp_path_factory):
    """The old project CA (pki.ca) and the new one (pki.other_ca), and an expired CA."""
    directory = tmp_path_factory.mktemp("rotation")
    now = datetime.datetime.now(datetime.timezone.utc)
    expired = make_ca(
        directory,
        "expired-ca",
        "Expired Project CA",
        not_before=now - datetime.timedelta(days=800),
        not_after=now - datetime.timedelta(days=1),
    )
    return pki.ca, pki.other_ca, expired


@pytest.mark.parametrize("order", ["old+new", "new+old"])
@pytest.mark.parametrize("service", ["postgresql", "mysql", "kafka"])
def test_rotation_bundle_trusts_both_cas_in_either_order_without_a_warning(
    rotation, tls_server, order, service
):
    old, new, _ = rotation
    first, second = (old, new) if order == "old+new" else (new, old)
    bundle = first.cert_pem + second.cert_pem
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        context = tlsconnect.ssl_context(service, ca=bundle)
    assert talk(context, tls_server("good")) == b"OK\n"  # issued by the old CA
    assert talk(context, tls_server("othersigned")) == b"OK\n"  # issued by the new CA


def test_rotation_bundle_with_an_expired_ca_warns_and_still_trusts_the_valid_one(
    rotation, tls_server
):
    old, _, expired = rotation
    with pytest.warns(CertificateExpiryWarning, match="Expired Project CA"):
        context = tlsconnect.ssl_context("postgresql", ca=expired.cert_pem + old.cert_pem)
    assert talk(context, tls_server("good")) == b"OK\n"


def test_readme_table_follows_the_code():
    import pathlib

    readme = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Why: who issues which certificate", 1)[1].split("\n## ", 1)[0]
    project_row = next(line for line in section.splitlines() if "(`verify-ca`" in line)
    for service, (project, _) in SERVICE_TABLE.items():
        if project and service is not Service.KAFKA:
            assert (
                service.value.replace("postgresql", "PostgreSQL").replace("mysql", "MySQL")
                in project_row
            ), service
