"""Password hashes: Argon2id with argon2-cffi's defaults (RFC 9106's low-memory profile: 3 passes,
64 MiB, 4 lanes), and generated passwords for new accounts."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An encoded Argon2id hash ($argon2id$v=19$m=...), salted afresh each call."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when `password` matches; False when it does not or the stored hash is not a valid one."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's (rehash it at the next sign-in)."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def verify_nobody(password: str) -> None:
    """Spend the time one verification takes, for a username that does not exist: the answer's timing
    must not tell which usernames do."""
    verify_password(_dummy_hash(), password)


@cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def generate_password() -> str:
    """A random password of 20 URL-safe characters (120 bits), for a first admin or a reset.

    >>> len(generate_password())
    20
    """
    return secrets.token_urlsafe(15)
