"""The event's status machine: one step forward, back only with a reason, nothing changed twice."""
import pytest
from sqlalchemy import func, select, update

from core.actors import SYSTEM
from core.errors import FieldError
from core.extensions import db
from events.enums import EventStatus
from events.models import Event, EventStatusChange
from events.services import planning
from tests.support import factories
from tests.support.events import actor, make_event, make_session, utc


def _changes(event_id: int) -> list[tuple[str, str, str]]:
    rows = db.session.scalars(select(EventStatusChange).where(EventStatusChange.event_id == event_id)
                              .order_by(EventStatusChange.id))
    return [(row.from_status, row.to_status, row.reason) for row in rows]


def test_forward_one_step_at_a_time_is_recorded(db_session):
    organiser = factories.organiser()
    event = make_event(organiser)
    make_session(organiser, event)
    assert planning.advance_event(actor(organiser), event, EventStatus.OPEN) is True
    assert event.status == EventStatus.OPEN
    assert _changes(event.id) == [("draft", "open", "")]
    with pytest.raises(FieldError) as refused:
        planning.advance_event(actor(organiser), event, EventStatus.MATCHED)
    assert refused.value.field == "to_status"
    assert event.status == EventStatus.OPEN


def test_every_forward_step_to_reported(db_session):
    organiser = factories.organiser()
    event = make_event(organiser)
    make_session(organiser, event)
    for status in list(EventStatus)[1:]:
        assert planning.advance_event(actor(organiser), event, status)
    assert event.status == EventStatus.REPORTED
    assert len(_changes(event.id)) == len(EventStatus) - 1
    assert planning.next_status(event) is None


def test_repeated_call_changes_nothing_twice(db_session):
    organiser = factories.organiser()
    event = make_event(organiser)
    make_session(organiser, event)
    assert planning.advance_event(actor(organiser), event, EventStatus.OPEN) is True
    assert planning.advance_event(actor(organiser), event, EventStatus.OPEN) is False
    assert planning.advance_event(SYSTEM, event, EventStatus.OPEN) is False
    assert _changes(event.id) == [("draft", "open", "")]


def test_a_stale_copy_loses_the_race_quietly(db_session):
    """Another process moved the event after we read it: our conditional UPDATE matches no row."""
    organiser = factories.organiser()
    event = make_event(organiser)
    make_session(organiser, event)
    db.session.execute(update(Event).where(Event.id == event.id).values(status="open")
                       .execution_options(synchronize_session=False))
    assert event.status == "draft"  # what this process still believes
    assert planning.advance_event(actor(organiser), event, EventStatus.OPEN) is False
    assert event.status == EventStatus.OPEN
    assert _changes(event.id) == []


def test_backwards_needs_a_reason(db_session):
    organiser = factories.organiser()
    event = make_event(organiser, status=EventStatus.CLOSED)
    with pytest.raises(FieldError) as refused:
        planning.advance_event(actor(organiser), event, EventStatus.OPEN, reason="  ")
    assert refused.value.field == "reason"
    assert event.status == EventStatus.CLOSED
    assert planning.advance_event(actor(organiser), event, EventStatus.OPEN, reason="延长报名一周") is True
    assert _changes(event.id) == [("closed", "open", "延长报名一周")]
    # Back more than one step is allowed with a reason.
    assert planning.advance_event(actor(organiser), event, EventStatus.DRAFT, reason="活动改期")
    assert event.status == EventStatus.DRAFT


def test_the_scheduler_never_moves_backwards(db_session):
    organiser = factories.organiser()
    event = make_event(organiser, status=EventStatus.CLOSED)
    with pytest.raises(FieldError):
        planning.advance_event(SYSTEM, event, EventStatus.OPEN, reason="定时任务")
    assert planning.advance_event(SYSTEM, event, EventStatus.MATCHED) is True
    assert db.session.scalar(select(EventStatusChange.actor_user_id)) is None


def test_nobody_is_not_the_scheduler(db_session):
    """`None` used to mean the scheduler, allowed everything; now it is refused."""
    organiser = factories.organiser()
    event = make_event(organiser, status=EventStatus.CLOSED)
    with pytest.raises(TypeError):
        planning.advance_event(None, event, EventStatus.MATCHED)
    assert event.status == EventStatus.CLOSED


def test_due_registrations_open_and_close_once(db_session):
    organiser = factories.organiser()
    event = make_event(organiser, registration_opens_at=utc(2027, 2, 1, 9), registration_closes_at=utc(2027, 3, 1, 18))
    later = make_event(organiser, title="以后的活动", registration_opens_at=utc(2027, 2, 20, 9))
    for draft in (event, later):
        make_session(organiser, draft)
        planning.mark_ready(actor(organiser), draft)
    assert planning.open_due_registrations(utc(2027, 1, 31, 23)) == []
    assert planning.open_due_registrations(utc(2027, 2, 1, 9)) == [event.id]
    assert planning.open_due_registrations(utc(2027, 2, 2)) == []
    db.session.refresh(later)
    assert later.status == EventStatus.DRAFT
    assert planning.close_due_registrations(utc(2027, 3, 1, 17)) == []
    assert planning.close_due_registrations(utc(2027, 3, 1, 18)) == [event.id]
    assert planning.close_due_registrations(utc(2027, 3, 1, 19)) == []
    db.session.refresh(event)
    assert event.status == EventStatus.CLOSED
    assert db.session.scalar(select(func.count(EventStatusChange.id))) == 2


def test_a_draft_whose_window_has_passed_is_not_opened(db_session):
    organiser = factories.organiser()
    event = make_event(organiser)
    make_session(organiser, event)
    planning.mark_ready(actor(organiser), event)
    assert planning.open_due_registrations(utc(2027, 3, 5)) == []


def test_status_page_moves_forward_and_back_with_reason(app, client):
    from tests.conftest import sign_in
    from tests.support.database import database
    with database(app):
        organiser = factories.organiser()
        event = make_event(organiser)
        make_session(organiser, event)
    sign_in(client, organiser.email)
    response = client.post(f"/organiser/events/{event.id}/status", data={"to_status": "open"})
    assert response.status_code == 302
    response = client.post(f"/organiser/events/{event.id}/status", data={"to_status": "draft", "reason": ""},
                           follow_redirects=True)
    assert "退回状态须填写原因" in response.get_data(as_text=True)
    response = client.post(f"/organiser/events/{event.id}/status", data={"to_status": "draft", "reason": "改期"},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "原因：改期" in html
    with database(app) as session:
        assert session.get(Event, event.id).status == EventStatus.DRAFT
