"""What a :class:`tlsconnect.CredentialsSource` follows besides files: the environment.

A watch tells its source *whether* the material may have changed (``signature()``, cheap,
taken per connection) and loads it (``load()``, only when the signature changed). The
source keeps the last good material when a load fails (see ``_reload``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Protocol

from ._envvars import environment_signature, read_environment
from ._material import Credentials

__all__ = ["EnvWatch", "Watch"]


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
