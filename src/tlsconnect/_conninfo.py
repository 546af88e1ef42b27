"""libpq connection strings: ``postgresql://`` URIs and ``key=value`` strings.

Parsed here, without libpq, so that parameters can be generated without a driver. The
rules follow libpq's ``conninfo_uri_parse`` and ``conninfo_parse``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from ._errors import ConfigError

__all__ = ["format_conninfo", "parse_conninfo", "split_host_port", "split_hosts"]

_URI_PREFIXES = ("postgresql://", "postgres://")


def parse_conninfo(conninfo: str) -> dict[str, str]:
    """Parse a URI or a ``key=value`` string into a dict of libpq keywords."""
    if not isinstance(conninfo, str):
        raise ConfigError(f"conninfo must be a string, not {type(conninfo).__name__}")
    text = conninfo.strip()
    if not text:
        return {}
    if text.lower().startswith(_URI_PREFIXES):
        return _parse_uri(text)
    if "://" in text.split("=", 1)[0]:
        scheme = text.split("://", 1)[0]
        raise ConfigError(
            f"conninfo URI scheme '{scheme}://' is not PostgreSQL's; use postgresql://"
        )
    return _parse_keywords(text)


def _decode(value: str, what: str) -> str:
    if re.search(r"%(?![0-9A-Fa-f]{2})", value):
        raise ConfigError(
            f"conninfo URI: {what} has a '%' that is not a percent-escape; write it as %25"
        )
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        raise ConfigError(f"conninfo URI: {what} has percent-escapes that are not UTF-8") from None


def _parse_uri(uri: str) -> dict[str, str]:
    result: dict[str, str] = {}
    rest = uri.split("://", 1)[1]
    rest, _, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        userinfo, _, authority = authority.rpartition("@")
        user, colon, password = userinfo.partition(":")
        if user:
            result["user"] = _decode(user, "the user name")
        if colon:
            result["password"] = _decode(password, "the password")
    hosts: list[str] = []
    ports: list[str] = []
    if authority:
        for part in authority.split(","):
            host, port = _split_host_port(part)
            hosts.append(_decode(host, "a host"))
            ports.append(port)
        # as libpq: the comma-joined lists, kept when not empty (two hosts without ports
        # give port ",", one empty port per host)
        if ",".join(hosts):
            result["host"] = ",".join(hosts)
        if ",".join(ports):
            result["port"] = ",".join(ports)
    if slash and path:
        result["dbname"] = _decode(path, "the database name")
    if query:
        for pair in query.split("&"):
            if not pair:
                continue
            key, equals, value = pair.partition("=")
            if not equals:
                raise ConfigError(f"conninfo URI parameter {key!r} has no '='; write key=value")
            key = _decode(key, "a parameter name")
            value = _decode(value, f"parameter {key!r}")
            if key == "ssl" and value == "true":
                key, value = "sslmode", "require"
            result[key] = value
    return result


def _split_host_port(part: str) -> tuple[str, str]:
    if part.startswith("["):
        end = part.find("]")
        if end < 0:
            raise ConfigError(f"conninfo URI host {part!r} opens '[' but never closes it")
        host, tail = part[1:end], part[end + 1 :]
        if tail and not tail.startswith(":"):
            raise ConfigError(f"conninfo URI host {part!r} has text after ']'")
        port = tail[1:]
    else:
        host, _, port = part.partition(":")
    if port and not (port.isascii() and port.isdigit()):
        raise ConfigError(f"conninfo URI port {port!r} is not a number")
    return host, port


def _parse_keywords(text: str) -> dict[str, str]:
    result: dict[str, str] = {}
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        start = i
        while i < n and text[i] != "=" and not text[i].isspace():
            i += 1
        key = text[start:i]
        while i < n and text[i].isspace():
            i += 1
        if i >= n or text[i] != "=":
            raise ConfigError(
                f"conninfo: missing '=' after {key!r}; write key=value pairs such as "
                '"host=... port=... dbname=...", or a postgresql:// URI'
            )
        i += 1
        while i < n and text[i].isspace():
            i += 1
        value_chars: list[str] = []
        if i < n and text[i] == "'":
            i += 1
            while True:
                if i >= n:
                    raise ConfigError(f"conninfo: the quoted value of {key!r} is never closed")
                char = text[i]
                if char == "\\" and i + 1 < n:
                    value_chars.append(text[i + 1])
                    i += 2
                    continue
                if char == "'":
                    i += 1
                    break
                value_chars.append(char)
                i += 1
        else:
            while i < n and not text[i].isspace():
                if text[i] == "\\" and i + 1 < n:
                    value_chars.append(text[i + 1])
                    i += 2
                    continue
                value_chars.append(text[i])
                i += 1
        if not key:
            raise ConfigError("conninfo: a value has no key before '='")
        result[key] = "".join(value_chars)
    return result


def _quote(value: str) -> str:
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def format_conninfo(params: dict[str, str]) -> str:
    """A ``key=value`` string libpq parses back into ``params``."""
    return " ".join(f"{key}={_quote(str(value))}" for key, value in params.items())


def split_hosts(params: dict[str, str]) -> list[tuple[str, int]]:
    """The (host, port) pairs a conninfo names, with libpq's defaults."""
    hosts = (params.get("host") or "localhost").split(",")
    ports = (params.get("port") or "5432").split(",")
    if len(ports) == 1:
        ports = ports * len(hosts)
    if len(ports) != len(hosts):
        raise ConfigError(
            f"conninfo names {len(hosts)} hosts but {len(ports)} ports; give one port, or "
            "one per host"
        )
    pairs = []
    for host, given_port in zip(hosts, ports, strict=True):
        port = given_port.strip() or "5432"  # an empty entry means the default, as in libpq
        if not (port.isascii() and port.isdigit()):
            raise ConfigError(f"conninfo port {port!r} is not a number")
        pairs.append((host or "localhost", int(port)))
    return pairs


def split_host_port(text: str, what: str) -> tuple[str, int]:
    """``host:port`` or ``[v6addr]:port`` with a required port; ``what`` names the input."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or not rest.startswith(":"):
            raise ConfigError(f"{what}: write an IPv6 address as [addr]:port")
        port = rest[1:]
    else:
        host, colon, port = text.rpartition(":")
        if not colon or ":" in host:
            raise ConfigError(
                f"{what} has no port; write host:port (the service URI on the service's "
                "Overview page has both), and [addr]:port for IPv6"
            )
    if not host or any(c.isspace() for c in host):
        raise ConfigError(f"{what} has no valid host; write host:port")
    if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        raise ConfigError(f"{what}: port {port!r} is not a number from 1 to 65535")
    return host, int(port)
