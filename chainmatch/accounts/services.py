"""Account verbs: sign-up, sign-in, sign-out everywhere. They flush and never commit."""
from flask import abort
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from chainmatch.accounts.models import Role, User, spend_password_check
from chainmatch.extensions import db
from market import services as market
from market.models import utcnow


def email_taken(email: str) -> bool:
    return db.session.scalar(select(User.id).where(func.lower(User.email) == email.strip().lower())) is not None


def _new_user(email: str, display_name: str, password: str, role: Role, locale: str, **owner) -> User:
    email = email.strip().lower()
    if email_taken(email):
        raise market.FieldError("email", _l("该邮箱已注册，请直接登录。"))
    user = User(email=email, display_name=display_name.strip(), role=role.value, locale=locale, **owner)
    user.set_password(password)
    db.session.add(user)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise market.FieldError("email", _l("该邮箱已注册，请直接登录。")) from None
    return user


def sign_up_sme(email: str, display_name: str, password: str, facts: market.EnterpriseFacts,
                locale: str = "zh") -> User:
    """A new SME account and its enterprise, in the caller's one transaction."""
    if email_taken(email):
        raise market.FieldError("email", _l("该邮箱已注册，请直接登录。"))
    enterprise = market.create_enterprise(facts)
    return _new_user(email, display_name, password, Role.SME, locale, enterprise_id=enterprise.id)


def sign_up_institution(email: str, display_name: str, password: str, facts: market.InstitutionFacts,
                        locale: str = "zh") -> User:
    """A new institution account; the institution waits for an organiser's approval."""
    if email_taken(email):
        raise market.FieldError("email", _l("该邮箱已注册，请直接登录。"))
    institution = market.create_institution(facts)
    return _new_user(email, display_name, password, Role.INSTITUTION, locale, institution_id=institution.id)


def authenticate(email: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(func.lower(User.email) == (email or "").strip().lower()))
    if user is None:
        spend_password_check(password)
        return None
    if not user.check_password(password) or not user.is_enabled:
        return None
    user.last_login_at = utcnow()
    db.session.flush()
    return user


def end_all_sessions(actor: User, user: User) -> None:
    """Sign `user` out on every device: old session and remember-me cookies stop working.

    Flask's session is a signed cookie that stays valid after logout if someone kept a copy;
    the version in the session id is what makes signing out real.
    """
    if actor.id != user.id and not actor.is_admin:
        abort(403)
    user.session_version = User.session_version + 1
    db.session.flush()
    db.session.refresh(user)


def set_enabled(actor: User, user: User, enabled: bool) -> None:
    if not actor.is_admin:
        abort(403)
    user.is_enabled = enabled
    user.session_version = User.session_version + 1
    db.session.flush()
