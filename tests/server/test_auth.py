from __future__ import annotations

import logging
import uuid

import pytest
from argon2 import PasswordHasher, profiles

from server.auth import (
    MIN_SECRET_KEY_LENGTH,
    InvalidToken,
    Passwords,
    TokenSigner,
    bearer_token,
    password_problems,
    secret_key_bytes,
)

KEY = b"k" * MIN_SECRET_KEY_LENGTH
NOW = 1_800_000_000.0


def _codes(password: str, email: str = "") -> list[str]:
    return [p.code for p in password_problems(password, email=email)]


@pytest.mark.parametrize(
    "password", ["Correct horse 7", "sunflower-fields", "1234567890x", "Ünïcödé ünïcödé"]
)
def test_password_policy_accepts_long_mixed_passwords(password: str) -> None:
    assert _codes(password, "ada@example.org") == []


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("Sh0rt!", "password_too_short"),
        ("", "password_too_short"),
        ("a" * 257 + "1", "password_too_long"),
        ("abcdefghijkl", "password_one_class"),
        ("ABCDEFGHIJKL", "password_one_class"),
        ("123456789012", "password_one_class"),
        ("!!!!!!!!!!!!", "password_one_class"),
    ],
)
def test_password_policy_refuses_with_a_reason(password: str, code: str) -> None:
    assert code in _codes(password)


@pytest.mark.parametrize("password", ["Ada.Lovelace@Example.org", "ada.lovelace@example.org "])
def test_password_policy_refuses_the_email(password: str) -> None:
    assert "password_is_email" in _codes(password, "ada.lovelace@example.org")


def test_password_policy_refuses_the_email_local_part() -> None:
    assert _codes("ada.lovelace1", "ada.lovelace1@example.org") == ["password_is_email"]


def test_password_policy_reports_every_reason_with_a_message() -> None:
    problems = password_problems("short", email="x@example.org")
    assert [p.code for p in problems] == ["password_too_short", "password_one_class"]
    assert all(p.message for p in problems)


def test_passwords_hash_and_verify_with_argon2id() -> None:
    passwords = Passwords()  # argon2-cffi's defaults, as in production
    hashed = passwords.hash("Correct horse 7")
    assert hashed.startswith("$argon2id$")
    assert passwords.verify(hashed, "Correct horse 7")
    assert not passwords.verify(hashed, "Correct horse 8")
    assert not passwords.needs_rehash(hashed)


def test_passwords_verify_refuses_missing_and_garbage_hashes() -> None:
    passwords = Passwords(PasswordHasher.from_parameters(profiles.CHEAPEST))
    assert not passwords.verify(None, "anything at all")
    assert not passwords.verify("not a hash", "anything at all")


def test_token_round_trips_its_claims() -> None:
    signer = TokenSigner(KEY, ttl_s=60)
    user_id = uuid.uuid4()
    token = signer.issue(user_id, "coach", now=NOW)
    claims = signer.verify(token, now=NOW + 59)
    assert (claims.user_id, claims.role, claims.expires_at) == (user_id, "coach", NOW + 60)
    assert token.startswith("v1.") and token.count(".") == 2


def test_token_expired_is_refused() -> None:
    signer = TokenSigner(KEY, ttl_s=60)
    token = signer.issue(uuid.uuid4(), "player", now=NOW)
    with pytest.raises(InvalidToken) as caught:
        signer.verify(token, now=NOW + 60)
    assert caught.value.reason == "expired"


def test_token_with_a_rewritten_payload_is_refused() -> None:
    signer = TokenSigner(KEY)
    token = signer.issue(uuid.uuid4(), "player", now=NOW)
    admin = signer.issue(uuid.uuid4(), "admin", now=NOW)
    version, _payload, signature = token.split(".")
    forged = f"{version}.{admin.split('.')[1]}.{signature}"
    with pytest.raises(InvalidToken) as caught:
        signer.verify(forged, now=NOW)
    assert caught.value.reason == "bad_signature"


def test_token_signed_with_another_key_is_refused() -> None:
    token = TokenSigner(b"x" * 40).issue(uuid.uuid4(), "player", now=NOW)
    with pytest.raises(InvalidToken) as caught:
        TokenSigner(KEY).verify(token, now=NOW)
    assert caught.value.reason == "bad_signature"


def test_token_with_a_flipped_signature_character_is_refused() -> None:
    signer = TokenSigner(KEY)
    token = signer.issue(uuid.uuid4(), "player", now=NOW)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(InvalidToken):
        signer.verify(flipped, now=NOW)


@pytest.mark.parametrize(
    "token", ["", "v1", "v1.a", "v2.a.b", "v1..", "a.b.c.d", "v1.é.x", "v1." + "a" * 600 + ".b"]
)
def test_token_malformed_is_refused(token: str) -> None:
    with pytest.raises(InvalidToken) as caught:
        TokenSigner(KEY).verify(token, now=NOW)
    assert caught.value.reason in ("malformed", "bad_signature")


def test_token_signed_garbage_payload_is_malformed() -> None:
    signer = TokenSigner(KEY)
    signed_part = "v1.bm90LWEtcGF5bG9hZA"  # base64url of "not-a-payload"
    token = f"{signed_part}.{signer._sign(signed_part)}"
    with pytest.raises(InvalidToken) as caught:
        signer.verify(token, now=NOW)
    assert caught.value.reason == "malformed"


def test_token_signer_refuses_an_unknown_role_and_a_short_key() -> None:
    with pytest.raises(ValueError, match="role"):
        TokenSigner(KEY).issue(uuid.uuid4(), "root")
    with pytest.raises(ValueError, match="secret key"):
        TokenSigner(b"short")


def test_secret_key_bytes_random_per_process_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="server.auth"):
        first, second = secret_key_bytes(None), secret_key_bytes(None)
    assert first != second and len(first) >= MIN_SECRET_KEY_LENGTH
    assert "INKROOM_SECRET_KEY" in caplog.text


def test_secret_key_bytes_refuses_a_short_key() -> None:
    with pytest.raises(ValueError, match="INKROOM_SECRET_KEY"):
        secret_key_bytes("s3")
    assert secret_key_bytes("z" * 40) == b"z" * 40


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic abc", None),
        ("Bearer ", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token_from_the_authorization_header(header: str | None, token: str | None) -> None:
    assert bearer_token(header) == token
