"""Account verbs: sign-up and address verification, sign-in, sign-out everywhere, password change and reset.

They flush and never commit, record what a security review asks for in the audit log, and queue the
mails in the outbox. None of them tells a caller whether an address is registered: sign-up with a
taken address mails its owner instead, a reset request answers the same for every address, and an
account whose address is not verified signs in no more than an unknown one.
"""
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from accounts import audit, mails, passwords
from accounts.audit import AuditKind
from accounts.models import (
    User,
    check_password_hash,
    hash_password,
    is_demo_address,
    needs_rehash,
    spend_password_check,
)
from core.clock import utcnow
from core.database import release_read_transaction
from core.errors import FieldError, Forbidden
from core.extensions import db
from core.roles import Role
from market import services as market

INVALID_LINK = _l("链接无效或已过期，请重新申请。")


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == (email or "").strip().lower()))


def _demo_allowed() -> bool:
    return bool(current_app.config.get("DEMO_MODE"))


# Argon2 takes tens of milliseconds and much memory on purpose. Hashing and verifying run with no transaction
# open where the caller has written nothing yet: on SQLite a writer's transaction holds the one write lock,
# and every other writer would wait for the hash (see core.database).

def _hash_unlocked(password: str) -> str:
    release_read_transaction(db.session)
    return hash_password(password)


def _verify_unlocked(password_hash: str, password: str) -> bool:
    release_read_transaction(db.session)
    return check_password_hash(password_hash, password)


def _spend_check_unlocked(password: str) -> None:
    release_read_transaction(db.session)
    spend_password_check(password)


# ---- sign-up and verification ---------------------------------------------------------------------

def _sign_up(email: str, display_name: str, password: str, role: Role, locale: str, create_owner,
             owner_field: str, next_path: str) -> User | None:
    """The shared sign-up: the owner (enterprise or institution) is checked in a savepoint either way,
    so a taken address shows the same field errors as a free one, then only a free address keeps it.

    The password is hashed first, before the sign-up's write transaction takes the lock, and whether the
    address is free or taken (so both cost the same time)."""
    email = email.strip().lower()
    if is_demo_address(email):
        raise FieldError("email", _l("该邮箱不能用于注册。"))
    password_hash = _hash_unlocked(password)
    owner_of_address = find_user(email)
    savepoint = db.session.begin_nested()
    try:
        owner = create_owner()
    except FieldError:
        savepoint.rollback()
        raise
    if owner_of_address is not None:
        savepoint.rollback()
        _tell_owner(owner_of_address, next_path)
        return None
    user = User(email=email, display_name=display_name.strip(), role=role, locale=locale,
                password_hash=password_hash, **{owner_field: owner.id})
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # the same address signed up a moment ago, in another request
        savepoint.rollback()
        owner_of_address = find_user(email)
        if owner_of_address is not None:
            _tell_owner(owner_of_address, next_path)
        return None
    savepoint.commit()
    event = audit.record(AuditKind.SIGN_UP, user, subject=user)
    mails.send_verification(user, event, passwords.verification_token(user), next_path)
    return user


def _tell_owner(user: User, next_path: str) -> None:
    event = audit.record(AuditKind.SIGN_UP_ADDRESS_TAKEN, None, subject=user)
    if user.is_verified:
        mails.send_sign_up_attempt(user, event)
    else:  # an owner who lost the first mail gets a new link
        mails.send_verification(user, event, passwords.verification_token(user), next_path)


def sign_up_sme(email: str, display_name: str, password: str, facts: market.EnterpriseFacts,
                locale: str = "zh", next_path: str = "") -> User | None:
    """A new SME account (unverified) and its enterprise, and the mail that verifies the address.

    When the address already has an account nothing is created and its owner is mailed instead;
    returns None then, and the page says the same either way ("check your mail").
    """
    return _sign_up(email, display_name, password, Role.SME, locale, lambda: market.create_enterprise(facts),
                    "enterprise_id", next_path)


def sign_up_institution(email: str, display_name: str, password: str, facts: market.InstitutionFacts,
                        locale: str = "zh", next_path: str = "") -> User | None:
    """A new institution account (unverified); the institution also waits for an organiser's approval."""
    return _sign_up(email, display_name, password, Role.INSTITUTION, locale,
                    lambda: market.create_institution(facts), "institution_id", next_path)


def verify_email(token: str) -> tuple[User, bool]:
    """The account a verification link is for, and whether this click verified it (False if it already was)."""
    found = passwords.verification_token_user(token)
    user = db.session.get(User, found[0]) if found else None
    if user is None or user.email != found[1] or not user.is_enabled:
        raise FieldError("token", INVALID_LINK)
    verified_now = db.session.execute(update(User).where(User.id == user.id, User.email_verified_at.is_(None))
                                      .values(email_verified_at=utcnow())).rowcount == 1
    db.session.refresh(user)
    if verified_now:
        audit.record(AuditKind.EMAIL_VERIFIED, user, subject=user)
    return user, verified_now


# ---- sign-in and sign-out ---------------------------------------------------------------------------

def authenticate(email: str, password: str) -> User | None:
    """The user whose address and password these are, if it may sign in; every failure is one answer.

    Refused alike: an unknown address, a wrong password, a disabled account, an unverified address, and
    a demo account (…@demo.local) outside `chainmatch demo`. The audit log keeps which it was.
    """
    user = find_user(email)
    if user is None:
        _spend_check_unlocked(password)
        audit.record(AuditKind.SIGN_IN_FAILED, None, email=(email or "").strip().lower(), detail="unknown address")
        return None
    stored_hash = user.password_hash
    password_ok = _verify_unlocked(stored_hash, password)
    # A hash made with older parameters is replaced, computed before the write and only if it is still the one
    # just checked (a password changed meanwhile is not overwritten).
    new_hash = hash_password(password) if password_ok and needs_rehash(stored_hash) else None
    if not password_ok:
        reason = "wrong password"
    elif not user.is_enabled:
        reason = "account disabled"
    elif not user.is_verified:
        reason = "address not verified"
    elif is_demo_address(user.email) and not _demo_allowed():
        reason = "demo account outside the demo"
    else:
        reason = ""
    if reason:
        audit.record(AuditKind.SIGN_IN_FAILED, None, subject=user, detail=reason)
        return None
    if new_hash is not None:
        db.session.execute(update(User).where(User.id == user.id, User.password_hash == stored_hash)
                           .values(password_hash=new_hash))
    user.last_login_at = utcnow()
    audit.record(AuditKind.SIGN_IN, user, subject=user)
    return user


def authenticate_verified(user: User) -> None:
    """Opening the verification link signs the new user in: recorded like any sign-in."""
    user.last_login_at = utcnow()
    audit.record(AuditKind.SIGN_IN, user, subject=user, detail="address verified")


def may_hold_session(user: User) -> bool:
    """Whether a signed-in session of `user` stays valid (checked on every request)."""
    return user.is_enabled and user.is_verified and (_demo_allowed() or not is_demo_address(user.email))


def record_sign_out(user: User) -> None:
    audit.record(AuditKind.SIGN_OUT, user, subject=user)


def record_session_expired(user: User, why: str) -> None:
    audit.record(AuditKind.SESSION_EXPIRED, None, subject=user, detail=why)


def record_throttled_sign_in(email: str) -> None:
    """One row a minute per address: an attacker hammering a throttled form does not fill the log."""
    email = (email or "").strip().lower()[:254]
    recent = db.session.scalar(select(audit.AuditEvent.id).where(
        audit.AuditEvent.kind == AuditKind.SIGN_IN_THROTTLED, audit.AuditEvent.email == email,
        audit.AuditEvent.occurred_at >= utcnow() - timedelta(minutes=1)).limit(1))
    if recent is None:
        audit.record(AuditKind.SIGN_IN_THROTTLED, None, email=email, subject=find_user(email))


def end_all_sessions(actor: User, user: User) -> None:
    """Sign `user` out on every device: old session and remember-me cookies stop working.

    Flask's session is a signed cookie that stays valid after logout if someone kept a copy;
    the version in the session id is what makes signing out real.
    """
    if actor.id != user.id and not actor.is_admin:
        raise Forbidden()
    user.session_version = User.session_version + 1
    db.session.flush()
    db.session.refresh(user)


def set_enabled(actor: User, user: User, enabled: bool) -> None:
    if not actor.is_admin:
        raise Forbidden()
    user.is_enabled = enabled
    user.session_version = User.session_version + 1
    db.session.flush()
    db.session.refresh(user)
    audit.record(AuditKind.STATUS_CHANGED, actor, subject=user, detail="enabled" if enabled else "disabled")


# ---- passwords ----------------------------------------------------------------------------------------

def change_password(actor: User, current_password: str, new_password: str) -> None:
    """The signed-in user's new password; every other session of the user ends (the caller signs this one in again)."""
    stored_hash = actor.password_hash
    if not _verify_unlocked(stored_hash, current_password):
        raise FieldError("current_password", _l("当前密码不正确。"))
    if check_password_hash(stored_hash, new_password):
        raise FieldError("password", _l("新密码不能与当前密码相同。"))
    new_hash = hash_password(new_password)
    changed = db.session.execute(update(User).where(User.id == actor.id, User.password_hash == stored_hash)
                                 .values(password_hash=new_hash, session_version=User.session_version + 1)).rowcount
    if changed != 1:  # changed or reset in another request since it was checked
        raise FieldError("current_password", _l("当前密码不正确。"))
    db.session.refresh(actor)
    event = audit.record(AuditKind.PASSWORD_CHANGED, actor, subject=actor)
    mails.send_password_changed(actor, event)


def request_password_reset(email: str) -> None:
    """Mail a reset link if the address has an enabled account; nothing tells the caller which."""
    email = (email or "").strip().lower()
    user = find_user(email)
    if user is None or not user.is_enabled or (is_demo_address(email) and not _demo_allowed()):
        audit.record(AuditKind.PASSWORD_RESET_REQUESTED, None, subject=user, email=email,
                     detail="no mail sent: " + ("unknown address" if user is None else "account not usable"))
        return
    event = audit.record(AuditKind.PASSWORD_RESET_REQUESTED, None, subject=user)
    mails.send_password_reset(user, event, passwords.reset_token(user))


def user_of_reset_token(token: str) -> User | None:
    """The enabled user a valid, unexpired, unused reset link is for."""
    user_id = passwords.reset_token_user_id(
        token, lambda uid: db.session.scalar(select(User.password_hash).where(User.id == uid)))
    user = db.session.get(User, user_id) if user_id is not None else None
    return user if user is not None and user.is_enabled else None


def reset_password(token: str, new_password: str) -> User:
    """Set the password a valid reset link is for; the link then stops working, and every session ends.

    The update is conditional on the hash the link was made for, so two submissions of one link
    change the password once. Opening the mailed link also proves the address.
    """
    user = user_of_reset_token(token)
    if user is None:
        raise FieldError("token", INVALID_LINK)
    old_hash, user_id = user.password_hash, user.id
    new_hash = _hash_unlocked(new_password)
    changed = db.session.execute(
        update(User).where(User.id == user_id, User.password_hash == old_hash)
        .values(password_hash=new_hash, session_version=User.session_version + 1,
                email_verified_at=func.coalesce(User.email_verified_at, utcnow()))).rowcount
    if changed != 1:
        raise FieldError("token", INVALID_LINK)
    db.session.refresh(user)
    audit.record(AuditKind.PASSWORD_RESET, None, subject=user)
    return user
