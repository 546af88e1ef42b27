"""A stand-in for the provider's API: a local HTTPS server that answers the endpoints
tlsconnect uses, with bodies shaped as the provider's API shapes them (aiven-client's
``get_project_ca``, ``get_services``, ``get_service``, ``get_service_user``; the public
API documentation's ServiceListResponse, with ``components`` and ``users``).

The real ``aiven-client`` is pointed at it through its own settings: ``AIVEN_WEB_URL``
(the base URL) and ``AIVEN_CA_CERT`` (the CA of the stand-in's certificate, from the
session PKI); the token travels as aiven-client sends it (``authorization: aivenv1 T``).

Services listed here point at the tests' real servers (PostgreSQL, the Kafka-protocol
broker, TLS servers), so ``tlsconnect check --project`` makes real connections.
"""

from __future__ import annotations

import copy
import datetime
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit


def error_body(message: str, status: int) -> dict[str, Any]:
    """The provider's error shape: ``errors`` (message, status) and ``message``."""
    return {"errors": [{"message": message, "status": status}], "message": message}


def component(
    name: str,
    host: str,
    port: int,
    *,
    kafka_authentication_method: str | None = None,
    kafka_ssl_ca: str | None = None,
    route: str = "dynamic",
    usage: str = "primary",
    ssl_on: bool = True,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "component": name,
        "host": host,
        "port": port,
        "route": route,
        "usage": usage,
        "ssl": ssl_on,
    }
    if kafka_authentication_method is not None:
        item["kafka_authentication_method"] = kafka_authentication_method
    if kafka_ssl_ca is not None:
        item["kafka_ssl_ca"] = kafka_ssl_ca
    return item


def service_user(
    username: str, *, cert_pem: bytes | None = None, key_pem: bytes | None = None, kind: str = ""
) -> dict[str, Any]:
    user: dict[str, Any] = {
        "username": username,
        "password": f"{username}-password-not-used",
        "type": kind or ("primary" if username == "avnadmin" else "normal"),
        "authentication": None,
    }
    if cert_pem is not None:
        from cryptography import x509

        user["access_cert"] = cert_pem.decode()
        try:
            cert = x509.load_pem_x509_certificate(cert_pem)
        except ValueError:  # a test that serves something else as the certificate
            pass
        else:
            user["access_cert_not_valid_after_time"] = cert.not_valid_after_utc.isoformat()
    if key_pem is not None:
        user["access_key"] = key_pem.decode()
    return user


def service(
    name: str,
    service_type: str,
    host: str,
    port: int,
    *,
    components: list[dict[str, Any]] | None = None,
    users: list[dict[str, Any]] | None = None,
    state: str = "RUNNING",
) -> dict[str, Any]:
    """One service as ServiceGet / ServiceList give it."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
    uri = {
        "pg": f"postgres://avnadmin:secret@{host}:{port}/defaultdb?sslmode=require",
        "kafka": f"{host}:{port}",
    }.get(service_type, f"{service_type}s://avnadmin:secret@{host}:{port}")
    return {
        "service_name": name,
        "service_type": service_type,
        "state": state,
        "plan": "startup-4",
        "cloud_name": "local-loopback",
        "node_count": 1,
        "create_time": now,
        "update_time": now,
        "project_vpc_id": None,
        "service_uri": uri,
        "service_uri_params": {"host": host, "port": str(port)},
        "components": (
            components if components is not None else [component(service_type, host, port)]
        ),
        "users": users if users is not None else [service_user("avnadmin")],
        "user_config": {},
        "tags": {},
    }


class StandInAPI:
    """The stand-in server. ``projects[name] = {"ca": pem, "services": [...]}``;
    ``forbidden`` holds projects the token may not read (403). Every request is recorded
    in ``requests`` as (path, authorization header); ``delay`` makes every answer wait."""

    def __init__(self, cert_path: Path, key_path: Path, ca_path: Path, token: str) -> None:
        self.token = token
        self.ca_path = ca_path
        self.projects: dict[str, dict[str, Any]] = {}
        self.forbidden: set[str] = set()
        self.echo_token_in_errors = False
        self.delay = 0.0  # seconds each answer waits (a slow API)
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert_path), str(key_path))
        self._context = context
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body in separate writes

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                api._answer(self)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def finish_request(self, request: Any, client_address: Any) -> None:
                # The TLS handshake in the handler's thread, not in the accept loop.
                request.settimeout(10)
                try:
                    tls = context.wrap_socket(request, server_side=True)
                except (OSError, ssl.SSLError):
                    return
                try:
                    Handler(tls, client_address, self)
                finally:
                    tls.close()

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def add_project(self, name: str, ca_pem: bytes, services: list[dict[str, Any]]) -> None:
        with self.lock:
            self.projects[name] = {"ca": ca_pem.decode(), "services": services}

    def set_services(self, name: str, services: list[dict[str, Any]]) -> None:
        with self.lock:
            self.projects[name]["services"] = services

    def paths(self, project: str) -> list[str]:
        with self.lock:
            return [p for p, _ in self.requests if f"/project/{project}/" in p + "/"]

    def env(self) -> dict[str, str]:
        """aiven-client's own settings for this server."""
        return {
            "AIVEN_WEB_URL": self.url,
            "AIVEN_CA_CERT": str(self.ca_path),
            "AIVEN_AUTH_TOKEN": self.token,
        }

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # -- answering ----------------------------------------------------------------

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = urlsplit(handler.path).path
        authorization = handler.headers.get("authorization", "")
        with self.lock:
            self.requests.append((path, authorization))
            delay = self.delay
        if delay:
            time.sleep(delay)
        status, body = self._route(path, authorization)
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _route(self, path: str, authorization: str) -> tuple[int, dict[str, Any]]:
        if authorization != f"aivenv1 {self.token}":
            given = authorization.removeprefix("aivenv1 ")
            message = "Invalid token" + (f" {given!r}" if self.echo_token_in_errors else "")
            return 401, error_body(message, 401)
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if len(parts) < 3 or parts[:2] != ["v1", "project"]:
            return 404, error_body("Not found", 404)
        name, rest = parts[2], parts[3:]
        if name in self.forbidden:
            return 403, error_body("Not allowed to access project", 403)
        project = self.projects.get(name)
        if project is None:
            return 404, error_body("Project does not exist", 404)
        with self.lock:
            ca = project["ca"]
            services = copy.deepcopy(project["services"])
        if rest == ["kms", "ca"]:
            return 200, {"certificate": ca}
        if rest == ["service"]:
            return 200, {"services": services}
        if len(rest) >= 2 and rest[0] == "service":
            found = [s for s in services if s["service_name"] == rest[1]]
            if not found:
                return 404, error_body("Service does not exist", 404)
            if len(rest) == 2:
                return 200, {"service": found[0]}
            if len(rest) == 4 and rest[2] == "user":
                users = [u for u in found[0]["users"] if u["username"] == rest[3]]
                if users:
                    return 200, {"user": users[0]}
                return 404, error_body("Service user does not exist", 404)
        return 404, error_body("Not found", 404)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
