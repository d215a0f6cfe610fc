"""Passwords: strength at sign-up, change (ends the other sessions), reset by a mailed single-use link."""
import re
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from accounts.audit import AuditEvent
from accounts.models import User
from core.clock import utcnow
from notifications import delivery
from notifications.jobs import deliver_due
from notifications.models import Notification
from tests.conftest import DEMO_PASSWORD, mailed_link, sign_in
from tests.market.test_pages import sme_sign_up_data
from tests.support import factories
from tests.support.database import database
from tests.support.pages import assert_field_error

NEW_PASSWORD = "violet-harbour-lantern-42"


def text(response) -> str:
    return response.get_data(as_text=True)


def audit_kinds(app, user_id: int) -> list[str]:
    with database(app) as session:
        return list(session.scalars(select(AuditEvent.kind).where(AuditEvent.subject_user_id == user_id)
                                    .order_by(AuditEvent.id)))


# ---- strength ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("password, message", [
    ("password12", "太常见"),
    ("1234567890", "太常见"),
    ("qwertyuiop", "太常见"),
    ("aaaaaaaaaaaa", "太常见"),
    ("short", "密码至少 10 位。"),
    ("wangwu2026!", "太常见"),        # the display name 王五 is typed as "wangwu" by nobody, but the address is:
])
def test_sign_up_refuses_weak_passwords(app, client, password, message):
    data = sme_sign_up_data(email="wangwu2026@example.com", password=password, confirm=password)
    response = client.post("/account/sign-up/enterprise", data=data)
    assert_field_error(response, "password", message)


def test_sign_up_accepts_a_long_unusual_password(app, client):
    response = client.post("/account/sign-up/enterprise",
                           data=sme_sign_up_data(password=NEW_PASSWORD, confirm=NEW_PASSWORD))
    assert response.status_code == 200 and "请查收邮件" in text(response)


def test_the_password_field_tells_the_rule_in_english_too(app, client):
    client.post("/language/en", data={"next": "/"})
    response = client.post("/account/sign-up/enterprise",
                           data=sme_sign_up_data(password="password12", confirm="password12"))
    html = text(response)
    assert "too common or too easy to guess" in html


# ---- change ------------------------------------------------------------------------------------------

@pytest.fixture
def sme(app):
    with database(app):
        return factories.sme()


def test_change_password_ends_the_other_sessions_and_keeps_this_one(app, sme):
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here, sme.email)
    sign_in(elsewhere, sme.email)
    response = here.post("/account/password", data={"current_password": DEMO_PASSWORD, "password": NEW_PASSWORD,
                                                    "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/account/"
    assert here.get("/enterprise").status_code == 200
    assert elsewhere.get("/enterprise").status_code == 302
    assert app.test_client().post("/account/sign-in", data={"email": sme.email, "password": DEMO_PASSWORD}) \
        .status_code == 200
    sign_in(app.test_client(), sme.email, NEW_PASSWORD)
    assert "password_changed" in audit_kinds(app, sme.id)
    assert mailed_link(app, sme.email, "account_password_changed") == "/account/password/forgot"


@pytest.mark.parametrize("data, field, message", [
    ({"current_password": "not-my-password", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
     "current_password", "当前密码不正确。"),
    ({"current_password": DEMO_PASSWORD, "password": DEMO_PASSWORD, "confirm": DEMO_PASSWORD},
     "password", "新密码不能与当前密码相同。"),
    ({"current_password": DEMO_PASSWORD, "password": "1234567890", "confirm": "1234567890"}, "password", "太常见"),
    ({"current_password": DEMO_PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"},
     "confirm", "两次输入的密码不一致。"),
])
def test_change_password_refuses_bad_input_beside_the_field(app, sme, data, field, message):
    client = app.test_client()
    sign_in(client, sme.email)
    response = client.post("/account/password", data=data)
    assert_field_error(response, field, message)
    with database(app) as session:
        assert session.get(User, sme.id).check_password(DEMO_PASSWORD)


# ---- reset ---------------------------------------------------------------------------------------------

def delivered_reset_link(app, email: str) -> str:
    """Run the outbox as the scheduler does and read the reset link out of the e-mail that went out."""
    delivery.SENT_IN_MEMORY.clear()
    with app.app_context():
        report = deliver_due(utcnow() + timedelta(seconds=1))
    assert report.sent >= 1
    mails = [mail for mail in delivery.SENT_IN_MEMORY if email in mail["To"]]
    assert len(mails) == 1, [mail["Subject"] for mail in delivery.SENT_IN_MEMORY]
    match = re.search(r"(/account/password/reset/[\w.-]+)", mails[0].get_content())
    assert match, mails[0].get_content()
    return match.group(1)


def test_reset_by_mail_end_to_end_through_the_outbox(app, sme):
    elsewhere = app.test_client()
    sign_in(elsewhere, sme.email)
    client = app.test_client()
    assert 'href="/account/password/forgot"' in text(client.get("/account/sign-in"))
    response = client.post("/account/password/forgot", data={"email": sme.email.upper()})
    assert response.status_code == 302 and response.headers["Location"] == "/account/sign-in"
    link = delivered_reset_link(app, sme.email)

    assert client.get(link).status_code == 200
    response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/account/sign-in"
    assert "密码已重置" in text(client.get("/account/sign-in"))
    sign_in(app.test_client(), sme.email, NEW_PASSWORD)
    assert app.test_client().post("/account/sign-in", data={"email": sme.email, "password": DEMO_PASSWORD}) \
        .status_code == 200
    assert elsewhere.get("/enterprise").status_code == 302  # every session ended

    # the link works once
    again = client.post(link, data={"password": "another-" + NEW_PASSWORD, "confirm": "another-" + NEW_PASSWORD})
    assert again.status_code == 400 and "链接无效或已过期" in text(again)
    assert client.get(link).status_code == 400
    kinds = audit_kinds(app, sme.id)
    assert kinds.index("password_reset_requested") < kinds.index("password_reset") < len(kinds) - 2
    assert kinds[-2:] == ["sign_in", "sign_in_failed"]


def test_reset_answers_the_same_for_an_unknown_address(app, sme):
    known = app.test_client().post("/account/password/forgot", data={"email": sme.email}, follow_redirects=True)
    unknown = app.test_client().post("/account/password/forgot", data={"email": "nobody@example.com"},
                                     follow_redirects=True)
    assert known.status_code == unknown.status_code == 200
    notice = "如果该邮箱已注册，重置密码的链接已发送到该邮箱"
    assert notice in text(known) and notice in text(unknown)
    with database(app) as session:
        mails = session.scalars(select(Notification.kind).where(Notification.kind == "account_password_reset")).all()
        assert len(mails) == 1
        tried = session.scalar(select(AuditEvent).where(AuditEvent.email == "nobody@example.com"))
        assert tried.kind == "password_reset_requested" and tried.detail.startswith("no mail sent")


def test_reset_link_expires_after_an_hour(app, sme):
    app.test_client().post("/account/password/forgot", data={"email": sme.email})
    link = mailed_link(app, sme.email, "account_password_reset")
    client = app.test_client()
    with time_machine.travel(utcnow() + timedelta(minutes=61), tick=False):
        assert client.get(link).status_code == 400
        response = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    with database(app) as session:
        assert session.get(User, sme.id).check_password(DEMO_PASSWORD)


@pytest.mark.parametrize("tamper", [lambda token: token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
                                    lambda token: "x" + token, lambda token: "not-a-token"])
def test_a_tampered_reset_link_is_refused(app, sme, tamper):
    app.test_client().post("/account/password/forgot", data={"email": sme.email})
    link = mailed_link(app, sme.email, "account_password_reset")
    prefix, token = link.rsplit("/", 1)
    response = app.test_client().post(f"{prefix}/{tamper(token)}", data={"password": NEW_PASSWORD,
                                                                         "confirm": NEW_PASSWORD})
    assert response.status_code == 400
    with database(app) as session:
        assert session.get(User, sme.id).check_password(DEMO_PASSWORD)


def test_an_older_reset_link_dies_when_the_password_changes(app, sme):
    client = app.test_client()
    client.post("/account/password/forgot", data={"email": sme.email})
    first = mailed_link(app, sme.email, "account_password_reset")
    sign_in(client, sme.email)
    client.post("/account/password", data={"current_password": DEMO_PASSWORD, "password": NEW_PASSWORD,
                                           "confirm": NEW_PASSWORD})
    assert app.test_client().get(first).status_code == 400


def test_reset_refuses_a_weak_password_and_keeps_the_link(app, sme):
    app.test_client().post("/account/password/forgot", data={"email": sme.email})
    link = mailed_link(app, sme.email, "account_password_reset")
    client = app.test_client()
    response = client.post(link, data={"password": "1234567890", "confirm": "1234567890"})
    assert_field_error(response, "password", "太常见")
    assert client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302


def test_a_disabled_account_gets_no_reset_mail(app, sme):
    with database(app) as session:
        session.get(User, sme.id).is_enabled = False
        session.commit()
    app.test_client().post("/account/password/forgot", data={"email": sme.email})
    with database(app) as session:
        assert session.scalar(select(Notification.id).where(Notification.kind == "account_password_reset")) is None


def test_reset_proves_the_address_of_an_unverified_account(app):
    client = app.test_client()
    client.post("/account/sign-up/enterprise", data=sme_sign_up_data(email="late@example.com"))
    client.post("/account/password/forgot", data={"email": "late@example.com"})
    link = mailed_link(app, "late@example.com", "account_password_reset")
    client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    sign_in(app.test_client(), "late@example.com", NEW_PASSWORD)


# ---- verification --------------------------------------------------------------------------------------

def test_an_unverified_account_cannot_sign_in_and_the_link_is_needed(app):
    client = app.test_client()
    client.post("/account/sign-up/enterprise", data=sme_sign_up_data(email="new@example.com"))
    refused = client.post("/account/sign-in", data={"email": "new@example.com", "password": DEMO_PASSWORD})
    assert refused.status_code == 200 and "新注册的账号须先打开验证邮件中的链接" in text(refused)

    link = mailed_link(app, "new@example.com")
    assert client.get(link).status_code == 200  # a mail scanner's GET verifies nothing
    with database(app) as session:
        assert session.scalar(select(User).where(User.email == "new@example.com")).email_verified_at is None
    response = client.post(link.split("?")[0], data={})
    assert response.status_code == 302 and response.headers["Location"] == "/enterprise"
    assert client.get("/enterprise").status_code == 200

    # a second use signs nobody in
    other = app.test_client()
    response = other.post(link.split("?")[0], data={})
    assert response.status_code == 302 and response.headers["Location"] == "/account/sign-in"
    assert other.get("/enterprise").status_code == 302


def test_signing_up_again_before_verifying_sends_a_new_link(app):
    first, second = app.test_client(), app.test_client()
    first.post("/account/sign-up/enterprise", data=sme_sign_up_data(email="again@example.com"))
    second.post("/account/sign-up/enterprise", data=sme_sign_up_data(email="again@example.com"))
    with database(app) as session:
        kinds = session.scalars(select(Notification.kind).join(User).where(User.email == "again@example.com")).all()
    assert sorted(kinds) == ["account_verify_email", "account_verify_email"]
