"""RSASSA-PSS (SHA-256, MGF1-SHA-256) verification in plain Python.

KMS signs the digests; checking one needs only the public key, fetched once. This verifier
has no dependency (the `cryptography` wheel is not in the Lambda runtime) and no KMS call per
digest. It follows RFC 8017 §8.1.2 and §9.1.2, with the salt length read from the signature
(openssl's `rsa_pss_saltlen:auto`): AWS KMS salts with 32 bytes, the emulator with the most
that fits; the hash check is the same either way. Pure.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

MIN_SALT_LENGTH = 32  # KMS's RSASSA_PSS_SHA_256 salts with as many bytes as the hash
_RSA_OID = bytes.fromhex("2a864886f70d010101")


@dataclass(frozen=True)
class RsaPublicKey:
    """An RSA public key: modulus and exponent."""

    n: int
    e: int


def _der(data: bytes, at: int) -> tuple[int, int, int]:
    """Return (tag, start of content, end of content) of the DER element at `at`."""
    tag, length = data[at], data[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[at : at + count], "big")
        at += count
    if at + length > len(data):
        raise ValueError("truncated DER")
    return tag, at, at + length


def public_key_from_der(spki: bytes) -> RsaPublicKey:
    """Read a SubjectPublicKeyInfo (what KMS GetPublicKey returns); ValueError if not RSA."""
    try:
        tag, start, _ = _der(spki, 0)  # SEQUENCE
        tag_alg, alg_start, alg_end = _der(spki, start)  # AlgorithmIdentifier
        if tag != 0x30 or tag_alg != 0x30 or _RSA_OID not in spki[alg_start:alg_end]:
            raise ValueError("not an RSA public key")
        tag_bits, bits_start, bits_end = _der(spki, alg_end)  # BIT STRING
        if tag_bits != 0x03:
            raise ValueError("no key bits")
        inner = spki[bits_start + 1 : bits_end]  # skip the unused-bits byte
        _, seq_start, _ = _der(inner, 0)
        _, n_start, n_end = _der(inner, seq_start)
        _, e_start, e_end = _der(inner, n_end)
    except IndexError as error:
        raise ValueError("truncated DER") from error
    n = int.from_bytes(inner[n_start:n_end], "big")
    e = int.from_bytes(inner[e_start:e_end], "big")
    return RsaPublicKey(n=n, e=e)


def _mgf1(seed: bytes, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def verify_pss_sha256(key: RsaPublicKey, message: bytes, signature: bytes) -> bool:
    """Tell whether `signature` is a valid RSASSA-PSS-SHA-256 signature of `message`."""
    mod_bits = key.n.bit_length()
    s = int.from_bytes(signature, "big")
    if len(signature) != (mod_bits + 7) // 8 or s >= key.n:
        return False
    em_bits = mod_bits - 1
    em_len = (em_bits + 7) // 8
    em = pow(s, key.e, key.n).to_bytes(em_len, "big")
    m_hash = hashlib.sha256(message).digest()
    h_len = len(m_hash)
    if em_len < h_len + MIN_SALT_LENGTH + 2 or em[-1] != 0xBC:
        return False
    masked, h = em[: em_len - h_len - 1], em[em_len - h_len - 1 : -1]
    unused = 8 * em_len - em_bits
    if unused and masked[0] >> (8 - unused):
        return False
    db = bytes(a ^ b for a, b in zip(masked, _mgf1(h, len(masked)), strict=True))
    if unused:
        db = bytes([db[0] & (0xFF >> unused)]) + db[1:]
    padding_length = len(db) - len(db.lstrip(b"\x00"))
    if padding_length >= len(db) or db[padding_length] != 0x01:
        return False
    salt = db[padding_length + 1 :]
    if len(salt) < MIN_SALT_LENGTH:
        return False
    return hashlib.sha256(b"\x00" * 8 + m_hash + salt).digest() == h
