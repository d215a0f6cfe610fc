"""Moving, cancelling and adding meetings: the database refuses clashes and the message names the other meeting."""
import pytest
from sqlalchemy import select

from core.clock import format_shanghai
from core.errors import FieldError
from core.extensions import db
from events.enums import MeetingSource, MeetingStatus
from events.models import EventSession, Meeting, Registration
from events.services import schedule_edits, scheduling, venue_tables
from tests.conftest import sign_in
from tests.support import factories
from tests.support.database import database
from tests.support.events import actor, approve_sme, matching_scenario
from tests.support.pages import element_html


def _grid(scenario):
    """A matched session of 3 SMEs × 2 banks (1 table each, 4 slots) and its meetings by (sme, bank)."""
    session = db.session.get(EventSession, scenario["session"].id)
    scheduling.run_matching(actor(scenario["organiser"]), session)
    db.session.commit()
    meetings = db.session.scalars(select(Meeting).where(Meeting.session_id == session.id)).all()
    return session, {(m.enterprise_id, m.institution_id): m for m in meetings}


def _when(meeting) -> str:
    return f"{format_shanghai(meeting.starts_at, '%m-%d %H:%M')}–{format_shanghai(meeting.ends_at, '%H:%M')}"


def _meeting_at(meetings, **where):
    return next(m for m in meetings.values() if all(getattr(m, k) == v for k, v in where.items()))


def test_moving_onto_the_smes_own_slot_names_the_other_meeting(db_session):
    scenario = matching_scenario()
    session, meetings = _grid(scenario)
    sme = scenario["smes"][0]
    bank_a, bank_b = scenario["banks"]
    first, second = meetings[(sme.enterprise_id, bank_a.institution_id)], meetings[(sme.enterprise_id, bank_b.institution_id)]
    with pytest.raises(FieldError) as refused:
        schedule_edits.move_meeting(actor(scenario["organiser"]), first, second.slot, 1)
    assert refused.value.field == "slot"
    message = str(refused.value.message)
    assert message == f"该企业在 {_when(second)} 已与 {second.institution.name} 会谈（场次：{session.title}）。"
    db.session.refresh(first)
    assert first.slot != second.slot  # nothing half-saved


def test_moving_onto_a_busy_table_names_the_institution_table_and_sme(db_session):
    scenario = matching_scenario(smes=2, banks=1)
    session, meetings = _grid(scenario)
    bank = scenario["banks"][0]
    mine = meetings[(scenario["smes"][0].enterprise_id, bank.institution_id)]
    theirs = meetings[(scenario["smes"][1].enterprise_id, bank.institution_id)]
    with pytest.raises(FieldError) as refused:
        schedule_edits.move_meeting(actor(scenario["organiser"]), mine, theirs.slot, 1)
    assert refused.value.field == "table_number"
    message = str(refused.value.message)
    assert f"{theirs.institution.name} {venue_tables.meeting_table_label(theirs)}在 {_when(theirs)} 已有会谈" in message
    assert "第 0" in venue_tables.meeting_table_label(theirs)  # the venue's label, not the bank's own number
    assert theirs.enterprise.name in message


def test_moving_to_a_free_place(db_session):
    scenario = matching_scenario(smes=1, banks=1, tables=2)
    session, meetings = _grid(scenario)
    (meeting,) = meetings.values()
    target = (meeting.slot + 1) % session.slot_count
    schedule_edits.move_meeting(actor(scenario["organiser"]), meeting, target, 2)
    db.session.commit()
    db.session.refresh(meeting)
    assert (meeting.slot, meeting.table_number) == (target, 2)


@pytest.mark.parametrize("slot, table, field, message", [
    (4, 1, "slot", "时段须在第 1 至第 4 时段之间"),
    (-1, 1, "slot", "时段须在第 1 至第 4 时段之间"),
    (0, 2, "table_number", "只有 1 张洽谈桌"),
])
def test_places_outside_the_session_or_tables_are_refused(db_session, slot, table, field, message):
    scenario = matching_scenario(smes=1, banks=1)
    session, meetings = _grid(scenario)
    (meeting,) = meetings.values()
    with pytest.raises(FieldError) as refused:
        schedule_edits.move_meeting(actor(scenario["organiser"]), meeting, slot, table)
    assert refused.value.field == field and message in str(refused.value.message)


def test_a_slot_a_party_excluded_is_refused(db_session):
    scenario = matching_scenario(smes=1, banks=1)
    session, meetings = _grid(scenario)
    (meeting,) = meetings.values()
    registration = db.session.scalar(select(Registration).where(
        Registration.institution_id == meeting.institution_id))
    blocked = (meeting.slot + 1) % session.slot_count
    registration.unavailable_slots = [blocked]
    db.session.commit()
    with pytest.raises(FieldError) as refused:
        schedule_edits.move_meeting(actor(scenario["organiser"]), meeting, blocked, 1)
    assert "已说明" in str(refused.value.message) and meeting.institution.name in str(refused.value.message)


def test_cancel_needs_a_reason_and_happens_once(db_session):
    scenario = matching_scenario(smes=1, banks=1)
    session, meetings = _grid(scenario)
    (meeting,) = meetings.values()
    organiser = actor(scenario["organiser"])
    with pytest.raises(FieldError) as refused:
        schedule_edits.cancel_meeting(organiser, meeting, " ")
    assert refused.value.field == "reason"
    assert schedule_edits.cancel_meeting(organiser, meeting, "企业临时有事") is True
    assert schedule_edits.cancel_meeting(organiser, meeting, "再取消一次") is False
    assert meeting.status == MeetingStatus.CANCELLED and meeting.cancel_reason == "企业临时有事"
    with pytest.raises(FieldError):
        schedule_edits.move_meeting(organiser, meeting, 0, 1)


def test_a_cancelled_meeting_frees_its_place(db_session):
    scenario = matching_scenario(smes=2, banks=1)
    session, meetings = _grid(scenario)
    bank = scenario["banks"][0]
    first = meetings[(scenario["smes"][0].enterprise_id, bank.institution_id)]
    second = meetings[(scenario["smes"][1].enterprise_id, bank.institution_id)]
    organiser = actor(scenario["organiser"])
    schedule_edits.cancel_meeting(organiser, second, "调整")
    schedule_edits.move_meeting(organiser, first, second.slot, 1)
    assert first.slot == second.slot


def test_adding_a_meeting(db_session):
    scenario = matching_scenario(smes=2, banks=1)
    session, meetings = _grid(scenario)
    organiser = actor(scenario["organiser"])
    bank = scenario["banks"][0]
    newcomer = factories.sme()
    approve_sme(session, newcomer, [factories.need(newcomer)])
    taken = {m.slot for m in meetings.values()}
    clash_slot = next(iter(taken))
    with pytest.raises(FieldError) as refused:
        schedule_edits.add_meeting(organiser, session, newcomer.enterprise_id, bank.institution_id, clash_slot, 1)
    assert refused.value.field == "table_number" and "第 01 桌" in str(refused.value.message)
    free = next(s for s in range(session.slot_count) if s not in taken)
    meeting = schedule_edits.add_meeting(organiser, session, newcomer.enterprise_id, bank.institution_id, free, 1)
    assert meeting.source == MeetingSource.ORGANISER and meeting.status == MeetingStatus.PROPOSED
    assert meeting.need_id is not None and meeting.product_id is not None
    other_free = next(s for s in range(session.slot_count) if s not in taken and s != free)
    with pytest.raises(FieldError) as refused:
        schedule_edits.add_meeting(organiser, session, newcomer.enterprise_id, bank.institution_id, other_free, 1)
    assert refused.value.field == "institution" and "双方在本场次已有会谈" in str(refused.value.message)


def test_only_approved_parties_can_be_added(db_session):
    scenario = matching_scenario(smes=1, banks=1)
    session, _ = _grid(scenario)
    stranger = factories.sme()
    with pytest.raises(FieldError) as refused:
        schedule_edits.add_meeting(actor(scenario["organiser"]), session, stranger.enterprise_id,
                                   scenario["banks"][0].institution_id, 0, 1)
    assert refused.value.field == "enterprise"


def test_the_page_shows_the_clash_beside_the_field_of_that_meeting(app, client):
    with database(app):
        scenario = matching_scenario()
        session, meetings = _grid(scenario)
        sme = scenario["smes"][0]
        bank_a, bank_b = scenario["banks"]
        first = meetings[(sme.enterprise_id, bank_a.institution_id)]
        second = meetings[(sme.enterprise_id, bank_b.institution_id)]
        other_name = second.institution.name
    sign_in(client, scenario["organiser"].email)
    response = client.post(f"/organiser/meetings/{first.id}/move",
                           data={f"m{first.id}-slot": str(second.slot), f"m{first.id}-table_number": "1"})
    assert response.status_code == 422
    block = element_html(response.get_data(as_text=True), f"field-m{first.id}-slot")
    assert block is not None and f"已与 {other_name} 会谈" in block
    with database(app) as session_:
        assert session_.get(Meeting, first.id).slot == first.slot
