"""The ``tlsconnect`` command line: ``check``, ``inspect``, ``config``, ``fetch`` (and
``demo``).

Exit codes: 0 success; 1 the connection or verification failed (``check``; with
``--project`` also a certificate expiring within ``--warn-days``), a key matches none of
the certificates given (``inspect``), or the provider's API failed; 2 bad usage or input.
Colour only on a terminal, and never when ``NO_COLOR`` is set.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import warnings

from ._envvars import convention_names, read_environment
from ._errors import ConfigError, MissingDependencyError, TLSConnectError, TLSConnectWarning
from ._files import write_private
from ._material import Credentials, note_missing_ca
from ._model import CONFIG_DRIVERS, DEFAULT_WARN_DAYS, DEFAULT_WORKERS, JAVA_FORMATS
from ._pem import looks_like_pem
from ._probe import check
from ._term import printable, use_colour
from ._version import __version__

# typing is not imported at run time: this module starts every command.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    # What only some commands run, loaded when one of them runs (below): `tlsconnect
    # check` loads no driver adapter, no demo server and no provider client. Imported
    # here for the type checker and the layers contract, which see them as they are.
    from . import _configgen as configgen
    from . import _demo as demo
    from . import _fetch as fetching
    from . import _inspect as inspecting
    from . import _project as project
    from ._report import CheckReport

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
#: --trust's words (Trust's, but "none": verifying nothing is sslmode=require's).
TRUST_CHOICES = ("project", "public", "system", "project+public")


class _OnUse:
    """A module of this package, imported the first time one of its names is used."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        # __import__, as the package's own lazy exports do (see __init__.py).
        module = __import__(self._name, globals(), None, [attribute], 1)
        return getattr(module, attribute)


if not TYPE_CHECKING:
    configgen = _OnUse("_configgen")
    demo = _OnUse("_demo")
    fetching = _OnUse("_fetch")
    inspecting = _OnUse("_inspect")
    project = _OnUse("_project")


class _Formatter(argparse.HelpFormatter):
    """argparse's help formatter, without importing :mod:`shutil` (and its compression
    modules) on every run: argparse makes a formatter for each argument it adds, and the
    width is needed only when help is printed."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = _columns() - 2  # as argparse does
        super().__init__(prog, indent_increment, max_help_position, width)


def _json(value: object, indent: int = 2) -> str:
    """``json.dumps``, imported when output is JSON (its regular expressions cost every
    other run)."""
    import json

    return json.dumps(value, indent=indent)


def _columns() -> int:
    """The terminal's width as :func:`shutil.get_terminal_size` reads it."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        raise _UsageError(f"{self.prog}: error: {message}")


class _UsageError(Exception):
    pass


def _add_material(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ca", metavar="FILE", help="the project CA (ca.pem)")
    parser.add_argument("--cert", metavar="FILE", help="client certificate (service.cert)")
    parser.add_argument("--key", metavar="FILE", help="client key (service.key)")
    parser.add_argument(
        "--credentials-dir",
        metavar="DIR",
        help="a directory written by `avn service user-creds-download` "
        "(ca.pem, service.cert, service.key); --ca, and --cert with --key, replace its files",
    )
    parser.add_argument(
        "--from-env",
        action="store_true",
        help="read the material from environment variables (KAFKA_CA_CERT, "
        "KAFKA_ACCESS_CERT, KAFKA_ACCESS_KEY, *_PATH, PGSSLROOTCERT, ...)",
    )
    parser.add_argument(
        "--env-convention",
        choices=convention_names(),
        help="with --from-env: read only this convention's variables",
    )
    parser.add_argument(
        "--password-env",
        metavar="NAME",
        help="read the password of an encrypted key from environment variable NAME",
    )
    parser.add_argument(
        "--sslmode", choices=("require", "verify-ca", "verify-full"), help="default verify-full"
    )
    parser.add_argument(
        "--sslnegotiation",
        choices=("postgres", "direct"),
        help="PostgreSQL: direct starts the TLS handshake at once (PostgreSQL 17+, libpq "
        "17+); default postgres (the SSLRequest first)",
    )
    parser.add_argument(
        "--server-name",
        metavar="NAME",
        help="connect to TARGET's host but verify the certificate against NAME and send it "
        "as SNI (an SSH tunnel, a port-forward, a private endpoint's address)",
    )


# -- The command line's words -------------------------------------------------------------
#
# Messages shared with the library name its keywords (``pass ca='ca.pem'``); the command
# line says its own flags instead, through this one table, for everything it prints: errors,
# warnings, notes, and the text of check's reports.

#: The library's keyword and the flag (with its metavar) the command line takes for it.
FLAGS: dict[str, tuple[str, str]] = {
    "ca": ("--ca", "FILE"),
    "cert": ("--cert", "FILE"),
    "key": ("--key", "FILE"),
    "key_password": ("--password-env", "NAME"),
    "service": ("--service", "SERVICE"),
    "sslmode": ("--sslmode", "MODE"),
    "trust": ("--trust", "TRUST"),
    "username": ("--username", "USER"),
    "convention": ("--env-convention", "NAME"),
    "server_name": ("--server-name", "NAME"),
}
#: Whole phrases of the library that speak of Python, and what the command line says.
_PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"Credentials\(ca=\.\.\., cert=\.\.\., key=\.\.\.\)", "--ca, --cert and --key"),
        (r"Credentials\.from_directory\((?:path)?\)", "--credentials-dir DIR"),
        (r"Credentials\.from_env\((?:\.\.\.)?\)", "--from-env"),
        # "--ca ca.pem, or ca='ca.pem' in Python": the Python half goes.
        (r",? or [^,;()]*? in Python", ""),
        (
            r"\(convention=\.\.\., (one of: [^;]*); on the command line --env-convention NAME\)",
            r"(--env-convention NAME, \1)",
        ),
        (r"pass token=\.\.\., set", "set"),
        (r"pass token= or set", "set"),
        (r" or pass user=\.\.\.", ""),
        # MissingDependencyError names the Python call: the command line's is --driver.
        (
            r"(?:\w+\(\)|params\('[\w-]+'\)) writes parameters for ([\w-]+), which is not",
            r"--driver \1 needs \1, which is not",
        ),
        (
            r"\(sasl_username=\.\.\., sasl_password=\.\.\.\)",
            "(in Python; the command line takes a client certificate only)",
        ),
        (
            r"\bno key_password was given; pass key_password=\.\.\.",
            "no password was given; pass --password-env NAME (the variable that holds it)",
        ),
        (r"\bno key_password was given", "no password was given (--password-env NAME)"),
        (r"\bthe key_password given", "the password given (--password-env NAME)"),
        (r"\bkey_password is\b", "the key's password (--password-env NAME) is"),
    )
)
_KEYWORD = re.compile(
    r"(?<![\w.-])(" + "|".join(FLAGS) + r")="
    r"(?:'([^'\n]*)'|\"([^\"\n]*)\"|(\.\.\.)|(?=[\s,;)]|$)"
    # service=kafka, as in "but service=kafka was given"
    r"|(?<=service=)([a-z][\w+-]*))"
)
#: "--ca ca.pem (--ca ca.pem)" once translated: said once.
_TWICE = re.compile(r"(--[\w-]+(?: [\w.+/-]+)?) \(\1\)")


def _flag(match: re.Match[str]) -> str:
    flag, metavar = FLAGS[match.group(1)]
    value = next((g for g in match.group(2, 3, 5) if g is not None), None)
    if match.group(4) is not None or (value is not None and match.group(1) == "key_password"):
        return f"{flag} {metavar}"
    return flag if value is None else f"{flag} {value}"


def cli_words(text: str) -> str:
    """``text`` (a message of the library) with the command line's flags for its keywords."""
    for pattern, replacement in _PHRASES:
        text = pattern.sub(replacement, text)
    return _TWICE.sub(r"\1", _KEYWORD.sub(_flag, text))


def _said(message: object) -> str:
    """A message as the command line prints it: its flags, control characters escaped."""
    return printable(cli_words(str(message)))


def _report_words(report: CheckReport) -> CheckReport:
    """The report with its own text (not the server's) in the command line's words. The
    report is the command line's own, made to be printed: changed in place."""
    for name in ("error", "fix"):
        value = getattr(report, name)
        if isinstance(value, str):
            setattr(report, name, cli_words(value))
    report.notes = [cli_words(note) for note in report.notes]
    return report


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tlsconnect",
        description="Connect to managed data services over TLS, and diagnose what fails.",
    )
    parser.add_argument("--version", action="version", version=f"tlsconnect {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    check = commands.add_parser(
        "check",
        help="connect for real and say what works, what fails, and the fix",
        description="TLS handshake plus one protocol round trip (PostgreSQL: SSLRequest and a "
        "startup message; Kafka: ApiVersions). Exit 0 when verified as planned, 1 when the "
        "connection or verification fails, 2 for bad input.",
    )
    check.add_argument(
        "target",
        metavar="TARGET",
        nargs="?",
        help="postgres://…, a libpq 'host=… port=…' string, kafka://host:port, any "
        "service URI, or host:port with --service",
    )
    check.add_argument("--service", help="service type, e.g. postgresql, kafka, mysql")
    _add_material(check)
    check.add_argument("--trust", choices=TRUST_CHOICES)
    check.add_argument(
        "--json", action="store_true", help="print one JSON object (with --project: a list)"
    )
    check.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS")
    check.add_argument(
        "--driver",
        metavar="DRIVER",
        help="give this driver's verdict (its host-name rule): e.g. psycopg (libpq's rule, "
        "the default for PostgreSQL) or asyncpg (Python's ssl)",
    )
    check.add_argument(
        "--project",
        metavar="PROJECT",
        help="check every service of PROJECT through the provider's API (token: "
        "AIVEN_AUTH_TOKEN or `avn user login`), and the days left on its certificates",
    )
    check.add_argument(
        "--warn-days",
        type=int,
        metavar="DAYS",
        help=f"with --project: fail when a certificate expires within DAYS "
        f"(default {DEFAULT_WARN_DAYS})",
    )
    check.add_argument(
        "--username",
        metavar="USER",
        help="with --project: the service user whose certificate Kafka is checked with "
        "(default avnadmin)",
    )
    check.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help=f"with --project: checks at once (default {DEFAULT_WORKERS})",
    )

    inspect = commands.add_parser(
        "inspect",
        help="show what certificate and key files hold, and how they relate",
        description="Subject, issuer, SANs, validity, SHA-256 fingerprint, key type and size, "
        "CA flag; which key matches which certificate and which certificate issued which. "
        "Key material is never printed. Exit 0 when every file was read, 1 when a key "
        "matches none of the certificates given, 2 for a file that cannot be read.",
    )
    inspect.add_argument(
        "files",
        metavar="FILE",
        nargs="+",
        help="a PEM or DER file, a directory (its ca.pem, service.cert, service.key and other "
        "files), or - for standard input",
    )
    inspect.add_argument(
        "--password-env",
        metavar="NAME",
        help="decrypt encrypted keys with the password in environment variable NAME",
    )
    inspect.add_argument("--json", action="store_true", help="print one JSON object")

    config = commands.add_parser(
        "config",
        help="print ready-to-use configuration for a driver",
        description="Paths in the configuration name your own files, or with --output-dir "
        "copies written there (mode 0600).",
    )
    config.add_argument("--driver", required=True, choices=CONFIG_DRIVERS)
    config.add_argument(
        "target",
        metavar="TARGET",
        help="postgres://…, kafka://host:port, rediss://…, or host:port with --service",
    )
    config.add_argument("--service", help="service type, e.g. postgresql, kafka, opensearch")
    _add_material(config)
    config.add_argument("--trust", choices=TRUST_CHOICES)
    config.add_argument(
        "--format",
        dest="fmt",
        metavar="FORMAT",
        help="psycopg: conninfo|json; libpq-env: env|json; confluent-kafka: properties|json",
    )
    config.add_argument(
        "--output-dir",
        metavar="DIR",
        help="write material files here (0600), and the passwords (never printed); "
        "required when the configuration holds a password",
    )
    config.add_argument("--java-format", choices=JAVA_FORMATS, default="pkcs12")

    fetch = commands.add_parser(
        "fetch",
        help="download the project CA and a service user's certificate and key",
        description="Through the provider's API (aiven-client; token from AIVEN_AUTH_TOKEN "
        "or `avn user login`): writes ca.pem, service.cert and service.key as `avn service "
        "user-creds-download` names them, but every file 0600 in a 0700 directory, "
        "atomically, after checking them.",
    )
    fetch.add_argument("project", metavar="PROJECT")
    fetch.add_argument("service", metavar="SERVICE")
    fetch.add_argument("--username", default="avnadmin", help="service user (default avnadmin)")
    fetch.add_argument(
        "-d",
        "--target-directory",
        dest="directory",
        default=".",
        metavar="DIR",
        help="where to write the files (default: the current directory)",
    )

    demo = commands.add_parser(
        "demo",
        help="stand up local PostgreSQL and Kafka with a fresh CA and show check at work",
    )
    demo.add_argument("--keep-going", action="store_true", help=argparse.SUPPRESS)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    try:
        with warnings.catch_warnings(record=True) as caught:
            # tlsconnect's own warnings, every time; others (a driver's deprecations)
            # keep Python's filters and are not said as tlsconnect's.
            warnings.simplefilter("always", TLSConnectWarning)
            try:
                return _dispatch(args)
            finally:
                # Said also when an error follows: an expiring CA read before a bad key
                # is still worth knowing.
                for warning in caught:
                    print(f"warning: {_said(warning.message)}", file=sys.stderr)
    # Messages may quote what a server, the provider's API or a file said: control
    # characters in them are shown escaped.
    except (ConfigError, MissingDependencyError) as exc:
        print(f"tlsconnect: {_said(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except TLSConnectError as exc:
        print(f"tlsconnect: {_said(exc)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("tlsconnect: interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "check":
        return _check(args)
    if args.command == "inspect":
        return _inspect(args)
    if args.command == "config":
        return _config(args)
    if args.command == "fetch":
        return _fetch(args)
    if args.command == "demo":
        return demo.run_demo()
    raise ConfigError(f"unknown command {args.command!r}")


def _password(name: str | None) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if value is None:
        raise ConfigError(
            f"--password-env {name}: the environment variable {name} is not set; "
            f"set it to the key's password (e.g. `read -s {name}; export {name}`)"
        )
    return value


def _from_env_conflicts(args: argparse.Namespace) -> None:
    if args.env_convention is not None and not args.from_env:
        args.from_env = True  # --env-convention NAME implies --from-env
    if args.from_env and (
        args.credentials_dir is not None
        or any(v is not None for v in (args.ca, args.cert, args.key))
    ):
        raise ConfigError(
            "--from-env and --credentials-dir/--ca/--cert/--key were both given; pass one or "
            "the other"
        )


def _credentials(args: argparse.Namespace) -> Credentials | None:
    password = _password(args.password_env)
    _from_env_conflicts(args)
    if args.from_env:
        return Credentials.from_env(convention=args.env_convention, key_password=password)
    if args.credentials_dir is not None:
        if all(v is None for v in (args.ca, args.cert, args.key)):
            return Credentials.from_directory(args.credentials_dir, key_password=password)
        # --ca, and --cert/--key as a pair, replace the directory's files.
        ca, cert, key = configgen.directory_paths(
            args.credentials_dir, args.ca, args.cert, args.key, password
        )
        credentials = Credentials(ca=ca, cert=cert, key=key, key_password=password)
        return credentials if ca is not None else note_missing_ca(credentials, args.credentials_dir)
    if any(v is not None for v in (args.ca, args.cert, args.key)):
        return Credentials(ca=args.ca, cert=args.cert, key=args.key, key_password=password)
    if password is not None:
        raise ConfigError("--password-env was given without a key (--key or --credentials-dir)")
    return None


def _check(args: argparse.Namespace) -> int:
    if args.timeout <= 0:
        raise ConfigError("--timeout must be a positive number of seconds")
    if args.project is not None:
        if args.driver is not None:
            raise ConfigError("--driver goes with a TARGET; --project checks each service")
        return _check_project(args)
    for option, value in (
        ("--warn-days", args.warn_days),
        ("--username", args.username),
        ("--workers", args.workers),
    ):
        if value is not None:
            raise ConfigError(f"{option} goes with --project PROJECT")
    if args.target is None:
        raise ConfigError(
            "check: the following arguments are required: TARGET (postgres://…, "
            "kafka://host:port, or host:port with --service), or --project PROJECT"
        )
    report = check(
        args.target,
        service=args.service,
        sslmode=args.sslmode,
        trust=args.trust,
        credentials=_credentials(args),
        sslnegotiation=args.sslnegotiation,
        timeout=args.timeout,
        driver=args.driver,
        server_name=args.server_name,
    )
    report = _report_words(report)
    if args.json:
        print(_json(report.to_dict(), indent=2))
    else:
        print(report.render(colour=use_colour(sys.stdout)))
    return EXIT_OK if report.ok else EXIT_FAILED


def _check_project(args: argparse.Namespace) -> int:
    given = [
        option
        for option, value in (
            ("TARGET", args.target),
            ("--service", args.service),
            ("--ca", args.ca),
            ("--cert", args.cert),
            ("--key", args.key),
            ("--credentials-dir", args.credentials_dir),
            ("--from-env", args.from_env or args.env_convention),
            ("--password-env", args.password_env),
            ("--trust", args.trust),
            ("--sslnegotiation", args.sslnegotiation),
            ("--server-name", args.server_name),
        )
        if value
    ]
    if given:
        raise ConfigError(
            f"--project checks every service with the material the provider's API gives; "
            f"leave out {', '.join(given)}"
        )
    progress = None
    stream = sys.stderr
    if getattr(stream, "isatty", None) and stream.isatty() and os.environ.get("TERM") != "dumb":

        def progress(done: int, total: int) -> None:
            end = "\r\x1b[K" if done == total else ""
            stream.write(f"\r\x1b[Kchecking {done}/{total} endpoints{end}")
            stream.flush()

    report = project.check_project(
        args.project,
        username=args.username or "avnadmin",
        warn_days=DEFAULT_WARN_DAYS if args.warn_days is None else args.warn_days,
        sslmode=args.sslmode,
        timeout=args.timeout,
        workers=DEFAULT_WORKERS if args.workers is None else args.workers,
        progress=progress,
    )
    for item in report.items:
        if item.report is not None:
            item.report = _report_words(item.report)
        if item.reason is not None:
            item.reason = cli_words(item.reason)
    if args.json:
        print(_json(report.to_list(), indent=2))
    else:
        print(report.render(colour=use_colour(sys.stdout)))
    return EXIT_OK if report.ok else EXIT_FAILED


def _fetch(args: argparse.Namespace) -> int:
    result = fetching.fetch_credentials(args.project, args.service, args.username, args.directory)
    names = ", ".join(path.name for path in result.files)
    print(f"wrote {names} to {result.directory} (files 0600)")
    print(f"expiry: {result.summary}")
    for note in result.notes:
        print(f"note: {_said(note)}", file=sys.stderr)
    return EXIT_OK


def _inspect(args: argparse.Namespace) -> int:
    password = _password(args.password_env)
    result = inspecting.inspect_files(
        args.files, password=password.encode() if password else None, stdin=sys.stdin.buffer
    )
    if args.json:
        print(_json(result.to_dict(), indent=2))
    elif result.items:
        print(result.render())
    for error in result.errors:
        print(f"tlsconnect: {_said(error)}", file=sys.stderr)
    if result.errors:
        return EXIT_USAGE
    for key in result.unmatched_keys:
        print(
            f"tlsconnect: {_said(key.label)} matches none of the certificates given: it is "
            "not the key of any of them (a key and a certificate from different downloads?)",
            file=sys.stderr,
        )
    return EXIT_FAILED if result.unmatched_keys else EXIT_OK


def _env_files(args: argparse.Namespace, password: str | None) -> list[str | None]:
    """The files ``config --from-env`` names: the user's own when a variable names a PEM
    file, else (material given as text) private copies that --output-dir gets."""
    credentials = Credentials.from_env(convention=args.env_convention, key_password=password)
    found = read_environment(os.environ, args.env_convention)
    files: list[str | None] = []
    for role, pem in (
        ("ca", credentials.ca_pem),
        ("cert", credentials.cert_chain_pem),
        ("key", credentials.key_pem),
    ):
        source = found.input(role)
        if source is None:
            files.append(None)
        elif source.path is not None and looks_like_pem(source.data):
            files.append(str(source.path))
        elif args.output_dir is None:
            raise ConfigError(
                f"{source.label} is not a PEM file, and the configuration outlives this "
                "process so it must name one: pass --output-dir DIR to have the material "
                "written there (0600)"
            )
        else:
            files.append(str(write_private(pem, f".{role}.pem")))
    return files


def _config(args: argparse.Namespace) -> int:
    password = _password(args.password_env)
    _from_env_conflicts(args)
    ca, cert, key = _env_files(args, password) if args.from_env else [args.ca, args.cert, args.key]
    result = configgen.generate_config(
        args.driver,
        args.target,
        credentials_dir=args.credentials_dir,
        ca=ca,
        cert=cert,
        key=key,
        key_password=password,
        sslmode=args.sslmode,
        sslnegotiation=args.sslnegotiation,
        server_name=args.server_name,
        trust=args.trust,
        service=args.service,
        fmt=args.fmt,
        output_dir=args.output_dir,
        java_format=args.java_format,
    )
    sys.stdout.write(result.text)
    for note in result.notes:
        for line in note.splitlines():  # a usage note may be several lines of code
            print(f"# {_said(line)}", file=sys.stderr)
    for path in result.files:
        print(f"# wrote {path} (mode 0600)", file=sys.stderr)
    return EXIT_OK
