"""Credentials that follow rotated files: :class:`CredentialsSource`.

Client certificates expire (about two years on managed services) and are rotated by
downloading new files over the old ones. A long-running process keeps one
:class:`CredentialsSource` and asks it for a context or driver parameters *per new
connection*; the source re-reads the files only when one of them changed (device, inode,
size, modification or change time), so asking is cheap.

* psycopg / psycopg_pool: ``ConnectionPool(kwargs=lambda: source.psycopg_params(uri))``
  (psycopg_pool >= 3.3 calls a ``kwargs`` callable for every new connection).
  When the source changes, ``pool.drain()`` (psycopg_pool >= 3.2) replaces the pool's
  connections too, idle ones at once and busy ones when they are returned.
* asyncpg pools: ``await asyncpg.create_pool(dsn, ssl=source.ssl_context("postgresql"))``;
  when :meth:`CredentialsSource.refresh` says the material changed,
  ``pool.set_connect_args(dsn, ssl=source.ssl_context("postgresql"))`` and
  ``await pool.expire_connections()``.
* kafka-python, aiokafka, confluent-kafka keep the TLS material of a client for all of its
  reconnections: create a new client when :meth:`CredentialsSource.refresh` says the files
  changed (the consumer's committed offsets carry over through its group).

Besides files, a source follows the environment (:meth:`CredentialsSource.from_env`) and
the provider's API (:meth:`CredentialsSource.from_aiven`, asked again every hour): see
``_watch``.

The parameters returned for libpq name private snapshot copies (0600) of the material as
it was when it was last read and checked, so a connection never pairs a new certificate
with an old key while files are being replaced. A change that does not parse (a half
written rotation, a key that does not match its new certificate yet) keeps the last good
material, logs a warning, and is tried again on the next call.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import ConfigError, TLSConnectError
from ._files import write_private
from ._material import Credentials
from ._plan import ssl_context
from ._watch import DEFAULT_INTERVAL, RETRY_AFTER, EnvWatch, ProviderWatch, Watch
from .adapters import aiokafka_config, confluent_kafka_config, kafka_python_config, psycopg_params

if TYPE_CHECKING:
    import ssl

__all__ = ["CredentialsSource"]

log = logging.getLogger("tlsconnect")

_LAYOUT = {"ca": "ca.pem", "cert": "service.cert", "key": "service.key"}
_Signature = tuple[tuple[int, int, int, int, int] | None, ...]


def _signature(paths: list[Path]) -> _Signature:
    result: list[tuple[int, int, int, int, int] | None] = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            result.append(None)
            continue
        result.append((info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns))
    return tuple(result)


class CredentialsSource:
    """A :class:`Credentials` that follows its files: :meth:`current` re-reads them when
    they changed. Thread-safe; make one per set of files and share it."""

    def __init__(
        self,
        *,
        ca: str | os.PathLike[str] | None = None,
        cert: str | os.PathLike[str] | None = None,
        key: str | os.PathLike[str] | None = None,
        key_password: str | bytes | None = None,
    ) -> None:
        given = {"ca": ca, "cert": cert, "key": key}
        if all(value is None for value in given.values()):
            raise ConfigError("CredentialsSource needs at least one of ca=, cert=, key= (paths)")
        for role, value in given.items():
            if value is not None and not isinstance(value, str | os.PathLike):
                raise ConfigError(
                    f"CredentialsSource follows files: {role}= must be a path, not "
                    f"{type(value).__name__}; for fixed material use Credentials"
                )
        self._paths = {role: Path(os.fspath(v)) for role, v in given.items() if v is not None}
        self._directory: Path | None = None
        self._watch: Watch | None = None
        self._key_password = key_password
        self._lock = threading.Lock()  # the state below
        self._loading = threading.Lock()  # held by the one load that runs
        self._signature: object = None
        self._failed: object = None  # the signature whose load failed last
        self._credentials: Credentials | None = None
        self._generation = 0
        self.current()  # the first read must succeed: bad input is a ConfigError here

    @classmethod
    def from_directory(
        cls, path: str | os.PathLike[str], *, key_password: str | bytes | None = None
    ) -> CredentialsSource:
        """Follow the files ``avn service user-creds-download`` writes into ``path``
        (``ca.pem``, ``service.cert``, ``service.key``), as
        :meth:`Credentials.from_directory` reads them."""
        directory = Path(os.fspath(path))
        paths = {role: directory / name for role, name in _LAYOUT.items()}
        return cls._following(paths, directory, key_password, None)

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        convention: str | None = None,
        key_password: str | bytes | None = None,
    ) -> CredentialsSource:
        """Follow the environment's TLS variables, as :meth:`Credentials.from_env` reads
        them, and the files path variables name (a Kubernetes secret volume updated in
        place is picked up on the next call)."""
        return cls._following({}, None, key_password, EnvWatch(environ, convention, key_password))

    @classmethod
    def from_aiven(
        cls,
        project: str,
        service: str,
        username: str = "avnadmin",
        *,
        token: str | None = None,
        interval: float = DEFAULT_INTERVAL,
        retry_after: float = RETRY_AFTER,
    ) -> CredentialsSource:
        """Follow a service user's material through the provider's API, as
        :meth:`Credentials.from_aiven` fetches it, asked again every ``interval`` seconds
        (one call per interval pays for the fetch, while the other callers are served the
        last good material at once; a failed fetch keeps the last good material and is
        tried again ``retry_after`` seconds later, a minute by default, however many
        callers ask meanwhile)."""
        watch = ProviderWatch(
            project, service, username, token, interval=interval, retry_after=retry_after
        )
        return cls._following({}, None, None, watch)

    @classmethod
    def _following(
        cls,
        paths: dict[str, Path],
        directory: Path | None,
        key_password: str | bytes | None,
        watch: Watch | None,
    ) -> CredentialsSource:
        self = cls.__new__(cls)
        self._paths = paths
        self._directory = directory
        self._watch = watch
        self._key_password = key_password
        self._lock = threading.Lock()
        self._loading = threading.Lock()
        self._signature = None
        self._failed = None
        self._credentials = None
        self._generation = 0
        self.current()  # the first read must succeed (and is the only one): ConfigError
        return self

    # -- reading ---------------------------------------------------------------------

    def _load(self) -> Credentials:
        if self._watch is not None:
            return self._watch.load()
        if self._directory is not None:
            return Credentials.from_directory(self._directory, key_password=self._key_password)
        return Credentials(
            ca=self._paths.get("ca"),
            cert=self._paths.get("cert"),
            key=self._paths.get("key"),
            key_password=self._key_password,
        )

    def _now(self) -> object:
        if self._watch is not None:
            return self._watch.signature()
        return _signature(list(self._paths.values()))

    def refresh(self) -> bool:
        """Re-read the material if it may have changed (files: a new state; environment:
        a new value; provider: the interval passed); return whether new material was
        loaded.

        One load at a time: while one runs (the provider's API may take tens of seconds
        with its retries), other callers are served the last good material at once
        instead of waiting; only the very first load is waited for. A provider fetch that
        failed is not tried again before its back-off ends, however many callers ask.
        """
        signature = self._now()
        with self._lock:
            if self._credentials is not None and signature in (self._signature, self._failed):
                return False
        # Only the first load (nothing to serve yet) waits for one that runs.
        if not self._loading.acquire(blocking=self._credentials is None):
            return False
        try:
            with self._lock:  # another caller may have loaded it meanwhile
                if self._credentials is not None and signature in (
                    self._signature,
                    self._failed,
                ):
                    return False
            try:
                loaded = self._load()  # outside the state lock: callers are not held up
            except TLSConnectError as exc:  # bad material, or the provider's API failed
                if self._credentials is None:
                    raise
                if self._watch is not None:
                    # The same signature is not loaded again: a new one comes when the
                    # watch's back-off ends (files are tried again on every call).
                    with self._lock:
                        self._failed = signature
                log.warning(
                    "tlsconnect: the new material could not be loaded (%s); the previous "
                    "material stays in use until it can",
                    exc,
                )
                return False
            # Files changed again while they were read: read once more next time.
            after = self._now()
            with self._lock:
                self._signature = signature if after == signature else None
                self._failed = None
                changed = self._credentials is None or loaded != self._credentials
                self._credentials = loaded
                if changed:
                    self._generation += 1
                    log.info(
                        "tlsconnect: loaded credentials %s (generation %d)",
                        loaded,
                        self._generation,
                    )
                return changed
        finally:
            self._loading.release()

    def current(self) -> Credentials:
        """The :class:`Credentials` for the files as they are now."""
        self.refresh()
        credentials = self._credentials
        if credentials is None:  # refresh() raises instead of leaving none
            raise ConfigError("no credentials could be loaded")
        return credentials

    @property
    def generation(self) -> int:
        """Starts at 1 and grows each time new material is loaded."""
        return self._generation

    def __repr__(self) -> str:
        if self._watch is not None:
            return f"CredentialsSource({self._watch.describe()}, generation={self._generation})"
        where = self._directory or ", ".join(f"{k}={str(v)!r}" for k, v in self._paths.items())
        return f"CredentialsSource({where}, generation={self._generation})"

    # -- per-connection helpers --------------------------------------------------------

    def ssl_context(
        self, service: str, *, sslmode: str | None = None, trust: str | None = None
    ) -> ssl.SSLContext:
        """``tlsconnect.ssl_context(service, credentials=source.current(), ...)``."""
        return ssl_context(service, sslmode=sslmode, trust=trust, credentials=self.current())

    def psycopg_params(
        self, conninfo: str = "", *, sslmode: str | None = None, **overrides: Any
    ) -> dict[str, Any]:
        """``tlsconnect.psycopg_params(...)`` with the current material, naming private
        snapshot files so that libpq reads a certificate and key that belong together."""
        credentials = self.current()
        params = psycopg_params(conninfo, sslmode=sslmode, credentials=credentials, **overrides)
        if credentials.has_ca and params.get("sslrootcert") == str(credentials.ca_file()):
            params["sslrootcert"] = str(write_private(credentials.ca_pem, ".ca.pem"))
        if credentials.has_client_cert:
            params["sslcert"] = str(write_private(credentials.cert_chain_pem, ".crt.pem"))
            params["sslkey"] = str(write_private(credentials.key_pem, ".key.pem"))
        return params

    def kafka_python_config(
        self, bootstrap_servers: str | list[str], **options: Any
    ) -> dict[str, Any]:
        """``tlsconnect.kafka_python_config(...)`` with the current material. kafka-python
        keeps it for the client's lifetime: make a new client after :meth:`refresh`."""
        return kafka_python_config(bootstrap_servers, credentials=self.current(), **options)

    def confluent_kafka_config(
        self, bootstrap_servers: str | list[str], **options: Any
    ) -> dict[str, Any]:
        """``tlsconnect.confluent_kafka_config(...)`` with the current material."""
        return confluent_kafka_config(bootstrap_servers, credentials=self.current(), **options)

    def aiokafka_config(self, bootstrap_servers: str | list[str], **options: Any) -> dict[str, Any]:
        """``tlsconnect.aiokafka_config(...)`` with the current material."""
        return aiokafka_config(bootstrap_servers, credentials=self.current(), **options)
