"""The servers now live in :mod:`tlsconnect.testing`; this name stays only for
``benchmarks/run.py``, which imports ``servers`` from tests/. Tests import
``tlsconnect.testing``."""

from tlsconnect.testing import KafkaFarm, KafkaServer, PostgresFarm, PostgresServer

__all__ = ["KafkaFarm", "KafkaServer", "PostgresFarm", "PostgresServer"]
