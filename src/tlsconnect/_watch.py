"""What a :class:`tlsconnect.CredentialsSource` follows besides files: the environment,
and the provider's API.

A watch tells its source *whether* the material may have changed (``signature()``, cheap,
taken per connection) and loads it (``load()``, only when the signature changed). The
source keeps the last good material when a load fails (see ``_reload``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Protocol

from ._envvars import environment_signature, read_environment
from ._errors import ConfigError, TLSConnectError
from ._material import Credentials

__all__ = ["EnvWatch", "ProviderWatch", "Watch"]

#: How often a source following the provider's API asks it again, by default: service
#: user certificates are renewed months before they expire, so hourly is plenty.
DEFAULT_INTERVAL = 3600.0
#: After a failed fetch (network, API), how long before the next try.
RETRY_AFTER = 60.0


class Watch(Protocol):
    def signature(self) -> object: ...

    def load(self) -> Credentials: ...

    def describe(self) -> str: ...


class EnvWatch:
    """The environment's TLS variables (``Credentials.from_env``), and the files a path
    variable names: a file replaced under the same name (a Kubernetes secret volume) is
    noticed, and so is a variable the process itself changes."""

    def __init__(
        self,
        environ: Mapping[str, str] | None,
        convention: str | None,
        key_password: str | bytes | None,
    ) -> None:
        self._environ = environ
        self._convention = convention
        self._key_password = key_password
        read_environment(self._env(), convention)  # an unknown convention fails here

    def _env(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def signature(self) -> object:
        return environment_signature(self._env(), self._convention)

    def load(self) -> Credentials:
        return Credentials.from_env(
            self._env(), convention=self._convention, key_password=self._key_password
        )

    def describe(self) -> str:
        return "the environment" + (f" ({self._convention})" if self._convention else "")


class ProviderWatch:
    """A service user's material through the provider's API
    (``Credentials.from_aiven``), asked again every ``interval`` seconds; after a failed
    fetch, again after ``retry_after`` seconds (the last good material stays in use)."""

    def __init__(
        self,
        project: str,
        service: str,
        username: str,
        token: str | None,
        *,
        interval: float = DEFAULT_INTERVAL,
        retry_after: float = RETRY_AFTER,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (("interval", interval), ("retry_after", retry_after)):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"{name} must be a positive number of seconds, not {value!r}")
        self._project = project
        self._service = service
        self._username = username
        self._token = token
        self._interval = float(interval)
        self._retry_after = float(retry_after)
        self._clock = clock
        self._lock = threading.Lock()
        self._epoch = 0
        self._due = clock()

    def signature(self) -> object:
        with self._lock:
            now = self._clock()
            if now >= self._due:
                self._epoch += 1
                self._due = now + self._interval
            return self._epoch

    def load(self) -> Credentials:
        try:
            return Credentials.from_aiven(
                self._project, self._service, self._username, token=self._token
            )
        except TLSConnectError:
            # The next try is after retry_after: the signature stays as it is until then
            # (the source does not load a signature whose load failed), and then moves on.
            with self._lock:
                self._due = self._clock() + self._retry_after
            raise

    def describe(self) -> str:
        return (
            f"the provider's API: project {self._project!r}, service {self._service!r}, "
            f"user {self._username!r}, every {self._interval:g} s"
        )
