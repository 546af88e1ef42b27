"""Text from a server reaches the terminal with its control characters escaped: a
certificate whose subject holds ESC sequences (retitle the window, clear the screen), and
a server error message that quotes control characters back. Real servers; JSON keeps the
text as it came (json escapes it)."""

from __future__ import annotations

import json

import pytest

import tlsconnect
from tlsconnect._cli import main
from tlsconnect._term import printable
from tlsconnect.testing import HTTPSServer

# Retitle the window, clear the screen, a C1 CSI, and a right-to-left override.
EVIL = "evil\x1b]0;pwned\x07\x1b[2J\x9b1m\u202eok"
SHOWN = "evil\\x1b]0;pwned\\x07\\x1b[2J\\x9b1m\\u202eok"
# How it looks escaped, wherever it is quoted (RFC 4514 writes ';' as '\;').
MARKS = ("evil\\x1b]0", "pwned\\x07\\x1b[2J\\x9b1m\\u202eok")


def _assert_safe(text: str, *, shown: bool = True) -> None:
    for char in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert char not in text, repr(text)
    if shown:  # escaped, not dropped
        assert all(mark in text for mark in MARKS), text


@pytest.fixture(scope="module")
def evil_certs(pki):
    good = pki.issue_cert("evil-name", common_name=EVIL, dns_names=["localhost"])
    wrong = pki.issue_cert("evil-name-wronghost", common_name=EVIL, dns_names=["else.example"])
    return good, wrong


def test_printable_escapes_controls_and_keeps_the_rest():
    assert printable(EVIL) == SHOWN
    assert printable("plain text, ünïcödé") == "plain text, ünïcödé"
    assert printable("a\nb\r") == "a\\nb\\r"
    assert printable("a\nb", newlines=True) == "a\nb"


def test_a_certificate_subject_with_escape_sequences_is_shown_escaped(pki, evil_certs, capsys):
    good, wrong = evil_certs
    with HTTPSServer(*good.pair) as server:
        target = f"https://localhost:{server.port}"
        report = tlsconnect.check(target, service="opensearch", trust="project", ca=pki.ca_pem)
        assert report.ok, report.error
        assert "pwned\x07\x1b[2J" in report.peer_subject  # the report holds what was sent
        assert json.loads(json.dumps(report.to_dict()))["peer_subject"] == report.peer_subject
        _assert_safe(str(report))
        coloured = report.render(colour=True)
        assert coloured.count("\x1b[") == coloured.count("\x1b[0m") * 2  # only colours
        argv = ["check", target, "--service", "opensearch", "--trust", "project"]
        assert main([*argv, "--ca", str(pki.ca_pem)]) == 0
        out, err = capsys.readouterr()
        _assert_safe(out)
        _assert_safe(err, shown=False)
        assert main([*argv, "--ca", str(pki.ca_pem), "--json"]) == 0
        _assert_safe(capsys.readouterr().out, shown=False)  # JSON escapes it: \u001b
    with HTTPSServer(*wrong.pair) as server:
        target = f"https://localhost:{server.port}"
        report = tlsconnect.check(target, service="opensearch", trust="project", ca=pki.ca_pem)
        assert not report.ok and report.error_class == "hostname_mismatch"
        _assert_safe(str(report))


def test_inspect_shows_a_certificate_subject_escaped(evil_certs, capsys):
    good, _ = evil_certs
    assert main(["inspect", str(good.pair[0])]) == 0
    out, err = capsys.readouterr()
    _assert_safe(out)
    _assert_safe(err, shown=False)


def test_a_server_error_message_with_control_characters_is_shown_escaped(pg_server, pki):
    server = pg_server("good")
    target = f"postgresql://{server.host}:{server.port}/postgres"
    # PostgreSQL quotes the user name back in its refusal: the server's text holds them.
    user = "x" + EVIL
    report = tlsconnect.check(target, user=user, ca=pki.ca_pem)
    assert EVIL in (report.server_message or ""), report.server_message
    _assert_safe(str(report))
