"""The demo's world (`chainmatch demo`'s data) as the stage of the escaping walks: every page has something.

On top of the demo: an institution waiting for review, and an event of the demo organiser that takes
registrations now (so that institutions' registration forms, with their staff rows, are there to fill).
Its users sign in with the tests' password.
"""
from datetime import time, timedelta

from sqlalchemy import select, update

from accounts.models import User
from core.clock import utc_of_shanghai, utcnow
from events.enums import EventStatus
from events.models import Event
from events.services import planning
from tests.conftest import DEMO_PASSWORD
from tests.support import factories

USERS = {"sme": "sme@demo.local", "bank": "bank@demo.local", "organiser": "organiser@demo.local",
         "admin": "admin@demo.local"}


def load_demo_world(session) -> None:
    """Seeds, demo accounts and the demo's events, online half and policy answers, and the two additions; committed."""
    from events import demo as events_demo
    from events import demo_online
    from policies import demo as policies_demo
    from seeds.loader import load_all
    load_all(session, demo_accounts=True)
    for module in (events_demo, demo_online, policies_demo):
        module.load_demo(session)
    for user in session.scalars(select(User).where(User.email.in_(USERS.values()))):
        user.set_password(DEMO_PASSWORD)
    session.commit()
    factories.institution_user(status="pending", region_codes=["330100"])
    _event_open_for_registration(session)


def _event_open_for_registration(session) -> None:
    organiser = session.scalar(select(User).where(User.email == USERS["organiser"]))
    now = utcnow().replace(microsecond=0)
    day = (now + timedelta(days=30)).date()
    event = planning.create_event(organiser, planning.EventFacts(
        title="下月对接会（报名中）", chain_code="ai", host_region_code="330100", starts_on=day, ends_on=day,
        registration_opens_at=now - timedelta(days=1), registration_closes_at=now + timedelta(days=20),
        matching_at=None, publication_at=None, publication_approved=False))
    session.flush()
    nine = utc_of_shanghai(day, time(9))
    planning.create_session(organiser, event, planning.SessionFacts(
        kind="credit_matching", mode="offline", title="信贷融资对接会（报名中）", starts_at=nine,
        ends_at=nine + timedelta(hours=2), slot_minutes=30, tables=10, financing_types=["loan"],
        venue="杭州国际博览中心", room="A1"))
    session.execute(update(Event).where(Event.id == event.id).values(status=EventStatus.OPEN.value))
    session.commit()
