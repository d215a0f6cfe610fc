"""The mails of the accounts: verify an address, reset a password, a sign-up with a taken address, a changed password.

Each is queued in the outbox (one row per audit event, so every request gets its own mail), written from
`templates/notifications/account_*.txt` in the user's language.
"""
from notifications.services import notify, path_for


def _queue(user, kind: str, audit_event, link: str) -> None:
    notify(kind, [user], object_key=("audit_event", audit_event.id), context={"name": user.display_name}, link=link)


def send_verification(user, audit_event, token: str, next_path: str = "") -> None:
    link = path_for("auth.verify_email", token=token, **({"next": next_path} if next_path else {}))
    _queue(user, "account_verify_email", audit_event, link)


def send_sign_up_attempt(user, audit_event) -> None:
    """Someone signed up with an address that already has an account: its owner hears of it, the form does not."""
    _queue(user, "account_sign_up_attempt", audit_event, path_for("auth.forgot_password"))


def send_password_reset(user, audit_event, token: str) -> None:
    _queue(user, "account_password_reset", audit_event, path_for("auth.reset_password", token=token))


def send_password_changed(user, audit_event) -> None:
    _queue(user, "account_password_changed", audit_event, path_for("auth.forgot_password"))
