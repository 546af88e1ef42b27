"""The provider's API, through its own client library (``aiven-client``, the ``aiven``
extra): the project CA, a service user's certificate and key, the project's services,
and what the API's answers mean for tlsconnect.

Settings are aiven-client's own, read when a client is made:

* the token: ``token=``, else ``AIVEN_AUTH_TOKEN``, else the file ``avn user login``
  writes (``AIVEN_CREDENTIALS_FILE``, else ``$AIVEN_CONFIG_DIR/aiven-credentials.json``,
  else ``~/.config/aiven/aiven-credentials.json``; its ``auth_token``);
* the base URL: ``AIVEN_WEB_URL`` (avn's ``--url``), else ``https://api.aiven.io``;
* the CA that signs the API's certificate, when it is not a public one (a TLS-inspecting
  proxy): ``AIVEN_CA_CERT`` (avn's ``--auth-ca``), or requests' ``REQUESTS_CA_BUNDLE``,
  which requests lets win over ``AIVEN_CA_CERT`` when both are set (as for avn).

Every failure is a :class:`~tlsconnect.ProviderAPIError` (a ``TLSConnectError``) that
says what to do; the token never appears in a message, a log line or a repr.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping

from ._errors import ConfigError, MissingDependencyError, ProviderAPIError
from ._model import Service
from ._pem import MAX_INPUT_BYTES, Input

# Credentials imports this module, and Credentials is on the path of every context:
# typing, dataclasses, pathlib, json and logging are not imported at run time until a
# call needs them (re and collections.abc come with ssl).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from typing import Any

    from aiven.client.client import AivenClient

__all__ = [
    "DEFAULT_API_URL",
    "INSTALL_HINT",
    "SERVICE_TYPES",
    "Endpoint",
    "ProviderAPI",
    "UserMaterial",
    "credentials_file",
    "find_token",
    "service_endpoints",
    "user_material",
]

DEFAULT_API_URL = "https://api.aiven.io"
INSTALL_HINT = 'pip install "tlsconnect[aiven]"'
#: Seconds aiven-client waits for an answer (its own default is to wait forever).
REQUEST_TIMEOUT = 30
_TOKEN_HELP = (
    "pass token=..., set AIVEN_AUTH_TOKEN, or log in with `avn user login` (which writes "
    "~/.config/aiven/aiven-credentials.json)"
)

#: The provider's service types, as tlsconnect's: what ``check --project`` plans with.
SERVICE_TYPES: dict[str, Service] = {
    "pg": Service.POSTGRESQL,
    "alloydbomni": Service.POSTGRESQL,
    "mysql": Service.MYSQL,
    "kafka": Service.KAFKA,
    "kafka_connect": Service.KAFKA_CONNECT,
    "redis": Service.REDIS,
    "valkey": Service.VALKEY,
    "dragonfly": Service.DRAGONFLY,
    "opensearch": Service.OPENSEARCH,
    "elasticsearch": Service.OPENSEARCH,
    "clickhouse": Service.CLICKHOUSE,
    "grafana": Service.GRAFANA,
    "cassandra": Service.CASSANDRA,
    "flink": Service.FLINK,
    "m3db": Service.M3DB,
    "influxdb": Service.INFLUXDB,
}


# -- settings ------------------------------------------------------------------------


def credentials_file(environ: Mapping[str, str]) -> Path:
    """Where ``avn user login`` keeps the token (aiven-client's own rule)."""
    from pathlib import Path

    named = environ.get("AIVEN_CREDENTIALS_FILE")
    if named:
        return Path(named)
    config_dir = environ.get("AIVEN_CONFIG_DIR") or os.path.join(
        os.path.expanduser("~"), ".config", "aiven"
    )
    return Path(config_dir) / "aiven-credentials.json"


# Compiled on first use: this module is imported with Credentials, on the path of every
# context, and most processes never call the provider's API.
@functools.cache
def _token_characters() -> re.Pattern[str]:
    return re.compile(r"[\x21-\x7e]+")


def find_token(token: str | None, environ: Mapping[str, str]) -> tuple[str, str]:
    """The token and where it came from (for messages): the argument, ``AIVEN_AUTH_TOKEN``,
    or the CLI's credentials file."""
    if token is not None:
        return _valid_token(token, "token="), "token="
    from_env = environ.get("AIVEN_AUTH_TOKEN")
    if from_env:
        return _valid_token(from_env, "AIVEN_AUTH_TOKEN"), "AIVEN_AUTH_TOKEN"
    path = credentials_file(environ)
    where = f"the credentials file '{path}'"
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(1024 * 1024)
    except FileNotFoundError:
        raise ConfigError(f"no API token: {_TOKEN_HELP}") from None
    except OSError as exc:
        raise ConfigError(f"{where} cannot be read ({exc.strerror}); {_TOKEN_HELP}") from None
    import json

    try:
        loaded = json.loads(text)
    except ValueError:
        loaded = None
    found = loaded.get("auth_token") if isinstance(loaded, dict) else None
    if not isinstance(found, str) or not found:
        raise ConfigError(
            f"{where} holds no auth_token; log in again with `avn user login`, or "
            "set AIVEN_AUTH_TOKEN"
        )
    return _valid_token(found, where), where


def _valid_token(token: object, where: str) -> str:
    if not isinstance(token, str):
        raise ConfigError(f"the API token ({where}) must be a string, not {type(token).__name__}")
    stripped = token.strip()
    # A token goes into an HTTP header: control characters or spaces would be refused by
    # requests with a message that quotes the header, token and all. Refuse it here.
    if not stripped or not _token_characters().fullmatch(stripped):
        raise ConfigError(
            f"the API token ({where}) is empty or holds spaces or control characters; "
            "copy it again (`avn user access-token create` makes a new one)"
        )
    return stripped


def api_url(environ: Mapping[str, str], override: str | None = None) -> str:
    url = (override or environ.get("AIVEN_WEB_URL") or DEFAULT_API_URL).strip().rstrip("/")
    if not url.lower().startswith("https://"):
        where = "api_url=" if override else "AIVEN_WEB_URL"
        raise ConfigError(
            f"{where} must be an https:// URL: the API token must never travel in clear "
            f"text (got a URL starting with {url.split('://')[0]!r})"
        )
    return url


# -- the client ----------------------------------------------------------------------


def _client_module() -> Any:
    try:
        import aiven.client.client as module
    except ImportError:
        raise MissingDependencyError(
            f"talking to the provider's API needs aiven-client; {INSTALL_HINT}"
        ) from None
    return module


class ProviderAPI:
    """One aiven-client ``AivenClient`` with tlsconnect's settings and errors."""

    def __init__(
        self,
        token: str | None = None,
        *,
        api_url_override: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self.url = api_url(env, api_url_override)
        self._token, self.token_source = find_token(token, env)
        module = _client_module()
        import logging

        http_log = logging.getLogger("aiven_http")
        handlers = list(http_log.handlers)
        self._client: AivenClient = module.AivenClient(
            base_url=self.url, request_timeout=REQUEST_TIMEOUT
        )
        # AivenClient adds a stream handler to the "aiven_http" logger each time one is
        # made; a process that makes many would collect them. Leave the logger as it was.
        for handler in http_log.handlers[len(handlers) :]:
            http_log.removeHandler(handler)
        ca = env.get("AIVEN_CA_CERT")
        if ca:
            self._client.set_ca(ca)
        self._client.set_auth_token(self._token)

    def __repr__(self) -> str:
        return f"ProviderAPI(url={self.url!r}, token from {self.token_source})"

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("ProviderAPI cannot be pickled: it holds an API token")

    # -- calls ------------------------------------------------------------------------

    def project_ca(self, project: str) -> Input:
        """The project CA as the API gives it (``GET /v1/project/{project}/kms/ca``),
        labelled for messages."""
        what = f"read the CA of project '{_name(project, 'project')}'"
        answer = self._call(what, lambda: self._client.get_project_ca(project=project))
        certificate = answer.get("certificate") if isinstance(answer, Mapping) else None
        return _api_input(
            certificate, f"the CA of project '{project}' (from the provider's API)", what
        )

    def service(self, project: str, service: str) -> dict[str, Any]:
        """One service, with its users (``GET /v1/project/{project}/service/{service}``)."""
        what = (
            f"read service '{_name(service, 'service')}' of project '{_name(project, 'project')}'"
        )
        answer = self._call(
            what, lambda: self._client.get_service(project=project, service=service)
        )
        if not isinstance(answer, dict):
            raise ProviderAPIError(f"{what}: the API's answer is not a service")
        return answer

    def services(self, project: str) -> list[dict[str, Any]]:
        """Every service of the project (``GET /v1/project/{project}/service``)."""
        what = f"list the services of project '{_name(project, 'project')}'"
        answer = self._call(what, lambda: self._client.get_services(project=project))
        if not isinstance(answer, list):
            raise ProviderAPIError(f"{what}: the API's answer is not a list of services")
        return [item for item in answer if isinstance(item, dict)]

    def _call(self, what: str, call: Callable[[], Any]) -> Any:
        module = _client_module()
        import requests

        try:
            return call()
        except module.Error as exc:
            raise self._status_error(what, exc.status, exc.response) from None
        except requests.exceptions.SSLError as exc:
            raise ProviderAPIError(
                f"cannot {what}: the provider's API at {self.url} did not pass TLS "
                f"verification ({self._reason(exc)}); if a proxy re-signs TLS on this "
                "network, set AIVEN_CA_CERT (or REQUESTS_CA_BUNDLE, which wins when set) to "
                "its CA file"
            ) from None
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise ProviderAPIError(
                f"cannot {what}: the provider's API at {self.url} cannot be reached "
                f"({self._reason(exc)}); check the network, or AIVEN_WEB_URL"
            ) from None
        except (module.ResponseError, requests.exceptions.RequestException, ValueError) as exc:
            raise ProviderAPIError(
                f"cannot {what}: the provider's API at {self.url} gave an answer that is not "
                f"its JSON ({type(exc).__name__})"
            ) from None

    def _status_error(self, what: str, status: int, response: Any) -> ProviderAPIError:
        said = self._api_message(response)
        said = f": the API said {said!r}" if said else ""
        if status == 401:
            text = (
                f"cannot {what}: the provider's API refused the token from "
                f"{self.token_source} (401 Unauthorized{said}); it is wrong, expired or "
                "revoked: make a new one (`avn user access-token create`) and pass token= or "
                "set AIVEN_AUTH_TOKEN"
            )
        elif status == 403:
            text = (
                f"cannot {what}: the token from {self.token_source} is not allowed to (403 "
                f"Forbidden{said}); ask a project admin for access to the project (reading "
                "service users' certificates needs the permission service:secrets:read)"
            )
        elif status == 404:
            text = (
                f"cannot {what}: not found (404{said}); check the names "
                "(`avn project list`, `avn service list --project PROJECT`)"
            )
        else:
            text = f"cannot {what}: the provider's API at {self.url} answered {status}{said}"
        return ProviderAPIError(text, status)

    def _api_message(self, response: Any) -> str:
        """The API's own ``message``, redacted (never the token) and kept short."""
        import json

        try:
            body = json.loads(response.text)
        except (ValueError, TypeError, AttributeError):
            return ""
        message = body.get("message") if isinstance(body, dict) else None
        if not isinstance(message, str):
            return ""
        return self._redact(message)[:200]

    def _reason(self, exc: BaseException) -> str:
        text = str(exc)
        errno = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", text)
        if errno:
            reason = errno.group(1).strip()
        elif "CERTIFICATE_VERIFY_FAILED" in text:
            detail = re.search(r"certificate verify failed: ([^(')\]]+)", text)
            reason = "certificate verify failed" + (
                f": {detail.group(1).strip()}" if detail else ""
            )
        elif "timed out" in text.lower():
            reason = f"no answer within {REQUEST_TIMEOUT} s"
        else:
            reason = type(exc).__name__
        return self._redact(reason)[:200]

    def _redact(self, text: str) -> str:
        cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
        return cleaned.replace(self._token, "<token>") if self._token else cleaned


def _name(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"the {what} name must be a non-empty string")
    if any(not ch.isprintable() for ch in value) or len(value) > 256:
        raise ConfigError(f"the {what} name holds characters no {what} name has")
    return value


# -- a service user's material -------------------------------------------------------


class UserMaterial:
    """The project CA and one service user's certificate and key, as the API gave them
    (labelled inputs, ready for :class:`tlsconnect.Credentials`)."""

    __slots__ = ("ca", "cert", "key", "project", "service", "service_type", "username")

    def __init__(
        self,
        project: str,
        service: str,
        service_type: str,
        username: str,
        ca: Input,
        cert: Input | None = None,
        key: Input | None = None,
    ) -> None:
        self.project = project
        self.service = service
        self.service_type = service_type
        self.username = username
        self.ca = ca
        self.cert = cert
        self.key = key

    def __repr__(self) -> str:
        return f"UserMaterial({self.describe()})"

    def describe(self) -> str:
        parts = f"the CA of project '{self.project}'"
        if self.cert is not None:
            parts += f", and user '{self.username}' of service '{self.service}'"
        return f"from the provider's API: {parts}"


def _api_input(text: object, label: str, what: str) -> Input:
    if not isinstance(text, str) or "-----BEGIN" not in text:
        raise ProviderAPIError(f"cannot {what}: the API's answer holds no PEM")
    try:
        data = text.encode("ascii")
    except UnicodeEncodeError:
        raise ProviderAPIError(
            f"cannot {what}: the API's answer holds characters PEM cannot"
        ) from None
    if len(data) > MAX_INPUT_BYTES:
        raise ProviderAPIError(f"cannot {what}: the API's answer is far too large for PEM")
    return Input(data, label, None, None)


def user_material(api: ProviderAPI, project: str, service: str, username: str) -> UserMaterial:
    """The project CA, and ``username``'s certificate and key when the user has them
    (Kafka's users do; PostgreSQL's log in with passwords and get the CA only)."""
    _name(username, "user")
    ca = api.project_ca(project)
    details = api.service(project, service)
    users = [u for u in details.get("users") or [] if isinstance(u, dict)]
    matched = [u for u in users if u.get("username") == username]
    service_type = str(details.get("service_type") or "")
    if not matched:
        names = ", ".join(sorted(str(u.get("username")) for u in users)) or "none listed"
        raise ConfigError(
            f"service '{service}' of project '{project}' has no user '{username}' (its "
            f"users: {names}); pass username= (--username) with one of them"
        )
    user = matched[0]
    cert_text, key_text = user.get("access_cert"), user.get("access_key")
    if cert_text is None and key_text is None:
        if service_type == "kafka":
            raise ProviderAPIError(
                f"the API gave no certificate for user '{username}' of Kafka service "
                f"'{service}': the token may not read service secrets (it needs the "
                "permission service:secrets:read)"
            )
        return UserMaterial(project, service, service_type, username, ca)
    if cert_text is None or key_text is None:
        lacking = "key" if cert_text is not None else "certificate"
        raise ProviderAPIError(
            f"the API gave user '{username}' of service '{service}' a "
            f"{'certificate' if lacking == 'key' else 'key'} but no {lacking}; try again "
            "later, or reset the user's credentials"
        )
    where = f"user '{username}' of service '{service}'"
    cert = _api_input(
        cert_text, f"the certificate of {where} (from the provider's API)", f"read {where}"
    )
    key = _api_input(key_text, f"the key of {where} (from the provider's API)", f"read {where}")
    return UserMaterial(project, service, service_type, username, ca, cert, key)


# -- what a service listing means for check --project ---------------------------------


class Endpoint:
    """One endpoint of one service, as ``check --project`` checks it."""

    __slots__ = (
        "component",
        "host",
        "kafka_authentication_method",
        "port",
        "provider_type",
        "public_ca",
        "service",
        "service_name",
    )

    def __init__(
        self,
        service_name: str,
        provider_type: str,
        service: Service,
        host: str,
        port: int,
        component: str,
        kafka_authentication_method: str | None = None,
        public_ca: bool = False,  # Kafka SASL switched to publicly trusted certificates
    ) -> None:
        self.service_name = service_name
        self.provider_type = provider_type
        self.service = service
        self.host = host
        self.port = port
        self.component = component
        self.kafka_authentication_method = kafka_authentication_method
        self.public_ca = public_ca

    def __repr__(self) -> str:
        return f"Endpoint({self.service_name!r}, {self.kind}, {self.address})"

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def kind(self) -> str:
        """The service type, with Kafka's authentication method: ``kafka (certificate)``."""
        if self.kafka_authentication_method:
            return f"{self.service.value} ({self.kafka_authentication_method})"
        return self.service.value


def _port(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, int) and 0 < value < 65536:
        return value
    return None


def _host(value: object) -> str | None:
    if (
        isinstance(value, str)
        and 0 < len(value) < 256
        and value.isprintable()
        and not any(ch.isspace() for ch in value)
    ):
        return value
    return None


def service_endpoints(service: Mapping[str, Any]) -> tuple[list[Endpoint], str | None]:
    """The endpoints to check for one service of a listing, or a reason to skip it.

    The service's main component (named as its type: ``pg``, ``kafka``, ``mysql``, ...)
    on the default route (``dynamic``) for primary use, with TLS; for Kafka, one endpoint
    per authentication method (client certificate, SASL) and CA (project or public).
    Without components, the ``service_uri_params`` host and port.
    """
    name = str(service.get("service_name") or "?")
    provider_type = str(service.get("service_type") or "?")
    kind = SERVICE_TYPES.get(provider_type)
    if kind is None:
        return [], f"tlsconnect has no check for service type '{provider_type}'"
    state = service.get("state")
    if state not in (None, "RUNNING"):
        return [], f"the service is {str(state).lower()}, not running"
    components = [c for c in service.get("components") or [] if isinstance(c, Mapping)]
    main = [
        c
        for c in components
        if c.get("component") == provider_type
        and c.get("route", "dynamic") == "dynamic"
        and c.get("usage", "primary") == "primary"
    ]
    with_tls = [c for c in main if c.get("ssl", True) is not False]
    if main and not with_tls:
        return [], "TLS is turned off for this service (its endpoint has ssl=false)"
    found: list[Endpoint] = []
    seen: set[tuple[object, ...]] = set()
    for component in with_tls:
        host, port = _host(component.get("host")), _port(component.get("port"))
        if host is None or port is None:
            continue
        method = component.get("kafka_authentication_method") if kind is Service.KAFKA else None
        method = method if isinstance(method, str) else None
        public = kind is Service.KAFKA and component.get("kafka_ssl_ca") == "letsencrypt"
        key = (host, port, method, public)
        if key in seen or (kind is not Service.KAFKA and found):
            continue
        seen.add(key)
        found.append(Endpoint(name, provider_type, kind, host, port, provider_type, method, public))
    if not found and not components:
        params = service.get("service_uri_params")
        if isinstance(params, Mapping):
            host, port = _host(params.get("host")), _port(params.get("port"))
            if host is not None and port is not None:
                found.append(Endpoint(name, provider_type, kind, host, port, provider_type))
    if not found:
        return [], "the API's answer holds no host and port to check for this service"
    return found, None
