"""What a password must be, and the signed links that reset a password or verify an address.

Strength: at least PASSWORD_MIN characters and not guessable — zxcvbn's estimate (a dictionary of
common passwords, names, keyboard patterns, dates and repeats, plus the user's own address and names)
must reach score 3, about 10^8 guesses. `password12` and `1234567890` are refused.

Links carry a token signed with the app's SECRET_KEY (itsdangerous) and a time stamp:
- a reset link holds the user id and a fingerprint of the current password hash, so it stops
  working as soon as the password changes — it can be used once;
- a verification link holds the user id and the address it was sent to.
"""
import hashlib

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from zxcvbn import zxcvbn

PASSWORD_MIN = 10
PASSWORD_MAX = 200
STRONG_ENOUGH = 3          # zxcvbn score: 3 = "safely unguessable" (about 10^8 guesses)
CHECKED_LENGTH = 64        # zxcvbn's cost grows with length; a longer password is strong in any case

RESET_SALT = "chainmatch.password-reset"
VERIFY_SALT = "chainmatch.email-verification"


def is_guessable(password: str, *user_inputs: str) -> bool:
    """Whether zxcvbn estimates `password` (judged with the user's own words) below STRONG_ENOUGH."""
    words = []
    for value in user_inputs:
        value = (value or "").strip()
        if value:
            words.append(value)
            words.extend(part for part in value.replace("@", " ").replace(".", " ").split() if part)
    return zxcvbn(password[:CHECKED_LENGTH], user_inputs=words)["score"] < STRONG_ENOUGH


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:20]


def reset_token(user) -> str:
    return _serializer(RESET_SALT).dumps({"user": user.id, "hash": _fingerprint(user.password_hash)})


def reset_token_user_id(token: str, password_hash_of) -> int | None:
    """The user id a valid, unexpired, unused reset token is for; None otherwise.

    `password_hash_of(user_id)` returns the user's current hash (or None), so a token issued before
    the last password change is refused.
    """
    try:
        payload = _serializer(RESET_SALT).loads(token, max_age=current_app.config["PASSWORD_RESET_MAX_AGE"])
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("user"), int):
        return None
    current = password_hash_of(payload["user"])
    if current is None or _fingerprint(current) != payload.get("hash"):
        return None
    return payload["user"]


def verification_token(user) -> str:
    return _serializer(VERIFY_SALT).dumps({"user": user.id, "email": user.email})


def verification_token_user(token: str) -> tuple[int, str] | None:
    """(user id, address) of a valid, unexpired verification token; None otherwise."""
    try:
        payload = _serializer(VERIFY_SALT).loads(token, max_age=current_app.config["EMAIL_VERIFICATION_MAX_AGE"])
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("user"), int) \
            or not isinstance(payload.get("email"), str):
        return None
    return payload["user"], payload["email"]
