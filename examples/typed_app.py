"""A typed program that uses every public name of tlsconnect, annotated as a user would.

`mypy --strict examples/typed_app.py` and `basedpyright examples/typed_app.py` accept it
(CI runs both). Run, it checks a PostgreSQL server for real and builds, without
connecting, what other clients would use with the same credentials:

    python examples/typed_app.py "postgres://avnadmin@HOST:PORT/defaultdb" CREDS_DIR
"""

from __future__ import annotations

import ssl
import sys
import warnings
from collections.abc import Callable

import tlsconnect
from tlsconnect import Credentials, CredentialsSource, TLSPlan

VERSION: str = tlsconnect.__version__

#: What the library raises on purpose: one root, each also the matching built-in.
ERRORS: tuple[type[tlsconnect.TLSConnectError], ...] = (
    tlsconnect.ConfigError,
    tlsconnect.MissingDependencyError,
    tlsconnect.ProviderAPIError,
)
#: What it warns about: one root.
WARNINGS: tuple[type[tlsconnect.TLSConnectWarning], ...] = (
    tlsconnect.InsecureConnectionWarning,
    tlsconnect.CertificateExpiryWarning,
    tlsconnect.KeyPermissionWarning,
    tlsconnect.TLSDowngradeWarning,
)


def plan_for(
    service: tlsconnect.Service,
    credentials: Credentials,
    sslmode: tlsconnect.SSLMode = tlsconnect.SSLMode.VERIFY_FULL,
) -> TLSPlan:
    return tlsconnect.resolve(service, sslmode=sslmode, credentials=credentials)


def contexts(credentials: Credentials) -> dict[str, ssl.SSLContext]:
    """Contexts for clients that take one: public CAs, the project CA with a client
    certificate, and a shared read-only one for code that makes a context per request."""
    return {
        "redis": tlsconnect.ssl_context(tlsconnect.Service.REDIS),
        "kafka": tlsconnect.ssl_context(
            "kafka", trust=tlsconnect.Trust.PROJECT, credentials=credentials
        ),
        "kafka, shared": tlsconnect.ssl_context("kafka", credentials=credentials, shared=True),
    }


def driver_parameters(
    uri: str, bootstrap: str, credentials: Credentials
) -> dict[str, dict[str, object]]:
    """Each driver's keyword arguments; a driver that is not installed is skipped."""
    builders: dict[str, Callable[[], dict[str, object]]] = {
        "psycopg": lambda: tlsconnect.psycopg_params(uri, credentials=credentials),
        "asyncpg": lambda: tlsconnect.params(
            tlsconnect.Driver.ASYNCPG, uri, credentials=credentials
        ),
        "kafka-python": lambda: tlsconnect.kafka_python_config(bootstrap, credentials=credentials),
        "confluent-kafka": lambda: tlsconnect.confluent_kafka_config(
            bootstrap, credentials=credentials
        ),
        "aiokafka": lambda: tlsconnect.aiokafka_config(bootstrap, credentials=credentials),
    }
    built: dict[str, dict[str, object]] = {}
    for driver, build in builders.items():
        if driver not in tlsconnect.drivers():
            continue
        try:
            built[driver] = build()
        except tlsconnect.MissingDependencyError as error:
            print(f"skipped {driver}: {error}")
    return built


def check_server(target: str, credentials: Credentials) -> tlsconnect.CheckReport:
    report: tlsconnect.CheckReport = tlsconnect.check(target, credentials=credentials, timeout=5)
    if not report.ok and report.error_class is not None:
        failure = tlsconnect.ErrorClass(report.error_class)
        print(f"{failure.value}: {report.fix}")
    return report


def project_health(project: str) -> tlsconnect.ProjectReport:
    """Every service of a project (needs the provider's API: the aiven extra and a token)."""
    return tlsconnect.check_project(project, warn_days=30)


def rotating_source(credentials_dir: str) -> CredentialsSource:
    """Material that follows a rotation of the files in ``credentials_dir``."""
    return CredentialsSource.from_directory(credentials_dir)


def main(uri: str, credentials_dir: str) -> int:
    for category in WARNINGS:
        warnings.simplefilter("error", category)  # verify, or stop
    try:
        credentials = Credentials.from_directory(credentials_dir)
        plan = plan_for(tlsconnect.Service.POSTGRESQL, credentials)
        report = check_server(uri, credentials)
        source = rotating_source(credentials_dir)
        made = contexts(source.current())
        built = driver_parameters(uri, f"{report.host}:{report.port}", credentials)
    except ERRORS as error:
        print(f"{type(error).__name__}: {error}")
        return 2
    print(f"tlsconnect {VERSION}: {plan.explain().splitlines()[0]}")
    print(f"check: {report.verdict}")
    print(f"contexts: {', '.join(f'{name} ({c.verify_mode.name})' for name, c in made.items())}")
    print(f"parameters: {', '.join(sorted(built))}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sys.exit(main(sys.argv[1], sys.argv[2]))
