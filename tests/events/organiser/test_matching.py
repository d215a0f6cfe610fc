"""run_matching: meetings that respect caps, slots and tables; the unmatched with reasons; safe to re-run."""
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from core.errors import FieldError
from core.extensions import db
from events.enums import EventStatus, MeetingSource, MeetingStatus
from events.models import Event, EventSession, Meeting, Registration, UnmatchedEnterprise
from events.services import publication, schedule_edits, scheduling
from tests.support import factories
from tests.support.events import actor, approve_sme, make_session, matching_scenario


def _session(scenario) -> EventSession:
    return db.session.get(EventSession, scenario["session"].id)


def _active(session_id: int) -> list[Meeting]:
    return list(db.session.scalars(select(Meeting).where(Meeting.session_id == session_id,
                                                         Meeting.status != MeetingStatus.CANCELLED.value)))


def _assert_no_clash(meetings, slots: int, tables: dict[int, int]) -> None:
    assert len({(m.enterprise_id, m.slot) for m in meetings}) == len(meetings), "an SME is in two places at once"
    assert len({(m.institution_id, m.table_number, m.slot) for m in meetings}) == len(meetings), "a table is double-booked"
    assert len({(m.enterprise_id, m.institution_id) for m in meetings}) == len(meetings), "a pair meets twice"
    for m in meetings:
        assert 0 <= m.slot < slots
        assert 1 <= m.table_number <= tables[m.institution_id]


def test_matching_fills_the_grid_without_clashes(db_session):
    scenario = matching_scenario(smes=5, banks=2, tables=2)
    session = _session(scenario)
    summary = scheduling.run_matching(actor(scenario["organiser"]), session)
    meetings = _active(session.id)
    assert summary.meetings == len(meetings) == 10  # every SME meets both banks
    _assert_no_clash(meetings, session.slot_count, {b.institution_id: 2 for b in scenario["banks"]})
    assert all(m.status == MeetingStatus.PROPOSED and m.source == MeetingSource.MATCHER for m in meetings)
    assert all(m.reasons and m.reasons[0]["zh"] and 0 < m.score <= 1000 for m in meetings)
    assert {m.need_id for m in meetings} == {n.id for n in scenario["needs"]}
    assert session.matched_at is not None
    assert db.session.get(Event, session.event_id).status == EventStatus.MATCHED  # its only matchmaking session


def test_caps_and_unavailable_slots_are_respected(db_session):
    scenario = matching_scenario(smes=4, banks=2, tables=1, bank_max_meetings=2)
    session = _session(scenario)
    busy_sme = scenario["smes"][0]
    registration = db.session.scalar(select(Registration).where(
        Registration.enterprise_id == busy_sme.enterprise_id))
    registration.unavailable_slots, registration.max_meetings = [0, 1], 1
    db.session.commit()
    scheduling.run_matching(actor(scenario["organiser"]), session)
    meetings = _active(session.id)
    per_bank = Counter(m.institution_id for m in meetings)
    assert max(per_bank.values()) <= 2
    per_sme = Counter(m.enterprise_id for m in meetings)
    assert per_sme[busy_sme.enterprise_id] <= 1
    assert all(m.slot not in (0, 1) for m in meetings if m.enterprise_id == busy_sme.enterprise_id)
    instance = scheduling.build_instance(session, scheduling.approved_registrations(session), [])
    placed = sorted((m.enterprise_id, m.institution_id, m.slot) for m in meetings)
    assert len(meetings) == 4, (instance, placed)  # 2 banks × 2 meetings; fairness gives each SME one
    assert set(per_sme.values()) == {1}, (instance, placed)
    _assert_no_clash(meetings, session.slot_count, {b.institution_id: 1 for b in scenario["banks"]})


def test_the_unmatched_are_stored_with_reasons(db_session):
    scenario = matching_scenario(smes=1, banks=1)
    session = _session(scenario)
    too_big = factories.sme()
    need = factories.need(too_big, amount_yuan=900_000_000)
    approve_sme(session, too_big, [need])
    scheduling.run_matching(actor(scenario["organiser"]), session)
    unmatched = db.session.scalars(select(UnmatchedEnterprise)).all()
    assert [(u.enterprise_id, u.reason_code) for u in unmatched] == [(too_big.enterprise_id, "amount_out_of_range")]
    assert "额度" in unmatched[0].reason_zh and unmatched[0].reason_en


def test_an_sme_whose_needs_the_session_does_not_serve_is_told_so(db_session):
    scenario = matching_scenario(smes=1, banks=1)
    session = _session(scenario)
    investor_seeker = factories.sme()
    approve_sme(session, investor_seeker, [factories.need(investor_seeker, type="equity", amount_yuan=20_000_000)])
    scheduling.run_matching(actor(scenario["organiser"]), session)
    (unmatched,) = db.session.scalars(select(UnmatchedEnterprise)).all()
    assert unmatched.reason_code == "type_not_served" and "不在本场服务范围" in unmatched.reason_zh


def test_due_matching_goes_on_past_a_session_it_cannot_match(db_session):
    scenario = matching_scenario()
    event = db.session.get(Event, scenario["event"].id)
    broken = make_session(scenario["organiser"], event, title="尚未配置时段的对接会")
    db.session.execute(update(EventSession).where(EventSession.id == broken.id).values(slot_minutes=None))
    db.session.commit()
    # The good session is matched all the same; the event waits for the broken one.
    assert scheduling.run_due_matching(event.matching_at) == {event.id: [scenario["session"].id]}
    assert len(_active(scenario["session"].id)) == 6
    db.session.refresh(event)
    assert event.status == EventStatus.CLOSED


def test_running_again_replaces_only_the_proposals(db_session):
    scenario = matching_scenario(smes=3, banks=2)
    organiser = actor(scenario["organiser"])
    session = _session(scenario)
    scheduling.run_matching(organiser, session)
    first = sorted((m.enterprise_id, m.institution_id, m.slot, m.table_number) for m in _active(session.id))
    scheduling.run_matching(organiser, session)
    db.session.commit()
    second = sorted((m.enterprise_id, m.institution_id, m.slot, m.table_number) for m in _active(session.id))
    assert len(second) == len(first) == 6
    assert db.session.scalar(select(db.func.count(Meeting.id))) == 6  # replaced, not added


def test_published_and_organiser_meetings_survive_a_new_run(db_session):
    scenario = matching_scenario(smes=3, banks=2)
    organiser = actor(scenario["organiser"])
    session = _session(scenario)
    scheduling.run_matching(organiser, session)
    publication.publish_schedule(organiser, session)
    scheduled = {m.id for m in _active(session.id)}
    late = factories.sme()
    approve_sme(session, late, [factories.need(late, amount_yuan=3_000_000)])
    bank = scenario["banks"][0]
    taken = {(m.slot, m.table_number) for m in _active(session.id) if m.institution_id == bank.institution_id}
    free_slot = next(s for s in range(session.slot_count) if (s, 1) not in taken)
    added = schedule_edits.add_meeting(organiser, session, late.enterprise_id, bank.institution_id, free_slot, 1)
    scheduling.run_matching(organiser, session)
    meetings = _active(session.id)
    ids = {m.id for m in meetings}
    assert scheduled <= ids and added.id in ids
    assert all(m.status == MeetingStatus.SCHEDULED for m in meetings if m.id in scheduled)
    _assert_no_clash(meetings, session.slot_count, {b.institution_id: 1 for b in scenario["banks"]})
    # The late SME also gets its meeting with the other bank, proposed around the kept ones.
    late_meetings = {m.institution_id for m in meetings if m.enterprise_id == late.enterprise_id}
    assert late_meetings == {b.institution_id for b in scenario["banks"]}


def test_matching_waits_for_registration_to_close(db_session):
    scenario = matching_scenario(status=EventStatus.OPEN)
    with pytest.raises(FieldError) as refused:
        scheduling.run_matching(actor(scenario["organiser"]), _session(scenario))
    assert "报名截止后" in str(refused.value.message)
    assert _active(scenario["session"].id) == []


def test_due_matching_runs_each_closed_event_once(db_session):
    scenario = matching_scenario()
    event = db.session.get(Event, scenario["event"].id)
    assert scheduling.run_due_matching(event.matching_at - timedelta(minutes=1)) == {}
    assert scheduling.run_due_matching(event.matching_at) == {event.id: [scenario["session"].id]}
    assert scheduling.run_due_matching(event.matching_at) == {}
    db.session.refresh(event)
    assert event.status == EventStatus.MATCHED
    assert len(_active(scenario["session"].id)) == 6


def test_engine_ids_and_requests(db_session):
    """The instance handed to the engine: string ids, the session's financing types, the event's requests."""
    scenario = matching_scenario(smes=1, banks=2)
    session = _session(scenario)
    sme, (bank_a, bank_b) = scenario["smes"][0], scenario["banks"]
    from core.clock import utcnow
    from events.models import MeetingRequest
    for bank, status in ((bank_a, "declined"), (bank_b, "accepted")):
        db.session.add(MeetingRequest(event_id=session.event_id, enterprise_id=sme.enterprise_id,
                                      institution_id=bank.institution_id, direction="from_enterprise",
                                      status=status, respond_by=utcnow()))
    equity = factories.need(sme, type="equity", amount_yuan=20_000_000)
    db.session.commit()
    registrations = scheduling.approved_registrations(session)
    registrations[0].needs.append(equity)
    instance = scheduling.build_instance(session, registrations, [])
    assert [e.id for e in instance.enterprises] == [f"e{sme.enterprise_id}"]
    assert [n.id for n in instance.needs] == [f"n{scenario['needs'][0].id}"]  # equity is not served here
    assert {i.id for i in instance.institutions} == {f"i{bank_a.institution_id}", f"i{bank_b.institution_id}"}
    assert {(r.institution, r.status) for r in instance.requests} == {
        (f"i{bank_a.institution_id}", "declined"), (f"i{bank_b.institution_id}", "accepted")}
    scheduling.run_matching(actor(scenario["organiser"]), session)
    assert [m.institution_id for m in _active(session.id)] == [bank_b.institution_id]
