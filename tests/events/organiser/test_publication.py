"""Publishing: proposals scheduled, needs matched, exactly one message per participant user, never twice."""
import pytest
from sqlalchemy import func, select

from accounts.models import User
from core.errors import FieldError
from core.extensions import db
from events.enums import EventStatus, MeetingStatus
from events.models import Event, EventSession, Meeting
from events.services import publication, schedule_edits, scheduling
from market.enums import NeedStatus
from market.models import FinancingNeed
from notifications.models import Notification
from tests.conftest import DEMO_PASSWORD
from tests.support import factories
from tests.support.events import actor, approve_sme, make_session, matching_scenario


def _second_user(of: User) -> User:
    """Another user of the same enterprise or institution."""
    user = User(email=f"second-{of.id}@example.com", display_name="同事", role=of.role,
                enterprise_id=of.enterprise_id, institution_id=of.institution_id, locale="en")
    user.set_password(DEMO_PASSWORD)
    db.session.add(user)
    db.session.commit()
    return user


def _notifications(kind: str | None = None) -> list[Notification]:
    query = select(Notification).order_by(Notification.user_id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query))


def test_publish_schedules_matches_needs_and_tells_each_user_once(db_session):
    scenario = matching_scenario(smes=3, banks=2)
    colleague = _second_user(scenario["smes"][0])
    session = db.session.get(EventSession, scenario["session"].id)
    organiser = actor(scenario["organiser"])
    scheduling.run_matching(organiser, session)
    summary = publication.publish_schedule(organiser, session)
    meetings = db.session.scalars(select(Meeting)).all()
    assert summary.scheduled == len(meetings) == 6
    assert all(m.status == MeetingStatus.SCHEDULED for m in meetings)
    assert {db.session.get(FinancingNeed, n.id).status for n in scenario["needs"]} == {NeedStatus.MATCHED}
    assert session.published_at is not None
    participants = {u.id for u in scenario["smes"] + scenario["banks"]} | {colleague.id}
    rows = _notifications()
    assert sorted(r.user_id for r in rows) == sorted(participants)  # exactly one each
    assert summary.messages == len(participants)
    assert {r.kind for r in rows} == {"schedule_published"}
    assert db.session.get(Event, session.event_id).status == EventStatus.PUBLISHED

    again = publication.publish_schedule(organiser, session)
    assert (again.scheduled, again.messages) == (0, 0)
    assert len(_notifications()) == len(participants)


def test_the_message_lists_the_users_meetings_in_beijing_time_with_tables(db_session):
    scenario = matching_scenario(smes=1, banks=1)
    english = _second_user(scenario["smes"][0])
    session = db.session.get(EventSession, scenario["session"].id)
    organiser = actor(scenario["organiser"])
    scheduling.run_matching(organiser, session)
    publication.publish_schedule(organiser, session)
    (meeting,) = db.session.scalars(select(Meeting)).all()
    start = ["09:00", "09:30", "10:00", "10:30"][meeting.slot]  # the session runs 09:00–11:00 Beijing time
    by_user = {n.user_id: n for n in _notifications()}
    sme_message = by_user[scenario["smes"][0].id]
    assert f"2027-03-10 {start}" in sme_message.body and meeting.institution.name in sme_message.body
    assert "第 01 桌" in sme_message.body and "杭州国际博览中心" in sme_message.body  # the venue's table
    bank_message = by_user[scenario["banks"][0].id]
    assert meeting.enterprise.name in bank_message.body  # the SME's registration consent covers its meetings
    assert "table 01" in by_user[english.id].body  # each user in their language


def test_online_sessions_give_the_room_link(db_session):
    scenario = matching_scenario(smes=1, banks=1, mode="online", venue="", online_url="https://meet.example.com/r/7")
    session = db.session.get(EventSession, scenario["session"].id)
    organiser = actor(scenario["organiser"])
    scheduling.run_matching(organiser, session)
    publication.publish_schedule(organiser, session)
    assert all("https://meet.example.com/r/7" in n.body for n in _notifications())


def test_a_meeting_added_after_publication_is_announced_alone(db_session):
    scenario = matching_scenario(smes=1, banks=1)
    session = db.session.get(EventSession, scenario["session"].id)
    organiser = actor(scenario["organiser"])
    scheduling.run_matching(organiser, session)
    publication.publish_schedule(organiser, session)
    newcomer = factories.sme()
    approve_sme(session, newcomer, [factories.need(newcomer)])
    taken = {m.slot for m in db.session.scalars(select(Meeting))}
    free = next(s for s in range(session.slot_count) if s not in taken)
    schedule_edits.add_meeting(organiser, session, newcomer.enterprise_id, scenario["banks"][0].institution_id, free, 1)
    summary = publication.publish_schedule(organiser, session)
    assert summary.scheduled == 1
    added = {(n.user_id, n.kind) for n in _notifications()} - {
        (u.id, "schedule_published") for u in scenario["smes"] + scenario["banks"]}
    assert added == {(newcomer.id, "schedule_published"), (scenario["banks"][0].id, "meeting_scheduled")}


def test_cancelling_a_scheduled_meeting_tells_both_sides(db_session):
    scenario = matching_scenario(smes=1, banks=1)
    session = db.session.get(EventSession, scenario["session"].id)
    organiser = actor(scenario["organiser"])
    scheduling.run_matching(organiser, session)
    publication.publish_schedule(organiser, session)
    (meeting,) = db.session.scalars(select(Meeting)).all()
    schedule_edits.cancel_meeting(organiser, meeting, "机构临时调整")
    cancelled = _notifications("meeting_cancelled")
    assert {n.user_id for n in cancelled} == {scenario["smes"][0].id, scenario["banks"][0].id}
    assert all("机构临时调整" in n.body for n in cancelled)


def test_nothing_to_publish_before_matching(db_session):
    scenario = matching_scenario()
    with pytest.raises(FieldError):
        publication.publish_schedule(actor(scenario["organiser"]), db.session.get(EventSession, scenario["session"].id))
    assert _notifications() == []


def test_due_publication_needs_the_organisers_approval(db_session):
    scenario = matching_scenario()
    event = db.session.get(Event, scenario["event"].id)
    scheduling.run_due_matching(event.matching_at)
    assert publication.publish_due_schedules(event.publication_at) == {}
    event.publication_approved = True
    db.session.commit()
    assert publication.publish_due_schedules(event.publication_at) == {event.id: [scenario["session"].id]}
    assert publication.publish_due_schedules(event.publication_at) == {}
    db.session.refresh(event)
    assert event.status == EventStatus.PUBLISHED
    assert db.session.scalar(select(func.count(Notification.id))) == 5


def test_the_event_is_published_only_when_every_matchmaking_session_is(db_session):
    scenario = matching_scenario(smes=1, banks=1)
    organiser = actor(scenario["organiser"])
    event = db.session.get(Event, scenario["event"].id)
    second = make_session(scenario["organiser"], event, title="保险服务对接会", kind="insurance_matching",
                          financing_types=["insurance"])
    first = db.session.get(EventSession, scenario["session"].id)
    scheduling.run_matching(organiser, first)
    assert event.status == EventStatus.CLOSED  # the second session is not matched yet
    scheduling.run_matching(organiser, db.session.get(EventSession, second.id))
    assert event.status == EventStatus.MATCHED
    publication.publish_schedule(organiser, first)
    assert event.status == EventStatus.MATCHED
    publication.publish_schedule(organiser, db.session.get(EventSession, second.id))
    assert event.status == EventStatus.PUBLISHED


def test_moving_a_scheduled_meeting_tells_both_sides_once_per_move(db_session):
    scenario = matching_scenario(smes=1, banks=1)
    session = db.session.get(EventSession, scenario["session"].id)
    organiser = actor(scenario["organiser"])
    scheduling.run_matching(organiser, session)
    publication.publish_schedule(organiser, session)
    (meeting,) = db.session.scalars(select(Meeting)).all()
    original = meeting.slot
    target = (original + 1) % session.slot_count
    schedule_edits.move_meeting(organiser, meeting, target, 1)
    schedule_edits.move_meeting(organiser, meeting, target, 1)  # the same move again: nothing new
    moved = _notifications("meeting_moved")
    assert {n.user_id for n in moved} == {scenario["smes"][0].id, scenario["banks"][0].id} and len(moved) == 2
    start = ["09:00", "09:30", "10:00", "10:30"][target]
    assert all(f"2027-03-10 {start}" in n.body for n in moved)
    schedule_edits.move_meeting(organiser, meeting, original, 1)
    assert len(_notifications("meeting_moved")) == 4
