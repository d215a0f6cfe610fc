"""An honest lifecycle: the clock opens only ready events, waitlists say why, absurd dates are refused,
and each message says what the database now holds."""
from datetime import date

import pytest
from sqlalchemy import select

from core.errors import FieldError
from core.extensions import db
from events.enums import EventStatus, MeetingStatus, RegistrationStatus
from events.models import Event, EventSession, Meeting, Registration
from events.services import planning
from events.services import registration as reg
from notifications.models import Notification
from tests.conftest import sign_in
from tests.support import factories
from tests.support.database import database
from tests.support.events import actor, event_facts, make_event, make_session, session_facts, utc
from tests.support.pages import assert_field_error
from tests.support.participation import registered_bank, registered_sme

GOOD_EVENT = {
    "title": "2027年3月 · 人工智能产业链 · 杭州", "chain": "ai", "host_region": "330100",
    "starts_on": "2027-03-10", "ends_on": "2027-03-11",
    "registration_opens_at": "2027-02-01T09:00", "registration_closes_at": "2027-03-01T18:00",
    "matching_at": "2027-03-02T09:00", "publication_at": "2027-03-03T09:00",
}


# ---- ready ------------------------------------------------------------------------------------

def test_the_clock_opens_a_ready_draft_and_leaves_a_draft_being_set_up(db_session):
    organiser = factories.organiser()
    being_set_up = make_event(organiser, title="还在准备的活动")
    make_session(organiser, being_set_up)
    ready = make_event(organiser)
    make_session(organiser, ready)
    assert planning.mark_ready(actor(organiser), db.session.get(Event, ready.id)) is True
    db.session.commit()
    assert planning.open_due_registrations(utc(2027, 2, 1, 9)) == [ready.id]
    db.session.expire_all()
    assert db.session.get(Event, being_set_up.id).status == EventStatus.DRAFT
    assert db.session.get(Event, ready.id).status == EventStatus.OPEN


def test_marking_ready_without_a_session_is_refused(db_session):
    organiser = factories.organiser()
    event = make_event(organiser)
    with pytest.raises(FieldError) as refused:
        planning.mark_ready(actor(organiser), event)
    assert refused.value.field == "ready" and "场次" in str(refused.value.message)
    assert event.ready_at is None
    assert planning.open_due_registrations(utc(2027, 2, 1, 9)) == []


def test_ready_is_taken_back_only_while_draft_and_stepping_back_to_draft_clears_it(db_session):
    organiser = factories.organiser()
    event = make_event(organiser)
    make_session(organiser, event)
    assert planning.mark_ready(actor(organiser), event) is True
    assert planning.mark_ready(actor(organiser), event) is False  # already ready: nothing changes twice
    assert event.ready_by_user_id == organiser.id
    assert planning.unmark_ready(actor(organiser), event) is True
    assert event.ready_at is None and event.ready_by_user_id is None
    planning.mark_ready(actor(organiser), event)
    assert planning.advance_event(actor(organiser), event, EventStatus.OPEN)
    with pytest.raises(FieldError) as refused:
        planning.unmark_ready(actor(organiser), event)
    assert refused.value.field == "ready"
    # Back to draft (e.g. the date moves): the clock must not reopen it at the next sweep.
    assert planning.advance_event(actor(organiser), event, EventStatus.DRAFT, reason="改期")
    assert event.ready_at is None
    assert planning.open_due_registrations(utc(2027, 2, 2, 9)) == []


def test_opening_by_hand_needs_a_session_and_counts_as_ready(db_session):
    organiser = factories.organiser()
    event = make_event(organiser)
    with pytest.raises(FieldError) as refused:
        planning.advance_event(actor(organiser), event, EventStatus.OPEN)
    assert refused.value.field == "to_status" and "场次" in str(refused.value.message)
    make_session(organiser, event)
    assert planning.advance_event(actor(organiser), event, EventStatus.OPEN) is True
    assert event.ready_at is not None and event.ready_by_user_id == organiser.id


def test_scheduler_drafts_are_not_ready(app):
    from tests.scheduler import scenario as s
    people = s.make_people(app, smes=("A",), institutions=("I1",))
    entry = s.add_plan_entry(app, people, 2027, 1)
    import time_machine

    from chainmatch.scheduler import run_due_work
    with time_machine.travel(s.aware(s.local(2026, 12, 1, 10)), tick=False) as traveller:
        run_due_work(app)
        event_id = s.event_of_plan(app, entry)
        with database(app) as session:
            draft = session.get(Event, event_id)
            assert draft.ready_at is None
            body = session.scalar(select(Notification.body).where(Notification.kind == "draft_event_created"))
            assert "准备就绪" in body
        s.add_sessions(app, people, event_id, day=15)
        traveller.move_to(s.aware(s.local(2026, 12, 20, 9, 1)))
        run_due_work(app)
        assert s.status(app, event_id) == "draft"  # sessions, but nobody said it is ready


def test_the_event_page_says_why_a_draft_will_not_open_and_offers_ready(app, client):
    with database(app):
        organiser = factories.organiser()
        event = make_event(organiser)
    sign_in(client, organiser.email)
    page = client.get(f"/organiser/events/{event.id}").get_data(as_text=True)
    assert "还没有场次" in page
    response = client.post(f"/organiser/events/{event.id}/ready", follow_redirects=True)
    assert "至少需要一个场次" in response.get_data(as_text=True)
    with database(app):
        make_session(organiser, event)
    page = client.get(f"/organiser/events/{event.id}").get_data(as_text=True)
    assert "尚未标记为准备就绪" in page and f'action="/organiser/events/{event.id}/ready"' in page
    page = client.post(f"/organiser/events/{event.id}/ready", follow_redirects=True).get_data(as_text=True)
    assert "已标记为准备就绪" in page and "报名将于 2027-02-01 09:00 自动开始" in page
    assert f'action="/organiser/events/{event.id}/unready"' in page
    with database(app) as session:
        assert session.get(Event, event.id).ready_at is not None
    page = client.post(f"/organiser/events/{event.id}/unready", follow_redirects=True).get_data(as_text=True)
    assert "已取消准备就绪" in page
    with database(app) as session:
        assert session.get(Event, event.id).ready_at is None


# ---- the waitlist's reason ----------------------------------------------------------------------

def _bodies(user) -> list[str]:
    return list(db.session.scalars(select(Notification.body).where(Notification.user_id == user.id,
                                                                   Notification.kind == "registration_waitlisted")))


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_a_manual_waitlist_tells_the_organisers_reason_not_full(db_session, locale):
    from tests.support.participation import make_event as open_event
    from tests.support.participation import make_session as open_session
    session = open_session(open_event(), capacity=40)
    organiser = factories.organiser("330100")
    user, _need, pending = registered_sme(session, status=RegistrationStatus.PENDING)
    user.locale = locale
    db.session.commit()
    with pytest.raises(FieldError) as refused:  # not full: the organiser must say why
        reg.waitlist_registration(actor(organiser), db.session.get(Registration, pending.id), "")
    assert refused.value.field == "reason"
    db.session.rollback()
    reg.waitlist_registration(actor(organiser), db.session.get(Registration, pending.id), "请补充近两年财务报表")
    db.session.commit()
    [body] = _bodies(user)
    assert "请补充近两年财务报表" in body
    assert "已满" not in body and "full" not in body
    assert ("主办方" in body) if locale == "zh" else ("organiser" in body)
    # An organiser's waitlist is the organiser's to lift: a freed place does not promote it.
    assert reg.promote_waitlist(db.session.get(EventSession, session.id)) == []
    assert db.session.get(Registration, pending.id).status == RegistrationStatus.WAITLISTED


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_a_waitlist_for_a_full_session_says_full(db_session, locale):
    from tests.support.participation import make_event as open_event
    from tests.support.participation import make_session as open_session
    session = open_session(open_event(), capacity=1)
    organiser = factories.organiser("330100")
    first_user, _need, first = registered_sme(session)
    user, _need, pending = registered_sme(session, status=RegistrationStatus.PENDING)
    user.locale = locale
    db.session.commit()
    reg.waitlist_registration(actor(organiser), db.session.get(Registration, pending.id), "")
    db.session.commit()
    [body] = _bodies(user)
    assert ("名额（1 家企业）已满" in body) if locale == "zh" else ("full" in body and "1" in body)
    reg.cancel_registration(actor(first_user), db.session.get(Registration, first.id))
    db.session.commit()
    assert db.session.get(Registration, pending.id).status == RegistrationStatus.APPROVED


def test_raising_the_capacity_moves_the_waitlist_up(db_session):
    organiser = factories.organiser("330100")
    event = make_event(organiser, status=EventStatus.OPEN)
    session = make_session(organiser, event, capacity=1)
    registered_sme(session)
    _user, _need, waiting = registered_sme(session, status=RegistrationStatus.PENDING)
    reg.waitlist_registration(actor(organiser), db.session.get(Registration, waiting.id), "")
    db.session.commit()
    planning.update_session(actor(organiser), db.session.get(EventSession, session.id), session_facts(capacity=2))
    db.session.commit()
    assert db.session.get(Registration, waiting.id).status == RegistrationStatus.APPROVED


# ---- dates within a sane window -----------------------------------------------------------------

def test_an_end_date_in_year_9999_is_refused_by_the_service(db_session):
    organiser = factories.organiser()
    with pytest.raises(FieldError) as refused:
        planning.create_event(actor(organiser), event_facts(ends_on=date(9999, 12, 31)))
    assert refused.value.field == "ends_on" and "结束日期" in str(refused.value.message)


def test_event_dates_stay_near_their_plan_month(db_session):
    organiser = factories.organiser()
    entry = planning.create_plan_entry(actor(organiser), planning.PlanEntryFacts(2027, 3, "ai", "330100"))
    with pytest.raises(FieldError) as refused:
        planning.create_event(actor(organiser), event_facts(starts_on=date(2027, 9, 1), ends_on=date(2027, 9, 2)),
                              plan_entry=entry)
    assert refused.value.field == "starts_on" and "2027-01-29" in str(refused.value.message)
    with pytest.raises(FieldError) as refused:
        planning.create_event(actor(organiser), event_facts(registration_opens_at=utc(2020, 1, 1, 9)),
                              plan_entry=entry)
    assert refused.value.field == "registration_opens_at"
    event = planning.create_event(actor(organiser), event_facts(), plan_entry=entry)
    assert event.id


def test_times_after_the_event_are_refused(db_session):
    organiser = factories.organiser()
    with pytest.raises(FieldError) as refused:
        planning.create_event(actor(organiser), event_facts(publication_at=utc(2030, 1, 1, 9)))
    assert refused.value.field == "publication_at"


def test_the_year_plan_year_is_bounded(db_session):
    organiser = factories.organiser()
    with pytest.raises(FieldError) as refused:
        planning.create_plan_entry(actor(organiser), planning.PlanEntryFacts(2099, 3, "ai", "330100"))
    assert refused.value.field == "year"


def test_a_session_in_year_9999_is_refused(db_session):
    organiser = factories.organiser()
    event = make_event(organiser)
    problems = planning.session_problems(event, session_facts(starts_at=utc(9999, 3, 10, 9),
                                                              ends_at=utc(9999, 3, 10, 11)))
    assert problems and problems[0].field == "starts_at"


def test_the_form_refuses_9999_beside_the_field(app, client):
    with database(app):
        organiser = factories.organiser()
    sign_in(client, organiser.email)
    response = client.post("/organiser/events/new", data={**GOOD_EVENT, "ends_on": "9999-12-31"})
    assert_field_error(response, "ends_on", "结束日期须在")
    with database(app) as session:
        assert session.scalar(select(Event.id)) is None
    response = client.post("/organiser/events/new", data={**GOOD_EVENT,
                                                          "registration_closes_at": "9999-12-31T18:00"})
    assert_field_error(response, "registration_closes_at", "报名截止")


def test_the_database_refuses_dates_outside_the_plan_years(db_session):
    from sqlalchemy.exc import IntegrityError
    organiser = factories.organiser()
    event = make_event(organiser)
    event.ends_on = date(9999, 12, 31)
    with pytest.raises(IntegrityError):
        db.session.flush()


# ---- messages that match the database -----------------------------------------------------------

def test_cancelling_a_held_meeting_does_not_say_cancelled(app, client):
    with database(app) as session:
        organiser = factories.organiser()
        event = make_event(organiser, status=EventStatus.PUBLISHED)
        the_session = make_session(organiser, event)
        sme_user, need, _ = registered_sme(the_session)
        bank_user, _product, _ = registered_bank(the_session)
        meeting = factories.unsaved_meeting(the_session, 0, 1, enterprise_id=sme_user.enterprise_id,
                                            institution_id=bank_user.institution_id,
                                            status=MeetingStatus.HELD.value)
        session.add(meeting)
        session.commit()
        meeting_id = meeting.id
    sign_in(client, organiser.email)
    response = client.post(f"/organiser/meetings/{meeting_id}/cancel", data={f"c{meeting_id}-reason": "改期"},
                           follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "会谈已取消。" not in html and "已会谈" in html
    with database(app) as session:
        assert session.get(Meeting, meeting_id).status == MeetingStatus.HELD


# ---- a session's slot grid changes under stored unavailable slots -------------------------------

def test_changing_a_session_to_a_talk_keeps_the_registration_pages_working(app, client):
    with database(app):
        organiser = factories.organiser()
        event = make_event(organiser, status=EventStatus.OPEN)
        the_session = make_session(organiser, event)
        bank_user, _product, bank_reg = registered_bank(the_session, unavailable=(2, 3))
        planning.update_session(actor(organiser), db.session.get(EventSession, the_session.id),
                                session_facts(kind="training", slot_minutes=None, tables=0))
        db.session.commit()
        assert db.session.get(Registration, bank_reg.id).unavailable_slots == []
    sign_in(client, organiser.email)
    assert client.get(f"/organiser/sessions/{the_session.id}/registrations").status_code == 200
    sign_in(client, bank_user.email)
    assert client.get("/events/registrations").status_code == 200


def test_a_new_slot_grid_keeps_the_times_an_institution_cannot_take(db_session):
    organiser = factories.organiser()
    event = make_event(organiser, status=EventStatus.OPEN)
    the_session = make_session(organiser, event)  # 09:00–11:00, 30-minute slots
    _bank, _product, bank_reg = registered_bank(the_session, unavailable=(1, 3))  # 09:30–10:00, 10:30–11:00
    planning.update_session(actor(organiser), db.session.get(EventSession, the_session.id),
                            session_facts(slot_minutes=20, ends_at=utc(2027, 3, 10, 10, 40)))
    db.session.commit()
    # 20-minute slots 09:20–09:40 and 09:40–10:00 overlap 09:30–10:00; 10:20–10:40 overlaps 10:30–11:00.
    assert db.session.get(Registration, bank_reg.id).unavailable_slots == [1, 2, 4]


def test_stored_slots_outside_the_grid_are_not_labelled(app, client):
    """Rows written before the clean-up (or by hand) must not break the pages."""
    with database(app) as session:
        organiser = factories.organiser()
        event = make_event(organiser, status=EventStatus.OPEN)
        the_session = make_session(organiser, event)
        bank_user, _product, bank_reg = registered_bank(the_session)
        session.get(Registration, bank_reg.id).unavailable_slots = [1, 99, "x", -1]
        session.commit()
    sign_in(client, organiser.email)
    html = client.get(f"/organiser/sessions/{the_session.id}/registrations").get_data(as_text=True)
    assert "第 2 时段" in html and "第 100 时段" not in html
    sign_in(client, bank_user.email)
    response = client.get("/events/registrations")
    assert response.status_code == 200 and "09:30–10:00" in response.get_data(as_text=True)


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_a_rejection_tells_the_registrant_the_organisers_reason_in_their_language(db_session, locale):
    from tests.support.participation import make_event as open_event
    from tests.support.participation import make_session as open_session
    session = open_session(open_event(), capacity=40)
    organiser = factories.organiser("330100")
    user, _need, pending = registered_sme(session, status=RegistrationStatus.PENDING)
    user.locale = locale
    db.session.commit()
    reg.reject_registration(actor(organiser), db.session.get(Registration, pending.id), "融资需求与本场主题不符")
    db.session.commit()
    [row] = db.session.scalars(select(Notification).where(Notification.user_id == user.id,
                                                          Notification.kind == "registration_rejected")).all()
    assert "融资需求与本场主题不符" in row.body
    if locale == "zh":
        assert row.subject.startswith("报名未通过：") and "主办方说明：融资需求与本场主题不符" in row.body
    else:
        assert row.subject.startswith("Registration not accepted: ")
        assert "Note from the organiser: 融资需求与本场主题不符" in row.body
