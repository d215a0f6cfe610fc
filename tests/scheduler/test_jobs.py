"""Single jobs at their edges: reminder windows, next month's drafts, the report once outcomes are in."""
from datetime import date, timedelta

import pytest
import time_machine

from chainmatch.scheduler import run_due_work
from events.models import Event
from events.services.reminders import due_outcome_request, due_reminder
from tests.scheduler import scenario as s
from tests.scheduler.scenario import local
from tests.support.database import database

START = local(2026, 4, 15, 9)


@pytest.mark.parametrize("before, expected", [
    (timedelta(hours=30), None), (timedelta(hours=24, seconds=1), None), (timedelta(hours=24), "24h"),
    (timedelta(hours=2), "24h"), (timedelta(hours=1, seconds=1), "24h"), (timedelta(hours=1), "1h"),
    (timedelta(minutes=1), "1h"), (timedelta(0), None), (-timedelta(minutes=5), None)])
def test_reminder_windows(before, expected):
    assert due_reminder(START, START - before) == expected


@pytest.mark.parametrize("after, expected", [
    (timedelta(hours=23), None), (timedelta(days=1), "1d"), (timedelta(days=6, hours=23), "1d"),
    (timedelta(days=7), "7d"), (timedelta(days=13, hours=23), "7d"), (timedelta(days=14), None)])
def test_outcome_request_windows(after, expected):
    assert due_outcome_request(START, START + after) == expected


def draft_of(app, entry_id: int) -> Event | None:
    with database(app) as session:
        return session.query(Event).filter_by(plan_entry_id=entry_id).one_or_none()


def test_next_months_draft_gets_the_default_times(app):
    people = s.make_people(app, smes=(), institutions=())
    entry = s.add_plan_entry(app, people, 2027, 1)
    later = s.add_plan_entry(app, people, 2027, 2)
    with time_machine.travel(s.aware(local(2026, 12, 1, 0, 0, 30)), tick=False):
        run_due_work(app)
        run_due_work(app)  # a second sweep, or a second scheduler: still one draft
    draft = draft_of(app, entry)
    assert draft is not None and draft_of(app, later) is None
    assert draft.status == "draft" and not draft.publication_approved
    assert draft.title == "2027年1月 · 人工智能产业链 · 杭州"
    assert (draft.starts_on, draft.ends_on) == (date(2027, 1, 1), date(2027, 1, 31))
    assert draft.registration_opens_at == local(2026, 12, 20, 9)
    assert draft.registration_closes_at == local(2027, 1, 5, 17)
    assert draft.matching_at == local(2027, 1, 6, 9)
    assert draft.publication_at == local(2027, 1, 8, 9)
    assert s.messages(app, "draft_event_created") == [(people.organiser, "event", draft.id)]


def test_a_late_plan_entry_opens_three_days_after_its_draft(app):
    people = s.make_people(app, smes=(), institutions=())
    entry = s.add_plan_entry(app, people, 2026, 6)
    with time_machine.travel(s.aware(local(2026, 5, 25, 10)), tick=False):
        run_due_work(app)
    draft = draft_of(app, entry)
    assert draft.registration_opens_at == local(2026, 5, 28, 9)  # three days' notice, not at once

    last_minute = s.add_plan_entry(app, people, 2026, 7)
    with time_machine.travel(s.aware(local(2026, 6, 30, 23, 50)), tick=False):
        run_due_work(app)
    draft = draft_of(app, last_minute)
    assert draft.registration_opens_at == local(2026, 7, 3, 9)
    assert draft.registration_closes_at == local(2026, 7, 5, 17)

    missed = s.add_plan_entry(app, people, 2026, 8)
    with time_machine.travel(s.aware(local(2026, 8, 2, 10)), tick=False):  # down through July: too late
        run_due_work(app)
    assert draft_of(app, missed) is None  # the organiser creates that one by hand


def test_an_event_is_reported_as_soon_as_both_sides_have_recorded_every_outcome(app):
    people = s.make_people(app, smes=("A",), institutions=("I1",))
    entry = s.add_plan_entry(app, people, 2026, 4)
    with time_machine.travel(s.aware(local(2026, 3, 1, 10)), tick=False) as traveller:
        def at(moment):
            traveller.move_to(s.aware(moment))
            run_due_work(app)

        at(local(2026, 3, 1, 10))
        event_id = s.event_of_plan(app, entry)
        sessions = s.add_sessions(app, people, event_id, day=15)
        s.mark_ready(app, people, event_id)
        s.approve_publication(app, people, event_id)
        at(local(2026, 3, 21, 9))
        s.register_everyone(app, people, sessions, matching_smes=("A",), stream_smes=())
        for moment in (local(2026, 4, 5, 18), local(2026, 4, 6, 10), local(2026, 4, 8, 10), local(2026, 4, 15, 10)):
            at(moment)
        [meeting] = s.meetings(app, sessions["matching"])
        s.record_outcome_as(app, people.smes["A"], meeting["id"])
        at(local(2026, 4, 16, 16))
        assert s.status(app, event_id) == "finished"  # the bank has not answered yet
        assert s.messages(app, "outcome_request_1d") == [(people.institutions["I1"], "meeting", meeting["id"])]
        s.record_outcome_as(app, people.institutions["I1"], meeting["id"])
        at(local(2026, 4, 16, 17))
        assert s.status(app, event_id) == "reported"  # long before the 14 days
    assert s.messages(app, "event_reported") == [(people.organiser, "event", event_id)]


def test_the_sweep_reminds_smes_of_policy_application_deadlines(app):
    from policies.store import load_policy_library
    with database(app) as session:
        load_policy_library(session)
        session.commit()
    people = s.make_people(app, smes=("A",), institutions=())
    with time_machine.travel(s.aware(local(2024, 5, 25, 10)), tick=False):  # the 2024 batch closes 30 May
        first = run_due_work(app)
        second = run_due_work(app)
    assert first["remind_policy_deadlines"] > 0 and second["remind_policy_deadlines"] == 0
    reminded = s.messages(app, "policy_deadline")
    assert reminded and {(user_id, kind) for user_id, kind, _id in reminded} == {(people.smes["A"], "policy")}
