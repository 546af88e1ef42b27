"""``tlsconnect config``: ready-to-use configuration for one driver, as text.

The configuration written here outlives the process, so every path in it must too:
without ``--output-dir`` it names the user's own files (which must be PEM, and a key
only its owner can read); with ``--output-dir`` the material is written there (0600)
and named there. Nothing is ever written anywhere else.

aiokafka takes an ``ssl.SSLContext``, which JSON cannot hold; its JSON gives the
keyword arguments of ``aiokafka.helpers.create_ssl_context`` instead::

    cfg = json.load(open("aiokafka.json"))
    context = aiokafka.helpers.create_ssl_context(**cfg.pop("create_ssl_context"))
    context.check_hostname = cfg.pop("check_hostname")
    producer = AIOKafkaProducer(**cfg, ssl_context=context)
"""

from __future__ import annotations

import json
import secrets
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._conninfo import format_conninfo
from ._errors import ConfigError
from ._files import prepare_durable_dir, write_durable
from ._material import Credentials
from ._model import JAVA_FORMATS, TEXT_DRIVERS, Driver
from ._plan import Options, TLSPlan, options_for_target, resolve_plan
from .adapters import ADAPTERS, build_params, drivers
from .adapters import _kafka as kafka_family
from .adapters._base import password_text

__all__ = ["DRIVERS", "FORMATS", "GeneratedConfig", "generate_config"]

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
        if any(v is not None for v in (ca, cert, key)):
            raise ConfigError(
                "--credentials-dir and --ca/--cert/--key were both given; pass one or the other"
            )
        directory = Path(credentials_dir)
        # Checks the layout and names what is wrong (with the password for an encrypted key).
        Credentials.from_directory(directory, key_password=key_password)

        def found(name: str) -> Path | None:
            candidate = directory / name
            return candidate.absolute() if candidate.exists() else None

        return _Paths(found("ca.pem"), found("service.cert"), found("service.key"))
    return _Paths(
        Path(ca).absolute() if ca else None,
        Path(cert).absolute() if cert else None,
        Path(key).absolute() if key else None,
    )


def _durable_credentials(
    paths: _Paths, key_password: str | None, output_dir: Path | None, written: list[Path]
) -> Credentials | None:
    """Credentials whose files outlive this process: the user's own, or copies in DIR."""
    if paths.ca is None and paths.cert is None and paths.key is None:
        return None
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
    credentials = _durable_credentials(paths, key_password, out, written)
    options = Options(sslmode=sslmode, credentials=credentials)
    if driver == "java-properties":
        if out is None:  # checked above; for the type checker
            raise ConfigError("java-properties needs --output-dir DIR")
        result = _java(target, options, out, java_format, written)
    elif driver == "libpq-env":
        result = _libpq_env(target, options, chosen)
    else:
        if Driver.parse(driver) in _KAFKA_DRIVERS:
            _refuse_unverified_kafka(target, options)
        made: list[Path] = []
        built = build_params(
            driver, target, options, {}, durable=True, output_dir=out, written=made
        )
        result = _render(driver, built, chosen)
        result.files += made
    result.files = written + result.files
    return result


_KAFKA_DRIVERS = frozenset(d for d, a in ADAPTERS.items() if a.parse is kafka_family.parse)


def _refuse_unverified_kafka(target: str, options: Options) -> None:
    spec = kafka_family.parse(target, {})
    plan = resolve_plan(spec.service, options_for_target(options, spec))
    if not plan.verify_chain:
        raise ConfigError(
            "Kafka configuration files cannot turn server verification off, and tlsconnect "
            "would not write one that does; pass the project CA (--ca ca.pem)"
        )


def _render(driver: str, built: dict[str, Any], fmt: str) -> GeneratedConfig:
    notes = _insecure_notes(built)
    if driver in ("psycopg", "psycopg2") and fmt == "conninfo":
        return GeneratedConfig(format_conninfo(built) + "\n", notes=notes)
    if driver == "confluent-kafka" and fmt == "properties":
        return GeneratedConfig("".join(f"{k}={v}\n" for k, v in built.items()), notes=notes)
    usage = ADAPTERS[Driver.parse(driver)].usage
    if usage:
        notes.append(usage)
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
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "application_name": "PGAPPNAME",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
}


def _libpq_env(target: str, options: Options, fmt: str) -> GeneratedConfig:
    params = build_params("psycopg", target, options, {}, durable=True)
    notes = _insecure_notes(params)
    env: dict[str, str] = {}
    for name, value in params.items():
        if name == "sslpassword":
            notes.append(
                "libpq has no environment variable for the key's password: psql will ask "
                "for it, or put sslpassword in the connection string"
            )
            continue
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
    plan: TLSPlan = resolve_plan(spec.service, options_for_target(options, spec))
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
    properties = write_durable(out, "client.properties", ("\n".join(lines) + "\n").encode())
    written.append(properties)
    return GeneratedConfig(
        "\n".join(_without_secrets(lines, properties)) + "\n",
        notes=[f"the Java client configuration is {properties}"],
    )


#: Properties whose values are secrets: written to client.properties (0600) only.
_SECRET_PROPERTIES = (
    "ssl.keystore.password",
    "ssl.key.password",
    "ssl.truststore.password",
    "ssl.keystore.key",
)


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
