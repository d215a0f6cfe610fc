"""Agenda: meetings in Shanghai time, the iCalendar file, cancelling, freed slots, booking, check-in."""
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from icalendar import Calendar
from sqlalchemy import func, select

from core.clock import SHANGHAI
from core.errors import FieldError, Forbidden, NotFound
from core.extensions import db
from events.enums import MeetingSource, MeetingStatus, RegistrationStatus
from events.models import EventSession, Meeting, UnmatchedEnterprise
from events.services import agenda
from market.enums import NeedStatus
from market.models import FinancingNeed, Institution
from notifications.models import Notification
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


def _count(model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def _world(published=True, slots=4, tables=1, **session):
    event = make_event()
    the_session = make_session(event, published=published, slots=slots, starts_at=utc(2030, 3, 12, 9), **session)
    sme_user, need, _ = registered_sme(the_session)
    bank_user, product, _ = registered_bank(the_session, tables=tables)
    return the_session, sme_user, need, bank_user, product


def test_agenda_hides_unpublished_matcher_proposals_but_shows_own_requests(db_session):
    session, sme_user, need, bank_user, _ = _world(published=False)
    make_meeting(session, sme_user, bank_user, need, status=MeetingStatus.PROPOSED)
    assert agenda.agenda_for(actor(sme_user)) == []
    other_bank, _, _ = registered_bank(session)
    mine = make_meeting(session, sme_user, other_bank, need, slot=1, status=MeetingStatus.PROPOSED,
                        source=MeetingSource.REQUEST)
    assert [m.id for m in agenda.agenda_for(actor(sme_user))] == [mine.id]


def test_location_is_venue_and_table_or_the_online_room(db_session):
    session, sme_user, need, bank_user, _ = _world()
    meeting = make_meeting(session, sme_user, bank_user, need, table=1)
    assert agenda.meeting_location(meeting) == "杭州国际博览中心 B1 洽谈区 第 01 桌"
    online = make_session(db.session.get(EventSession, session.id).event, mode="online",
                          online_url="https://meeting.example.com/r/42")
    assert agenda.meeting_location(Meeting(session=online, table_number=3)) == "https://meeting.example.com/r/42"


def test_ics_parses_back_with_the_right_times_and_stable_uids(db_session):
    session, sme_user, need, bank_user, _ = _world()
    first = make_meeting(session, sme_user, bank_user, need, slot=0)  # 09:00 Shanghai == 01:00 UTC
    other_bank, _, _ = registered_bank(session)
    second = make_meeting(session, sme_user, other_bank, need, slot=2)
    body = agenda.agenda_ics(actor(sme_user), agenda.agenda_for(actor(sme_user)))
    calendar = Calendar.from_ical(body)
    assert str(calendar["VERSION"]) == "2.0" and "chainmatch" in str(calendar["PRODID"])
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    events = calendar.walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [f"meeting-{first.id}@chainmatch", f"meeting-{second.id}@chainmatch"]
    start = events[0].decoded("DTSTART")
    assert start.astimezone(UTC) == datetime(2030, 3, 12, 1, 0, tzinfo=UTC)
    assert start.astimezone(SHANGHAI).hour == 9
    assert events[0].decoded("DTEND") - start == timedelta(minutes=30)
    assert events[1].decoded("DTSTART").astimezone(UTC) == datetime(2030, 3, 12, 2, 0, tzinfo=UTC)
    assert "第 01 桌" in str(events[0]["LOCATION"]) and "杭州国际博览中心" in str(events[0]["LOCATION"])
    # each bank's own first table is a different table of the hall
    assert "第 02 桌" in str(events[1]["LOCATION"]) and "桌号：第 02 桌" in str(events[1]["DESCRIPTION"])
    bank_name = db.session.get(Institution, bank_user.institution_id).name
    assert bank_name in str(events[0]["SUMMARY"])
    assert str(events[0]["STATUS"]) == "CONFIRMED"
    again = Calendar.from_ical(agenda.agenda_ics(actor(sme_user), agenda.agenda_for(actor(sme_user))))
    assert [str(e["UID"]) for e in again.walk("VEVENT")] == [str(e["UID"]) for e in events]


def test_institution_ics_does_not_name_an_sme_without_consent(db_session):
    session, sme_user, need, bank_user, _ = _world()
    make_meeting(session, sme_user, bank_user, need)
    calendar = Calendar.from_ical(agenda.agenda_ics(actor(bank_user), agenda.agenda_for(actor(bank_user))))
    summary = str(calendar.walk("VEVENT")[0]["SUMMARY"])
    assert "测试企业" not in summary and "未授权" in summary


def test_cancel_needs_a_reason_tells_the_other_side_and_offers_the_slot(db_session):
    session, sme_user, need, bank_user, _ = _world()
    meeting = make_meeting(session, sme_user, bank_user, need, slot=1)
    waiting_user, _, _ = registered_sme(session, status=RegistrationStatus.WAITLISTED)
    unmatched_user, _, _ = registered_sme(session)
    db.session.add(UnmatchedEnterprise(session_id=session.id, enterprise_id=unmatched_user.enterprise_id,
                                       reason_code="no_capacity", reason_zh="名额不足", reason_en="no capacity"))
    equity_user, _, _ = registered_sme(session, status=RegistrationStatus.WAITLISTED, need_type="equity")
    db.session.commit()
    with pytest.raises(FieldError) as refused:
        agenda.cancel_meeting(actor(sme_user), meeting, "")
    assert refused.value.field == "reason"
    agenda.cancel_meeting(actor(sme_user), meeting, "时间冲突")
    db.session.commit()
    cancelled = fresh(Meeting, meeting)
    assert (cancelled.status, cancelled.cancel_reason) == (MeetingStatus.CANCELLED, "时间冲突")
    told = db.session.scalars(select(Notification).where(Notification.kind == "meeting_cancelled")).all()
    assert [n.user_id for n in told] == [bank_user.id]
    offers = db.session.scalars(select(Notification).where(Notification.kind == "freed_slot_offer")).all()
    assert sorted(n.user_id for n in offers) == sorted([waiting_user.id, unmatched_user.id])
    assert f"/events/sessions/{session.id}/book?" in offers[0].link and "slot=1" in offers[0].link


def test_only_the_parties_see_or_cancel_a_meeting(db_session):
    session, sme_user, need, bank_user, _ = _world()
    meeting = make_meeting(session, sme_user, bank_user, need)
    stranger = factories.sme()
    with pytest.raises(NotFound):
        agenda.own_meeting(actor(stranger), meeting.id)


def test_booking_a_free_slot_and_the_refusals(db_session):
    session, sme_user, need, bank_user, _ = _world(tables=2)
    institution = db.session.get(Institution, bank_user.institution_id)
    meeting = agenda.book_slot(actor(sme_user), session, institution, 1, 2)
    db.session.commit()
    assert (meeting.slot, meeting.table_number, meeting.source) == (1, 2, MeetingSource.BOOKING)
    assert meeting.need_id == need.id and meeting.status == MeetingStatus.SCHEDULED
    assert agenda.book_slot(actor(sme_user), session, institution, 1, 2).id == meeting.id  # double submit
    other_user, _, _ = registered_sme(session)
    with pytest.raises(FieldError, match="该时段刚刚被预约，请选择其他时段"):
        agenda.book_slot(actor(other_user), session, institution, 1, 2)
    with pytest.raises(FieldError, match="已与该机构"):
        agenda.book_slot(actor(sme_user), session, institution, 2, 1)
    assert fresh(FinancingNeed, need).status == NeedStatus.MATCHED


def test_booking_needs_a_published_session_and_a_registration(db_session):
    session, sme_user, need, bank_user, _ = _world(published=False)
    institution = db.session.get(Institution, bank_user.institution_id)
    with pytest.raises(FieldError, match="尚未发布"):
        agenda.book_slot(actor(sme_user), session, institution, 0, 1)
    session.published_at = datetime(2030, 1, 1)
    db.session.commit()
    outsider = factories.sme()
    with pytest.raises(FieldError, match="请先报名"):
        agenda.book_slot(actor(outsider), session, institution, 0, 1)


def test_booking_respects_the_institutions_unavailable_slots_and_product_types(db_session):
    event = make_event()
    session = make_session(event, published=True, starts_at=utc(2030, 3, 12, 9))
    sme_user, _, _ = registered_sme(session, need_type="loan")
    insurer, _, _ = registered_bank(session, product_type="insurance")
    bank, _, _ = registered_bank(session, unavailable=[0])
    with pytest.raises(FieldError, match="不对应"):
        agenda.book_slot(actor(sme_user), session, db.session.get(Institution, insurer.institution_id), 0, 1)
    with pytest.raises(FieldError, match="不可预约"):
        agenda.book_slot(actor(sme_user), session, db.session.get(Institution, bank.institution_id), 0, 1)


def test_check_in_by_the_institution_marks_held_from_the_sessions_day(db_session):
    session, sme_user, need, bank_user, _ = _world()
    meeting = make_meeting(session, sme_user, bank_user, need)
    with pytest.raises(FieldError, match="当天"):
        agenda.check_in(actor(bank_user), meeting, now=utc(2030, 3, 11, 9))
    with pytest.raises(Forbidden):
        agenda.check_in(actor(sme_user), meeting, now=utc(2030, 3, 12, 9))
    db.session.rollback()
    agenda.check_in(actor(bank_user), db.session.get(Meeting, meeting.id), now=utc(2030, 3, 12, 8, 55))
    db.session.commit()
    held = fresh(Meeting, meeting)
    assert held.status == MeetingStatus.HELD and held.checked_in_at is not None
    assert fresh(FinancingNeed, need).status == NeedStatus.MET


def test_check_in_by_an_organiser(db_session):
    session, sme_user, need, bank_user, _ = _world()
    meeting = make_meeting(session, sme_user, bank_user, need)
    organiser = factories.organiser("330100")
    agenda.check_in(actor(organiser), meeting, now=utc(2030, 3, 12, 9))
    assert meeting.status == MeetingStatus.HELD


def test_a_meeting_that_started_cannot_be_cancelled(db_session):
    session, sme_user, need, bank_user, _ = _world()
    meeting = make_meeting(session, sme_user, bank_user, need)
    with time_machine.travel(utc(2030, 3, 12, 9, 5), tick=False):
        with pytest.raises(FieldError, match="已开始"):
            agenda.cancel_meeting(actor(sme_user), meeting, "来不了")
