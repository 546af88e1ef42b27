"""libpq connection strings: ``postgresql://`` URIs and ``key=value`` strings.

Parsed here, without libpq, so that parameters can be generated without a driver. The
rules follow libpq's ``conninfo_uri_parse`` and ``conninfo_parse``.
"""

from __future__ import annotations

import re

from ._errors import ConfigError

__all__ = [
    "check_port",
    "format_conninfo",
    "is_secret_key",
    "parse_conninfo",
    "refuse_socket_hosts",
    "split_hosts",
    "unencoded_userinfo",
    "unquote",
]

_URI_PREFIXES = ("postgresql://", "postgres://")


def check_port(text: str, what: str) -> int:
    """The one port validator: ASCII digits, 1 to 65535; ``what`` names the input.

    ``str.isdigit`` alone accepts other scripts' digits ('١٢') and ``int()`` reads them,
    so ASCII is checked first; the range is checked here so that no caller forgets it.
    """
    port = text.strip()
    if not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
        # The text is shown only when it is a number: what stands where a port should be
        # may be a piece of a password (a '/' in it that was not percent-encoded).
        shown = f" {text!r}" if re.fullmatch(r"[+-]?[0-9]{1,12}", port) else ""
        raise ConfigError(f"{what}: port{shown} is not a number from 1 to 65535")
    return int(port)


def is_secret_key(name: str) -> bool:
    """Whether a keyword's value is a secret (``password``, ``sslpassword``,
    ``sasl_password``, ``passwd``, clickhouse-driver's ``keypass``): never shown in a
    message."""
    return re.search(r"(?:pass(?:word|wd)|^keypass)$", name, re.IGNORECASE) is not None


def unencoded_userinfo(what: str) -> str:
    """The message for a URI whose password holds a '/', '?' or '#' as it is: the host
    cannot be found, and no piece of the password is shown."""
    return (
        f"{what}: the host cannot be read, and the user information before it seems to "
        "hold '/', '?' or '#' (in a password?); percent-encode them (%2F, %3F, %23)"
    )


def _socket_host_reason(host: str) -> str | None:
    """Why a driver would reach ``host`` through a Unix socket, or ``None`` for a TCP host."""
    if not host.strip():
        return "an empty host means the local Unix socket"
    if host.startswith(("/", "\\")):
        return "a host that is a path names a Unix socket directory"
    if host.startswith("@"):
        return "a host starting with '@' names an abstract Unix socket (libpq)"
    if (
        len(host) > 2
        and host[0].isascii()
        and host[0].isalpha()
        and host[1:2] == ":"
        and (host[2] in "\\/")
    ):
        return "a host that is a Windows drive path names a Unix socket directory"
    return None


def refuse_socket_hosts(
    host: str | list[str] | tuple[str, ...] | None, what: str, *, hostaddr: str | None = None
) -> None:
    """The one Unix-socket refusal for the database drivers: a :class:`ConfigError` when
    ``host`` (a name, a comma-separated libpq list, or a list) is missing or empty, or any
    entry is a path, an abstract ``@name`` or a Windows drive path: the driver would then
    use a Unix socket, where no TLS is spoken and nothing is verified. An empty entry is a
    TCP connection when libpq's ``hostaddr`` gives the address for it."""
    if isinstance(host, list | tuple):
        hosts = [str(entry) for entry in host] or [""]
    else:
        hosts = (host or "").split(",")
    addresses = (hostaddr or "").split(",")
    for index, entry in enumerate(hosts):
        if not entry.strip() and index < len(addresses) and addresses[index].strip():
            continue
        reason = _socket_host_reason(entry)
        if reason is not None:
            shown = f"the host {entry!r}" if entry.strip() else "no host"
            raise ConfigError(
                f"{what}: {shown} would be reached through a Unix socket ({reason}), where "
                "no TLS is spoken and nothing is verified; pass the service's host name "
                "(host=..., from the service URI on its Overview page)"
            )


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


def unquote(text: str, errors: str = "replace") -> str:
    """``urllib.parse.unquote``: ``%XX`` escapes decoded as UTF-8 (``errors`` as for
    ``bytes.decode``). Written out because importing ``urllib.parse`` (and ``ipaddress``
    with it) costs every ``tlsconnect check`` more than the targets it reads."""
    if "%" not in text:
        return text
    out = bytearray()
    i = 0
    while i < len(text):
        pair = text[i + 1 : i + 3]
        if text[i] == "%" and len(pair) == 2 and all(c in _HEX for c in pair):
            out.append(int(pair, 16))
            i += 3
            continue
        out += text[i].encode("utf-8")
        i += 1
    return out.decode("utf-8", errors)


_HEX = frozenset("0123456789abcdefABCDEF")


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
            try:
                host, port = _split_host_port(part)
            except ConfigError:
                if "@" not in authority and "@" in uri.split("://", 1)[1]:
                    raise ConfigError(unencoded_userinfo("conninfo URI")) from None
                raise
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
    if port:
        check_port(port, "conninfo URI")
    return host, port


def _parse_keywords(text: str) -> dict[str, str]:
    result: dict[str, str] = {}
    i, n = 0, len(text)
    previous = ""
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
            if is_secret_key(previous):
                # The word is likely the rest of an unquoted password: never shown.
                raise ConfigError(
                    f"conninfo: the value of {previous!r} is followed by a word without "
                    f"'='; quote a value that holds spaces ({previous}='...')"
                )
            raise ConfigError(
                f"conninfo: missing '=' after {key!r}; write key=value pairs such as "
                '"host=... port=... dbname=...", or a postgresql:// URI'
            )
        previous = key
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
        # An empty entry means the default, as in libpq.
        port = check_port(given_port, "conninfo") if given_port.strip() else 5432
        pairs.append((host or "localhost", port))
    return pairs
