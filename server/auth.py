"""Passwords and bearer tokens: pure functions, no HTTP and no database.

Passwords are hashed with argon2id (argon2-cffi). A token is

    v1.<payload>.<signature>

where payload is the base64url (unpadded) text `<user id hex>:<role>:<expiry unix seconds>` and
signature is base64url HMAC-SHA256 over `v1.<payload>` with the server's secret key. Tokens are
stateless: any process holding the same key (INKROOM_SECRET_KEY) verifies them. Without a key,
each process makes a random one, so tokens die with the process (fine for development only).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import string
import time
import uuid
from dataclasses import dataclass
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from schema.models import USER_ROLES

log = logging.getLogger(__name__)

TOKEN_VERSION: Final = "v1"
TOKEN_TTL_S: Final = 7 * 24 * 3600
MIN_SECRET_KEY_LENGTH: Final = 32
MIN_PASSWORD_LENGTH: Final = 10
# argon2 hashes whatever it gets; a bound keeps one request's hashing cost bounded
MAX_PASSWORD_LENGTH: Final = 256
_MAX_TOKEN_LENGTH: Final = 512

_CHARACTER_CLASSES: Final = (
    ("lowercase letters", frozenset(string.ascii_lowercase)),
    ("uppercase letters", frozenset(string.ascii_uppercase)),
    ("digits", frozenset(string.digits)),
)


# --- passwords --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyViolation:
    code: str
    message: str


def password_problems(password: str, *, email: str = "") -> list[PolicyViolation]:
    """Why a password is refused (empty if it is acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(
            PolicyViolation("password_too_short", f"use at least {MIN_PASSWORD_LENGTH} characters")
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        problems.append(
            PolicyViolation("password_too_long", f"use at most {MAX_PASSWORD_LENGTH} characters")
        )
    if password and _character_class_count(password) < 2:
        problems.append(
            PolicyViolation(
                "password_one_class",
                "mix at least two of: lowercase letters, uppercase letters, digits, symbols",
            )
        )
    normalized = password.strip().lower()
    address = email.strip().lower()
    if address and normalized in (address, address.split("@", 1)[0]):
        problems.append(
            PolicyViolation("password_is_email", "the password must not be your email address")
        )
    return problems


def _character_class_count(password: str) -> int:
    # anything outside the three named classes (symbols, spaces, other scripts) is one more class
    counted = [any(ch in chars for ch in password) for _, chars in _CHARACTER_CLASSES]
    others = any(not any(ch in chars for _, chars in _CHARACTER_CLASSES) for ch in password)
    return sum(counted) + others


class Passwords:
    """argon2id hashing; slow on purpose, so callers run it off the event loop."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()
        # verified against when an email is unknown, so a wrong email costs as much as a
        # wrong password and timing does not tell which accounts exist
        self._dummy_hash = self._hasher.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash or self._dummy_hash, password) and (
                password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)


# --- tokens -----------------------------------------------------------------------------------


class InvalidToken(Exception):  # noqa: N818 - the I/O layer maps it to 401 / a close code
    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid token: {reason}")
        self.reason = reason  # "malformed", "bad_signature" or "expired"


@dataclass(frozen=True)
class TokenClaims:
    user_id: uuid.UUID
    role: str
    expires_at: int  # unix seconds


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret_key: bytes, *, ttl_s: int = TOKEN_TTL_S) -> None:
        if len(secret_key) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"the secret key needs at least {MIN_SECRET_KEY_LENGTH} bytes")
        self._key = secret_key
        self.ttl_s = ttl_s

    def _sign(self, signed_part: str) -> str:
        digest = hmac.new(self._key, signed_part.encode("ascii"), hashlib.sha256).digest()
        return _b64encode(digest)

    def issue(self, user_id: uuid.UUID, role: str, *, now: float | None = None) -> str:
        if role not in USER_ROLES:
            raise ValueError(f"unknown role {role!r}")
        expires_at = int(time.time() if now is None else now) + self.ttl_s
        payload = _b64encode(f"{user_id.hex}:{role}:{expires_at}".encode("ascii"))
        signed_part = f"{TOKEN_VERSION}.{payload}"
        return f"{signed_part}.{self._sign(signed_part)}"

    def verify(self, token: str, *, now: float | None = None) -> TokenClaims:
        """The token's claims; raises InvalidToken (malformed, bad_signature, expired)."""
        if len(token) > _MAX_TOKEN_LENGTH or not token.isascii():
            raise InvalidToken("malformed")
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != TOKEN_VERSION:
            raise InvalidToken("malformed")
        signed_part = f"{parts[0]}.{parts[1]}"
        # the signature is checked before the payload is even parsed
        if not hmac.compare_digest(self._sign(signed_part), parts[2]):
            raise InvalidToken("bad_signature")
        try:
            user_hex, role, expiry_text = _b64decode(parts[1]).decode("ascii").split(":")
            claims = TokenClaims(uuid.UUID(hex=user_hex), role, int(expiry_text))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise InvalidToken("malformed") from None
        if claims.role not in USER_ROLES:
            raise InvalidToken("malformed")
        if claims.expires_at <= (time.time() if now is None else now):
            raise InvalidToken("expired")
        return claims


def secret_key_bytes(secret_key: str | None) -> bytes:
    """The signing key from INKROOM_SECRET_KEY, or a random one for this process only."""
    if secret_key is None:
        log.warning(
            "INKROOM_SECRET_KEY is not set: using a random key for this process; tokens stop "
            "working when it exits and other processes will not accept them (development only)"
        )
        return secrets.token_bytes(MIN_SECRET_KEY_LENGTH)
    key = secret_key.encode("utf-8")
    if len(key) < MIN_SECRET_KEY_LENGTH:
        raise ValueError(
            f"INKROOM_SECRET_KEY: use at least {MIN_SECRET_KEY_LENGTH} bytes "
            "(e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
        )
    return key


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
