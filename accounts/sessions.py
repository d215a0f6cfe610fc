"""Sign-in sessions: a fresh session at every sign-in, an idle timeout and a maximum lifetime.

- Signing in clears the session (only the chosen language survives), so a session id or CSRF token
  planted before sign-in is worth nothing after it.
- A session that was not used for SESSION_IDLE_MINUTES, or that signed in more than
  SESSION_LIFETIME_HOURS ago, ends at the next request; the user signs in again.
- "Remember me" keeps the user signed in across browser restarts for REMEMBER_COOKIE_DURATION
  instead (the remember cookie is HttpOnly and SameSite=Lax), without the idle timeout.
- Every session also ends when the user signs out anywhere, changes or resets the password, or is
  disabled: the session id carries the user's session version (see `chainmatch.web.load_user`).
"""
import time

from flask import Flask, current_app, flash, session
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user, user_loaded_from_cookie

from accounts.services import record_session_expired
from core.database import begin_writing
from core.extensions import db

TOUCH_EVERY_SECONDS = 60  # the last-seen stamp is rewritten at most once a minute


def _reset_keeping_language() -> None:
    locale = session.get("locale")
    session.clear()
    if locale:
        session["locale"] = locale


def _stamp(remembered: bool) -> None:
    now = int(time.time())
    session["signed_in_at"] = now
    session["seen_at"] = now
    session["remembered"] = remembered


def start(user, remember: bool = False) -> None:
    """Sign `user` in on a brand-new session."""
    logout_user()
    _reset_keeping_language()
    login_user(user, remember=remember)
    _stamp(remember)


def restart(user) -> None:
    """After a password change: this browser stays signed in on a new session, every other one has ended."""
    remembered = bool(session.get("remembered"))
    start(user, remember=remembered)


def end() -> None:
    logout_user()
    _reset_keeping_language()


def _expired_because(now: int) -> str | None:
    if session.get("remembered"):
        return None
    signed_in_at, seen_at = session.get("signed_in_at"), session.get("seen_at")
    if not isinstance(signed_in_at, int) or not isinstance(seen_at, int):
        return "session without time stamps"
    if now - seen_at > current_app.config["SESSION_IDLE_MINUTES"] * 60:
        return "idle"
    if now - signed_in_at > current_app.config["SESSION_LIFETIME_HOURS"] * 3600:
        return "lifetime"
    return None


def enforce_limits() -> None:
    """before_request: end an idle or too old session, and keep the last-seen stamp current."""
    if "_user_id" not in session:
        return
    now = int(time.time())
    why = _expired_because(now)
    if why is not None:
        if current_user.is_authenticated:
            begin_writing(db.session)  # a GET too: its transaction so far only read
            record_session_expired(current_user._get_current_object(), why)
            db.session.commit()
        end()
        flash(_("登录已超时，请重新登录。"), "info")
        return
    if now - session.get("seen_at", 0) >= TOUCH_EVERY_SECONDS:
        session["seen_at"] = now


def _restored_from_cookie(_app, user=None) -> None:
    """Flask-Login signed the user in again from the remember cookie: a new session starts its clock."""
    _stamp(True)


def init_app(app: Flask) -> None:
    app.before_request(enforce_limits)
    user_loaded_from_cookie.connect(_restored_from_cookie, app)
