"""One event, one clock: no enterprise, table or staff member is in two live meetings at once, across
sessions and events — for the matcher, moves, adds, bookings and accepted requests.

Two sessions "A" and "B" of one event run at the same time (09:00–11:00 Shanghai, 30-minute slots) in two
rooms; a third session of another event overlaps them by half a slot.
"""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from core.errors import FieldError
from core.extensions import db
from events.enums import EventStatus, MeetingSource, MeetingStatus, RequestStatus
from events.models import Meeting, MeetingRequest, RegistrationStaff
from events.services import agenda, availability, requests, schedule_edits, scheduling
from market.models import Institution
from tests.support import factories
from tests.support.participation import (
    actor,
    fresh,
    make_event,
    make_meeting,
    make_session,
    registered_bank,
    registered_sme,
    utc,
)

DAY = (2030, 3, 12)


def _two_sessions(published: bool = False, status: EventStatus = EventStatus.OPEN, slots: int = 4):
    event = make_event(status=status)
    first = make_session(event, title="信贷对接 3A", starts_at=utc(*DAY, 9), slots=slots, published=published)
    second = make_session(event, title="信贷对接 3B", starts_at=utc(*DAY, 9), slots=slots, published=published)
    return event, first, second


def _live(enterprise_id: int) -> list[Meeting]:
    return list(db.session.scalars(select(Meeting).where(Meeting.enterprise_id == enterprise_id,
                                                         Meeting.status != MeetingStatus.CANCELLED)
                                   .order_by(Meeting.starts_at)))


def _no_overlap(meetings: list[Meeting]) -> bool:
    timed = sorted((m for m in meetings if m.starts_at is not None), key=lambda m: m.starts_at)
    return all(a.ends_at <= b.starts_at for a, b in zip(timed, timed[1:]))


def test_stored_times_follow_the_slot_and_the_check_refuses_times_without_a_slot(db_session):
    _, first, _ = _two_sessions()
    sme, _, _ = registered_sme(first)
    bank, _, _ = registered_bank(first)
    meeting = make_meeting(first, sme, bank, slot=2)
    assert (meeting.starts_at, meeting.ends_at) == (utc(*DAY, 10), utc(*DAY, 10, 30))
    broken = Meeting(session_id=first.id, enterprise_id=sme.enterprise_id, institution_id=bank.institution_id,
                     slot=1, table_number=1, status="proposed")  # a slot without its interval
    db.session.add(broken)
    with pytest.raises(IntegrityError):  # the CHECK that an interval goes with a slot
        db.session.flush()
    db.session.rollback()


def test_an_organiser_move_into_the_smes_time_in_another_session_is_refused_naming_it(db_session):
    _, first, second = _two_sessions(published=True)
    organiser = factories.organiser("330100")
    sme, _, _ = registered_sme(first)
    registered_sme(second, user=sme)
    bank_a, _, _ = registered_bank(first, user=factories.institution_user(name="甲银行杭州分行"))
    bank_b, _, _ = registered_bank(second)
    registered_sme(second)
    in_a = make_meeting(first, sme, bank_a, slot=2)  # 10:00–10:30 in room 3A
    in_b = make_meeting(second, sme, bank_b, slot=0)
    with pytest.raises(FieldError) as refused:
        schedule_edits.move_meeting(actor(organiser), db.session.get(Meeting, in_b.id), 2, 1)
    assert refused.value.field == "slot"
    assert str(refused.value.message) == "该企业在 03-12 10:00–10:30 已与 甲银行杭州分行 会谈（场次：信贷对接 3A）。"
    db.session.rollback()
    assert fresh(Meeting, in_b).slot == 0 and fresh(Meeting, in_b).starts_at == utc(*DAY, 9)
    schedule_edits.move_meeting(actor(organiser), db.session.get(Meeting, in_b.id), 3, 1)
    db.session.commit()
    moved = fresh(Meeting, in_b)
    assert (moved.slot, moved.starts_at, moved.ends_at) == (3, utc(*DAY, 10, 30), utc(*DAY, 11))
    assert _no_overlap(_live(sme.enterprise_id)) and fresh(Meeting, in_a).slot == 2


def test_an_organiser_add_clashing_with_another_event_half_a_slot_away_is_refused(db_session):
    _, first, _ = _two_sessions()
    organiser = factories.organiser("330100")
    other_event = make_event(title="另一活动")
    offset = make_session(other_event, title="保险对接", starts_at=utc(*DAY, 9, 15), slots=2)
    sme, _, _ = registered_sme(first)
    registered_sme(offset, user=sme)
    bank, _, _ = registered_bank(first)
    other_bank, _, _ = registered_bank(offset)
    make_meeting(offset, sme, other_bank, slot=0)  # 09:15–09:45, another event
    for slot in (0, 1):  # 09:00–09:30 and 09:30–10:00 both overlap it
        with pytest.raises(FieldError) as refused:
            schedule_edits.add_meeting(actor(organiser), first, sme.enterprise_id, bank.institution_id, slot, 1)
        assert "03-12 09:15–09:45" in str(refused.value.message) and "保险对接" in str(refused.value.message)
        db.session.rollback()
    added = schedule_edits.add_meeting(actor(organiser), first, sme.enterprise_id, bank.institution_id, 2, 1)
    db.session.commit()
    assert added.starts_at == utc(*DAY, 10) and _no_overlap(_live(sme.enterprise_id))


def test_a_staff_member_at_two_tables_is_one_person_across_sessions(db_session):
    _, first, second = _two_sessions()
    organiser = factories.organiser("330100")
    bank = factories.institution_user()
    _, _, reg_a = registered_bank(first, user=bank, tables=1)
    _, _, reg_b = registered_bank(second, user=bank, tables=2)
    db.session.execute(RegistrationStaff.__table__.delete())
    db.session.add_all([RegistrationStaff(registration_id=reg_a.id, name="王建国", phone="+86 138-0000-1111",
                                          table_number=1),
                        RegistrationStaff(registration_id=reg_b.id, name="王经理", phone="13800001111", table_number=1),
                        RegistrationStaff(registration_id=reg_b.id, name="李经理", phone="13900002222",
                                          table_number=2)])
    db.session.commit()
    sme_a, _, _ = registered_sme(first)
    sme_b, _, _ = registered_sme(second)
    make_meeting(first, sme_a, bank, slot=1)
    with pytest.raises(FieldError) as refused:
        schedule_edits.add_meeting(actor(organiser), second, sme_b.enterprise_id, bank.institution_id, 1, 1)
    assert refused.value.field == "table_number"
    assert str(refused.value.message).startswith("该桌的洽谈人员 王经理 在 03-12 09:30–10:00 已在“信贷对接 3A”与 ")
    db.session.rollback()
    at_two = schedule_edits.add_meeting(actor(organiser), second, sme_b.enterprise_id, bank.institution_id, 1, 2)
    db.session.commit()
    assert at_two.table_number == 2  # another person staffs table 2
    # the free cells a booking page lists leave the busy person's table out
    cells = agenda.free_cells(db.session.get(type(second), second.id), bank.institution_id, None)
    assert (1, 1) not in cells and (1, 2) not in cells and (2, 1) in cells


def test_booking_a_slot_the_sme_has_in_the_other_session_is_refused(db_session):
    _, first, second = _two_sessions(published=True)
    sme, _, _ = registered_sme(first)
    registered_sme(second, user=sme)
    bank_a, _, _ = registered_bank(first)
    bank_b, _, _ = registered_bank(second)
    make_meeting(first, sme, bank_a, slot=1)
    with pytest.raises(FieldError) as refused:
        agenda.book_slot(actor(sme), second, db.session.get(Institution, bank_b.institution_id), 1, 1)
    assert "您在 03-12 09:30–10:00 已与" in str(refused.value.message) and "信贷对接 3A" in str(refused.value.message)
    db.session.rollback()
    options = dict((r.institution_id, cells) for r, cells in agenda.bookable_institutions(second, actor(sme)))
    assert [slot for slot, _ in options[bank_b.institution_id]] == [0, 2, 3]
    booked = agenda.book_slot(actor(sme), second, db.session.get(Institution, bank_b.institution_id), 2, 1)
    db.session.commit()
    assert booked.starts_at == utc(*DAY, 10) and _no_overlap(_live(sme.enterprise_id))


def test_accepting_a_request_skips_the_smes_busy_times_in_the_other_session(db_session):
    event, first, second = _two_sessions(published=True, slots=3)
    sme, need, _ = registered_sme(second)
    registered_sme(first, user=sme)
    bank_a, _, _ = registered_bank(first)
    bank_b, _, _ = registered_bank(second)
    make_meeting(first, sme, bank_a, slot=0)
    request = requests.request_meeting(actor(sme), event, db.session.get(Institution, bank_b.institution_id),
                                       need.id, consent_text="同意", consented=True)
    db.session.commit()
    meeting = requests.accept_request(actor(bank_b), request)
    db.session.commit()
    assert meeting.session_id == second.id and meeting.slot == 1
    assert _no_overlap(_live(sme.enterprise_id))


def test_the_matcher_treats_busy_times_in_overlapping_sessions_as_unavailable(db_session):
    _, first, second = _two_sessions(status=EventStatus.CLOSED, slots=2)
    organiser = factories.organiser("330100")
    sme, _, _ = registered_sme(first)
    registered_sme(second, user=sme)
    bank_a, _, _ = registered_bank(first)
    bank_b, _, _ = registered_bank(second)
    make_meeting(first, sme, bank_a, slot=0, status=MeetingStatus.PROPOSED, source=MeetingSource.ORGANISER)
    # staff: the same person would sit at bank_a's table in both sessions
    other_sme, _, _ = registered_sme(second)
    registered_bank(second, user=bank_a)
    instance = scheduling.build_instance(
        second, scheduling.approved_registrations(second), [],
        availability.for_session(second, [sme.enterprise_id, other_sme.enterprise_id],
                                 [bank_a.institution_id, bank_b.institution_id], ignore_session_id=second.id))
    unavailable = {e.id: e.unavailable for e in instance.enterprises}
    assert unavailable[f"e{sme.enterprise_id}"] == frozenset({0})
    assert {i.id: i.unavailable for i in instance.institutions}[f"i{bank_a.institution_id}"] == frozenset({0})
    scheduling.run_matching(actor(organiser), second)
    db.session.commit()
    assert _no_overlap(_live(sme.enterprise_id))
    staffed = db.session.scalars(select(Meeting).where(Meeting.institution_id == bank_a.institution_id,
                                                       Meeting.status != MeetingStatus.CANCELLED)).all()
    assert sorted(m.starts_at for m in staffed) == sorted({m.starts_at for m in staffed})
    assert any(m.session_id == second.id for m in _live(sme.enterprise_id))  # still met in B, at 09:30


# ---- point 3: accepted means scheduled, or honestly pending -----------------------------------------

def _notification_bodies(user, kind: str) -> list[str]:
    from notifications.models import Notification
    return list(db.session.scalars(select(Notification.body).where(Notification.user_id == user.id,
                                                                  Notification.kind == kind)))


def _pending_scenario():
    """One slot, one table: the matcher gave it to SME "other"; then the bank accepts SME "asker"'s request."""
    event = make_event(status=EventStatus.CLOSED)
    session = make_session(event, starts_at=utc(*DAY, 9), slots=1)
    other, _, _ = registered_sme(session)
    asker, need, _ = registered_sme(session)
    bank, _, _ = registered_bank(session, tables=1)
    organiser = factories.organiser("330100")
    scheduling.run_matching(actor(organiser), session)
    db.session.commit()
    assert [m.enterprise_id for m in _live(other.enterprise_id)] == [other.enterprise_id]
    request = requests.request_meeting(actor(asker), event, db.session.get(Institution, bank.institution_id),
                                       need.id, consent_text="同意", consented=True)
    # "other" asks too, but nobody answers: only the acceptance should decide who gets the slot
    requests.request_meeting(actor(other), event, db.session.get(Institution, bank.institution_id),
                             consent_text="同意", consented=True)
    db.session.commit()
    return event, session, organiser, other, asker, bank, request


def test_an_accepted_request_without_a_free_slot_is_pending_and_told_so(db_session):
    _, session, _, _, asker, bank, request = _pending_scenario()
    assert requests.accept_request(actor(bank), request) is None
    db.session.commit()
    assert fresh(MeetingRequest, request).status == RequestStatus.ACCEPTED
    assert [r.id for r in requests.pending_requests_for_session(session)] == [request.id]
    assert [r.id for r in requests.pending_requests_of(actor(asker))] == [request.id]
    (body,) = _notification_bodies(asker, "request_accepted")
    assert "待主办方安排时段" in body and "详见“我的日程”" not in body
    assert _live(asker.enterprise_id) == []


def test_the_next_matcher_run_places_the_pending_request_first_and_publication_tells_both(db_session):
    _, session, organiser, other, asker, bank, request = _pending_scenario()
    requests.accept_request(actor(bank), request)
    db.session.commit()
    scheduling.run_matching(actor(organiser), session)
    db.session.commit()
    (meeting,) = _live(asker.enterprise_id)
    assert meeting.request_id == request.id and meeting.source == MeetingSource.REQUEST
    assert _live(other.enterprise_id) == []  # the one slot went to the accepted request
    assert requests.pending_requests_for_session(session) == []
    scheduling.run_matching(actor(organiser), session)  # again: the request's meeting is kept
    db.session.commit()
    assert [m.id for m in _live(asker.enterprise_id)] == [meeting.id]
    from events.services import publication
    publication.publish_schedule(actor(organiser), session)
    db.session.commit()
    for user in (asker, bank):
        (body,) = _notification_bodies(user, "schedule_published")
        assert "09:00–09:30" in body


def test_an_organiser_add_answers_the_pending_request(db_session):
    _, session, organiser, other, asker, bank, request = _pending_scenario()
    requests.accept_request(actor(bank), request)
    db.session.commit()
    (theirs,) = _live(other.enterprise_id)
    schedule_edits.cancel_meeting(actor(organiser), theirs, "让位给已接受的约见")
    added = schedule_edits.add_meeting(actor(organiser), session, asker.enterprise_id, bank.institution_id, 0, 1)
    db.session.commit()
    assert added.request_id == request.id and requests.pending_requests_for_session(session) == []
    assert [m.id for m in agenda.agenda_for(actor(asker))] == [added.id]  # visible to the SME, as proposed


def test_a_direct_request_without_an_event_is_described_as_agreed_between_the_two(db_session):
    sme = factories.sme()
    bank = factories.institution_user()
    factories.product(bank)
    request = requests.request_meeting(actor(sme), None, db.session.get(Institution, bank.institution_id),
                                       consent_text="同意", consented=True)
    db.session.commit()
    assert requests.accept_request(actor(bank), request) is None
    db.session.commit()
    (body,) = _notification_bodies(sme, "request_accepted")
    assert "不属于对接活动" in body and "我的日程" in body and "详见" not in body


def test_pages_show_pending_truthfully(app, client, db_session):
    from tests.conftest import sign_in
    _, session, organiser, _, asker, bank, request = _pending_scenario()
    requests.accept_request(actor(bank), request)
    db.session.commit()
    emails = (asker.email, bank.email, organiser.email)
    sign_in(client, emails[0])
    page = client.get("/events/agenda").get_data(as_text=True)
    assert "已接受，待主办方安排时段" in page and f"pending-{request.id}" in page
    page = client.get("/events/requests").get_data(as_text=True)
    assert "已接受，待主办方安排时段" in page
    client.post("/account/sign-out")
    sign_in(client, emails[2])
    page = client.get(f"/organiser/sessions/{session.id}/matching").get_data(as_text=True)
    assert f'id="pending-{request.id}"' in page
    link = f"/organiser/sessions/{session.id}/matching?enterprise={asker.enterprise_id}&amp;institution=" \
           f"{bank.institution_id}#add-meeting"
    assert link in page
    prefilled = client.get(link.replace("&amp;", "&").split("#")[0]).get_data(as_text=True)
    assert f'<option selected value="{asker.enterprise_id}">' in prefilled or \
        f'value="{asker.enterprise_id}" selected' in prefilled
