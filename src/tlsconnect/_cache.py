"""Bounded caches that make repeated calls with the same inputs nearly free.

* :func:`cached_credentials`: a :class:`~tlsconnect.Credentials` per exact input. Text and
  bytes are keyed by a keyed BLAKE2 digest of their content; paths by the path and the
  file's identity and state (device, inode, size, modification and change times, mode),
  so an edited, replaced or ``chmod``-ed file is read again. Material that is expired, not
  yet valid or within the expiry-warning window is never served from the cache, so the
  :class:`~tlsconnect.CertificateExpiryWarning` is given on every call, as without the
  cache; an entry is dropped the moment its material enters that window.
* :data:`shared_contexts`: the read-only contexts handed out by
  ``ssl_context(..., shared=True)``, one per identical plan.

Errors are never cached: a bad input raises on every call.
"""

from __future__ import annotations

import _thread
import os
import time
from collections import OrderedDict

from ._material import EXPIRY_WARNING_DAYS, Credentials

# typing is not imported at run time: this module is on the path of the first context.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Hashable

    from ._pem import Material

__all__ = [
    "LRU",
    "cached_credentials",
    "clear",
    "credentials_cache",
    "plans",
    "shared_contexts",
]

#: How many distinct inputs keep their parsed Credentials.
CREDENTIALS_CACHE_SIZE = 128
#: How many distinct plans keep a shared context.
SHARED_CONTEXT_CACHE_SIZE = 64


class LRU:
    """A small thread-safe least-recently-used mapping (values are checked by the caller:
    the class is not generic, so that typing is not needed at run time)."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, object] = OrderedDict()
        self._lock = _thread.allocate_lock()

    def get(self, key: Hashable) -> object | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: Hashable, value: object) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def pop(self, key: Hashable) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


_digest_key = os.urandom(32)


def _digest(data: bytes) -> bytes:
    """A keyed digest of material, so that cache keys reveal nothing of it."""
    import hashlib

    return hashlib.blake2b(data, key=_digest_key, digest_size=32).digest()


def material_key(value: object) -> tuple[object, ...] | None:
    """A cache key for one input, or ``None`` when it cannot be cached (it is then parsed,
    and any error raised, as usual)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return ("bytes", _digest(bytes(value)))
    if isinstance(value, str) and "-----BEGIN" in value:
        return ("text", _digest(value.encode("utf-8", "surrogatepass")))
    if isinstance(value, str | os.PathLike):
        path = os.fspath(value)
        if not isinstance(path, str):
            return None
        try:
            info = os.stat(path)
        except (OSError, ValueError):
            return None
        return (
            "path",
            path,
            info.st_dev,
            info.st_ino,
            info.st_size,
            info.st_mtime_ns,
            info.st_ctime_ns,
            info.st_mode,
        )
    return None


class _Entry:
    __slots__ = ("credentials", "quiet_from", "quiet_until")

    def __init__(self, credentials: Credentials, quiet_from: float, quiet_until: float) -> None:
        self.credentials = credentials
        self.quiet_from = quiet_from
        self.quiet_until = quiet_until


def _quiet_window(credentials: Credentials) -> tuple[float, float]:
    """The times between which loading this material gives no expiry warning."""
    certificates = list(credentials.ca_certificates)
    if credentials.certificate is not None:
        certificates.append(credentials.certificate)
    if not certificates:
        return float("-inf"), float("inf")
    start = max(c.not_valid_before_utc.timestamp() for c in certificates)
    end = min(c.not_valid_after_utc.timestamp() for c in certificates)
    return start, end - EXPIRY_WARNING_DAYS * 86400


credentials_cache = LRU(CREDENTIALS_CACHE_SIZE)


def cached_credentials(
    *,
    ca: Material | None,
    cert: Material | None,
    key: Material | None,
    key_password: str | bytes | None,
) -> Credentials:
    """``Credentials(ca=..., cert=..., key=..., key_password=...)``, from the cache when the
    same inputs were parsed before and nothing about them changed."""
    parts: list[object] = []
    for value in (ca, cert, key):
        if value is None:
            parts.append(None)
            continue
        part = material_key(value)
        if part is None:
            return Credentials(ca=ca, cert=cert, key=key, key_password=key_password)
        parts.append(part)
    if key_password is None:
        parts.append(None)
    elif isinstance(key_password, str):
        parts.append(_digest(key_password.encode("utf-8", "surrogatepass")))
    elif isinstance(key_password, bytes | bytearray):
        parts.append(_digest(bytes(key_password)))
    else:
        return Credentials(ca=ca, cert=cert, key=key, key_password=key_password)
    cache_key = tuple(parts)
    now = time.time()
    entry = credentials_cache.get(cache_key)
    if isinstance(entry, _Entry):
        if entry.quiet_from <= now < entry.quiet_until:
            return entry.credentials
        credentials_cache.pop(cache_key)
    credentials = Credentials(ca=ca, cert=cert, key=key, key_password=key_password)
    quiet_from, quiet_until = _quiet_window(credentials)
    if quiet_from <= now < quiet_until:
        credentials_cache.put(cache_key, _Entry(credentials, quiet_from, quiet_until))
    return credentials


shared_contexts = LRU(SHARED_CONTEXT_CACHE_SIZE)

#: Plans already made, per (service type, sslmode, trust, Credentials): a plan is a pure
#: function of these, so a context per request need not decide again. Errors are never
#: kept (a ConfigError raises before anything is stored).
plans = LRU(SHARED_CONTEXT_CACHE_SIZE)


def clear() -> None:
    """Empty every cache of this module (a process's first call, for tests and benchmarks)."""
    credentials_cache.clear()
    shared_contexts.clear()
    plans.clear()
