"""Restarts: the real BackgroundScheduler catches up at start, and a restart sends nothing twice."""
import logging
import time
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as clock_time

import pytest
from sqlalchemy import select

from chainmatch.scheduler import (
    DELIVERY_JOB_ID,
    SWEEP_JOB_ID,
    Leadership,
    deliver_outbox,
    run_due_work,
    start_scheduler,
)
from core.clock import utcnow
from events.services import planning
from notifications import delivery
from notifications.models import Notification
from tests.scheduler import scenario as s
from tests.support.database import database

POLL_LIMIT_SECONDS = 60


@pytest.fixture(autouse=True)
def _empty_memory_outbox():
    delivery.SENT_IN_MEMORY.clear()
    yield
    delivery.SENT_IN_MEMORY.clear()


def wait_until(condition, what: str):
    """Poll `condition` until it holds; fail (not time) when it never does within a generous bound."""
    deadline = time.monotonic() + POLL_LIMIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    pytest.fail(f"never happened: {what}")


def draft_opening_in_the_past(app, people) -> int:
    """A draft whose registration opened two hours ago — while the scheduler was down."""
    now = utcnow()
    with database(app) as session:
        event = planning.create_event(s.user(people.organiser), planning.EventFacts(
            title="停机期间到点的活动", chain_code="ai", host_region_code="330100",
            starts_on=date.today() + timedelta(days=20), ends_on=date.today() + timedelta(days=25),
            registration_opens_at=now - timedelta(hours=2), registration_closes_at=now + timedelta(days=5)))
        start = datetime.combine(date.today() + timedelta(days=21), clock_time(2, 0))  # 10:00 in Shanghai
        planning.create_session(s.user(people.organiser), event, planning.SessionFacts(
            kind="training", mode="online", title="政策解读", starts_at=start, ends_at=start + timedelta(hours=1),
            online_url="https://live.example.cn/room/7"))
        planning.mark_ready(s.user(people.organiser), event)  # set up in time; the scheduler was down
        session.commit()
        return event.id


def sent_kinds() -> Counter:
    return Counter(email["X-Chainmatch-Kind"] for email in list(delivery.SENT_IN_MEMORY))


def all_delivered(app) -> bool:
    with database(app) as session:
        states = set(session.scalars(select(Notification.status)))
        return bool(states) and states == {"sent"}


def test_a_scheduler_down_across_the_opening_time_opens_registration_at_start(app):
    people = s.make_people(app, smes=("A",), institutions=("I1",))
    event_id = draft_opening_in_the_past(app, people)

    scheduler = start_scheduler(app, background=True)
    try:
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {SWEEP_JOB_ID, DELIVERY_JOB_ID}
        assert all(job.coalesce and job.max_instances == 1 for job in jobs.values())
        assert jobs[SWEEP_JOB_ID].misfire_grace_time == 30
        wait_until(lambda: s.status(app, event_id) == "open", "registration opened after the start")
    finally:
        scheduler.shutdown(wait=True)
    assert [(old, new) for old, new, _at, _actor in s.status_history(app, event_id)] == [("draft", "open")]


def test_restarting_mid_month_sends_no_duplicate(app):
    people = s.make_people(app, smes=("A",), institutions=("I1",))
    first_event = draft_opening_in_the_past(app, people)
    [meeting_id] = s.published_meetings(app, people, [("A", "I1", 0)])

    first = start_scheduler(app, background=True)
    try:
        wait_until(lambda: s.status(app, first_event) == "open" and sent_kinds()["meeting_reminder_1h"] == 2
                   and all_delivered(app), "the first scheduler opened and reminded")
    finally:
        first.shutdown(wait=True)

    second_event = draft_opening_in_the_past(app, people)  # falls due while "down"
    second = start_scheduler(app, background=True)
    try:
        wait_until(lambda: s.status(app, second_event) == "open", "the restarted scheduler swept")
        wait_until(lambda: second.get_job(DELIVERY_JOB_ID).next_run_time is not None and all_delivered(app),
                   "the restarted scheduler delivered")
    finally:
        second.shutdown(wait=True)

    # A restart in the middle of a sweep's window: run both jobs again by hand, as a third process would.
    run_due_work(app)
    deliver_outbox(app)

    assert sent_kinds() == Counter({"meeting_reminder_1h": 2})
    assert sorted(s.messages(app, "meeting_reminder_1h")) == sorted(
        [(people.smes["A"], "meeting", meeting_id), (people.institutions["I1"], "meeting", meeting_id)])
    for event_id in (first_event, second_event):
        assert [(old, new) for old, new, _at, _actor in s.status_history(app, event_id)] == [("draft", "open")]


def test_a_failing_job_is_logged_and_the_others_still_run(app, monkeypatch, caplog):
    from chainmatch import scheduler
    from events import jobs
    monkeypatch.setattr(scheduler.log, "disabled", False)  # alembic's fileConfig in another test disables loggers
    caplog.set_level(logging.ERROR, logger=scheduler.log.name)
    people = s.make_people(app, smes=("A",), institutions=("I1",))
    event_id = draft_opening_in_the_past(app, people)

    def broken(now):
        raise RuntimeError("the matcher fell over")

    monkeypatch.setattr(jobs, "DUE_WORK", (("broken_job", broken),) + jobs.DUE_WORK)
    results = run_due_work(app)
    assert results["broken_job"] is None and results["open_registrations"] == 1
    assert s.status(app, event_id) == "open"
    assert "scheduler job broken_job failed" in caplog.text and "the matcher fell over" in caplog.text


def test_on_sqlite_every_process_leads(app):
    from core.extensions import db
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite only")
        first, second = Leadership(db.engine), Leadership(db.engine)
    assert first.is_leader() and second.is_leader()
