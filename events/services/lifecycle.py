"""The event's steps the clock takes after publication, next month's draft, and the organisers' notes.

    published → running    when the first session starts
    running   → finished   when the last session has ended
    finished  → reported   when every meeting that took place has final figures (the institution's outcome,
                           and the SME's confirmation or dispute where it recorded 授信/放款 or the like;
                           reminders.all_outcomes_recorded), or 14 days after the last session (7 days
                           after the second outcome request): the organisers are told the report is ready
Each move goes through `planning.advance_event` (a conditional UPDATE), so a repeated run changes
nothing twice. Next month's draft: see `create_next_month_drafts`; it is created not ready, so the clock
opens its registration only after the organiser has added sessions and marked it ready.
"""
import calendar
import logging
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from accounts.recipients import office_organisers
from core.actors import SYSTEM
from core.clock import format_shanghai, utc_of_shanghai
from core.errors import FieldError
from core.extensions import db
from events.enums import EventStatus, MeetingStatus
from events.models import Event, EventSession, Meeting, UnmatchedEnterprise, YearPlanEntry
from events.services import planning
from events.services.planning import advance_event, shanghai_date
from events.services.reminders import LAST_OUTCOME_ASK, all_outcomes_recorded
from notifications.services import notify, path_for

log = logging.getLogger(__name__)

# Default times of an automatic draft for month M (Asia/Shanghai wall clock); see create_next_month_drafts.
DRAFT_OPENS = (-1, 20, time(9, 0))       # 20th of the month before, 09:00
DRAFT_CLOSES = (0, 5, time(17, 0))       # 5th of the month, 17:00
DRAFT_MATCHING = (0, 6, time(9, 0))      # 6th, 09:00
DRAFT_PUBLICATION = (0, 8, time(9, 0))   # 8th, 09:00 (published automatically only once approved)
DRAFT_LEAST_NOTICE = timedelta(days=3)   # registration never opens sooner than 3 days after the draft appears


def _session_bounds(event_id: int) -> tuple[datetime | None, datetime | None]:
    return db.session.execute(select(func.min(EventSession.starts_at), func.max(EventSession.ends_at))
                              .where(EventSession.event_id == event_id)).one()


def _first_start(event: Event) -> datetime:
    first, _last = _session_bounds(event.id)
    return first or utc_of_shanghai(event.starts_on, time(0, 0))


def _last_end(event: Event) -> datetime:
    _first, last = _session_bounds(event.id)
    return last or utc_of_shanghai(event.ends_on + timedelta(days=1), time(0, 0))


def _advance_where(status: EventStatus, to_status: EventStatus, is_due) -> list[int]:
    changed = []
    for event in db.session.scalars(select(Event).where(Event.status == status.value).order_by(Event.id)).all():
        if is_due(event) and advance_event(SYSTEM, event, to_status):
            changed.append(event.id)
    return changed


def start_due_events(now: datetime) -> list[int]:
    """Published events whose first session has begun are running. Returns their ids."""
    return _advance_where(EventStatus.PUBLISHED, EventStatus.RUNNING, lambda event: _first_start(event) <= now)


def finish_due_events(now: datetime) -> list[int]:
    """Running events whose last session has ended are finished. Returns their ids."""
    return _advance_where(EventStatus.RUNNING, EventStatus.FINISHED, lambda event: _last_end(event) <= now)


def report_due_events(now: datetime) -> list[int]:
    """Finished events with every outcome in, or 14 days after the last session, are reported."""
    def due(event: Event) -> bool:
        return all_outcomes_recorded(event) or _last_end(event) + LAST_OUTCOME_ASK <= now
    changed = _advance_where(EventStatus.FINISHED, EventStatus.REPORTED, due)
    for event_id in changed:
        tell_organisers_report_ready(db.session.get(Event, event_id))
    return changed


# ---- notes to the organisers ------------------------------------------------------------------

def _tell_organisers(event: Event, kind: str, context: dict, link: str) -> int:
    return notify(kind, office_organisers(event.organiser_office_id), object_key=("event", event.id),
                  context=context, link=link)


def _event_link(event: Event) -> str:
    return path_for("organiser.event_detail", event_id=event.id) or path_for("organiser.events")


def tell_organisers_matching_done(event: Event) -> int:
    """After the matching job: how many meetings were proposed and how many SMEs were left out."""
    sessions = select(EventSession.id).where(EventSession.event_id == event.id)
    proposed = db.session.scalar(select(func.count(Meeting.id)).where(
        Meeting.session_id.in_(sessions), Meeting.status == MeetingStatus.PROPOSED)) or 0
    unmatched = db.session.scalar(select(func.count(UnmatchedEnterprise.id)).where(
        UnmatchedEnterprise.session_id.in_(sessions))) or 0
    publication = format_shanghai(event.publication_at) if event.publication_at else ""
    return _tell_organisers(event, "matching_done", {
        "title": event.title, "proposed": proposed, "unmatched": unmatched,
        "publication": publication if event.publication_approved else ""}, _event_link(event))


def tell_organisers_report_ready(event: Event) -> int:
    return _tell_organisers(event, "event_reported", {"title": event.title},
                            path_for("reports.dashboard") or _event_link(event))


def _tell_organisers_draft_created(event: Event) -> int:
    """The draft is not ready: registration opens by the clock only once the organiser marks it ready."""
    opens = format_shanghai(event.registration_opens_at)
    return _tell_organisers(event, "draft_event_created", {"title": event.title, "opens": opens},
                            _event_link(event))


# ---- next month's draft -----------------------------------------------------------------------

def _month_shift(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _at(year: int, month: int, spec: tuple[int, int, time]) -> datetime:
    shift, day, at = spec
    y, m = _month_shift(year, month, shift)
    return utc_of_shanghai(date(y, m, day), at)


def draft_facts(entry: YearPlanEntry, now: datetime) -> planning.EventFacts:
    """Default dates and times of the draft for the entry's month (made during the month before).

    The event spans the whole month; registration opens the 20th of the month before at 09:00 (but never
    sooner than 3 days after the draft appears, so the organiser can add sessions first — a draft made on
    the 30th opens on the 3rd), closes the 5th at 17:00, matching runs the 6th at 09:00, publication is
    set for the 8th at 09:00 but not approved.
    """
    today = shanghai_date(now)
    opens = max(_at(entry.year, entry.month, DRAFT_OPENS), utc_of_shanghai(today + DRAFT_LEAST_NOTICE, time(9, 0)))
    closes = _at(entry.year, entry.month, DRAFT_CLOSES)
    last_day = calendar.monthrange(entry.year, entry.month)[1]
    return planning.EventFacts(
        title=planning.suggested_title(entry), chain_code=entry.chain.code, host_region_code=entry.host_region_code,
        starts_on=date(entry.year, entry.month, 1), ends_on=date(entry.year, entry.month, last_day),
        registration_opens_at=opens, registration_closes_at=closes,
        matching_at=_at(entry.year, entry.month, DRAFT_MATCHING),
        publication_at=_at(entry.year, entry.month, DRAFT_PUBLICATION), publication_approved=False,
        description="由年度计划自动生成的草稿：请添加场次，并核对报名、匹配和发布时间。")


def create_next_month_drafts(now: datetime) -> list[int]:
    """For each year-plan entry of next month (Asia/Shanghai) without an event, a draft event. Returns ids."""
    today = shanghai_date(now)
    year, month = _month_shift(today.year, today.month, 1)
    entries = db.session.scalars(
        select(YearPlanEntry).outerjoin(Event, Event.plan_entry_id == YearPlanEntry.id)
        .where(YearPlanEntry.year == year, YearPlanEntry.month == month, Event.id.is_(None))
        .order_by(YearPlanEntry.id)).all()
    created = []
    for entry in entries:
        try:
            event = planning.create_event(SYSTEM, draft_facts(entry, now), plan_entry=entry)
        except FieldError as error:  # e.g. another scheduler created it a moment ago
            log.info("no draft for plan entry %s: %s", entry.id, error)
            continue
        _tell_organisers_draft_created(event)
        created.append(event.id)
    return created
