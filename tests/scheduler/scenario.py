"""A month of the tour to drive with the scheduler: the people, the plan, and the organiser's and
participants' own actions (everything the clock does is left to the jobs).

Times are written as Asia/Shanghai wall clock (`local(...)`) and stored as naive UTC.
"""
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from accounts.models import User
from core.clock import SHANGHAI, utcnow
from core.extensions import db
from events.models import Event, EventSession, EventStatusChange, Meeting, Registration
from events.services import planning, registration
from notifications.models import Notification
from tests.support import factories
from tests.support.database import database

CONSENT = "同意向对接金融机构提供企业名称、联系人及融资需求信息。"


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    """Asia/Shanghai wall-clock time as the naive UTC the database stores."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC).replace(tzinfo=None)


def aware(naive_utc: datetime) -> datetime:
    return naive_utc.replace(tzinfo=UTC)


@dataclass
class People:
    organiser: int
    smes: dict[str, int] = field(default_factory=dict)          # name → user id
    needs: dict[str, int] = field(default_factory=dict)         # name → need id
    institutions: dict[str, int] = field(default_factory=dict)  # name → user id
    products: dict[str, int] = field(default_factory=dict)      # name → product id


def make_people(app, smes=("A", "B", "C", "D", "E"), institutions=("I1", "I2")) -> People:
    """An organiser in Hangzhou; SMEs with a 500 万元 loan need (D's need, 5 亿元, no product can take);
    approved institutions with a 100–1000 万元 loan product each."""
    with database(app):
        people = People(organiser=factories.organiser("330100", email="organiser@example.com").id)
        for name in smes:
            user = factories.sme(f"sme-{name.lower()}@example.com", name=f"{name}科技有限公司")
            people.smes[name] = user.id
            amount = 500_000_000 if name == "D" else 5_000_000
            people.needs[name] = factories.need(user, amount_yuan=amount).id
        for name in institutions:
            user = factories.institution_user(f"{name.lower()}@example.com", name=f"{name}银行杭州分行")
            people.institutions[name] = user.id
            people.products[name] = factories.product(user, name=f"{name}科创贷").id
    return people


def user(user_id: int) -> User:
    return db.session.get(User, user_id)


def add_plan_entry(app, people: People, year: int, month: int) -> int:
    with database(app) as session:
        entry = planning.create_plan_entry(user(people.organiser),
                                           planning.PlanEntryFacts(year, month, "ai", "330100"))
        session.commit()
        return entry.id


def event_of_plan(app, entry_id: int) -> int | None:
    with database(app) as session:
        return session.scalar(select(Event.id).where(Event.plan_entry_id == entry_id))


def add_sessions(app, people: People, event_id: int, day: int) -> dict[str, int]:
    """A credit-matching morning (4 slots of 30 min, offline) on `day` and a livestream the next afternoon."""
    with database(app) as session:
        organiser, event = user(people.organiser), session.get(Event, event_id)
        year, month = event.starts_on.year, event.starts_on.month
        matching = planning.create_session(organiser, event, planning.SessionFacts(
            kind="credit_matching", mode="offline", title="信贷融资对接会", starts_at=local(year, month, day, 9),
            ends_at=local(year, month, day, 11), slot_minutes=30, tables=4, financing_types=["loan"],
            venue="杭州国际博览中心", room="2 号厅"))
        stream = planning.create_session(organiser, event, planning.SessionFacts(
            kind="livestream", mode="online", title="科创金融公益直播", starts_at=local(year, month, day + 1, 14),
            ends_at=local(year, month, day + 1, 15), online_url="https://live.example.cn/room/42",
            stream_url="https://live.example.cn/watch/42"))
        session.commit()
        return {"matching": matching.id, "stream": stream.id}


def mark_ready(app, people: People, event_id: int) -> None:
    """The organiser says the draft is set up: from now on the clock opens its registration."""
    with database(app) as session:
        assert planning.mark_ready(user(people.organiser), session.get(Event, event_id))
        session.commit()


def approve_publication(app, people: People, event_id: int) -> None:
    with database(app) as session:
        event = session.get(Event, event_id)
        facts = planning.EventFacts(
            title=event.title, chain_code=event.chain.code, host_region_code=event.host_region_code,
            starts_on=event.starts_on, ends_on=event.ends_on, registration_opens_at=event.registration_opens_at,
            registration_closes_at=event.registration_closes_at, matching_at=event.matching_at,
            publication_at=event.publication_at, publication_approved=True, description=event.description)
        planning.update_event(user(people.organiser), event, facts)
        session.commit()


def register_everyone(app, people: People, sessions: dict[str, int], matching_smes=("A", "B", "C", "D"),
                      stream_smes=("E",)) -> None:
    """SMEs and institutions sign up; the organiser approves every registration."""
    with database(app) as session:
        matching = session.get(EventSession, sessions["matching"])
        stream = session.get(EventSession, sessions["stream"])
        signed = []
        for name in matching_smes:
            signed.append(registration.register_enterprise(user(people.smes[name]), matching,
                                                           [people.needs[name]], CONSENT, consented=True))
        for name in stream_smes:
            signed.append(registration.register_enterprise(user(people.smes[name]), stream, [], CONSENT,
                                                           consented=True))
        for name, user_id in people.institutions.items():
            signed.append(registration.register_institution(
                user(user_id), matching, [people.products[name]], tables=2,
                staff=[registration.StaffMember("王经理", "客户经理", "0571-88880000", 1),
                       registration.StaffMember("李经理", "客户经理", "0571-88880001", 2)], unavailable_slots=[]))
        for row in signed:
            registration.approve_registration(user(people.organiser), row)
        session.commit()


def record_outcome_as(app, user_id: int, meeting_id: int) -> None:
    from events.services.outcomes import OutcomeReport, record_outcome
    with database(app) as session:
        record_outcome(user(user_id), session.get(Meeting, meeting_id), OutcomeReport(held=True, intent=3_000_000))
        session.commit()


# ---- reading the state --------------------------------------------------------------------------

def status(app, event_id: int) -> str:
    with database(app) as session:
        return session.get(Event, event_id).status


def status_history(app, event_id: int) -> list[tuple[str, str, datetime, int | None]]:
    with database(app) as session:
        return [(row.from_status, row.to_status, row.at, row.actor_user_id) for row in session.scalars(
            select(EventStatusChange).where(EventStatusChange.event_id == event_id).order_by(EventStatusChange.id))]


def meetings(app, session_id: int) -> list[dict]:
    with database(app) as session:
        rows = session.scalars(select(Meeting).where(Meeting.session_id == session_id).order_by(Meeting.id))
        return [{"id": m.id, "enterprise_id": m.enterprise_id, "institution_id": m.institution_id,
                 "status": m.status, "starts_at": m.starts_at, "ends_at": m.ends_at} for m in rows]


def messages_by_kind(app) -> Counter:
    with database(app) as session:
        return Counter(dict(session.execute(select(Notification.kind, func.count()).group_by(Notification.kind)).all()))


def messages(app, kind: str) -> list[tuple[int, str, int]]:
    """(user id, object type, object id) of every message of `kind`."""
    with database(app) as session:
        return sorted(session.execute(select(Notification.user_id, Notification.object_type, Notification.object_id)
                                      .where(Notification.kind == kind)).all())


def delivery_states(app) -> Counter:
    with database(app) as session:
        return Counter(dict(session.execute(select(Notification.status, func.count())
                                            .group_by(Notification.status)).all()))


def enterprise_of(app, user_id: int) -> int:
    with database(app):
        return user(user_id).enterprise_id


def institution_of(app, user_id: int) -> int:
    with database(app):
        return user(user_id).institution_id


def registrations_approved(app, session_id: int) -> int:
    with database(app) as session:
        return session.scalar(select(func.count(Registration.id)).where(Registration.session_id == session_id,
                                                                        Registration.status == "approved"))


def published_meetings(app, people, pairs) -> list[int]:
    """A published event whose online session starts 30 minutes from now, with scheduled meetings
    (enterprise name, institution name, slot): every one of them is due for its 1-hour reminder."""
    now = utcnow().replace(second=0, microsecond=0)
    with database(app) as session:
        event = Event(organiser_office_id=user(people.organiser).organiser_office_id, title="双进程测试活动",
                      chain_id=user(people.smes["A"]).enterprise.chain_id, host_region_code="330100",
                      starts_on=date.today(), ends_on=date.today() + timedelta(days=2),
                      registration_opens_at=now - timedelta(days=20), registration_closes_at=now - timedelta(days=5),
                      status="published")
        session.add(event)
        session.flush()
        matching = EventSession(event_id=event.id, kind="credit_matching", mode="online", title="线上信贷对接",
                                online_url="https://meet.example.cn/9", starts_at=now + timedelta(minutes=30),
                                ends_at=now + timedelta(minutes=90), slot_minutes=20, tables=3)
        session.add(matching)
        session.flush()
        ids = []
        for enterprise, institution, slot in pairs:
            meeting = factories.unsaved_meeting(
                matching, slot, 1, enterprise_id=user(people.smes[enterprise]).enterprise_id,
                institution_id=user(people.institutions[institution]).institution_id, status="scheduled")
            session.add(meeting)
            session.flush()
            ids.append(meeting.id)
        session.commit()
        return ids
