"""The stand-in API's fixtures, as a plugin the tests that use them name in
``pytest_plugins``: ``standin`` (the server, for the session) and ``aiven_env``
(aiven-client's settings pointing at it, for one test)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from aiven_standin import StandInAPI

AIVEN_VARIABLES = (
    "AIVEN_AUTH_TOKEN",
    "AIVEN_WEB_URL",
    "AIVEN_CA_CERT",
    "AIVEN_CREDENTIALS_FILE",
    "AIVEN_CONFIG_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


@pytest.fixture(scope="session")
def standin(pki) -> Iterator[StandInAPI]:
    """The stand-in API on 127.0.0.1, with the session PKI's server certificate."""
    api = StandInAPI(
        pki.server.cert_path,
        pki.server.key_path,
        pki.ca.cert_path,
        token="tok-" + secrets.token_urlsafe(24),
    )
    yield api
    api.stop()


@pytest.fixture
def aiven_env(standin, monkeypatch, tmp_path) -> StandInAPI:
    """aiven-client's settings pointing at the stand-in; no settings of the machine (a
    real ~/.config/aiven) in the way."""
    for name in AIVEN_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AIVEN_CONFIG_DIR", str(tmp_path / "aiven-config"))
    for name, value in standin.env().items():
        monkeypatch.setenv(name, value)
    return standin
