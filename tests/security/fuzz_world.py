"""The world the fuzz test walks: the permission test's Hangzhou event (a past credit session with both
parties registered, a meeting, a request, a consent) plus what makes every other page show its forms:
an outcome, a livestream, a second event whose registration is open now, a pending institution, a
message for each party, the policy library and an answered fact.
"""
from datetime import timedelta

from sqlalchemy import select

from accounts.models import User
from core.clock import utcnow
from core.extensions import db
from events.models import Event, EventSession, Outcome
from market.models import FinancingNeed, Product
from notifications.models import Notification
from policies.models import EnterpriseFact
from policies.store import load_policy_library
from tests.events.test_permissions import build_world
from tests.support import factories
from tests.support.online import stream

ROLES = ("anonymous", "sme", "institution", "pending institution", "organiser", "organiser elsewhere", "admin")
POLICY_KEY = "compute_voucher"


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _open_event(past: Event) -> tuple[Event, EventSession]:
    """Published, registration open now, its credit session three weeks ahead."""
    now = utcnow().replace(second=0, microsecond=0)
    start = (now + timedelta(days=21)).replace(hour=1, minute=0)
    event = Event(organiser_office_id=past.organiser_office_id, title="下月 · 人工智能产业链 · 杭州", chain_id=past.chain_id,
                  host_region_code="330100", starts_on=start.date(), ends_on=start.date() + timedelta(days=1),
                  registration_opens_at=now - timedelta(days=1), registration_closes_at=now + timedelta(days=14),
                  status="published")
    session = EventSession(event=event, kind="credit_matching", mode="offline", title="信贷融资对接会（下月）",
                           starts_at=start, ends_at=start + timedelta(hours=3), slot_minutes=30, tables=4,
                           venue="杭州国际博览中心")
    db.session.add_all([event, session])
    db.session.flush()
    return event, session


def _message(user: User, meeting_id: int) -> Notification:
    row = Notification(user_id=user.id, kind="fuzz_reminder", object_type="meeting", object_id=meeting_id,
                       subject="会谈提醒", body="明天上午九点会谈。", link="/events/agenda")
    db.session.add(row)
    return row


def build_fuzz_world() -> tuple[dict[str, list], dict[str, str]]:
    """({URL argument name: candidate values}, {role: email}). Call inside an app context."""
    ids, emails = build_world()
    pending = factories.institution_user(status="pending")
    emails["pending institution"] = pending.email
    sme, institution = _user(emails["sme"]), _user(emails["institution"])
    past = db.session.get(Event, ids["event"])
    live = stream(past, institution)
    event, session = _open_event(past)
    db.session.add(Outcome(meeting_id=ids["meeting"], side="enterprise", held=True, intent_amount_yuan=2_000_000,
                           note="双方有意向", recorded_by_user_id=sme.id))
    messages = [_message(sme, ids["meeting"]), _message(institution, ids["meeting"])]
    load_policy_library(db.session)
    db.session.add(EnterpriseFact(enterprise_id=sme.enterprise_id, name="compute_contract_fee", value="3000000",
                                  updated_by_user_id=sme.id))
    db.session.commit()
    need = db.session.scalar(select(FinancingNeed.id).where(FinancingNeed.enterprise_id == sme.enterprise_id))
    product = db.session.scalar(select(Product.id).where(Product.institution_id == institution.institution_id))
    arguments = {
        "event_id": [ids["event"], event.id], "session_id": [ids["session"], session.id, live.id],
        "registration_id": [ids["registration"]], "meeting_id": [ids["meeting"]], "request_id": [ids["request"]],
        "consent_id": [ids["consent"]], "enterprise_id": [ids["enterprise"]],
        "institution_id": [ids["institution"], pending.institution_id], "entry_id": [ids["entry"]],
        "need_id": [need], "product_id": [product], "notification_id": [m.id for m in messages],
        "key": [POLICY_KEY], "code": ["zh"],
    }
    return arguments, emails
