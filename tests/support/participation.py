"""Builders of participant-side test data (committed), relative to the real clock: events put straight into a status
(tests.support.events makes them through the planning services instead), sessions, registrations, meetings.

The registration window is open now; sessions start some days ahead unless `starts_at` says
otherwise. Times are naive UTC like the database.
"""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from core.clock import SHANGHAI, utcnow
from core.extensions import db
from events.enums import EventStatus, MeetingSource, MeetingStatus, RegistrationStatus
from events.models import Event, EventSession, Meeting, Registration, RegistrationStaff
from events.services import venue_tables
from market.models import Chain, FinancingNeed, Product
from tests.support import factories
from tests.support.events import actor, utc  # noqa: F401 (also the callers' import)

UTC = ZoneInfo("UTC")


def shanghai_nine_days_ahead(days: int) -> datetime:
    """09:00 Asia/Shanghai `days` days from today, as naive UTC."""
    today = datetime.now(SHANGHAI).date() + timedelta(days=days)
    return utc(today.year, today.month, today.day, 9)


def make_event(status: EventStatus = EventStatus.OPEN, opens_in_days: int = -1, closes_in_days: int = 10,
               title: str = "人工智能产业链 · 杭州 融资对接月") -> Event:
    office = factories.office("330100")
    now = utcnow()
    chain_id = db.session.scalar(select(Chain.id).where(Chain.code == "ai"))
    event = Event(organiser_office_id=office.id, title=title, chain_id=chain_id, host_region_code="330100",
                  starts_on=date.today() + timedelta(days=20), ends_on=date.today() + timedelta(days=21),
                  registration_opens_at=now + timedelta(days=opens_in_days),
                  registration_closes_at=now + timedelta(days=closes_in_days), status=status.value)
    db.session.add(event)
    db.session.commit()
    db.session.refresh(event)
    return event


def make_session(event: Event, *, kind: str = "credit_matching", mode: str = "offline", types=("loan",),
                 capacity: int | None = None, slot_minutes: int = 30, tables: int = 10,
                 starts_at: datetime | None = None, slots: int = 4, published: bool = False,
                 title: str = "信贷融资对接会", online_url: str = "") -> EventSession:
    starts_at = starts_at or shanghai_nine_days_ahead(20)
    session = EventSession(event_id=event.id, kind=kind, mode=mode, title=title, venue="杭州国际博览中心",
                           room="B1 洽谈区", online_url=online_url, starts_at=starts_at,
                           ends_at=starts_at + timedelta(minutes=slot_minutes * slots), slot_minutes=slot_minutes,
                           tables=tables, capacity=capacity, published_at=utcnow() if published else None)
    session.financing_types = list(types)
    db.session.add(session)
    db.session.commit()
    db.session.refresh(session)
    return session


def registered_sme(session: EventSession, user=None, need_type: str = "loan",
                   status: RegistrationStatus = RegistrationStatus.APPROVED, consent_text: str = "同意"):
    """An SME (new unless given) with one need, registered for `session` directly (set-up only)."""
    user = user or factories.sme()
    need = factories.need(user, type=need_type)
    registration = Registration(session_id=session.id, enterprise_id=user.enterprise_id, status=status.value,
                                consent_text=consent_text, registered_by_user_id=user.id)
    registration.needs = [db.session.get(FinancingNeed, need.id)]
    db.session.add(registration)
    db.session.commit()
    return user, need, registration


def registered_bank(session: EventSession, user=None, tables: int = 1, unavailable=(), product_type: str = "loan",
                    status: RegistrationStatus = RegistrationStatus.APPROVED, response_working_days: int = 5):
    """An approved institution with one product, registered for `session` directly (set-up only)."""
    user = user or factories.institution_user()
    product = factories.product(user, type=product_type, response_working_days=response_working_days)
    registration = Registration(session_id=session.id, institution_id=user.institution_id, status=status.value,
                                tables=tables, unavailable_slots=list(unavailable), registered_by_user_id=user.id)
    registration.products = [db.session.get(Product, product.id)]
    registration.staff = [RegistrationStaff(name="王经理", title="客户经理", table_number=1)]
    db.session.add(registration)
    db.session.flush()
    if status == RegistrationStatus.APPROVED:  # as approval does: the hall's tables for it
        venue_tables.sync_session_tables(db.session.get(EventSession, session.id))
    db.session.commit()
    return user, product, registration


def make_meeting(session: EventSession, sme_user, bank_user, need=None, slot: int = 0, table: int = 1,
                 status: MeetingStatus = MeetingStatus.SCHEDULED,
                 source: MeetingSource = MeetingSource.MATCHER) -> Meeting:
    meeting = factories.unsaved_meeting(session, slot, table, enterprise_id=sme_user.enterprise_id,
                                        institution_id=bank_user.institution_id, need_id=need.id if need else None,
                                        status=status.value, source=source.value)
    db.session.add(meeting)
    db.session.commit()
    db.session.refresh(meeting)
    return meeting


def fresh(model, obj):
    """The row again, from the database."""
    db.session.expire_all()
    return db.session.get(model, obj.id)
