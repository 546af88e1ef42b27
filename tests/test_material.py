"""Credentials: every accepted form of material, and every ConfigError case of the contract."""

from __future__ import annotations

import datetime
import os
import pickle
import warnings

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

import _no_posix
from tlsconnect import CertificateExpiryWarning, ConfigError, Credentials

PEM = serialization.Encoding.PEM
DER = serialization.Encoding.DER


def _key_bytes(key, encoding, fmt, password=None):
    enc = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(encoding, fmt, enc)


def test_paths_text_and_bytes_give_the_same_credentials(pki):
    from_paths = Credentials(ca=pki.ca_pem, cert=pki.client.cert_path, key=pki.client.key_path)
    from_str_paths = Credentials(
        ca=str(pki.ca_pem), cert=str(pki.client.cert_path), key=str(pki.client.key_path)
    )
    from_text = Credentials(
        ca=pki.ca_pem.read_text(),
        cert=pki.client.cert_path.read_text(),
        key=pki.client.key_path.read_text(),
    )
    from_bytes = Credentials(
        ca=pki.ca_pem.read_bytes(),
        cert=pki.client.cert_path.read_bytes(),
        key=pki.client.key_path.read_bytes(),
    )
    assert from_paths == from_str_paths == from_text == from_bytes
    assert from_paths.ca_certificates == [pki.ca.cert]
    assert from_paths.certificate == pki.client.cert
    assert from_paths.has_client_cert


def test_der_certificates_are_accepted_as_paths_and_bytes(pki, tmp_path):
    der = pki.ca.cert.public_bytes(DER)
    (tmp_path / "ca.der").write_bytes(der)
    assert Credentials(ca=tmp_path / "ca.der").ca_certificates == [pki.ca.cert]
    assert Credentials(ca=der).ca_certificates == [pki.ca.cert]
    assert Credentials(ca=tmp_path / "ca.der").ca_file().read_bytes().startswith(b"-----BEGIN")


def test_a_bundle_of_several_cas_is_read_in_order(pki, tmp_path):
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pki.other_ca.cert_pem + b"\n" + pki.ca.cert_pem)
    creds = Credentials(ca=bundle)
    assert creds.ca_certificates == [pki.other_ca.cert, pki.ca.cert]


@pytest.mark.parametrize("fmt", ["pkcs1", "pkcs8", "der-pkcs8", "der-pkcs1"])
def test_rsa_keys_in_pkcs1_pkcs8_and_der_are_accepted(pki, tmp_path, fmt):
    key = pki.client.key
    data = {
        "pkcs1": lambda: _key_bytes(key, PEM, serialization.PrivateFormat.TraditionalOpenSSL),
        "pkcs8": lambda: _key_bytes(key, PEM, serialization.PrivateFormat.PKCS8),
        "der-pkcs8": lambda: _key_bytes(key, DER, serialization.PrivateFormat.PKCS8),
        "der-pkcs1": lambda: _key_bytes(key, DER, serialization.PrivateFormat.TraditionalOpenSSL),
    }[fmt]()
    path = tmp_path / f"key.{fmt}"
    path.write_bytes(data)
    path.chmod(0o600)
    creds = Credentials(cert=pki.client.cert_path, key=path)
    assert creds.has_client_cert
    assert creds.key_pem.startswith(b"-----BEGIN")
    creds.key_file().read_bytes()  # a usable PEM file exists for drivers


def test_sec1_ec_keys_are_accepted(pki, tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = pki.issue_cert("ec-client", common_name="ec-client", is_client=True, key=key)
    sec1 = _key_bytes(key, PEM, serialization.PrivateFormat.TraditionalOpenSSL)
    assert b"EC PRIVATE KEY" in sec1
    creds = Credentials(cert=leaf.cert_path, key=sec1)
    assert creds.certificate == leaf.cert


@pytest.mark.parametrize("password", ["s3cret", b"s3cret"])
def test_encrypted_keys_load_with_their_password(pki, password):
    creds = Credentials(
        cert=pki.client.cert_path, key=pki.client_key_encrypted_path, key_password=password
    )
    assert creds.key_encrypted
    assert creds.key_password == b"s3cret"


def test_legacy_encrypted_pkcs1_keys_load(pki):
    legacy = _key_bytes(
        pki.client.key, PEM, serialization.PrivateFormat.TraditionalOpenSSL, b"s3cret"
    )
    assert b"Proc-Type: 4,ENCRYPTED" in legacy
    creds = Credentials(cert=pki.client.cert_path, key=legacy, key_password="s3cret")
    assert creds.key_encrypted


def test_encrypted_der_keys_load_and_stay_encrypted_for_drivers(pki):
    der = _key_bytes(pki.client.key, DER, serialization.PrivateFormat.PKCS8, b"s3cret")
    creds = Credentials(cert=pki.client.cert_path, key=der, key_password="s3cret")
    assert creds.key_encrypted
    assert b"ENCRYPTED PRIVATE KEY" in creds.key_pem


def test_encrypted_key_without_password_names_the_file_and_the_fix(pki):
    with pytest.raises(ConfigError) as info:
        Credentials(cert=pki.client.cert_path, key=pki.client_key_encrypted_path)
    assert str(pki.client_key_encrypted_path) in str(info.value)
    assert "key_password" in str(info.value)


def test_encrypted_key_with_wrong_password_is_rejected(pki):
    with pytest.raises(ConfigError, match="could not be decrypted"):
        Credentials(
            cert=pki.client.cert_path, key=pki.client_key_encrypted_path, key_password="wrong"
        )


def test_password_for_an_unencrypted_key_is_ignored_as_libpq_does(pki):
    creds = Credentials(cert=pki.client.cert_path, key=pki.client.key_path, key_password="x")
    assert not creds.key_encrypted and creds.key_password is None


def test_key_where_a_certificate_belongs_is_rejected(pki):
    with pytest.raises(ConfigError, match="holds a private key, not a certificate"):
        Credentials(ca=pki.client.key_path)
    with pytest.raises(ConfigError, match="holds a private key, not a certificate"):
        Credentials(cert=pki.client.key_path, key=pki.client.key_path)


def test_der_key_where_a_certificate_belongs_is_rejected(pki):
    der = _key_bytes(pki.client.key, DER, serialization.PrivateFormat.PKCS8)
    with pytest.raises(ConfigError, match="private key \\(DER\\)"):
        Credentials(ca=der)


def test_certificate_where_the_key_belongs_is_rejected(pki):
    with pytest.raises(ConfigError, match="holds a certificate, not a private key"):
        Credentials(cert=pki.client.cert_path, key=pki.client.cert_path)
    der = pki.client.cert.public_bytes(DER)
    with pytest.raises(ConfigError, match="certificate \\(DER\\), not a private key"):
        Credentials(cert=pki.client.cert_path, key=der)


def test_cert_and_key_that_do_not_match_are_rejected(pki):
    with pytest.raises(ConfigError) as info:
        Credentials(cert=pki.client.cert_path, key=pki.other_client.key_path)
    message = str(info.value)
    assert "does not belong" in message
    assert str(pki.other_client.key_path) in message and str(pki.client.cert_path) in message


def test_cert_without_key_and_key_without_cert_are_rejected(pki):
    with pytest.raises(ConfigError, match="without key="):
        Credentials(cert=pki.client.cert_path)
    with pytest.raises(ConfigError, match="without cert="):
        Credentials(key=pki.client.key_path)


def test_a_combined_cert_and_key_file_serves_as_both(pki, tmp_path):
    combined = tmp_path / "combined.pem"
    combined.write_bytes(pki.client.cert_pem + pki.client.key_pem)
    combined.chmod(0o600)
    creds = Credentials(cert=combined)
    assert creds.certificate == pki.client.cert
    assert b"PRIVATE KEY" not in creds.cert_file().read_bytes()


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is empty"),
        (b"   \n", "is empty"),
        (os.urandom(300), "neither a PEM nor a DER"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB", "no complete PEM certificate"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "malformed PEM"),
    ],
)
def test_broken_certificate_files_are_named_with_what_is_wrong(tmp_path, content, match):
    path = tmp_path / "broken ca é.pem"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=match) as info:
        Credentials(ca=path)
    assert str(path) in str(info.value)


def test_truncated_key_is_rejected(pki, tmp_path):
    path = tmp_path / "service.key"
    path.write_bytes(pki.client.key_path.read_bytes()[:200])
    with pytest.raises(ConfigError, match="no complete PEM private key") as info:
        Credentials(cert=pki.client.cert_path, key=path)
    assert str(path) in str(info.value)


def test_missing_file_directory_and_unreadable_file_are_named(tmp_path):
    with pytest.raises(ConfigError, match="does not exist") as info:
        Credentials(ca=tmp_path / "nope.pem")
    assert str(tmp_path / "nope.pem") in str(info.value)
    with pytest.raises(ConfigError, match="is a directory"):
        Credentials(ca=tmp_path)


def _config_error_as(uid: int | None, **kwargs) -> str:
    """The ConfigError message of Credentials(**kwargs), raised as ``uid`` (a forked child)."""
    if uid is None:
        with pytest.raises(ConfigError) as info:
            Credentials(**kwargs)
        return str(info.value)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: drop to the unprivileged user, report, exit
        os.close(read)
        message = "no error"
        try:
            os.setgid(uid)
            os.setuid(uid)
            Credentials(**kwargs)
        except ConfigError as exc:
            message = str(exc)
        except BaseException as exc:
            message = f"unexpected {type(exc).__name__}: {exc}"
        os.write(write, message.encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as handle:
        message = handle.read()
    os.waitpid(pid, 0)
    return message


def test_unreadable_file_is_named_with_the_fix(pki, tmp_path):
    path = tmp_path / "private.pem"
    path.write_bytes(pki.ca.cert_pem)
    root = _no_posix.uid() == 0  # the real uid, also where the library cannot see it
    path.chmod(0o600 if root else 0)
    tmp_path.chmod(0o755)
    nobody = 65534 if root else None  # root reads everything: test as nobody
    message = _config_error_as(nobody, ca=path)
    assert "not readable by this user" in message and str(path) in message
    assert "chmod" in message


def test_symlink_loop_is_a_config_error(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(ConfigError, match="cannot be read"):
        Credentials(ca=tmp_path / "a")


def test_huge_file_is_refused_before_reading_it(tmp_path):
    path = tmp_path / "huge.pem"
    with open(path, "wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    with pytest.raises(ConfigError, match="far larger"):
        Credentials(ca=path)


def test_wrong_types_are_config_errors():
    with pytest.raises(ConfigError, match="path, PEM text or bytes"):
        Credentials(ca=42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="key_password"):
        Credentials(key_password=3.5)  # type: ignore[arg-type]


def test_repr_and_errors_never_show_key_material_or_password(pki):
    key_text = pki.client_key_encrypted_path.read_text()
    creds = Credentials(
        ca=pki.ca_pem, cert=pki.client.cert_path, key=key_text, key_password="s3cret"
    )
    for shown in (repr(creds), str(creds)):
        assert "s3cret" not in shown
        assert "PRIVATE KEY" not in shown and key_text[40:80] not in shown
        assert "avnadmin" in shown and "<hidden>" in shown
    with pytest.raises(ConfigError) as info:
        Credentials(cert=pki.client.cert_path, key=key_text, key_password="wrong-pw")
    chain = [info.value, info.value.__cause__, info.value.__context__]
    for exc in chain:
        if exc is not None:
            assert "wrong-pw" not in str(exc) and key_text[40:80] not in str(exc)
    with pytest.raises(TypeError):
        pickle.dumps(creds)


def test_credentials_are_immutable(pki):
    creds = Credentials(ca=pki.ca_pem)
    with pytest.raises(AttributeError):
        creds.ca_certificates = []  # type: ignore[misc]


def test_from_directory_reads_the_user_creds_download_layout(pki):
    creds = Credentials.from_directory(pki.creds_dir)
    assert creds.ca_certificates == [pki.ca.cert]
    assert creds.certificate == pki.client.cert
    assert creds.has_client_cert


def test_from_directory_with_only_the_ca_is_fine(pki, tmp_path):
    (tmp_path / "ca.pem").write_bytes(pki.ca.cert_pem)
    creds = Credentials.from_directory(tmp_path)
    assert creds.ca_certificates == [pki.ca.cert] and not creds.has_client_cert


def test_from_directory_rejects_empty_dirs_files_and_half_pairs(pki, tmp_path):
    with pytest.raises(ConfigError, match="holds none of"):
        Credentials.from_directory(tmp_path)
    with pytest.raises(ConfigError, match="not a directory"):
        Credentials.from_directory(pki.ca_pem)
    with pytest.raises(ConfigError, match="does not exist"):
        Credentials.from_directory(tmp_path / "missing")
    (tmp_path / "service.cert").write_bytes(pki.client.cert_pem)
    with pytest.raises(ConfigError, match="no service.key"):
        Credentials.from_directory(tmp_path)


def test_expired_material_warns(pki, tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    old = pki.issue_cert(
        "old-client",
        common_name="old-client",
        is_client=True,
        not_before=now - datetime.timedelta(days=400),
        not_after=now - datetime.timedelta(days=2),
    )
    with pytest.warns(CertificateExpiryWarning, match="expired on") as record:
        Credentials(cert=old.cert_path, key=old.key_path)
    assert str(old.cert_path) in str(record[0].message)


def test_material_expiring_within_30_days_warns_and_later_does_not(pki):
    now = datetime.datetime.now(datetime.timezone.utc)
    soon = pki.issue_cert(
        "soon", common_name="soon", is_client=True, not_after=now + datetime.timedelta(days=10)
    )
    with pytest.warns(CertificateExpiryWarning, match="in 9 days|in 10 days"):
        Credentials(cert=soon.cert_path, key=soon.key_path)
    later = pki.issue_cert(
        "later", common_name="later", is_client=True, not_after=now + datetime.timedelta(days=31)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Credentials(cert=later.cert_path, key=later.key_path)


def test_weak_rsa_keys_are_refused_with_a_message_that_says_so(pki):
    from cryptography.hazmat.primitives.asymmetric import rsa

    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    leaf = pki.issue_cert("weak", common_name="weak", is_client=True, key=weak)
    with pytest.raises(ConfigError, match="1024-bit RSA"):
        Credentials(cert=leaf.cert_path, key=leaf.key_path)


def test_changing_the_returned_ca_list_changes_nothing(pki):
    creds = Credentials(ca=pki.ca_pem)
    creds.ca_certificates.append(pki.other_ca.cert)
    assert creds.ca_certificates == [pki.ca.cert]
