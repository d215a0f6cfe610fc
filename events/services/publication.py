"""Publishing a session's schedule: proposals become scheduled meetings and every participant is told.

Messages go into the notification outbox (delivered by the scheduler). The outbox's unique key
(user × kind × object) keeps them to one each: a second publication adds nothing, and a meeting
scheduled by a later publication is announced on its own ("meeting_scheduled").
"""
import logging
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from accounts.recipients import party_users
from core.actors import SYSTEM
from core.clock import format_shanghai, utcnow
from core.errors import FieldError
from core.extensions import db
from events.enums import EventStatus, MeetingStatus, SessionMode
from events.models import Event, EventSession, Meeting
from events.services import availability, scope, venue_tables
from events.services.consent import consented_enterprise_ids, share_details_for_session
from events.services.scheduling import (
    MATCHABLE_EVENT_STATUSES,
    active_meetings,
    matchmaking_sessions,
    settle_event_status,
)
from market.enums import NeedStatus
from market.models import FinancingNeed
from notifications.services import Bilingual, notify, path_for

log = logging.getLogger(__name__)
ANONYMOUS_ZH, ANONYMOUS_EN = "一家报名企业（企业同意后显示名称）", "a registered SME (named once it consents)"


@dataclass
class PublicationSummary:
    scheduled: int = 0
    messages: int = 0


def publish_schedule(actor, session: EventSession) -> PublicationSummary:
    """Proposed meetings → scheduled, their needs → matched, one message per participant user."""
    event = session.event
    scope.ensure_manages_event(actor, event)
    if not session.kind_enum.has_meetings:
        raise FieldError("session", _l("只有对接类场次有会谈日程。"))
    if event.status not in MATCHABLE_EVENT_STATUSES:
        raise FieldError("session", _("报名截止并完成匹配后才能发布日程（当前状态：%(status)s）。",
                                      status=event.status.label))
    availability.lock_parties([session.id])  # step 1 of the one lock order (the session and its hall)
    db.session.refresh(session)
    venue_tables.sync_session_tables(session)  # every meeting announced with its venue table
    meetings = active_meetings(session)
    if session.matched_at is None and not meetings:
        raise FieldError("session", _l("请先运行匹配或添加会谈，再发布日程。"))
    newly = [m for m in meetings if m.status == MeetingStatus.PROPOSED and m.slot is not None]
    if newly:
        db.session.execute(update(Meeting).where(Meeting.id.in_([m.id for m in newly]),
                                                 Meeting.status == MeetingStatus.PROPOSED)
                           .values(status=MeetingStatus.SCHEDULED, updated_at=utcnow())
                           .execution_options(synchronize_session=False))
        for meeting in newly:
            db.session.refresh(meeting, ["status"])
    scheduled = [m for m in meetings if m.status == MeetingStatus.SCHEDULED]
    need_ids = {m.need_id for m in scheduled if m.need_id is not None}
    if need_ids:
        db.session.execute(update(FinancingNeed).where(FinancingNeed.id.in_(need_ids),
                                                       FinancingNeed.status == NeedStatus.OPEN)
                           .values(status=NeedStatus.MATCHED, updated_at=utcnow())
                           .execution_options(synchronize_session="fetch"))
    if session.published_at is None:
        session.published_at = utcnow()
    db.session.flush()
    share_details_for_session(session)
    summary = PublicationSummary(scheduled=len(newly))
    summary.messages = _announce(session, scheduled, {m.id for m in newly})
    settle_event_status(actor, event)
    return summary


def publish_due_schedules(now: datetime) -> dict[int, list[int]]:
    """Matched events whose publication time has come and whose organiser approved automatic publication:
    publish every matched session not yet published. Returns {event id: ids of sessions published}."""
    done = {}
    events = db.session.scalars(select(Event).where(
        Event.status == EventStatus.MATCHED, Event.publication_approved.is_(True),
        Event.publication_at.is_not(None), Event.publication_at <= now).order_by(Event.id)).all()
    availability.lock_parties([s.id for event in events for s in matchmaking_sessions(event)
                               if s.published_at is None and s.matched_at is not None])  # all up front, in order
    for event in events:
        published = []
        for session in matchmaking_sessions(event):
            if session.published_at is not None or session.matched_at is None:
                continue
            try:
                with db.session.begin_nested():
                    publish_schedule(SYSTEM, session)
            except FieldError as error:
                log.warning("publication of session %s (event %s) refused: %s", session.id, event.id, error.message)
            else:
                published.append(session.id)
        settle_event_status(SYSTEM, event)
        if published:
            done[event.id] = published
    return done


# ---- messages ---------------------------------------------------------------------------------

def _place_lines(session: EventSession) -> tuple[list[str], list[str]]:
    zh, en = [], []
    mode = session.mode
    if mode in (SessionMode.OFFLINE, SessionMode.HYBRID):
        where = " ".join(part for part in (session.venue, session.room) if part)
        zh.append(f"地点：{where}")
        en.append(f"Venue: {where}")
    if mode in (SessionMode.ONLINE, SessionMode.HYBRID) and session.online_url:
        zh.append(f"线上会议室：{session.online_url}")
        en.append(f"Online room: {session.online_url}")
    return zh, en


def _meeting_line(session: EventSession, meeting: Meeting, other_zh: str, other_en: str) -> tuple[str, str]:
    day = format_shanghai(meeting.starts_at, "%Y-%m-%d")
    start, end = format_shanghai(meeting.starts_at, "%H:%M"), format_shanghai(meeting.ends_at, "%H:%M")
    if session.mode == SessionMode.ONLINE:
        where_zh, where_en = f"线上会议室 {session.online_url}", f"online room {session.online_url}"
    else:
        table_zh, table_en = venue_tables.meeting_table_labels(meeting)
        where_zh, where_en = f"{meeting.institution.name} {table_zh}", f"{meeting.institution.name}, {table_en}"
        if other_zh == meeting.institution.name:
            where_zh, where_en = table_zh, table_en
    return (f"· {day} {start}–{end}　{other_zh}　{where_zh}",
            f"· {day} {start}–{end}  {other_en}  {where_en}")


def _lines(zh: list[str], en: list[str]) -> Bilingual | str:
    """Lines composed in both languages, printed in the recipient's; "" when there are none."""
    return Bilingual("\n".join(zh), "\n".join(en)) if zh else ""


def _party_context(session: EventSession, meetings: list[Meeting], names: dict[int, tuple[str, str]],
                   for_enterprise: bool) -> dict:
    event = session.event
    lines_zh, lines_en = [], []
    for meeting in sorted(meetings, key=lambda m: (m.slot, m.table_number)):
        if for_enterprise:
            other_zh = other_en = meeting.institution.name
        else:
            other_zh, other_en = names[meeting.enterprise_id]
        line_zh, line_en = _meeting_line(session, meeting, other_zh, other_en)
        lines_zh.append(line_zh)
        lines_en.append(line_en)
    return {"event": event.title, "title": session.title, "lines": _lines(lines_zh, lines_en),
            "place": _lines(*_place_lines(session))}


def _enterprise_names(institution_id: int, meetings: list[Meeting]) -> dict[int, tuple[str, str]]:
    consented = consented_enterprise_ids(institution_id, {m.enterprise_id for m in meetings})
    return {m.enterprise_id: ((m.enterprise.name, m.enterprise.name) if m.enterprise_id in consented
                              else (ANONYMOUS_ZH, ANONYMOUS_EN)) for m in meetings}


def _announce(session: EventSession, scheduled: list[Meeting], newly_ids: set[int]) -> int:
    """One schedule message per user of every party in the schedule; later additions one by one."""
    by_party: dict[tuple[str, int], list[Meeting]] = {}
    for meeting in scheduled:
        by_party.setdefault(("enterprise", meeting.enterprise_id), []).append(meeting)
        by_party.setdefault(("institution", meeting.institution_id), []).append(meeting)
    added = 0
    for (side, party_id), meetings in sorted(by_party.items()):
        for_enterprise = side == "enterprise"
        names = {} if for_enterprise else _enterprise_names(party_id, meetings)
        context = _party_context(session, meetings, names, for_enterprise)
        link = path_for("events.agenda") or path_for("events.event_detail", event_id=session.event_id)
        users = party_users(enterprise_id=party_id) if for_enterprise else party_users(institution_id=party_id)
        for user in users:
            if notify("schedule_published", [user], object_key=("event_session", session.id), context=context,
                      link=link):
                added += 1
                continue
            for meeting in meetings:
                if meeting.id in newly_ids:
                    added += notify("meeting_scheduled", [user], object_key=("meeting", meeting.id),
                                    context=_party_context(session, [meeting], names, for_enterprise), link=link)
    return added


def notify_meeting_cancelled(meeting: Meeting) -> int:
    """Tell both parties' users that a scheduled meeting is off, and why."""
    session = meeting.session
    when = f"{format_shanghai(meeting.starts_at)}–{format_shanghai(meeting.ends_at, '%H:%M')}" \
        if meeting.slot is not None else ""
    added = 0
    consented = bool(consented_enterprise_ids(meeting.institution_id, {meeting.enterprise_id}))
    for for_enterprise in (True, False):
        if for_enterprise:
            other_zh = other_en = meeting.institution.name
            users = party_users(enterprise_id=meeting.enterprise_id)
        else:
            other_zh, other_en = (meeting.enterprise.name,) * 2 if consented else (ANONYMOUS_ZH, ANONYMOUS_EN)
            users = party_users(institution_id=meeting.institution_id)
        context = {"by_organiser": True, "when": when, "other": Bilingual(other_zh, other_en),
                   "event": session.event.title, "title": session.title, "reason": meeting.cancel_reason}
        added += notify("meeting_cancelled", users, object_key=("meeting", meeting.id), context=context,
                        link=path_for("events.agenda"))
    return added


def notify_meeting_moved(meeting: Meeting) -> int:
    """Tell both parties' users a scheduled meeting has a new time or table.

    One message per placement: the outbox key is (user, "meeting_moved", "meeting_placement",
    meeting id × 10 000 + slot × 100 + table), so repeating the same move adds nothing while a
    further move is announced again.
    """
    session = meeting.session
    placement = meeting.id * 10_000 + meeting.slot * 100 + meeting.table_number
    names = _enterprise_names(meeting.institution_id, [meeting])
    added = 0
    for for_enterprise in (True, False):
        other_zh, other_en = ((meeting.institution.name,) * 2 if for_enterprise else names[meeting.enterprise_id])
        line_zh, line_en = _meeting_line(session, meeting, other_zh, other_en)
        context = {"event": session.event.title, "title": session.title, "line": Bilingual(line_zh, line_en)}
        users = (party_users(enterprise_id=meeting.enterprise_id) if for_enterprise
                 else party_users(institution_id=meeting.institution_id))
        added += notify("meeting_moved", users, object_key=("meeting_placement", placement), context=context,
                        link=path_for("events.agenda"))
    return added
