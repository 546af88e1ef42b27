"""A missing driver is a MissingDependencyError naming the pip install that fixes it."""

from __future__ import annotations

import sys

import pytest

import tlsconnect
from tlsconnect import MissingDependencyError, TLSConnectError


@pytest.mark.parametrize(
    ("module", "extra", "call"),
    [
        ("psycopg", "postgres", lambda pki: tlsconnect.psycopg_params("host=h", ca=pki.ca_pem)),
        ("kafka", "kafka", lambda pki: tlsconnect.kafka_python_config("h:1", ca=pki.ca_pem)),
        (
            "confluent_kafka",
            "confluent",
            lambda pki: tlsconnect.confluent_kafka_config("h:1", ca=pki.ca_pem),
        ),
        ("aiokafka", "aiokafka", lambda pki: tlsconnect.aiokafka_config("h:1", ca=pki.ca_pem)),
    ],
)
def test_missing_driver_names_the_extra_to_install(pki, monkeypatch, module, extra, call):
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    with pytest.raises(MissingDependencyError) as info:
        call(pki)
    assert f'pip install "tlsconnect[{extra}]"' in str(info.value)
    assert isinstance(info.value, ImportError) and isinstance(info.value, TLSConnectError)


@pytest.mark.parametrize(
    ("module", "call", "expected"),
    [
        (
            "asyncpg",
            lambda pki: tlsconnect.params("asyncpg", "postgres://u@h:5432/db", ca=pki.ca_pem),
            "params('asyncpg') writes parameters for asyncpg, which is not installed; "
            'install it with: pip install "tlsconnect[asyncpg]"',
        ),
        (
            "kafka",
            lambda pki: tlsconnect.kafka_python_config("h:1", ca=pki.ca_pem),
            "kafka_python_config() writes parameters for kafka-python, which is not installed; "
            'install it with: pip install "tlsconnect[kafka]"',
        ),
    ],
)
def test_the_missing_driver_message_reads_as_a_sentence(pki, monkeypatch, module, call, expected):
    monkeypatch.setitem(sys.modules, module, None)  # as if it were not installed
    with pytest.raises(MissingDependencyError) as info:
        call(pki)
    assert str(info.value) == expected
