"""tlsconnect inspect: what files hold and how they relate; never key material."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives import serialization

from tlsconnect._cli import main


def key_body(pki) -> str:
    return pki.client.key_pem.decode().splitlines()[1]


def test_inspect_shows_certificates_keys_and_relations(pki, capsys):
    code = main(["inspect", str(pki.ca_pem), str(pki.client.cert_path), str(pki.client.key_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "certificate (CA)" in out and "CN=Test Project CA" in out
    assert "CN=avnadmin" in out and "days left" in out and "RSA 2048" in out
    assert (
        f"{pki.client.key_path} #1 (private key) matches {pki.client.cert_path} #1 (avnadmin)"
        in out
    )
    assert f"{pki.ca_pem} #1 (Test Project CA) issued {pki.client.cert_path} #1 (avnadmin)" in out
    assert "PRIVATE KEY" not in out and key_body(pki) not in out


def test_inspect_server_cert_names_and_expiry(pki, capsys):
    assert main(["inspect", str(pki.expired.cert_path), str(pki.server.cert_path)]) == 0
    out = capsys.readouterr().out
    assert "EXPIRED" in out and "DNS:localhost, IP:127.0.0.1, IP:::1" in out


def test_key_of_another_certificate_matches_none_and_exits_1(pki, capsys):
    assert main(["inspect", str(pki.client.cert_path), str(pki.other_client.key_path)]) == 1
    out, err = capsys.readouterr()
    assert "matches none of the certificates" in out
    assert f"{pki.other_client.key_path} #1 matches none of the certificates given" in err


def test_encrypted_key_is_not_decrypted_without_password_env(pki, capsys):
    assert main(["inspect", str(pki.client_key_encrypted_path)]) == 0
    assert "not decrypted (pass --password-env NAME" in capsys.readouterr().out


def test_encrypted_key_with_password_env_matches(pki, capsys, monkeypatch):
    monkeypatch.setenv("KEYPW", pki.client_key_password)
    code = main(
        [
            "inspect",
            "--password-env",
            "KEYPW",
            str(pki.client.cert_path),
            str(pki.client_key_encrypted_path),
            "--json",
        ]
    )
    out = capsys.readouterr().out
    data = json.loads(out)
    assert code == 0
    key = next(i for i in data["items"] if i["kind"] == "private key")
    assert key["encrypted"] and key["key_type"] == "RSA 2048"
    assert key["matches"] == [f"{pki.client.cert_path} #1"]
    assert pki.client_key_password not in out


def test_wrong_password_exits_2(pki, capsys, monkeypatch):
    monkeypatch.setenv("KEYPW", "wrong")
    assert main(["inspect", "--password-env", "KEYPW", str(pki.client_key_encrypted_path)]) == 2
    assert "could not be decrypted" in capsys.readouterr().err


def test_unset_password_env_exits_2(pki, capsys, monkeypatch):
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    assert main(["inspect", "--password-env", "NOPE_NOT_SET", str(pki.ca_pem)]) == 2


def test_der_certificate_and_der_key(pki, tmp_path, capsys):
    der_cert = tmp_path / "client.der"
    der_cert.write_bytes(pki.client.cert.public_bytes(serialization.Encoding.DER))
    der_key = tmp_path / "client.key.der"
    der_key.write_bytes(
        pki.client.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    assert main(["inspect", str(der_cert), str(der_key)]) == 0
    out = capsys.readouterr().out
    assert "CN=avnadmin" in out and "matches" in out


def test_missing_and_bad_files_exit_2_but_others_are_shown(pki, tmp_path, capsys):
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    code = main(["inspect", str(pki.ca_pem), str(tmp_path / "missing.pem"), str(junk)])
    captured = capsys.readouterr()
    assert code == 2
    assert "Test Project CA" in captured.out
    assert "does not exist" in captured.err and "neither a PEM" in captured.err


def test_bundle_with_two_cas(pki, tmp_path, capsys):
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pki.ca.cert_pem + pki.other_ca.cert_pem)
    assert main(["inspect", str(bundle), str(pki.othersigned.cert_path)]) == 0
    out = capsys.readouterr().out
    assert f"{bundle} #2 (Other Project CA) issued {pki.othersigned.cert_path} #1" in out
    assert f"{bundle} #1 (Test Project CA) issued" not in out
