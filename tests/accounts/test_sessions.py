"""Sessions: cleared at sign-in (a fresh CSRF token), an idle timeout and a lifetime, remember-me cookie flags."""
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from accounts.audit import AuditEvent
from chainmatch import create_app
from core.clock import utcnow
from core.extensions import db
from tests.conftest import DEMO_PASSWORD, extract_csrf, sign_in
from tests.support import factories
from tests.support.database import database


@pytest.fixture
def sme(app):
    with database(app):
        return factories.sme()


def test_sign_in_starts_a_new_session_keeping_only_the_language(app, sme):
    client = app.test_client()
    client.post("/language/en", data={"next": "/"})
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["csrf_token"] = "planted-token"
    sign_in(client, sme.email)
    with client.session_transaction() as session:
        assert "planted" not in session and session.get("csrf_token") != "planted-token"
        assert session["locale"] == "en"


def test_the_csrf_token_changes_at_sign_in(app, sme):
    protected = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                            "WTF_CSRF_ENABLED": True, "MAIL_BACKEND": "memory"})
    try:
        client = protected.test_client()
        before = extract_csrf(client.get("/account/sign-in").get_data(as_text=True))
        response = client.post("/account/sign-in", data={"email": sme.email, "password": DEMO_PASSWORD,
                                                         "csrf_token": before})
        assert response.status_code == 302
        after = extract_csrf(client.get("/needs/new").get_data(as_text=True))
        assert after != before
        # the token from before sign-in no longer works
        refused = client.post("/needs/new", data={"csrf_token": before, "type": "loan", "amount": "10",
                                                  "purpose": "x"})
        assert refused.status_code == 400
    finally:
        with protected.app_context():
            db.engine.dispose()


def test_an_idle_session_ends(app, sme, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 30)
    client = app.test_client()
    start = utcnow()
    with time_machine.travel(start, tick=False) as clock:
        sign_in(client, sme.email)
        clock.shift(timedelta(minutes=29))
        assert client.get("/enterprise").status_code == 200
        clock.shift(timedelta(minutes=29))  # active a minute ago counts: 29 minutes idle again
        assert client.get("/enterprise").status_code == 200
        clock.shift(timedelta(minutes=31))
        response = client.get("/enterprise")
        assert response.status_code == 302 and response.headers["Location"].startswith("/account/sign-in")
        assert "登录已超时" in client.get(response.headers["Location"]).get_data(as_text=True)
    with database(app) as session:
        expired = session.scalar(select(AuditEvent).where(AuditEvent.kind == "session_expired"))
        assert expired.subject_user_id == sme.id and expired.detail == "idle"


def test_a_session_ends_after_its_lifetime_even_when_busy(app, sme, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_LIFETIME_HOURS", 2)
    client = app.test_client()
    with time_machine.travel(utcnow(), tick=False) as clock:
        sign_in(client, sme.email)
        for _ in range(3):
            clock.shift(timedelta(minutes=35))
            assert client.get("/enterprise").status_code == 200
        clock.shift(timedelta(minutes=35))
        assert client.get("/enterprise").status_code == 302


def test_remember_me_outlives_the_idle_timeout(app, sme, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 30)
    client = app.test_client()
    with time_machine.travel(utcnow(), tick=False) as clock:
        client.post("/account/sign-in", data={"email": sme.email, "password": DEMO_PASSWORD, "remember": "y"})
        clock.shift(timedelta(hours=5))
        assert client.get("/enterprise").status_code == 200


def test_the_remember_cookie_is_httponly_samesite_and_bounded(app, sme):
    client = app.test_client()
    response = client.post("/account/sign-in", data={"email": sme.email, "password": DEMO_PASSWORD, "remember": "y"})
    cookie = next(header for header in response.headers.getlist("Set-Cookie") if header.startswith("remember_token="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    remember = client.get_cookie("remember_token")
    assert remember.expires is not None
    lifetime = remember.expires.replace(tzinfo=None) - utcnow()
    assert timedelta(days=13) < lifetime <= timedelta(days=14, minutes=1)


def test_a_copied_remember_cookie_starts_a_clocked_session(app, sme, monkeypatch):
    """Restored from the remember cookie, the session counts as remembered: no idle timeout, a fresh stamp."""
    monkeypatch.setitem(app.config, "SESSION_IDLE_MINUTES", 30)
    client = app.test_client()
    client.post("/account/sign-in", data={"email": sme.email, "password": DEMO_PASSWORD, "remember": "y"})
    remember = client.get_cookie("remember_token")
    browser_restarted = app.test_client()
    browser_restarted.set_cookie("remember_token", remember.value, domain=remember.domain or "localhost")
    assert browser_restarted.get("/enterprise").status_code == 200
    with browser_restarted.session_transaction() as session:
        assert session["remembered"] is True and isinstance(session["signed_in_at"], int)
