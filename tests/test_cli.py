"""The command line, in-process through main([...]) and once as a real subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest

from _cli_fixtures import API_KEYS
from tlsconnect._cli import main
from tlsconnect._term import use_colour


def pg_uri(server, host="localhost"):
    return f"postgresql://{host}:{server.port}/defaultdb"


def test_check_verified_exits_0_with_short_text(pg, pki, capsys):
    code = main(["check", pg_uri(pg.good), "--ca", str(pki.ca_pem)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith("OK, verified")
    assert "\x1b[" not in out  # not a terminal: no colour


def test_check_failure_exits_1_and_names_the_fix(pg, pki, capsys):
    code = main(["check", pg_uri(pg.othersigned), "--ca", str(pki.ca_pem)])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED: untrusted_issuer" in out and "fix:" in out


def test_check_json_has_the_documented_schema(kafka, pki, capsys):
    code = main(
        [
            "check",
            f"kafka://localhost:{kafka.good.port}",
            "--credentials-dir",
            str(pki.creds_dir),
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(data) >= API_KEYS
    assert data["ok"] is True and data["service"] == "kafka" and data["error"] is None
    assert data["error_class"] is None and data["chain"][0]["sha256"]


def test_check_json_failure(kafka, pki, capsys):
    code = main(
        [
            "check",
            f"localhost:{kafka.good.port}",
            "--service",
            "kafka",
            "--ca",
            str(pki.ca_pem),
            "--json",
        ]
    )
    data = json.loads(capsys.readouterr().out)
    assert code == 1
    assert data["ok"] is False and data["error_class"] == "client_cert_required"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check"], "required: TARGET"),
        (["check", "localhost:5432"], "does not say which service"),
        (["check", "localhost:5432", "--service", "nosuch"], "unknown service"),
        (["check", "localhost:5432", "--service", "pg", "--sslmode", "disable"], "invalid choice"),
        (["check", "localhost:5432", "--service", "pg"], "none was given"),
        (
            ["check", "localhost:5432", "--service", "pg", "--ca", "/nonexistent/ca.pem"],
            "does not exist",
        ),
        (["inspect"], "required: FILE"),
        (["nosuchcommand"], "invalid choice"),
    ],
)
def test_bad_usage_and_input_exit_2(argv, message, capsys):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err


def test_cert_without_key_exits_2(pki, capsys):
    code = main(
        [
            "check",
            "localhost:1",
            "--service",
            "kafka",
            "--ca",
            str(pki.ca_pem),
            "--cert",
            str(pki.client.cert_path),
        ]
    )
    assert code == 2
    assert "without --key;" in capsys.readouterr().err


def test_help_exits_0(capsys):
    assert main(["--help"]) == 0
    assert "check" in capsys.readouterr().out


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert use_colour(_Terminal()) is True
    assert use_colour(io.StringIO()) is False
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(_Terminal()) is False


def test_check_colours_a_terminal(pg, pki, monkeypatch, capsys):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    assert main(["check", pg_uri(pg.good), "--ca", str(pki.ca_pem)]) == 0
    assert "\x1b[1;32mOK, verified\x1b[0m" in terminal.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    terminal.seek(0)
    terminal.truncate()
    assert main(["check", pg_uri(pg.good), "--ca", str(pki.ca_pem)]) == 0
    assert "\x1b[" not in terminal.getvalue()


def test_require_without_ca_exits_0_but_says_not_verified(pg, capsys):
    code = main(["check", pg_uri(pg.good), "--sslmode", "require"])
    captured = capsys.readouterr()
    assert code == 0
    assert "NOT verified" in captured.out


def test_python_dash_m_runs_a_real_check(pg, pki):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tlsconnect",
            "check",
            pg_uri(pg.wronghost),
            "--ca",
            str(pki.ca_pem),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    assert data["error_class"] == "hostname_mismatch"
    assert "wrong.example.com" in data["error"]


def test_demo_runs_end_to_end_and_cleans_up(capsys, monkeypatch):
    import shutil
    import tempfile

    from tlsconnect._files import private_dir

    # The demo's files go into a directory of this test's own (traversable, as the demo's
    # servers run as their own users): another run of the suite on the same machine,
    # making its own demo directory meanwhile, changes nothing here.
    own = tempfile.mkdtemp(prefix="tdemo-")  # short: MariaDB's socket path has a limit
    os.chmod(own, 0o755)
    private_dir()  # this process's private directory stays where it is
    monkeypatch.setattr(tempfile, "tempdir", own)
    code = main(["demo"])
    out = capsys.readouterr().out
    assert code == 0, out
    for verdict in (
        "OK, verified",
        "untrusted_issuer",
        "hostname_mismatch",
        "client_cert_required",
    ):
        assert verdict in out
    assert "everything behaved as shown" in out
    # The drivers at work: each connects with verify-full and presents the certificate.
    drivers = out.split("== The drivers at work", 1)[1].split("\n== ", 1)[0]
    for name, did in (
        ("psycopg", "SELECT current_user -> avnadmin"),
        ("asyncpg", "SELECT current_user -> avnadmin"),
        ("kafka-python", "produced and consumed 'hello over mutual TLS'"),
        ("redis", "PING -> PONG"),
        ("pymysql", "SELECT CURRENT_USER() -> x509user"),
        ("direct TLS", "ALPN 'postgresql', not the SSLRequest); 2 round trips"),
    ):
        line = next(line for line in drivers.splitlines() if line.strip().startswith(name))
        assert did in line and "the chain and the host name" in line, line
        assert "client certificate presented" in line
    assert "FAILED" not in drivers and "skipped" not in drivers
    base = out.split("client certificates in ", 1)[1].split("\n", 1)[0].strip()
    assert os.path.dirname(base) == own  # it was made here, and removed
    assert not os.path.exists(base) and os.listdir(own) == []
    shutil.rmtree(own)


@pytest.mark.parametrize("delay", [0.0, 0.03, 0.1])
def test_demo_interrupted_with_ctrl_c_stops_its_servers_and_removes_its_files(delay):
    import pathlib
    import signal
    import time

    proc = subprocess.Popen(
        [sys.executable, "-m", "tlsconnect", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first = proc.stdout.readline()
        assert "Fresh project CA" in first, first
        base = first.rsplit(" in ", 1)[1].strip()
        for line in proc.stdout:
            if "Kafka-protocol broker" in line:
                break
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)  # while the broker and stunnel start
        time.sleep(0.2)
        proc.send_signal(signal.SIGINT)  # a second, impatient Ctrl-C during the clean-up
        rest = proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, rest
    assert "Interrupted: cleaning up" in rest
    assert not pathlib.Path(base).exists()
    left = []
    for proc_dir in pathlib.Path("/proc").glob("[0-9]*"):
        try:  # a server of the demo names its files in its command line or runs in them
            named = base.encode() in (proc_dir / "cmdline").read_bytes()
            inside = base in os.readlink(proc_dir / "cwd")
        except OSError:
            continue
        if named or inside:
            left.append(proc_dir.name)
    assert not left, f"processes still running from {base}: {left}"
