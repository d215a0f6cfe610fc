"""Scheduler entry points of the month: thin wrappers over the services, each doing what is due at `now`.

`DUE_WORK` is the order of one sweep (chainmatch.scheduler.run_due_work commits after each job), so a
scheduler that was down for days catches up in one sweep: open → close → match → publish → start →
remind → expire → chase → ask for outcomes → finish → report → next month's drafts. Every job is safe
to run again: status moves are conditional UPDATEs, messages one outbox row per user × kind × object.
"""
from collections.abc import Callable
from datetime import datetime

from core.extensions import db
from events.enums import EventStatus
from events.models import Event
from events.services import lifecycle, planning, publication, reminders, requests, scheduling


def open_registrations(now: datetime) -> int:
    return len(planning.open_due_registrations(now))


def close_registrations(now: datetime) -> int:
    return len(planning.close_due_registrations(now))


def run_matching(now: datetime) -> int:
    """Match events whose matching time came, and tell their organisers."""
    done = scheduling.run_due_matching(now)
    for event_id in done:
        event = db.session.get(Event, event_id)
        if event.status == EventStatus.MATCHED:
            lifecycle.tell_organisers_matching_done(event)
    return len(done)


def publish_schedules(now: datetime) -> int:
    return len(publication.publish_due_schedules(now))


def start_events(now: datetime) -> int:
    return len(lifecycle.start_due_events(now))


def remind_sessions(now: datetime) -> int:
    return reminders.send_session_reminders(now)


def remind_meetings(now: datetime) -> int:
    return reminders.send_meeting_reminders(now)


def expire_requests(now: datetime) -> int:
    """Meeting requests not answered within the promised working days expire; both sides are told."""
    return requests.expire_overdue_requests(now)


def chase_smes_without_meetings(now: datetime) -> int:
    return reminders.chase_smes_without_meetings(now)


def request_outcomes(now: datetime) -> int:
    return reminders.request_outcomes(now)


def finish_events(now: datetime) -> int:
    return len(lifecycle.finish_due_events(now))


def report_events(now: datetime) -> int:
    return len(lifecycle.report_due_events(now))


def create_next_month_drafts(now: datetime) -> int:
    return len(lifecycle.create_next_month_drafts(now))


DUE_WORK: tuple[tuple[str, Callable[[datetime], int]], ...] = (
    ("open_registrations", open_registrations),
    ("close_registrations", close_registrations),
    ("run_matching", run_matching),
    ("publish_schedules", publish_schedules),
    ("start_events", start_events),
    ("remind_sessions", remind_sessions),
    ("remind_meetings", remind_meetings),
    ("expire_requests", expire_requests),
    ("chase_smes_without_meetings", chase_smes_without_meetings),
    ("request_outcomes", request_outcomes),
    ("finish_events", finish_events),
    ("report_events", report_events),
    ("create_next_month_drafts", create_next_month_drafts),
)
