"""Builders of organiser-side test data: events, sessions, approved registrations (committed)."""
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update

from accounts.models import User
from core.clock import SHANGHAI
from core.extensions import db
from events.enums import EventStatus, RegistrationStatus
from events.models import Event, EventSession, Registration
from events.services import planning, venue_tables
from market.models import FinancingNeed, Product
from tests.support import factories


def utc(year, month, day, hour=0, minute=0) -> datetime:
    """Naive UTC of a Shanghai wall-clock time."""
    local = datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def event_facts(**overrides) -> planning.EventFacts:
    facts = dict(title="2027年3月 · 人工智能产业链 · 杭州", chain_code="ai", host_region_code="330100",
                 starts_on=date(2027, 3, 10), ends_on=date(2027, 3, 11),
                 registration_opens_at=utc(2027, 2, 1, 9), registration_closes_at=utc(2027, 3, 1, 18),
                 matching_at=utc(2027, 3, 2, 9), publication_at=utc(2027, 3, 3, 9), publication_approved=False)
    facts.update(overrides)
    return planning.EventFacts(**facts)


def session_facts(**overrides) -> planning.SessionFacts:
    facts = dict(kind="credit_matching", mode="offline", title="信贷融资对接会", starts_at=utc(2027, 3, 10, 9),
                 ends_at=utc(2027, 3, 10, 11), slot_minutes=30, tables=10, financing_types=["loan"],
                 venue="杭州国际博览中心", room="B1 洽谈区")
    facts.update(overrides)
    return planning.SessionFacts(**facts)


def actor(user) -> User:
    return db.session.get(User, user.id)


def set_status(event_id: int, status: EventStatus) -> None:
    """Put an event straight into a status (set-up only; the services move one step at a time)."""
    db.session.execute(update(Event).where(Event.id == event_id).values(status=status.value))
    db.session.commit()


def make_event(organiser, status: EventStatus = EventStatus.DRAFT, **overrides) -> Event:
    event = planning.create_event(actor(organiser), event_facts(**overrides))
    db.session.commit()
    if status != EventStatus.DRAFT:
        set_status(event.id, status)
    db.session.refresh(event)
    return event


def make_session(organiser, event, **overrides) -> EventSession:
    session = planning.create_session(actor(organiser), db.session.get(Event, event.id), session_facts(**overrides))
    db.session.commit()
    db.session.refresh(session)
    return session


def approve_sme(session, user, needs, max_meetings=None, unavailable=()) -> Registration:
    registration = Registration(session_id=session.id, enterprise_id=user.enterprise_id,
                                status=RegistrationStatus.APPROVED.value, max_meetings=max_meetings,
                                unavailable_slots=list(unavailable), consent_text="同意")
    registration.needs = [db.session.get(FinancingNeed, need.id) for need in needs]
    db.session.add(registration)
    db.session.commit()
    return registration


def approve_institution(session, user, products, tables=1, max_meetings=None, unavailable=()) -> Registration:
    registration = Registration(session_id=session.id, institution_id=user.institution_id,
                                status=RegistrationStatus.APPROVED.value, tables=tables, max_meetings=max_meetings,
                                unavailable_slots=list(unavailable))
    registration.products = [db.session.get(Product, product.id) for product in products]
    db.session.add(registration)
    db.session.flush()
    venue_tables.sync_session_tables(db.session.get(EventSession, session.id))  # as approval does
    db.session.commit()
    return registration


def matching_scenario(smes=3, banks=2, tables=1, status=EventStatus.CLOSED, bank_max_meetings=None, **session):
    """An organiser of Hangzhou, a closed event with one credit session (4 slots), SMEs with a loan need
    each, banks with a loan product each, all approved."""
    organiser = factories.organiser("330100")
    event = make_event(organiser, status=status)
    the_session = make_session(organiser, event, **session)
    sme_users, needs = [], []
    for _ in range(smes):
        user = factories.sme()
        sme_users.append(user)
        need = factories.need(user, amount_yuan=5_000_000)
        needs.append(need)
        approve_sme(the_session, user, [need])
    bank_users = []
    for _ in range(banks):
        user = factories.institution_user()
        bank_users.append(user)
        product = factories.product(user, amount_min_yuan=1_000_000, amount_max_yuan=10_000_000)
        approve_institution(the_session, user, [product], tables=tables, max_meetings=bank_max_meetings)
    return {"organiser": organiser, "event": event, "session": the_session, "smes": sme_users, "needs": needs,
            "banks": bank_users}
