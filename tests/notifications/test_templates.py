"""Notifications come from templates/notifications/<kind>.txt, rendered in the recipient's language."""
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from core.extensions import db
from notifications.models import Notification
from notifications.services import Bilingual, notify, render
from tests.support import factories

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "notifications"
CHINESE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

WHERE = Bilingual("A 区 01 号桌", "table A-01")
LINES = Bilingual("· 2027-03-10 09:00–09:30　Bank　A 区 01 号桌", "· 2027-03-10 09:00–09:30  Bank  table A-01")
PLACE = Bilingual("地点：Expo Hall 3", "Venue: Expo Hall 3")
TITLE, EVENT, REASON = "Session One", "March Event", "Missing statements"
# One context per kind (as the services build them); every value is free of Chinese, so the English rendering
# must be too.
CONTEXTS = {
    "account_verify_email": {"name": "Li"}, "account_sign_up_attempt": {"name": "Li"},
    "account_password_reset": {"name": "Li"}, "account_password_changed": {"name": "Li"},
    "registration_approved": {"title": TITLE, "reason": REASON},
    "registration_rejected": {"title": TITLE, "reason": REASON},
    "registration_waitlisted": {"title": TITLE, "capacity": 40, "reason": REASON, "full": False},
    "registration_promoted": {"title": TITLE, "limited": True},
    "meeting_booked": {"title": TITLE, "where": WHERE},
    "freed_slot_offer": {"title": TITLE, "institution": "Bank", "start": "03-10 09:00", "where": WHERE},
    "meeting_cancelled": {"by_organiser": True, "when": "2027-03-10 09:00–09:30", "other": Bilingual("Bank", "Bank"),
                          "event": EVENT, "title": TITLE, "reason": REASON},
    "request_received": {}, "request_expired": {},
    "request_accepted": {"when": Bilingual("2027-03-10 09:00–09:30（北京时间），Hall", "2027-03-10 09:00–09:30 "
                                           "(Beijing time), Hall"), "session": TITLE, "in_event": True},
    "request_declined": {"note": REASON},
    "matching_done": {"title": EVENT, "proposed": 12, "unmatched": 2, "publication": "2027-03-01 09:00"},
    "event_reported": {"title": EVENT}, "draft_event_created": {"title": EVENT, "opens": "2027-03-01 09:00"},
    "schedule_published": {"event": EVENT, "title": TITLE, "lines": LINES, "place": PLACE},
    "meeting_scheduled": {"event": EVENT, "title": TITLE, "lines": LINES, "place": ""},
    "meeting_moved": {"event": EVENT, "title": TITLE, "line": LINES},
    "no_meeting_chase": {"event": EVENT, "reasons": [Bilingual("名额已满", "The session was full")]},
    "policy_deadline": {"title": Bilingual("技改补助（一）", "Upgrade grant (1)"), "deadline": "2027-03-10", "days": 3,
                        "eligible": True, "unit": Bilingual("经信局", "Economy Bureau")},
    **{f"meeting_reminder_{lead}": {"lead": lead, "when": "2027-03-10 09:00", "other": Bilingual("Bank", "Bank"),
                                    "event": EVENT, "title": TITLE, "place": PLACE} for lead in ("24h", "1h")},
    **{f"session_reminder_{lead}": {"lead": lead, "when": "2027-03-10 09:00", "event": EVENT, "title": TITLE,
                                    "place": PLACE} for lead in ("24h", "1h")},
    **{f"outcome_request_{label}": {"when": "2027-03-10 09:00", "again": label == "7d", "event": EVENT,
                                    "other": Bilingual("Bank", "Bank")} for label in ("1d", "7d")},
}


def test_every_template_has_a_context_here():
    kinds = {path.stem for path in TEMPLATES.glob("*.txt") if not path.stem.startswith("_")}
    assert kinds == set(CONTEXTS)


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_each_kind_renders_in_chinese_and_in_english(app, kind):
    with app.app_context():
        zh_subject, zh_body = render(kind, "zh", CONTEXTS[kind])
        en_subject, en_body = render(kind, "en", CONTEXTS[kind])
    for text in (zh_subject, zh_body, en_subject, en_body):
        assert text and "%(" not in text and "{{" not in text and "{%" not in text
    assert "\n" not in zh_subject and "\n" not in en_subject
    assert CHINESE.search(zh_subject) and CHINESE.search(zh_body)
    assert not CHINESE.search(en_subject + en_body), (en_subject, en_body)


@pytest.mark.parametrize("kind", ["registration_approved", "registration_rejected", "registration_waitlisted"])
def test_the_organisers_reason_is_in_both_languages(app, kind):
    with app.app_context():
        for locale in ("zh", "en"):
            assert REASON in render(kind, locale, CONTEXTS[kind])[1]
        no_reason = {**CONTEXTS[kind], "reason": "", "full": True}
        assert "Note from the organiser" not in render(kind, "en", no_reason)[1]


def test_a_declined_request_carries_the_note_in_english_too(app):
    with app.app_context():
        assert REASON in render("request_declined", "en", {"note": REASON})[1]
        assert render("request_declined", "en", {"note": ""})[1] == "Your meeting request was declined."


def test_policy_days_left_are_counted_in_english(app):
    context = CONTEXTS["policy_deadline"]
    with app.app_context():
        assert "(1 day left)" in render("policy_deadline", "en", {**context, "days": 1})[1]
        assert "(3 days left)" in render("policy_deadline", "en", context)[1]
        assert "(closes today)" in render("policy_deadline", "en", {**context, "days": 0})[1]
        assert "（还剩 3 天）" in render("policy_deadline", "zh", context)[1]


def test_notify_writes_each_recipient_in_their_language_once(db_session):
    chinese, english = factories.sme("zh-reader@example.com"), factories.sme("en-reader@example.com")
    english.locale = "en"
    db.session.flush()
    context = {"title": TITLE, "reason": REASON}
    assert notify("registration_rejected", [chinese, english], object_key=("registration", 7), context=context,
                  link="/me/registrations") == 2
    assert notify("registration_rejected", [chinese, english], object_key=("registration", 7), context=context) == 0
    rows = {row.user_id: row for row in db.session.scalars(select(Notification))}
    assert rows[chinese.id].subject == f"报名未通过：{TITLE}"
    assert rows[chinese.id].body == f"您报名的“{TITLE}”未通过。\n主办方说明：{REASON}"
    assert rows[english.id].subject == f"Registration not accepted: {TITLE}"
    assert rows[english.id].body == f'Your registration for "{TITLE}" was not accepted.\nNote from the organiser: {REASON}'
    assert rows[english.id].link == "/me/registrations"
