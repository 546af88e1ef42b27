"""Reading certificates out of PEM bundles, and OpenSSL's subject-name hash.

This module owns parsing only: :func:`pem_certificates` finds each certificate of a PEM
bundle (as a normalised PEM block and its DER), and :func:`subject_hash` computes OpenSSL's
``X509_NAME_hash`` (the SHA-1 based "new" hash of ``openssl x509 -subject_hash``) in pure
Python, so no ``openssl`` binary and no ``cryptography`` import is needed. It reads no file
and writes none (the CA-directory cache that names files by this hash is
:mod:`tlsconnect._cadir`).
"""

from __future__ import annotations

import base64
import re
from functools import lru_cache

__all__ = ["canonical_name", "certificate_subject", "pem_certificates", "subject_hash"]


@lru_cache(maxsize=1)
def _pem_cert_pattern() -> re.Pattern[bytes]:
    return re.compile(
        rb"-----BEGIN (?:X509 |TRUSTED )?CERTIFICATE-----\r?\n(.*?)-----END "
        rb"(?:X509 |TRUSTED )?CERTIFICATE-----",
        re.DOTALL,
    )


# -- OpenSSL's subject-name hash --------------------------------------------------------

# Tags whose values OpenSSL converts to UTF-8 and canonicalises (ASN1_MASK_CANON), with
# how ASN1_STRING_to_UTF8 reads their bytes.
_UTF8, _PRINTABLE, _T61, _IA5, _VISIBLE, _UNIVERSAL, _BMP = 0x0C, 0x13, 0x14, 0x16, 0x1A, 0x1C, 0x1E
_ONE_BYTE_TAGS = frozenset({_PRINTABLE, _T61, _IA5, _VISIBLE})
_ASCII_SPACE = frozenset(b" \t\n\v\f\r")


def _read_tlv(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of content, end of content) of the DER element at ``pos``."""
    if pos + 2 > len(data):
        raise ValueError("truncated DER")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise ValueError("high tag numbers do not occur in X.509 names")
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise ValueError("truncated DER")
    return tag, pos, end


def _der(tag: int, content: bytes) -> bytes:
    length = len(content)
    if length < 0x80:
        return bytes((tag, length)) + content
    size = (length.bit_length() + 7) // 8
    return bytes((tag, 0x80 | size)) + length.to_bytes(size, "big") + content


def _to_utf8(tag: int, value: bytes) -> bytes:
    if tag == _UTF8:
        value.decode("utf-8")  # OpenSSL refuses invalid UTF-8; so do we
        return value
    if tag in _ONE_BYTE_TAGS:
        return value.decode("latin-1").encode("utf-8")
    if tag == _BMP:
        if len(value) % 2:
            raise ValueError("odd BMPString")
        units = [int.from_bytes(value[i : i + 2], "big") for i in range(0, len(value), 2)]
        return "".join(map(chr, units)).encode("utf-8")
    if tag == _UNIVERSAL:
        if len(value) % 4:
            raise ValueError("bad UniversalString")
        points = [int.from_bytes(value[i : i + 4], "big") for i in range(0, len(value), 4)]
        return "".join(map(chr, points)).encode("utf-8")
    raise AssertionError(tag)


def _canonical_value(value: bytes) -> bytes:
    """OpenSSL's asn1_string_canon on UTF-8 bytes: trim and collapse ASCII whitespace,
    lowercase ASCII letters; other bytes are kept as they are."""
    start, end = 0, len(value)
    while start < end and value[start] in _ASCII_SPACE:
        start += 1
    while end > start and value[end - 1] in _ASCII_SPACE:
        end -= 1
    out = bytearray()
    in_space = False
    for byte in value[start:end]:
        if byte in _ASCII_SPACE:
            if not in_space:
                out.append(0x20)
            in_space = True
            continue
        in_space = False
        out.append(byte + 32 if 0x41 <= byte <= 0x5A else byte)
    return bytes(out)


def canonical_name(name_der: bytes) -> bytes:
    """The canonical encoding OpenSSL hashes: each RDN's SET with canonical values,
    concatenated, without the outer SEQUENCE."""
    tag, pos, end = _read_tlv(name_der, 0)
    if tag != 0x30:
        raise ValueError("a Name is a SEQUENCE")
    out = []
    while pos < end:
        set_tag, set_pos, set_end = _read_tlv(name_der, pos)
        if set_tag != 0x31:
            raise ValueError("an RDN is a SET")
        entries = []
        while set_pos < set_end:
            seq_tag, seq_pos, seq_end = _read_tlv(name_der, set_pos)
            if seq_tag != 0x30:
                raise ValueError("an attribute is a SEQUENCE")
            oid_tag, _, oid_end = _read_tlv(name_der, seq_pos)
            if oid_tag != 0x06:
                raise ValueError("an attribute type is an OID")
            value_tag, value_pos, value_end = _read_tlv(name_der, oid_end)
            if value_end != seq_end:
                raise ValueError("an attribute has one value")
            value = name_der[value_pos:value_end]
            if value_tag in _ONE_BYTE_TAGS or value_tag in (_UTF8, _BMP, _UNIVERSAL):
                value_tlv = _der(_UTF8, _canonical_value(_to_utf8(value_tag, value)))
            else:
                value_tlv = name_der[oid_end:value_end]  # copied as it is, tag and all
            entries.append(_der(0x30, name_der[seq_pos:oid_end] + value_tlv))
            set_pos = seq_end
        # DER sorts the members of a SET OF by their encodings (as OpenSSL's i2d does).
        out.append(_der(0x31, b"".join(sorted(entries))))
        pos = set_end
    return b"".join(out)


def certificate_subject(cert_der: bytes) -> bytes:
    """The DER of a certificate's subject Name."""
    tag, pos, _ = _read_tlv(cert_der, 0)
    if tag != 0x30:
        raise ValueError("a certificate is a SEQUENCE")
    tag, pos, tbs_end = _read_tlv(cert_der, pos)
    if tag != 0x30:
        raise ValueError("tbsCertificate is a SEQUENCE")
    tag, _, end = _read_tlv(cert_der, pos)
    if tag == 0xA0:  # [0] version
        pos = end
    for _field in ("serialNumber", "signature", "issuer", "validity"):
        _, _, pos = _read_tlv(cert_der, pos)
    tag, _, end = _read_tlv(cert_der, pos)
    if tag != 0x30 or end > tbs_end:
        raise ValueError("subject is a SEQUENCE")
    return cert_der[pos:end]


def subject_hash(cert_der: bytes) -> str:
    """``openssl x509 -subject_hash`` of a DER certificate, as 8 hex digits."""
    # OpenSSL's name hash is defined with SHA-1; it names files, it protects nothing.
    import hashlib

    digest = hashlib.sha1(
        canonical_name(certificate_subject(cert_der)), usedforsecurity=False
    ).digest()
    return f"{int.from_bytes(digest[:4], 'little'):08x}"


def pem_certificates(bundle: bytes) -> list[tuple[bytes, bytes]]:
    """(PEM block, DER) of every certificate in a PEM bundle."""
    found = []
    for match in _pem_cert_pattern().finditer(bundle):
        der = base64.b64decode(b"".join(match.group(1).split()), validate=True)
        block = (
            b"-----BEGIN CERTIFICATE-----\n"
            + base64.encodebytes(der)
            + b"-----END CERTIFICATE-----\n"
        )
        found.append((block, der))
    return found
