"""Lookalikes of managed data services, for testing code that connects to them over TLS.

A project PKI (:func:`make_pki`: a CA, server and client certificates, their broken
variants, and a credentials directory laid out like ``avn service
user-creds-download``) and real servers on loopback that use it, each a context
manager that stops every process it started, by PID::

    import tlsconnect
    from tlsconnect.testing import PostgresServer, make_pki

    pki = make_pki(tmp_dir)
    with PostgresServer(pki.server.cert_path, pki.server.key_path, pki.ca_pem) as pg:
        creds = tlsconnect.Credentials.from_directory(pki.creds_dir)
        assert tlsconnect.check(pg.url(user="avnadmin"), credentials=creds).ok

* :class:`PostgresServer` / :class:`PostgresFarm` - PostgreSQL 15 (or 18 with
  ``version=18``, which accepts direct TLS), ``ssl=on``, client-certificate login for
  ``avnadmin``.
* :class:`KafkaServer` / :class:`KafkaFarm` - a Kafka-protocol broker (tansu) behind
  stunnel, which requires client certificates.
* :class:`RedisServer` - ``redis-server`` on a TLS port only.
* :class:`MariaDBServer` - MariaDB requiring TLS, with a ``REQUIRE X509`` user.
* :class:`TLSServer`, :class:`HTTPSServer` - in-process servers that record each
  handshake and the client certificate shown.
* :func:`make_zoo` - a certificate zoo (root and intermediate CA; servers named only in
  the common name, by wildcard DNS names, by IP addresses, by no name; client keys in
  PEM, DER and encrypted forms) on which libpq and Python's ``ssl`` disagree.
* :class:`RecordingProxy` - a loopback TCP proxy that records each connection's first
  bytes and round trips, optionally adding a delay each way.

A missing program is a :class:`MissingBinaryError` naming the package that provides it.
With pytest, the plugin :mod:`tlsconnect.testing.pytest_plugin` offers all of these as
``tlsconnect_*`` fixtures.

This package is independent of the rest of tlsconnect (it needs only ``cryptography``),
is never imported by ``import tlsconnect``, and imports its parts on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# public name -> the private module that defines it
_EXPORTS: dict[str, str] = {
    "CA": "._pki",
    "CLIENT_COMMON_NAME": "._pki",
    "CLIENT_KEY_PASSWORD": "._pki",
    "HTTPRequest": "._tls",
    "HTTPResponse": "._tls",
    "HTTPSServer": "._tls",
    "Handler": "._tls",
    "Handshake": "._tls",
    "Issued": "._pki",
    "KafkaFarm": "._kafka",
    "KafkaServer": "._kafka",
    "KeyType": "._pki",
    "MariaDBServer": "._mariadb",
    "MissingBinaryError": "._process",
    "PKI": "._pki",
    "PostgresFarm": "._postgres",
    "PostgresServer": "._postgres",
    "PrivateKey": "._pki",
    "ProxiedConnection": "._proxy",
    "RecordingProxy": "._proxy",
    "RedisServer": "._redis",
    "ServerError": "._process",
    "TLSServer": "._tls",
    "ca_key_usage": "._pki",
    "cert_pem": "._pki",
    "client_hello_alpn": "._proxy",
    "find_binary": "._process",
    "free_port": "._process",
    "ipv6_loopback_available": "._process",
    "issue_cert": "._pki",
    "key_pem": "._pki",
    "leaf_key_usage": "._pki",
    "make_ca": "._pki",
    "make_pki": "._pki",
    "new_key": "._pki",
    "quiet_resource_leaks": "._process",
    "utc_now": "._pki",
    "wait_for_port": "._process",
    "write_file": "._pki",
    "ZOO_SERVERS": "._zoo",
    "Zoo": "._zoo",
    "make_zoo": "._zoo",
}

__all__ = [
    "CA",
    "CLIENT_COMMON_NAME",
    "CLIENT_KEY_PASSWORD",
    "PKI",
    "ZOO_SERVERS",
    "HTTPRequest",
    "HTTPResponse",
    "HTTPSServer",
    "Handler",
    "Handshake",
    "Issued",
    "KafkaFarm",
    "KafkaServer",
    "KeyType",
    "MariaDBServer",
    "MissingBinaryError",
    "PostgresFarm",
    "PostgresServer",
    "PrivateKey",
    "ProxiedConnection",
    "RecordingProxy",
    "RedisServer",
    "ServerError",
    "TLSServer",
    "Zoo",
    "ca_key_usage",
    "cert_pem",
    "client_hello_alpn",
    "find_binary",
    "free_port",
    "ipv6_loopback_available",
    "issue_cert",
    "key_pem",
    "leaf_key_usage",
    "make_ca",
    "make_pki",
    "make_zoo",
    "new_key",
    "quiet_resource_leaks",
    "utc_now",
    "wait_for_port",
    "write_file",
]

if TYPE_CHECKING:
    from ._kafka import KafkaFarm, KafkaServer
    from ._mariadb import MariaDBServer
    from ._pki import (
        CA,
        CLIENT_COMMON_NAME,
        CLIENT_KEY_PASSWORD,
        PKI,
        Issued,
        KeyType,
        PrivateKey,
        ca_key_usage,
        cert_pem,
        issue_cert,
        key_pem,
        leaf_key_usage,
        make_ca,
        make_pki,
        new_key,
        utc_now,
        write_file,
    )
    from ._postgres import PostgresFarm, PostgresServer
    from ._process import (
        MissingBinaryError,
        ServerError,
        find_binary,
        free_port,
        ipv6_loopback_available,
        quiet_resource_leaks,
        wait_for_port,
    )
    from ._proxy import ProxiedConnection, RecordingProxy, client_hello_alpn
    from ._redis import RedisServer
    from ._tls import Handler, Handshake, HTTPRequest, HTTPResponse, HTTPSServer, TLSServer
    from ._zoo import ZOO_SERVERS, Zoo, make_zoo
else:

    def __getattr__(name: str) -> object:
        module = _EXPORTS.get(name)
        if module is None:
            raise AttributeError(f"module 'tlsconnect.testing' has no attribute {name!r}")
        value = getattr(importlib.import_module(module, __name__), name)
        globals()[name] = value  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(__all__))
