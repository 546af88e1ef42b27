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
import os
import secrets
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._conninfo import format_conninfo, parse_conninfo
from ._errors import ConfigError
from ._material import Credentials
from ._model import Service
from ._plan import TLSPlan, _resolve_quiet
from ._probe import parse_target
from .adapters._kafka import KafkaSetup, kafka_setup, parse_bootstrap
from .adapters.confluent_kafka import confluent_kafka_params
from .adapters.psycopg import libpq_params

__all__ = ["DRIVERS", "FORMATS", "GeneratedConfig", "generate_config"]

DRIVERS = (
    "psycopg",
    "libpq-env",
    "kafka-python",
    "confluent-kafka",
    "aiokafka",
    "java-properties",
)
#: The formats each driver can be written in; the first is the default.
FORMATS: dict[str, tuple[str, ...]] = {
    "psycopg": ("conninfo", "json"),
    "libpq-env": ("env", "json"),
    "kafka-python": ("json",),
    "confluent-kafka": ("properties", "json"),
    "aiokafka": ("json",),
    "java-properties": ("properties",),
}
JAVA_FORMATS = ("pkcs12", "pem")

# Paths that can never exist (/dev/null is not a directory): libpq then neither picks
# up ~/.postgresql/root.crt nor sends a stray ~/.postgresql/postgresql.crt.
NO_ROOT_CERT = "/dev/null/tlsconnect-no-root-cert"
NO_CLIENT_CERT = "/dev/null/tlsconnect-no-client-cert"
NO_CLIENT_KEY = "/dev/null/tlsconnect-no-client-key"


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
    credentials_dir: str | None, ca: str | None, cert: str | None, key: str | None
) -> _Paths:
    if credentials_dir is not None:
        if any(v is not None for v in (ca, cert, key)):
            raise ConfigError(
                "--credentials-dir and --ca/--cert/--key were both given; pass one or the other"
            )
        directory = Path(credentials_dir)
        Credentials.from_directory(directory)  # checks the layout, names what is wrong

        def found(name: str) -> Path | None:
            candidate = directory / name
            return candidate.absolute() if candidate.exists() else None

        return _Paths(found("ca.pem"), found("service.cert"), found("service.key"))
    return _Paths(
        Path(ca).absolute() if ca else None,
        Path(cert).absolute() if cert else None,
        Path(key).absolute() if key else None,
    )


def _write_private(directory: Path, name: str, content: bytes) -> Path:
    path = directory / name
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as handle:
            fd = -1
            handle.write(content)
    finally:
        if fd >= 0:
            os.close(fd)
    return path


def _prepare_output_dir(output_dir: str) -> Path:
    directory = Path(output_dir).absolute()
    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"--output-dir '{directory}' exists and is not a directory")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def _durable_credentials(
    paths: _Paths,
    key_password: str | None,
    output_dir: Path | None,
    written: list[Path],
    *,
    libpq: bool,
) -> Credentials | None:
    """Credentials whose files outlive this process: the user's own, or copies in DIR."""
    if paths.ca is None and paths.cert is None and paths.key is None:
        return None
    loaded = Credentials(ca=paths.ca, cert=paths.cert, key=paths.key, key_password=key_password)
    if output_dir is not None:
        ca = cert = key = None
        if loaded.has_ca:
            ca = _write_private(output_dir, "ca.pem", loaded.ca_pem)
            written.append(ca)
        if loaded.has_client_cert:
            cert = _write_private(output_dir, "service.cert", loaded.cert_chain_pem)
            key = _write_private(output_dir, "service.key", loaded.key_pem)
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
        own_key = loaded.key_file_as_given()
        if own_key is None:
            raise ConfigError(f"key file '{paths.key}' is not PEM, which drivers need; {hint}")
        mode = loaded.key_file_mode() or 0
        if libpq and mode & 0o077:
            raise ConfigError(
                f"key file '{own_key}' can be read by group or others (mode {mode:04o}), which "
                f"libpq refuses; fix it with `chmod 600 '{own_key}'`, {hint}"
            )
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
    formats = FORMATS[driver]
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
    paths = _given_paths(credentials_dir, ca, cert, key)
    out = _prepare_output_dir(output_dir) if output_dir is not None else None
    written: list[Path] = []
    libpq = driver in ("psycopg", "libpq-env")
    credentials = _durable_credentials(paths, key_password, out, written, libpq=libpq)
    if libpq:
        result = _libpq(driver, target, credentials, sslmode, chosen)
    else:
        setup = _kafka(target, credentials, sslmode)
        if driver == "kafka-python":
            result = _kafka_python(setup)
        elif driver == "aiokafka":
            result = _aiokafka(setup)
        elif driver == "confluent-kafka":
            result = _confluent(setup, chosen)
        else:
            assert out is not None
            result = _java(setup, out, java_format, written)
    result.files = written + result.files
    return result


# -- PostgreSQL -------------------------------------------------------------------------


def _libpq(
    driver: str, target: str, credentials: Credentials | None, sslmode: str | None, fmt: str
) -> GeneratedConfig:
    text = target.strip()
    if text.lower().startswith(("postgres://", "postgresql://")) or (
        "=" in text and "://" not in text
    ):
        params = dict(parse_conninfo(text))
    else:
        spec = parse_target(text, Service.POSTGRESQL)
        params = {"host": spec.host, "port": str(spec.port)}
    mode = sslmode if sslmode is not None else params.get("sslmode")
    if credentials is None:
        given = {k: params[k] for k in ("sslrootcert", "sslcert", "sslkey") if params.get(k)}
        if given:
            raise ConfigError(
                "the target names sslrootcert/sslcert/sslkey; pass them as --ca/--cert/--key "
                "instead so that tlsconnect can check them"
            )
    plan = _resolve_quiet(
        "postgresql",
        sslmode=mode,
        trust=None,
        credentials=credentials,
        ca=None,
        cert=None,
        key=None,
        key_password=None,
    )
    for name in ("sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword"):
        params.pop(name, None)
    params.update(_durable_libpq(plan))
    notes = _insecure_notes(plan)
    if driver == "psycopg":
        if fmt == "json":
            return GeneratedConfig(json.dumps(params, indent=2) + "\n", notes=notes)
        return GeneratedConfig(format_conninfo(params) + "\n", notes=notes)
    env_names = {
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
    env: dict[str, str] = {}
    for name, value in params.items():
        if name == "sslpassword":
            notes.append(
                "libpq has no environment variable for the key's password: psql will ask "
                "for it, or put sslpassword in the connection string"
            )
            continue
        variable = env_names.get(name)
        if variable is None:
            notes.append(f"'{name}' has no libpq environment variable and was left out")
            continue
        env[variable] = str(value)
    if fmt == "json":
        return GeneratedConfig(json.dumps(env, indent=2) + "\n", notes=notes)
    lines = [f"export {name}={shlex.quote(value)}" for name, value in env.items()]
    return GeneratedConfig("\n".join(lines) + "\n", notes=notes)


def _durable_libpq(plan: TLSPlan) -> dict[str, str]:
    """libpq_params(), with the private "does not exist" paths made durable."""
    params = libpq_params(plan)
    if not plan.verify_chain:
        params["sslrootcert"] = NO_ROOT_CERT
    if not plan.client_cert:
        params["sslcert"] = NO_CLIENT_CERT
        params["sslkey"] = NO_CLIENT_KEY
    return params


def _insecure_notes(plan: TLSPlan) -> list[str]:
    if plan.verify_chain:
        return []
    return [
        "WARNING: sslmode=require without a CA verifies nothing: anyone on the network path "
        "can impersonate the server; pass --ca ca.pem and use verify-full"
    ]


# -- Kafka ------------------------------------------------------------------------------


def _kafka(target: str, credentials: Credentials | None, sslmode: str | None) -> KafkaSetup:
    text = target.strip()
    if text.lower().startswith(("postgres://", "postgresql://")):
        raise ConfigError("a postgres:// target needs --driver psycopg or libpq-env")
    servers = parse_bootstrap(text)
    setup = kafka_setup(
        servers,
        sslmode=sslmode,
        credentials=credentials,
        ca=None,
        cert=None,
        key=None,
        key_password=None,
        sasl_mechanism=None,
        sasl_username=None,
        sasl_password=None,
    )
    if not setup.plan.verify_chain:
        raise ConfigError(
            "Kafka configuration files cannot turn server verification off, and tlsconnect "
            "would not write one that does; pass the project CA (--ca ca.pem)"
        )
    return setup


def _kafka_files(setup: KafkaSetup) -> tuple[str, str, str, str | None]:
    credentials = setup.plan.credentials
    assert credentials is not None and credentials.has_client_cert and credentials.has_ca
    password = credentials.key_password
    return (
        str(credentials.ca_file()),
        str(credentials.cert_file()),
        str(credentials.key_file()),
        password.decode("utf-8") if password is not None else None,
    )


def _kafka_python(setup: KafkaSetup) -> GeneratedConfig:
    cafile, certfile, keyfile, password = _kafka_files(setup)
    config: dict[str, Any] = {
        "bootstrap_servers": list(setup.servers),
        "security_protocol": setup.protocol,
        "ssl_check_hostname": setup.plan.check_hostname,
        "ssl_cafile": cafile,
        "ssl_certfile": certfile,
        "ssl_keyfile": keyfile,
    }
    if password is not None:
        config["ssl_password"] = password
    return GeneratedConfig(json.dumps(config, indent=2) + "\n")


def _aiokafka(setup: KafkaSetup) -> GeneratedConfig:
    cafile, certfile, keyfile, password = _kafka_files(setup)
    config: dict[str, Any] = {
        "bootstrap_servers": list(setup.servers),
        "security_protocol": setup.protocol,
        "create_ssl_context": {
            "cafile": cafile,
            "certfile": certfile,
            "keyfile": keyfile,
            "password": password,
        },
        "check_hostname": setup.plan.check_hostname,
    }
    note = (
        'use: context = aiokafka.helpers.create_ssl_context(**cfg.pop("create_ssl_context")); '
        'context.check_hostname = cfg.pop("check_hostname"); '
        "AIOKafkaProducer(**cfg, ssl_context=context)"
    )
    return GeneratedConfig(json.dumps(config, indent=2) + "\n", notes=[note])


def _confluent(setup: KafkaSetup, fmt: str) -> GeneratedConfig:
    cafile, certfile, keyfile, password = _kafka_files(setup)
    config = confluent_kafka_params(setup)
    for inline in ("ssl.ca.pem", "ssl.certificate.pem", "ssl.key.pem", "ssl.key.password"):
        config.pop(inline, None)
    config["ssl.ca.location"] = cafile
    config["ssl.certificate.location"] = certfile
    config["ssl.key.location"] = keyfile
    if password is not None:
        config["ssl.key.password"] = password
    if fmt == "json":
        return GeneratedConfig(json.dumps(config, indent=2) + "\n")
    return GeneratedConfig("".join(f"{k}={v}\n" for k, v in config.items()))


def _java_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _java(setup: KafkaSetup, out: Path, java_format: str, written: list[Path]) -> GeneratedConfig:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.serialization import pkcs12

    credentials = setup.plan.credentials
    assert credentials is not None and credentials.has_ca and credentials.has_client_cert
    key = serialization.load_pem_private_key(credentials.key_pem, credentials.key_password)
    chain = credentials.chain
    lines = [
        f"bootstrap.servers={','.join(setup.servers)}",
        f"security.protocol={setup.protocol}",
        # An empty value turns host name checks off (verify-ca); "https" checks them.
        f"ssl.endpoint.identification.algorithm={'https' if setup.plan.check_hostname else ''}",
    ]
    shown = list(lines)
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
        keystore_path = _write_private(out, "client.keystore.p12", keystore)
        truststore_path = _write_private(out, "client.truststore.p12", truststore)
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
        shown = lines
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
            common.append(f"ssl.key.password={password.decode('utf-8')}")
        shown = (
            lines
            + common
            + [
                f"# ssl.keystore.key (the private key, PKCS#8) is in {out / 'client.properties'}; "
                "it is never printed"
            ]
        )
        lines = lines + common + [f"ssl.keystore.key={_java_escape(pkcs8.strip())}"]
    properties = _write_private(out, "client.properties", ("\n".join(lines) + "\n").encode())
    written.append(properties)
    return GeneratedConfig(
        "\n".join(shown) + "\n",
        notes=[f"the Java client configuration is {properties}"],
    )
