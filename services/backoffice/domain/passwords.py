"""Staff passwords: Argon2id (argon2-cffi, memory-hard) with the library's recommended
parameters. Pure: no I/O; the password itself is never stored, logged or returned."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 256  # hashing a megabyte of "password" is a denial of service, not security

_HASHER = PasswordHasher()
# Checked against when the account does not exist, so both cases take the same time.
_DUMMY_HASH = _HASHER.hash("lapor-no-such-account-dummy-password")


class WeakPassword(ValueError):
    """Too short or too long."""


def check_strength(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"at most {MAX_LENGTH} characters")


def hash_password(password: str) -> str:
    """The Argon2id hash (with its salt and parameters) of an acceptable password."""
    check_strength(password)
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when `password` matches `stored_hash`; None (no such account) is checked against a
    dummy hash and is always False, in the same time as a wrong password."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with older parameters than the library recommends now."""
    return _HASHER.check_needs_rehash(stored_hash)
