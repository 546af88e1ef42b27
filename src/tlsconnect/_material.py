"""Loading and checking certificates and keys: :class:`Credentials`.

Everything is parsed and checked when a :class:`Credentials` is made, so that a mistake
shows up where it was made, with the input named (a path, never key material) and the
fix. ``cryptography`` is imported here lazily: ``import tlsconnect`` stays cheap.
"""

from __future__ import annotations

import math
import os

from ._aiven import ProviderAPI, UserMaterial, user_material
from ._envvars import read_environment
from ._errors import CertificateExpiryWarning, ConfigError, ProviderAPIError, warn
from ._files import write_private
from ._pem import (
    CERT_LABELS,
    DOWNLOAD_HINT,
    KEY_LABELS,
    MAX_INPUT_BYTES,
    Input,
    display_name,
    looks_like_pem,
    pem_blocks,
    public_key_der,
    read_input,
)

# typing, pathlib and datetime are not imported at run time until needed: this module is
# on the path of every context, with or without material.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

    from ._pem import Material

__all__ = [
    "EXPIRY_WARNING_DAYS",
    "MAX_INPUT_BYTES",
    "MIN_RSA_BITS",
    "Credentials",
    "note_missing_ca",
]

#: Material expiring within this many days gets a :class:`CertificateExpiryWarning`.
EXPIRY_WARNING_DAYS = 30
#: Smallest RSA key accepted (OpenSSL's security level 2, the default of Debian and Python).
MIN_RSA_BITS = 2048


def _parse_certificates(source: Input, role: str) -> tuple[list[x509.Certificate], bytes]:
    """The certificates of one input, and their PEM for drivers: the blocks as given when
    they are plain PEM (no second serialisation), else made from the parsed ones."""
    from cryptography import x509

    data = source.data
    if looks_like_pem(data):
        blocks = pem_blocks(data)
        certs = [block for label, block in blocks if label in CERT_LABELS]
        if not certs:
            if any(label in KEY_LABELS for label, _ in blocks):
                raise ConfigError(
                    f"{source.label} holds a private key, not a certificate; pass the "
                    f"certificate as {role}= and the key as key="
                )
            found = ", ".join(sorted({label.decode() for label, _ in blocks})) or "nothing"
            raise ConfigError(
                f"{source.label} holds no complete PEM certificate (found: {found}); "
                f"it may be truncated: {DOWNLOAD_HINT}"
            )
        parsed = []
        for number, block in enumerate(certs, 1):
            try:
                parsed.append(x509.load_pem_x509_certificate(block))
            except ValueError:
                raise ConfigError(
                    f"{source.label}: certificate #{number} is malformed PEM; {DOWNLOAD_HINT}"
                ) from None
        plain = all(
            block.startswith(b"-----BEGIN CERTIFICATE-----\n") and b"\r" not in block
            for block in certs
        )
        return parsed, (b"\n".join(certs) + b"\n" if plain else _certificates_pem(parsed))
    try:
        der = x509.load_der_x509_certificate(data)
    except ValueError:
        pass
    else:
        return [der], _certificates_pem([der])
    if _der_is_private_key(data):
        raise ConfigError(
            f"{source.label} holds a private key (DER), not a certificate; pass the "
            f"certificate as {role}= and the key as key="
        )
    raise ConfigError(f"{source.label} is neither a PEM nor a DER certificate; {DOWNLOAD_HINT}")


def _key_errors() -> tuple[type[Exception], ...]:
    """What cryptography's key loaders raise for data that is not a usable key: ValueError
    (malformed, wrong password), TypeError (password given or missing), UnsupportedAlgorithm
    (a key type this OpenSSL cannot load)."""
    from cryptography.exceptions import UnsupportedAlgorithm

    return (ValueError, TypeError, UnsupportedAlgorithm)


def _der_is_private_key(data: bytes) -> bool:
    from cryptography.hazmat.primitives import serialization

    try:
        serialization.load_der_private_key(data, password=None, unsafe_skip_rsa_key_validation=True)
    except TypeError:
        return True  # encrypted: it is a key
    except _key_errors():
        return False
    return True


def _parse_key(source: Input, password: bytes | None) -> tuple[PrivateKeyTypes, bytes, bool]:
    """Return the key, its PEM block (as given, or made from DER), and whether it is encrypted."""
    from cryptography.hazmat.primitives import serialization

    data = source.data
    if looks_like_pem(data):
        blocks = pem_blocks(data)
        keys = [block for label, block in blocks if label in KEY_LABELS]
        if not keys:
            if any(label in CERT_LABELS for label, _ in blocks):
                raise ConfigError(
                    f"{source.label} holds a certificate, not a private key; pass the key "
                    "file (service.key) as key= and the certificate as cert="
                )
            if any(label == b"OPENSSH PRIVATE KEY" for label, _ in blocks):
                raise ConfigError(
                    f"{source.label} is an OpenSSH key, which TLS cannot use; pass the "
                    "TLS client key (service.key)"
                )
            raise ConfigError(
                f"{source.label} holds no complete PEM private key; it may be truncated: "
                f"{DOWNLOAD_HINT}"
            )
        if len(keys) > 1:
            raise ConfigError(
                f"{source.label} holds {len(keys)} private keys; pass a file with exactly one"
            )
        block = keys[0]
        encrypted = b"ENCRYPTED" in block.split(b"\n", 2)[0] or b"Proc-Type: 4,ENCRYPTED" in block

        def load(pw: bytes | None) -> PrivateKeyTypes:
            return _rsa_consistent(
                serialization.load_pem_private_key(
                    block, password=pw, unsafe_skip_rsa_key_validation=True
                )
            )

    else:
        block = b""
        encrypted = False

        def load(pw: bytes | None) -> PrivateKeyTypes:
            return _rsa_consistent(
                serialization.load_der_private_key(
                    data, password=pw, unsafe_skip_rsa_key_validation=True
                )
            )

    try:
        try:
            key = load(password)
        except TypeError:
            if password is None:
                raise ConfigError(
                    f"{source.label} is encrypted and no key_password was given; pass "
                    "key_password=..."
                ) from None
            # A password for a key that is not encrypted: libpq ignores it too.
            key = load(None)
        else:
            encrypted = encrypted or (password is not None and not block)
    except ConfigError:
        raise
    except _key_errors() as exc:
        if password is not None and _is_encrypted(data):
            raise ConfigError(
                f"{source.label} could not be decrypted with the key_password given; "
                "check the password"
            ) from None
        if not block and _der_is_certificate(data):
            raise ConfigError(
                f"{source.label} holds a certificate (DER), not a private key; pass the key "
                "file (service.key) as key="
            ) from None
        kind = "PEM" if block else "PEM or DER"
        raise ConfigError(
            f"{source.label} is not a valid {kind} private key ({type(exc).__name__}); "
            f"{DOWNLOAD_HINT}"
        ) from None
    if not block:
        # DER input: give drivers PEM, keeping it encrypted when it was.
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password)
            if password and encrypted
            else serialization.NoEncryption()
        )
        block = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
    return key, block, encrypted


def _rsa_consistent(key: PrivateKeyTypes) -> PrivateKeyTypes:
    """Check that an RSA key's numbers agree with each other (n = pq, d inverts e, the CRT
    values match), raising ValueError when they do not.

    This replaces cryptography's default RSA key validation, whose primality tests of p and
    q cost about 30 ms per key (the whole of a first call) and add nothing here: the key is
    never used from Python, OpenSSL loads it again without that test, and any corruption of
    its numbers (what a damaged file holds) is caught by these few multiplications.
    """
    from cryptography.hazmat.primitives.asymmetric import rsa

    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        n, e = numbers.public_numbers.n, numbers.public_numbers.e
        p, q, d = numbers.p, numbers.q, numbers.d
        if not (
            p > 1
            and q > 1
            and p * q == n
            and (d * e) % ((p - 1) * (q - 1) // math.gcd(p - 1, q - 1)) == 1
            and numbers.dmp1 == d % (p - 1)
            and numbers.dmq1 == d % (q - 1)
            and (numbers.iqmp * q) % p == 1
        ):
            raise ValueError("inconsistent RSA private key")
    return key


def _is_encrypted(data: bytes) -> bool:
    return b"ENCRYPTED" in data or not looks_like_pem(data)


def _der_is_certificate(data: bytes) -> bool:
    from cryptography import x509

    try:
        x509.load_der_x509_certificate(data)
    except ValueError:
        return False
    return True


def _check_strength(cert: x509.Certificate, label: str, *, anchor: bool) -> None:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import dsa, rsa

    public = cert.public_key()
    if isinstance(public, rsa.RSAPublicKey) and public.key_size < MIN_RSA_BITS:
        raise ConfigError(
            f"{label}: certificate '{display_name(cert.subject)}' has a {public.key_size}-bit "
            f"RSA key, which TLS libraries refuse (at least {MIN_RSA_BITS} bits); issue a new "
            "certificate"
        )
    if isinstance(public, dsa.DSAPublicKey):
        raise ConfigError(
            f"{label}: certificate '{display_name(cert.subject)}' has a DSA key, which TLS refuses"
        )
    algorithm = cert.signature_hash_algorithm
    if not anchor and isinstance(algorithm, hashes.SHA1 | hashes.MD5):
        raise ConfigError(
            f"{label}: certificate '{display_name(cert.subject)}' is signed with "
            f"{algorithm.name.upper()}, which TLS "
            "libraries refuse; issue a new certificate signed with SHA-256"
        )


def _warn_expiry(certs: list[x509.Certificate], label: str) -> None:
    import datetime as _dt

    now = _dt.datetime.now(_dt.timezone.utc)
    for cert in certs:
        after = cert.not_valid_after_utc
        if after <= now:
            state = f"expired on {after:%Y-%m-%d %H:%M} UTC"
        elif cert.not_valid_before_utc > now:
            state = f"is not valid before {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
        elif after - now <= _dt.timedelta(days=EXPIRY_WARNING_DAYS):
            days = (after - now).days
            state = f"expires on {after:%Y-%m-%d} UTC, in {days} day{'s' if days != 1 else ''}"
        else:
            continue
        message = f"{label}: certificate '{display_name(cert.subject)}' {state}"
        warn(f"{message}; {DOWNLOAD_HINT} once it has been renewed", CertificateExpiryWarning)


class Credentials:
    """Client-side TLS material: the project CA, and a client certificate with its key.

    ``ca`` and ``cert`` take a path to a PEM or DER file, PEM text, or bytes; ``ca`` may
    hold several certificates. ``key`` takes a path, PEM text or bytes (PKCS#1, PKCS#8 or
    SEC1), encrypted ones with ``key_password``. Everything is checked here; mistakes are
    :class:`ConfigError`. ``repr()`` never shows key material or the password.
    """

    __slots__ = (
        "_ca_certificates",
        "_ca_path",
        "_ca_pem",
        "_cert_input",
        "_chain",
        "_chain_pem",
        "_key_input",
        "_key_password",
        "_key_pem",
        "_missing_ca_note",
        "key_encrypted",
    )

    _ca_certificates: tuple[x509.Certificate, ...]
    key_encrypted: bool
    _ca_path: str | None
    _ca_pem: bytes
    _cert_input: Input | None
    _chain: list[x509.Certificate]
    _chain_pem: bytes
    _key_input: Input | None
    _key_pem: bytes
    _key_password: bytes | None
    _missing_ca_note: str | None

    def __init__(
        self,
        *,
        ca: Material | None = None,
        cert: Material | None = None,
        key: Material | None = None,
        key_password: str | bytes | None = None,
    ) -> None:
        password = _password_bytes(key_password)
        ca_certs: list[x509.Certificate] = []
        ca_path: str | None = None
        ca_pem = b""
        if ca is not None:
            source = read_input(ca, "ca")
            ca_certs, ca_pem = _parse_certificates(source, "ca")
            for cert_obj in ca_certs:
                _check_strength(cert_obj, source.label, anchor=True)
            if looks_like_pem(source.data) and source.path is not None:
                ca_path = source.path
            _warn_expiry(ca_certs, source.label)

        chain: list[x509.Certificate] = []
        chain_pem = b""
        cert_input: Input | None = None
        key_input: Input | None = None
        key_pem = b""
        encrypted = False
        if cert is not None or key is not None:
            if cert is None:
                raise ConfigError(
                    "key= was given without cert=; pass the client certificate (service.cert) too"
                )
            cert_input = read_input(cert, "cert")
            chain, chain_pem = _parse_certificates(cert_input, "cert")
            if key is None:
                if looks_like_pem(cert_input.data) and any(
                    label in KEY_LABELS for label, _ in pem_blocks(cert_input.data)
                ):
                    key_input = cert_input
                else:
                    raise ConfigError(
                        f"{cert_input.label} was given without key=; pass the client key "
                        "(service.key) too"
                    )
            else:
                key_input = read_input(key, "key")
            key_obj, key_pem, encrypted = _parse_key(key_input, password)
            for cert_obj in chain:
                _check_strength(cert_obj, cert_input.label, anchor=False)
            if public_key_der(chain[0]) != public_key_der(key_obj):
                raise ConfigError(
                    f"{key_input.label} does not belong to the certificate in "
                    f"{cert_input.label} ('{display_name(chain[0].subject)}'); pass the key "
                    "that was downloaded with that certificate"
                )
            from cryptography.hazmat.primitives.asymmetric import rsa

            if isinstance(key_obj, rsa.RSAPrivateKey) and key_obj.key_size < MIN_RSA_BITS:
                raise ConfigError(
                    f"{key_input.label} is a {key_obj.key_size}-bit RSA key, which TLS "
                    f"libraries refuse (at least {MIN_RSA_BITS} bits)"
                )
            _warn_expiry(chain[:1], cert_input.label)

        object.__setattr__(self, "_ca_certificates", tuple(ca_certs))
        object.__setattr__(self, "key_encrypted", encrypted)
        object.__setattr__(self, "_ca_path", ca_path)
        object.__setattr__(self, "_ca_pem", ca_pem)
        object.__setattr__(self, "_chain", chain)
        object.__setattr__(self, "_chain_pem", chain_pem)
        object.__setattr__(self, "_cert_input", cert_input)
        object.__setattr__(self, "_key_input", key_input)
        object.__setattr__(self, "_key_pem", key_pem)
        object.__setattr__(self, "_key_password", password if encrypted else None)
        object.__setattr__(self, "_missing_ca_note", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Credentials are immutable; make a new one")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Credentials are immutable; make a new one")

    # -- construction ---------------------------------------------------------------

    @classmethod
    def from_directory(
        cls, path: str | os.PathLike[str], *, key_password: str | bytes | None = None
    ) -> Credentials:
        """Read ``ca.pem``, ``service.cert`` and ``service.key``, as
        ``avn service user-creds-download`` writes them. Absent files are allowed, but not
        all three."""
        from pathlib import Path

        directory = Path(os.fspath(path))
        if not directory.exists():
            raise ConfigError(
                f"credentials directory '{directory}' does not exist; create it with "
                "`avn service user-creds-download --username USER SERVICE -d DIR`"
            )
        if not directory.is_dir():
            raise ConfigError(
                f"credentials directory '{directory}' is not a directory; pass the directory "
                "holding ca.pem, service.cert and service.key"
            )
        names = {"ca": "ca.pem", "cert": "service.cert", "key": "service.key"}
        found: dict[str, Path] = {}
        for role, name in names.items():
            candidate = directory / name
            if candidate.exists() or candidate.is_symlink():
                found[role] = candidate
        if not found:
            raise ConfigError(
                f"credentials directory '{directory}' holds none of ca.pem, service.cert, "
                "service.key; download them with "
                "`avn service user-creds-download --username USER SERVICE -d DIR`"
            )
        if ("cert" in found) != ("key" in found):
            have, lack = ("service.cert", "service.key")[:: 1 if "cert" in found else -1]
            raise ConfigError(
                f"credentials directory '{directory}' has {have} but no {lack}; {DOWNLOAD_HINT}"
            )
        credentials = cls(
            ca=found.get("ca"),
            cert=found.get("cert"),
            key=found.get("key"),
            key_password=key_password,
        )
        if "ca" not in found:
            note_missing_ca(credentials, directory)
        return credentials

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        convention: str | None = None,
        key_password: str | bytes | None = None,
    ) -> Credentials:
        """Read the material platforms put in environment variables, as PEM text (also
        ``\\n``-escaped or base64) or as paths: ``KAFKA_CA_CERT`` / ``KAFKA_ACCESS_CERT`` /
        ``KAFKA_ACCESS_KEY`` (the provider's application runtime and its Kubernetes
        operator), ``SERVICEUSER_*`` and unprefixed ``CA_CERT`` / ``ACCESS_CERT`` /
        ``ACCESS_KEY`` (the operator's secrets), ``KAFKA_CA_PATH`` /
        ``KAFKA_CERTIFICATE_PATH`` / ``KAFKA_PRIVATE_KEY_PATH``, and libpq's
        ``PGSSLROOTCERT`` / ``PGSSLCERT`` / ``PGSSLKEY``.

        ``environ`` defaults to ``os.environ``. Variables of several conventions may be
        set if they agree; two that give different material are a :class:`ConfigError`
        naming both, and ``convention=`` (``kafka``, ``serviceuser``, ``operator``,
        ``kafka-path``, ``libpq``) reads one only. None set: a :class:`ConfigError`
        naming every variable looked for. Values never appear in messages.
        """
        found = read_environment(os.environ if environ is None else environ, convention)
        return cls.from_inputs(
            found.ca,
            found.cert,
            found.key,
            key_password,
            f"from the environment: {found.describe()}",
        )

    @classmethod
    def from_aiven(
        cls,
        project: str,
        service: str,
        username: str = "avnadmin",
        *,
        token: str | None = None,
    ) -> Credentials:
        """The project CA, and the service user's certificate and key, through the
        provider's API (``aiven-client``: ``pip install "tlsconnect[aiven]"``).

        The token is ``token=``, else ``AIVEN_AUTH_TOKEN``, else the file ``avn user
        login`` writes; the API's address is ``AIVEN_WEB_URL`` (default
        ``https://api.aiven.io``). A user without a certificate (PostgreSQL's log in with
        passwords) gives the CA only. API failures are :class:`ProviderAPIError`s, which
        never show the token.
        """
        material = user_material(ProviderAPI(token), project, service, username)
        return cls.from_api_material(material)

    @classmethod
    def from_api_material(cls, material: UserMaterial) -> Credentials:  # internal
        """Credentials from what the provider's API gave; material that does not check
        out is the API's fault, not the caller's: :class:`ProviderAPIError`."""
        try:
            return cls.from_inputs(
                material.ca, material.cert, material.key, None, material.describe()
            )
        except ConfigError as exc:
            raise ProviderAPIError(f"the material the API gave cannot be used: {exc}") from None

    @classmethod
    def from_inputs(  # internal: for tlsconnect's own readers
        cls,
        ca: Input | None,
        cert: Input | None,
        key: Input | None,
        key_password: str | bytes | None,
        where: str,
    ) -> Credentials:
        """Credentials from inputs already read and labelled (read_input takes them as
        they are); a mistake names where the material came from."""
        try:
            # An Input is not a Material for the type checker; read_input passes it on.
            return cls(ca=ca, cert=cert, key=key, key_password=key_password)  # type: ignore[arg-type]
        except ConfigError as exc:
            raise ConfigError(f"{exc} ({where})") from None

    # -- public attributes ----------------------------------------------------------

    @property
    def ca_certificates(self) -> list[x509.Certificate]:
        """The CA certificates given (a new list: changing it changes nothing here)."""
        return list(self._ca_certificates)

    @property
    def certificate(self) -> x509.Certificate | None:
        """The client certificate (the leaf), or ``None``."""
        return self._chain[0] if self._chain else None

    @property
    def chain(self) -> list[x509.Certificate]:
        """The client certificate followed by any intermediates given with it."""
        return list(self._chain)

    @property
    def missing_ca_note(self) -> str | None:
        """For credentials read from a directory without ``ca.pem``: which directory, and
        what it holds, for the error of a plan that needs the CA."""
        return self._missing_ca_note

    @property
    def has_client_cert(self) -> bool:
        return bool(self._chain)

    @property
    def has_ca(self) -> bool:
        return bool(self._ca_certificates)

    # -- material for drivers (internal) --------------------------------------------

    @property
    def ca_pem(self) -> bytes:
        """The CA certificates as PEM (public material)."""
        return self._ca_pem

    @property
    def cert_chain_pem(self) -> bytes:
        return self._chain_pem

    @property
    def key_pem(self) -> bytes:
        """The key as PEM, encrypted when it was given encrypted. Never log this."""
        return self._key_pem

    @property
    def key_password(self) -> bytes | None:
        """The password of an encrypted key, else ``None``. Never log this."""
        return self._key_password

    def ca_file(self) -> Path:
        """A PEM file holding the CA certificates: the user's own when it is PEM."""
        if self._ca_path is not None:
            return _as_path(self._ca_path)
        return write_private(self._ca_pem, ".ca.pem")

    def cert_file(self) -> Path:
        """A PEM file holding the client chain (only certificates)."""
        source = self._cert_input
        if (
            source is not None
            and source.path is not None
            and looks_like_pem(source.data)
            and source is not self._key_input
        ):
            return _as_path(source.path)
        return write_private(self._chain_pem, ".crt.pem")

    def key_file_as_given(self) -> Path | None:
        """The user's own key path when it is PEM, else ``None``."""
        source = self._key_input
        if source is not None and source.path is not None and looks_like_pem(source.data):
            return _as_path(source.path)
        return None

    def key_file_mode(self) -> int | None:
        source = self._key_input
        return source.mode if source is not None else None

    def key_label(self) -> str:
        return self._key_input.label if self._key_input is not None else "key"

    def key_file(self) -> Path:
        """A PEM key file: the user's own when it is PEM, else a private 0600 copy."""
        own = self.key_file_as_given()
        if own is not None:
            return own
        return self.private_key_file()

    def private_cert_file(self) -> Path:
        """A private 0600 copy of the client chain, as it was checked."""
        return write_private(self._chain_pem, ".crt.pem")

    def private_key_file(self) -> Path:
        """A private 0600 copy of the key (encrypted when it was given encrypted)."""
        return write_private(self._key_pem, ".key.pem")

    def describe(self) -> str:
        """A secret-free summary, used by repr() and explain()."""
        parts = []
        if self.ca_certificates:
            names = ", ".join(repr(display_name(c.subject)) for c in self.ca_certificates)
            parts.append(f"ca=[{names}]")
        if self._chain:
            parts.append(f"cert={display_name(self._chain[0].subject)!r}")
            parts.append("key=<hidden>" + (" (encrypted)" if self.key_encrypted else ""))
        return ", ".join(parts) or "empty"

    def __repr__(self) -> str:
        return f"Credentials({self.describe()})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credentials):
            return NotImplemented
        return (self._ca_pem, self._chain_pem, self._key_pem, self._key_password) == (
            other._ca_pem,
            other._chain_pem,
            other._key_pem,
            other._key_password,
        )

    def __hash__(self) -> int:
        return hash((self._ca_pem, self._chain_pem, self._key_pem))

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("Credentials cannot be pickled: they may hold a private key")


def note_missing_ca(credentials: Credentials, directory: str | os.PathLike[str]) -> Credentials:
    """``credentials`` (returned), noted as read from ``directory``, which has no
    ``ca.pem``: a plan that needs the CA then names the directory and what it holds."""
    if not credentials.has_ca:
        note = _missing_ca_note(_as_path(os.fspath(directory)).absolute())
        object.__setattr__(credentials, "_missing_ca_note", note)
    return credentials


def _missing_ca_note(directory: Path) -> str:
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        names = []
    shown = [name if name.isprintable() else repr(name) for name in names[:10]]
    holds = ", ".join(shown) + (", ..." if len(names) > 10 else "") or "nothing"
    return (
        f"the credentials directory '{directory}' has no ca.pem (it holds: {holds}); put "
        "the project CA there as ca.pem (`avn service user-creds-download` writes it), or "
        "pass ca= as well"
    )


def _as_path(path: str) -> Path:
    from pathlib import Path

    return Path(path)


def _password_bytes(password: str | bytes | None) -> bytes | None:
    if password is None:
        return None
    if isinstance(password, str):
        return password.encode("utf-8")
    if isinstance(password, bytes | bytearray):
        return bytes(password)
    raise ConfigError(f"key_password must be str or bytes, not {type(password).__name__}")


def _certificates_pem(certs: list[x509.Certificate]) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
