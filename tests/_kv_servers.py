"""The Redis and MariaDB servers the key-value family's tests share: one per certificate
(good, wronghost, othersigned), one plaintext each, and Redis asking for client
certificates. Each is started on first use, once per session, and stopped by PID at the
session's end (and at interpreter exit by tlsconnect.testing's registry).

Test modules use them through their own session fixture ``kv`` (see :func:`kv_servers`).
"""

from __future__ import annotations

import threading

from tlsconnect.testing import PKI, MariaDBServer, RedisServer

REDIS_PASSWORD = "redis-kv-s3cret"
REDIS_USER = "app"

_lock = threading.Lock()
_farms: dict[int, KVServers] = {}


class KVServers:
    """Lazily started servers: ``redis("good")``, ``mariadb("wronghost")``, ..."""

    def __init__(self, pki: PKI, mariadb_good: MariaDBServer) -> None:
        self.pki = pki
        self._redis: dict[str, RedisServer] = {}
        self._mariadb: dict[str, MariaDBServer] = {"good": mariadb_good}
        self._lock = threading.Lock()

    def redis(self, name: str = "good") -> RedisServer:
        """``good``/``wronghost``/``othersigned`` (ACL user :data:`REDIS_USER` with
        :data:`REDIS_PASSWORD`), ``mtls`` (client certificates required, no password),
        ``plaintext``."""
        with self._lock:
            if name not in self._redis:
                pki = self.pki
                cert = "good" if name in ("mtls", "plaintext") else name
                pair = pki.server_pairs[cert].pair
                if name == "mtls":
                    server = RedisServer(*pair, pki.ca_pem, auth_clients="yes", name=name)
                elif name == "plaintext":
                    server = RedisServer(*pair, pki.ca_pem, tls=False, name=name)
                else:
                    server = RedisServer(
                        *pair, pki.ca_pem, password=REDIS_PASSWORD, username=REDIS_USER, name=name
                    )
                self._redis[name] = server.start()
            return self._redis[name]

    def mariadb(self, name: str = "good") -> MariaDBServer:
        """``good`` (the session's), ``wronghost``, ``othersigned``, ``plaintext``."""
        with self._lock:
            if name not in self._mariadb:
                pki = self.pki
                cert = "good" if name == "plaintext" else name
                server = MariaDBServer(
                    *pki.server_pairs[cert].pair, pki.ca_pem, tls=name != "plaintext", name=name
                )
                self._mariadb[name] = server.start()
            return self._mariadb[name]

    def stop(self) -> None:
        with self._lock:
            for server in self._redis.values():
                server.stop()
            for name, db in self._mariadb.items():
                if name != "good":  # the plugin's fixture owns that one
                    db.stop()
            self._redis.clear()
            self._mariadb = {"good": self._mariadb["good"]}


def kv_servers(pki: PKI, mariadb_good: MariaDBServer) -> KVServers:
    """The one :class:`KVServers` of this session's PKI."""
    with _lock:
        farm = _farms.get(id(pki))
        if farm is None:
            farm = _farms[id(pki)] = KVServers(pki, mariadb_good)
        return farm
