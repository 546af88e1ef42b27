"""``tlsconnect config``: ready-to-use configuration for one driver, as text.

The configuration written here outlives the process, so every path in it must too:
without ``--output-dir`` it names the user's own files (which must be PEM, and a key
only its owner can read); with ``--output-dir`` the material is written there (0600)
and named there. Nothing is ever written anywhere else.

No password is ever printed: a key's password and a database password go to 0600 files
in ``--output-dir`` (required then), named in the configuration (see :class:`_Secrets`).

A driver that takes only an ``ssl.SSLContext`` (asyncpg, aiokafka, redis-py, httpx, ...)
gets the context's files and switches under one key, ``tls``, whatever the driver, and a
note whose lines build the context from them (see :mod:`tlsconnect.adapters._recipe`)::

    cfg = json.load(open("aiokafka.json"))
    tls = cfg.pop("tls")
    ...  # the note's lines build ``context``
    producer = AIOKafkaProducer(**cfg, ssl_context=context)
"""

from __future__ import annotations

import json
import re
import secrets
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._conninfo import format_conninfo, is_secret_key
from ._errors import ConfigError
from ._files import prepare_durable_dir, write_durable
from ._material import Credentials, note_missing_ca
from ._model import JAVA_FORMATS, TEXT_DRIVERS, Driver, Service
from ._plan import Options, TLSPlan, plan_for
from .adapters import ADAPTERS, build_params, drivers
from .adapters import _kafka as kafka_family
from .adapters._base import password_text, refuse_plan_server_name

__all__ = ["DRIVERS", "FORMATS", "GeneratedConfig", "directory_paths", "generate_config"]

#: Formats that are not one driver's keyword arguments.
DRIVERS = tuple(sorted({*drivers(), *TEXT_DRIVERS}))
#: The formats each driver can be written in; the first is the default. Drivers not
#: listed take JSON keyword arguments.
FORMATS: dict[str, tuple[str, ...]] = {
    "psycopg": ("conninfo", "json"),
    "psycopg2": ("conninfo", "json"),
    "libpq-env": ("env", "json"),
    "confluent-kafka": ("properties", "json"),
    "java-properties": ("properties",),
}


@dataclass
class GeneratedConfig:
    text: str
    files: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Paths:
    ca: Path | None
    cert: Path | None
    key: Path | None


def _given_paths(
    credentials_dir: str | None,
    ca: str | None,
    cert: str | None,
    key: str | None,
    key_password: str | None,
) -> _Paths:
    if credentials_dir is not None:
        return _Paths(*directory_paths(credentials_dir, ca, cert, key, key_password))
    return _Paths(
        Path(ca).absolute() if ca else None,
        Path(cert).absolute() if cert else None,
        Path(key).absolute() if key else None,
    )


def directory_paths(
    credentials_dir: str,
    ca: str | None,
    cert: str | None,
    key: str | None,
    key_password: str | bytes | None,
) -> tuple[Path | None, Path | None, Path | None]:
    """The command line's ``--credentials-dir`` with ``--ca`` and ``--cert``/``--key``: the
    files given replace the directory's (the certificate and key only as a pair), the rest
    come from the directory. Absolute paths."""
    if (cert is None) != (key is None):
        raise ConfigError(
            "--cert and --key with --credentials-dir replace the directory's service.cert and "
            "service.key together; pass both, or neither"
        )
    directory = Path(credentials_dir)
    if ca is None and cert is None:
        # Checks the layout and names what is wrong (with the password for an encrypted key).
        Credentials.from_directory(directory, key_password=key_password)
    elif not directory.is_dir():
        raise ConfigError(
            f"credentials directory '{directory}' is not a directory; pass the directory "
            "holding ca.pem, service.cert and service.key"
        )

    def found(given: str | None, name: str) -> Path | None:
        if given is not None:
            return Path(given).absolute()
        candidate = directory / name
        return candidate.absolute() if candidate.exists() else None

    return found(ca, "ca.pem"), found(cert, "service.cert"), found(key, "service.key")


def _durable_credentials(
    paths: _Paths,
    key_password: str | None,
    output_dir: Path | None,
    written: list[Path],
    credentials_dir: str | None = None,
) -> Credentials | None:
    """Credentials whose files outlive this process: the user's own, or copies in DIR.
    From a credentials directory without ``ca.pem`` (and no CA given), they say so when a
    plan needs the CA."""
    if paths.ca is None and paths.cert is None and paths.key is None:
        return None
    if credentials_dir is not None and paths.ca is None:
        made = _durable_credentials(paths, key_password, output_dir, written)
        return None if made is None else note_missing_ca(made, credentials_dir)
    loaded = Credentials(ca=paths.ca, cert=paths.cert, key=paths.key, key_password=key_password)
    if output_dir is not None:
        ca = cert = key = None
        if loaded.has_ca:
            ca = write_durable(output_dir, "ca.pem", loaded.ca_pem)
            written.append(ca)
        if loaded.has_client_cert:
            cert = write_durable(output_dir, "service.cert", loaded.cert_chain_pem)
            key = write_durable(output_dir, "service.key", loaded.key_pem)
            written += [cert, key]
        return Credentials(ca=ca, cert=cert, key=key, key_password=key_password)
    hint = "or pass --output-dir DIR to have a usable copy written there"
    if loaded.has_ca and loaded.ca_file() != paths.ca:
        raise ConfigError(
            f"ca file '{paths.ca}' is not PEM, which drivers need; convert it, {hint}"
        )
    if loaded.has_client_cert:
        if loaded.cert_file() != paths.cert:
            raise ConfigError(
                f"cert file '{paths.cert}' is not a PEM file holding only certificates, which "
                f"drivers need; {hint}"
            )
        if loaded.key_file_as_given() is None:
            raise ConfigError(f"key file '{paths.key}' is not PEM, which drivers need; {hint}")
    return loaded


def generate_config(
    driver: str,
    target: str,
    *,
    credentials_dir: str | None = None,
    ca: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    key_password: str | None = None,
    sslmode: str | None = None,
    sslnegotiation: str | None = None,
    server_name: str | None = None,
    trust: str | None = None,
    service: str | None = None,
    fmt: str | None = None,
    output_dir: str | None = None,
    java_format: str = "pkcs12",
) -> GeneratedConfig:
    """The configuration text for ``driver``; see the module docstring for the rules."""
    if driver not in DRIVERS:
        raise ConfigError(f"unknown driver {driver!r}; use one of: {', '.join(DRIVERS)}")
    formats = FORMATS.get(driver, ("json",))
    chosen = fmt or formats[0]
    if chosen not in formats:
        raise ConfigError(
            f"--format {chosen} is not available for {driver}; use one of: {', '.join(formats)}"
        )
    if java_format not in JAVA_FORMATS:
        raise ConfigError(f"--java-format must be one of: {', '.join(JAVA_FORMATS)}")
    if driver == "java-properties" and output_dir is None:
        raise ConfigError(
            "java-properties writes a keystore and a truststore; pass --output-dir DIR "
            "for them (the files are made readable only by you)"
        )
    paths = _given_paths(credentials_dir, ca, cert, key, key_password)
    out = prepare_durable_dir(output_dir, "--output-dir") if output_dir is not None else None
    written: list[Path] = []
    credentials = _durable_credentials(paths, key_password, out, written, credentials_dir)
    options = Options(
        sslmode=sslmode,
        trust=trust,
        credentials=credentials,
        sslnegotiation=sslnegotiation,
        server_name=server_name,
    )
    driver_options = _service_option(driver, target, service)
    vault = _Secrets(out, written, key_password)
    vault.seen |= _target_secrets(driver, target)
    if driver == "java-properties":
        if out is None:  # checked above; for the type checker
            raise ConfigError("java-properties needs --output-dir DIR")
        result = _java(target, options, out, java_format, written)
    elif driver == "libpq-env":
        result = _libpq_env(target, options, chosen, vault)
    else:
        if Driver.parse(driver) in _KAFKA_DRIVERS:
            _refuse_unverified_kafka(target, options)
        made: list[Path] = []
        built = build_params(
            driver, target, options, driver_options, durable=True, output_dir=out, written=made
        )
        written += made
        if driver in ("psycopg", "psycopg2"):
            built = vault.libpq(built)
        elif not (driver == "confluent-kafka" and chosen == "properties"):
            built = vault.move(built)
        result = _render(driver, built, chosen, vault)
    result.files = written + result.files
    vault.check(result)
    return result


class _Secrets:
    """Secrets of a configuration (database and key passwords): never printed. Each is
    written to a 0600 file in the output directory (which must then be given), and the
    configuration names that file, read by the format's own means where it has one
    (libpq's ``passfile``), else by a line of code the notes give."""

    def __init__(self, out: Path | None, written: list[Path], key_password: str | None) -> None:
        self.out = out
        self.written = written
        self.seen: set[str] = {key_password} if key_password else set()
        self.reads: list[str] = []  # code that reads the secrets back into ``cfg``

    def write(self, name: str, secret: str) -> Path:
        self.seen.add(secret)
        if self.out is None:
            raise ConfigError(
                "this configuration holds a password (of the database or of the key), which "
                "tlsconnect never prints; pass --output-dir DIR to have it written there to a "
                "file only you can read (0600), named in the configuration"
            )
        safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
        path = write_durable(self.out, f"secret.{safe}", secret.encode("utf-8"))
        self.written.append(path)
        return path

    def libpq(self, params: dict[str, Any]) -> dict[str, Any]:
        """libpq keywords: the password goes to a ``passfile`` (libpq reads it from
        there), the key's ``sslpassword`` to a file the notes name."""
        result = dict(params)
        password = result.pop("password", None)
        if password:
            # One line that matches any host, port, database and user: the file is this
            # configuration's own. ':' and '\' are escaped as the passfile format says.
            escaped = str(password).replace("\\", "\\\\").replace(":", "\\:")
            self.seen.add(str(password))
            path = self.write("pgpass", f"*:*:*:*:{escaped}\n")
            result["passfile"] = str(path)
        key_password = result.pop("sslpassword", None)
        if key_password:
            path = self.write("sslpassword", str(key_password))
            self.reads.append(
                f"the key's password (sslpassword) is in {path}; libpq reads it from no file: "
                f"pass sslpassword=pathlib.Path({str(path)!r}).read_text() when connecting"
            )
        return result

    def move(self, value: Any, where: str = "cfg", name: str = "") -> Any:
        """``value`` with every secret field ``K`` replaced by ``K_file`` naming its file."""
        if isinstance(value, dict):
            result: dict[str, Any] = {}
            for key, item in value.items():
                inner = f"{where}[{key!r}]"
                dotted = f"{name}.{key}" if name else str(key)
                # the schema registry's "user:password": a secret when it holds a password
                user_info = key == "basic.auth.user.info" and isinstance(item, str)
                if (
                    isinstance(item, str)
                    and item
                    and (is_secret_key(str(key)) or (user_info and item.partition(":")[2]))
                ):
                    path = self.write(dotted, item)
                    result[f"{key}_file"] = str(path)
                    self.reads.append(
                        f"{inner} = pathlib.Path({where}.pop({f'{key}_file'!r})).read_text()"
                    )
                elif isinstance(item, str) and (split := _url_password(item)) is not None:
                    url, secret = split
                    path = self.write(f"{dotted}.password", secret)
                    result[key] = url
                    result[f"{key}_password_file"] = str(path)
                    self.reads.append(
                        f"from sqlalchemy.engine import make_url; {inner} = make_url({inner})"
                        f".set(password=pathlib.Path({where}.pop({f'{key}_password_file'!r}))"
                        ".read_text()).render_as_string(hide_password=False)"
                    )
                elif (
                    isinstance(item, list | tuple) and key == "auth" and len(item) == 2 and item[1]
                ):
                    path = self.write(f"{dotted}.password", str(item[1]))
                    result[key] = [item[0], None]
                    result[f"{key}_password_file"] = str(path)
                    self.reads.append(
                        f"{inner}[1] = pathlib.Path({where}.pop({f'{key}_password_file'!r}))"
                        ".read_text()"
                    )
                else:
                    result[key] = self.move(item, inner, dotted)
            return result
        if isinstance(value, list):
            return [self.move(item, f"{where}[{i}]", f"{name}.{i}") for i, item in enumerate(value)]
        return value

    def notes(self, usage: str | None) -> list[str]:
        """The notes that say where the secrets are and how they are read back; a usage
        note starts by reading them."""
        code = [read for read in self.reads if read.startswith(("cfg", "from "))]
        said = [read for read in self.reads if not read.startswith(("cfg", "from "))]
        notes = [f"{read} (mode 0600; never printed)" for read in said]
        if code:
            reading = "import pathlib; " + "; ".join(code)
            notes.append(
                "the passwords are in files only you can read (0600), never printed; each "
                "*_file field names one: read them back into cfg before use"
            )
            if usage and "use: " in usage.split("\n", 1)[0]:
                head, _, tail = usage.partition("use: ")
                return [*notes, f"{head}use: {reading}; {tail}"]
            lines = (usage or "").split("\n  ")
            for number, line in enumerate(lines):
                if line.startswith("cfg = json.loads("):
                    # A recipe of several lines: read them back right after cfg is loaded.
                    loaded, separator, rest = line.partition("; ")
                    lines[number] = f"{loaded}; {'; '.join(code)}{separator}{rest}"
                    return [*notes, "\n  ".join(lines)]
            notes.append(f"use: {reading}")
        return [*notes, usage] if usage else notes

    def check(self, result: GeneratedConfig) -> None:
        """The last guard: no secret in what is printed."""
        shown = result.text + "\n".join(result.notes)
        if any(
            re.search(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", shown)
            for secret in self.seen
        ):
            raise ConfigError(
                "this configuration would print a password; tlsconnect refuses to (pass "
                "--output-dir DIR, and report this as a bug if it persists)"
            )


def _service_option(driver: str, target: str, service: str | None) -> dict[str, Any]:
    """The driver options that carry ``--service``: ``{"service": ...}`` for a driver
    whose target may leave the service type open (HTTP clients, redis-py), nothing for a
    driver that speaks to one service type, which must then be the one asked for."""
    if service is None:
        return {}
    wanted = Service.parse(service)
    adapter = ADAPTERS[Driver.parse(_BASE_DRIVER.get(driver, driver))]
    with_service = adapter.parse(target, {"service": wanted.value}).service
    try:
        without = adapter.parse(target, {}).service
    except ConfigError:  # the target says no service: the option is what names it
        without = None
    if with_service is not without:
        return {"service": wanted.value}
    if with_service is not wanted:
        raise ConfigError(
            f"--driver {driver} connects to {with_service.value} here, not --service "
            f"{wanted.value}; leave --service out, or pick the driver for {wanted.value}"
        )
    return {}


#: The formats that are not a driver's keyword arguments, and the driver they are made by.
_BASE_DRIVER = {"libpq-env": "psycopg", "java-properties": "kafka-python"}


def _target_secrets(driver: str, target: str) -> set[str]:
    """The password the target carries, if any: for the last guard. A target that does
    not parse fails later, with the message that says why."""
    name = _BASE_DRIVER.get(driver, driver)
    try:
        spec = ADAPTERS[Driver.parse(name)].parse(target, {})
    except ConfigError:
        return set()
    found = {spec.password} | {v for k, v in spec.params.items() if is_secret_key(k)}
    return {secret for secret in found if secret}


def _url_password(url: str) -> tuple[str, str] | None:
    """``(url without its password, the password)`` for ``scheme://user:pw@host...``."""
    from urllib.parse import unquote

    scheme, separator, rest = url.partition("://")
    if not separator:
        return None
    authority = rest.split("/", 1)[0].split("?", 1)[0]
    userinfo, at, host = authority.rpartition("@")
    user, colon, password = userinfo.partition(":")
    if not at or not colon or not password:
        return None
    return f"{scheme}://{user}@{host}{rest[len(authority) :]}", unquote(password)


_KAFKA_DRIVERS = frozenset(d for d, a in ADAPTERS.items() if a.parse is kafka_family.parse)


def _refuse_unverified_kafka(target: str, options: Options) -> None:
    spec = kafka_family.parse(target, {})
    plan = plan_for(spec, options)
    if not plan.verify_chain:
        raise ConfigError(
            "Kafka configuration files cannot turn server verification off, and tlsconnect "
            "would not write one that does; pass the project CA (--ca ca.pem)"
        )


def _render(driver: str, built: dict[str, Any], fmt: str, vault: _Secrets) -> GeneratedConfig:
    notes = _insecure_notes(built)
    if driver in ("psycopg", "psycopg2") and fmt == "conninfo":
        return GeneratedConfig(format_conninfo(built) + "\n", notes=notes + vault.notes(None))
    if driver == "confluent-kafka" and fmt == "properties":
        lines = []
        for key, value in built.items():
            if is_secret_key(key) and value:
                path = vault.write(key, str(value))
                # librdkafka reads no property from a file: the line says where it is.
                lines.append(f"# {key}: in {path} (mode 0600), never printed; add it when loading")
                notes.append(
                    f"{key} is in {path} (mode 0600): add it to the configuration you load, "
                    f"e.g. conf[{key!r}] = pathlib.Path({str(path)!r}).read_text()"
                )
            else:
                lines.append(f"{key}={value}")
        return GeneratedConfig("".join(f"{line}\n" for line in lines), notes=notes)
    usage = ADAPTERS[Driver.parse(driver)].usage
    notes += vault.notes(usage)
    return GeneratedConfig(json.dumps(built, indent=2) + "\n", notes=notes)


def _insecure_notes(built: dict[str, Any]) -> list[str]:
    if built.get("sslmode") != "require":
        return []
    return [
        "WARNING: sslmode=require without a CA verifies nothing: anyone on the network path "
        "can impersonate the server; pass --ca ca.pem and use verify-full"
    ]


# -- libpq environment variables ---------------------------------------------------------

_LIBPQ_ENV = {
    "host": "PGHOST",
    "port": "PGPORT",
    "dbname": "PGDATABASE",
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "passfile": "PGPASSFILE",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "gssencmode": "PGGSSENCMODE",
    "sslnegotiation": "PGSSLNEGOTIATION",
    "hostaddr": "PGHOSTADDR",
    "application_name": "PGAPPNAME",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
}


def _libpq_env(target: str, options: Options, fmt: str, vault: _Secrets) -> GeneratedConfig:
    params = build_params("psycopg", target, options, {}, durable=True)
    notes = _insecure_notes(params)
    has_key_password = bool(params.get("sslpassword"))
    params = vault.libpq(params)
    if has_key_password:
        notes.append(
            "libpq has no environment variable for the key's password: psql will ask for it"
        )
    notes += vault.notes(None)
    env: dict[str, str] = {}
    for name, value in params.items():
        variable = _LIBPQ_ENV.get(name)
        if variable is None:
            notes.append(f"'{name}' has no libpq environment variable and was left out")
            continue
        env[variable] = str(value)
    if fmt == "json":
        return GeneratedConfig(json.dumps(env, indent=2) + "\n", notes=notes)
    lines = [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
    return GeneratedConfig("\n".join(lines) + "\n", notes=notes)


# -- Java client.properties ---------------------------------------------------------------


def _java_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _java(
    target: str, options: Options, out: Path, java_format: str, written: list[Path]
) -> GeneratedConfig:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    _refuse_unverified_kafka(target, options)
    spec = kafka_family.parse(target, {})
    plan: TLSPlan = plan_for(spec, options)
    refuse_plan_server_name(
        plan,
        "java-properties",
        "the Java Kafka client verifies (and sends as SNI) each broker's own host name and "
        "has no property for another one",
    )
    credentials = plan.credentials
    if credentials is None or not credentials.has_ca or not credentials.has_client_cert:
        raise ConfigError(
            "java-properties writes a keystore and a truststore: pass the project CA and the "
            "client certificate and key (--credentials-dir DIR, or --ca/--cert/--key)"
        )
    key = serialization.load_pem_private_key(credentials.key_pem, credentials.key_password)
    chain = credentials.chain
    lines = [
        f"bootstrap.servers={','.join(spec.servers)}",
        "security.protocol=SSL",
        # An empty value turns host name checks off (verify-ca); "https" checks them.
        f"ssl.endpoint.identification.algorithm={'https' if plan.check_hostname else ''}",
    ]
    if java_format == "pkcs12":
        store_password = secrets.token_urlsafe(24)
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(50000)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
            .build(store_password.encode())
        )
        keystore = pkcs12.serialize_key_and_certificates(
            b"client",
            key,  # type: ignore[arg-type]
            chain[0],
            chain[1:] or None,
            encryption,
        )
        truststore = pkcs12.serialize_java_truststore(
            [
                pkcs12.PKCS12Certificate(ca, f"ca-{number}".encode())
                for number, ca in enumerate(credentials.ca_certificates, 1)
            ],
            encryption,
        )
        keystore_path = write_durable(out, "client.keystore.p12", keystore)
        truststore_path = write_durable(out, "client.truststore.p12", truststore)
        written += [keystore_path, truststore_path]
        lines += [
            "ssl.keystore.type=PKCS12",
            f"ssl.keystore.location={_java_escape(str(keystore_path))}",
            f"ssl.keystore.password={store_password}",
            f"ssl.key.password={store_password}",
            "ssl.truststore.type=PKCS12",
            f"ssl.truststore.location={_java_escape(str(truststore_path))}",
            f"ssl.truststore.password={store_password}",
        ]
    else:
        password = credentials.key_password
        encryption_algorithm: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password
            else serialization.NoEncryption()
        )
        pkcs8 = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption_algorithm
        ).decode("ascii")
        cas = credentials.ca_pem.decode("ascii")
        chain_pem = credentials.cert_chain_pem.decode("ascii")
        common = [
            "ssl.keystore.type=PEM",
            f"ssl.keystore.certificate.chain={_java_escape(chain_pem.strip())}",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.certificates={_java_escape(cas.strip())}",
        ]
        if password:
            common.append(f"ssl.key.password={password_text(password, 'the Java client')}")
        lines = lines + common + [f"ssl.keystore.key={_java_escape(pkcs8.strip())}"]
    return _java_files(out, lines, written)


#: Properties whose values are secrets: written to a 0600 file only, never printed.
_SECRET_PROPERTIES = (
    "ssl.keystore.password",
    "ssl.key.password",
    "ssl.truststore.password",
    "ssl.keystore.key",
)
#: Kafka's own way to read a property from another file (KIP-297): ${file:PATH:KEY}.
_FILE_PROVIDER = [
    "config.providers=file",
    "config.providers.file.class=org.apache.kafka.common.config.provider.FileConfigProvider",
]


def _java_files(out: Path, lines: list[str], written: list[Path]) -> GeneratedConfig:
    """``client.properties`` without its secrets: they are in ``secret.properties``
    (0600), read by Kafka's file config provider; the configuration is printed whole."""
    secrets_path = out / "secret.properties"
    if ":" in str(secrets_path) or "}" in str(secrets_path):
        # ${file:PATH:KEY} cannot hold such a path: the secrets stay in client.properties.
        properties = write_durable(out, "client.properties", ("\n".join(lines) + "\n").encode())
        written.append(properties)
        return GeneratedConfig(
            "\n".join(_without_secrets(lines, properties)) + "\n",
            notes=[f"the Java client configuration is {properties}"],
        )
    public: list[str] = []
    hidden: list[str] = []
    for line in lines:
        name = line.split("=", 1)[0]
        if name in _SECRET_PROPERTIES:
            hidden.append(line)
            public.append(f"{name}=${{file:{_java_escape(str(secrets_path))}:{name}}}")
        else:
            public.append(line)
    if hidden:
        written.append(write_durable(out, secrets_path.name, ("\n".join(hidden) + "\n").encode()))
        public = _FILE_PROVIDER + public
    properties = write_durable(out, "client.properties", ("\n".join(public) + "\n").encode())
    written.append(properties)
    notes = [f"the Java client configuration is {properties}"]
    if hidden:
        notes.append(
            f"its passwords and key are in {secrets_path} (mode 0600), never printed; the "
            "Kafka client reads them there through its file config provider (${file:...})"
        )
    return GeneratedConfig("\n".join(public) + "\n", notes=notes)


def _without_secrets(lines: list[str], properties: Path) -> list[str]:
    """The lines to print: each secret replaced by where it is, never its value (standard
    output ends up in terminals, logs and CI transcripts)."""
    shown = []
    for line in lines:
        name = line.split("=", 1)[0]
        if name in _SECRET_PROPERTIES:
            shown.append(f"# {name} is in {properties} (mode 0600); it is never printed")
        else:
            shown.append(line)
    return shown
