"""Messages the scheduler sends about the month: reminders before meetings and sessions, a word to SMEs
left without a meeting, requests for outcomes after meetings (the organisers' notes are in lifecycle.py).

Each function looks at what is due at `now`, queues one outbox row per recipient × kind × object (the
outbox's unique key makes a repeated run a no-op) and returns how many rows it added. A reminder has a
window: a 24-hour reminder is due from 24 h until 1 h before the start, a 1-hour reminder in the last
hour; a window that passed while the scheduler was down is not sent late ("tomorrow" 10 minutes
before). Each reminder also carries a send-by time (`not_after`) for the outbox: a 1-hour reminder
the start, a 24-hour one the moment the 1-hour one takes over; held up (a relay outage) past it, the e-mail
is dropped rather than sent late. Outcome requests likewise: the 1-day one from day 1 to day 7 after the meeting, the 7-day
one from day 7 to day 14.
"""
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import aliased

from accounts.recipients import PartyUsers
from core.clock import format_shanghai
from core.extensions import db
from events.enums import EventStatus, MeetingStatus, RegistrationStatus, SessionMode, Side
from events.models import Event, EventSession, Meeting, Outcome, Registration, UnmatchedEnterprise
from events.services import venue_tables
from events.services.consent import has_active_consent
from events.services.publication import ANONYMOUS_EN, ANONYMOUS_ZH
from notifications.models import Notification
from notifications.services import Bilingual, notify, path_for

REMINDER_LEADS = (("1h", timedelta(hours=1)), ("24h", timedelta(hours=24)))  # nearest first
FIRST_OUTCOME_ASK, SECOND_OUTCOME_ASK, LAST_OUTCOME_ASK = timedelta(days=1), timedelta(days=7), timedelta(days=14)
OUTCOME_ASKS = (("1d", FIRST_OUTCOME_ASK, SECOND_OUTCOME_ASK), ("7d", SECOND_OUTCOME_ASK, LAST_OUTCOME_ASK))
SCHEDULE_LIVE = (EventStatus.PUBLISHED, EventStatus.RUNNING)
MEETING_TOOK_PLACE = (MeetingStatus.SCHEDULED, MeetingStatus.HELD)


def due_reminder(starts_at: datetime, now: datetime) -> str | None:
    """Which reminder ("1h" or "24h") is due for something starting at `starts_at`, if any."""
    if now >= starts_at:
        return None
    for label, lead in REMINDER_LEADS:
        if starts_at - now <= lead:
            return label
    return None


def send_by(starts_at: datetime, lead: str) -> datetime:
    """The latest moment a reminder is worth sending: the start for "1h", an hour before it for "24h"."""
    return starts_at if lead == REMINDER_LEADS[0][0] else starts_at - REMINDER_LEADS[0][1]


def due_outcome_request(ended_at: datetime, now: datetime) -> str | None:
    """Which outcome request ("1d" or "7d") is due for a meeting that ended at `ended_at`, if any."""
    for label, after, until in OUTCOME_ASKS:
        if ended_at + after <= now < ended_at + until:
            return label
    return None


# ---- recipients and what they already have --------------------------------------------------

class Note(NamedTuple):
    """What a mailing needs to write one message: the template's values, the link, the send-by time."""

    context: dict
    link: str
    not_after: datetime | None = None


class Mailing:
    """One kind of message about many objects in one run. What is already queued is read in one query
    and a message is composed only for someone who still lacks it, so a repeated sweep costs little;
    the outbox's unique key still guards against a racing process."""

    def __init__(self, kind: str, object_type: str, object_ids: Iterable[int]):
        self.kind, self.object_type, self.added = kind, object_type, 0
        ids = sorted(set(object_ids))
        self.queued: set[tuple[int, int]] = set()
        for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
            rows = db.session.execute(select(Notification.user_id, Notification.object_id).where(
                Notification.kind == kind, Notification.object_type == object_type,
                Notification.object_id.in_(chunk))).all()
            self.queued.update((user_id, object_id) for user_id, object_id in rows)

    def send(self, users: list, object_id: int, compose: Callable[[], Note]) -> None:
        missing = [user for user in users if (user.id, object_id) not in self.queued]
        if not missing:
            return
        note = compose()
        self.added += notify(self.kind, missing, object_key=(self.object_type, object_id), context=note.context,
                             link=note.link, not_after=note.not_after)
        self.queued.update((user.id, object_id) for user in missing)


def _enterprise_name_for_institution(meeting: Meeting) -> tuple[str, str]:
    """The SME's name once it consented to share it with this institution, else an anonymous phrase."""
    if has_active_consent(meeting.enterprise_id, meeting.institution_id):
        return meeting.enterprise.name, meeting.enterprise.name
    return ANONYMOUS_ZH, ANONYMOUS_EN


# ---- where: venue, table, room link -----------------------------------------------------------

def _place_lines(session: EventSession, meeting: Meeting | None = None) -> tuple[list[str], list[str]]:
    zh, en = [], []
    mode = session.mode
    if mode in (SessionMode.OFFLINE, SessionMode.HYBRID):
        where = " ".join(part for part in (session.venue, session.room) if part)
        zh.append(f"地点：{where}")
        en.append(f"Venue: {where}")
    table_zh, table_en = venue_tables.meeting_table_labels(meeting) if meeting is not None else ("", "")
    if table_zh:
        zh.append(f"洽谈桌：{table_zh}")
        en.append(f"At {table_en}")
    if mode in (SessionMode.ONLINE, SessionMode.HYBRID) and session.online_url:
        zh.append(f"线上会议室：{session.online_url}")
        en.append(f"Online room: {session.online_url}")
    if session.stream_url:
        zh.append(f"直播地址：{session.stream_url}")
        en.append(f"Livestream: {session.stream_url}")
    return zh, en


def _place(session: EventSession, meeting: Meeting | None = None) -> Bilingual | str:
    """The place lines in the recipient's language; "" when there are none."""
    zh, en = _place_lines(session, meeting)
    return Bilingual("\n".join(zh), "\n".join(en)) if zh else ""


def _agenda_link(event_id: int) -> str:
    return path_for("events.agenda", event_id=event_id) or path_for("events.event_detail", event_id=event_id)


# ---- reminders before meetings and sessions ---------------------------------------------------

def _sessions_starting_soon(now: datetime) -> list[EventSession]:
    return list(db.session.scalars(
        select(EventSession).join(Event)
        .where(Event.status.in_(SCHEDULE_LIVE), EventSession.starts_at <= now + REMINDER_LEADS[-1][1],
               EventSession.ends_at > now)
        .order_by(EventSession.starts_at, EventSession.id)))


def _meeting_message(meeting: Meeting, side: Side, lead: str) -> Note:
    session = meeting.session
    if side == Side.ENTERPRISE:
        other_zh = other_en = meeting.institution.name
    else:
        other_zh, other_en = _enterprise_name_for_institution(meeting)
    context = {"lead": lead, "when": format_shanghai(meeting.starts_at), "other": Bilingual(other_zh, other_en),
               "event": session.event.title, "title": session.title, "place": _place(session, meeting)}
    return Note(context, _agenda_link(session.event_id), send_by(meeting.starts_at, lead))


def send_meeting_reminders(now: datetime) -> int:
    """24-hour and 1-hour reminders of each scheduled meeting, to the SME's and the institution's users."""
    session_ids = [session.id for session in _sessions_starting_soon(now) if session.slot_minutes]
    if not session_ids:
        return 0
    meetings = db.session.scalars(select(Meeting).where(
        Meeting.session_id.in_(session_ids), Meeting.status == MeetingStatus.SCHEDULED,
        Meeting.slot.is_not(None)).order_by(Meeting.id)).all()
    due = [(meeting, due_reminder(meeting.starts_at, now)) for meeting in meetings]
    due = [(meeting, lead) for meeting, lead in due if lead is not None]
    users = PartyUsers({m.enterprise_id for m, _ in due}, {m.institution_id for m, _ in due})
    added = 0
    for label, _lead in REMINDER_LEADS:
        batch = [meeting for meeting, lead in due if lead == label]
        mailing = Mailing(f"meeting_reminder_{label}", "meeting", [meeting.id for meeting in batch])
        for meeting in batch:
            for side in (Side.ENTERPRISE, Side.INSTITUTION):
                party = users.of(enterprise_id=meeting.enterprise_id) if side == Side.ENTERPRISE \
                    else users.of(institution_id=meeting.institution_id)
                mailing.send(party, meeting.id, lambda m=meeting, w=side, lbl=label: _meeting_message(m, w, lbl))
        added += mailing.added
    return added


def _session_message(session: EventSession, lead: str) -> Note:
    context = {"lead": lead, "when": format_shanghai(session.starts_at), "event": session.event.title,
               "title": session.title, "place": _place(session)}
    return Note(context, _agenda_link(session.event_id), send_by(session.starts_at, lead))


def _parties_with_meetings(session_id: int) -> tuple[set[int], set[int]]:
    rows = db.session.execute(select(Meeting.enterprise_id, Meeting.institution_id).where(
        Meeting.session_id == session_id, Meeting.status == MeetingStatus.SCHEDULED)).all()
    return {row.enterprise_id for row in rows}, {row.institution_id for row in rows}


def send_session_reminders(now: datetime) -> int:
    """24-hour and 1-hour reminders of each session to its approved registrants. A party with a meeting
    in the session hears about the meeting instead (one reminder per moment, not two)."""
    added = 0
    for session in _sessions_starting_soon(now):
        lead = due_reminder(session.starts_at, now)
        if lead is None:
            continue
        registrations = db.session.scalars(select(Registration).where(
            Registration.session_id == session.id, Registration.status == RegistrationStatus.APPROVED)
            .order_by(Registration.id)).all()
        met_enterprises, met_institutions = _parties_with_meetings(session.id) if session.slot_minutes \
            else (set(), set())
        registrations = [r for r in registrations
                         if r.enterprise_id not in met_enterprises and r.institution_id not in met_institutions]
        users = PartyUsers({r.enterprise_id for r in registrations if r.enterprise_id is not None},
                           {r.institution_id for r in registrations if r.institution_id is not None})
        mailing = Mailing(f"session_reminder_{lead}", "event_session", [session.id])
        for registration in registrations:
            mailing.send(users.of(registration.enterprise_id, registration.institution_id), session.id,
                         lambda session=session, lead=lead: _session_message(session, lead))
        added += mailing.added
    return added


# ---- SMEs left without a meeting --------------------------------------------------------------

def _chase_message(event: Event, reasons: list[UnmatchedEnterprise]) -> Note:
    return Note({"event": event.title, "reasons": [Bilingual(row.reason_zh, row.reason_en) for row in reasons]},
                path_for("market.catalogue"))


def _unmatched_reasons(event: Event, enterprise_id: int) -> list[UnmatchedEnterprise]:
    return list(db.session.scalars(select(UnmatchedEnterprise).join(EventSession).where(
        UnmatchedEnterprise.enterprise_id == enterprise_id, EventSession.event_id == event.id)
        .order_by(UnmatchedEnterprise.id)))


def chase_smes_without_meetings(now: datetime) -> int:
    """Once per event, after publication: SMEs approved for a matchmaking session with no meeting at all."""
    added = 0
    events = db.session.scalars(select(Event).where(Event.status.in_(SCHEDULE_LIVE)).order_by(Event.id)).all()
    for event in events:
        in_event = select(EventSession.id).where(EventSession.event_id == event.id)
        has_meeting = exists().where(
            Meeting.enterprise_id == Registration.enterprise_id, Meeting.session_id.in_(in_event),
            Meeting.status.in_(MEETING_TOOK_PLACE + (MeetingStatus.PROPOSED,)))
        enterprise_ids = db.session.scalars(
            select(Registration.enterprise_id).join(EventSession)
            .where(EventSession.event_id == event.id, EventSession.slot_minutes.is_not(None),
                   Registration.enterprise_id.is_not(None),
                   Registration.status == RegistrationStatus.APPROVED, ~has_meeting)
            .distinct().order_by(Registration.enterprise_id)).all()
        users = PartyUsers(enterprise_ids)
        mailing = Mailing("no_meeting_chase", "event", [event.id])
        for enterprise_id in enterprise_ids:
            mailing.send(users.of(enterprise_id=enterprise_id), event.id,
                         lambda e=enterprise_id, event=event: _chase_message(event, _unmatched_reasons(event, e)))
        added += mailing.added
    return added


# ---- outcomes after meetings ------------------------------------------------------------------

def _outcome_message(meeting: Meeting, side: Side, label: str) -> Note:
    if side == Side.ENTERPRISE:
        other_zh = other_en = meeting.institution.name
    else:
        other_zh, other_en = _enterprise_name_for_institution(meeting)
    link = path_for("events.record_outcome", meeting_id=meeting.id) or _agenda_link(meeting.session.event_id)
    return Note({"when": format_shanghai(meeting.starts_at), "again": label == "7d",
                 "event": meeting.session.event.title, "other": Bilingual(other_zh, other_en)}, link)


def request_outcomes(now: datetime) -> int:
    """1 and 7 days after a scheduled or held meeting ended, ask each side that has not yet recorded."""
    session_ids = db.session.scalars(select(EventSession.id).where(
        EventSession.slot_minutes.is_not(None), EventSession.starts_at <= now - FIRST_OUTCOME_ASK,
        EventSession.ends_at > now - LAST_OUTCOME_ASK)).all()
    if not session_ids:
        return 0
    meetings = db.session.scalars(select(Meeting).where(
        Meeting.session_id.in_(session_ids), Meeting.status.in_(MEETING_TOOK_PLACE), Meeting.slot.is_not(None))
        .order_by(Meeting.id)).all()
    due = [(meeting, due_outcome_request(meeting.ends_at, now)) for meeting in meetings]
    due = [(meeting, label) for meeting, label in due if label is not None]
    recorded = answered_sides([m.id for m, _ in due]) if due else set()
    users = PartyUsers({m.enterprise_id for m, _ in due}, {m.institution_id for m, _ in due})
    added = 0
    for label, _after, _until in OUTCOME_ASKS:
        batch = [meeting for meeting, due_label in due if due_label == label]
        mailing = Mailing(f"outcome_request_{label}", "meeting", [meeting.id for meeting in batch])
        for meeting in batch:
            for side in (Side.ENTERPRISE, Side.INSTITUTION):
                if (meeting.id, side.value) in recorded:
                    continue
                party = users.of(enterprise_id=meeting.enterprise_id) if side == Side.ENTERPRISE \
                    else users.of(institution_id=meeting.institution_id)
                mailing.send(party, meeting.id, lambda m=meeting, w=side, lbl=label: _outcome_message(m, w, lbl))
        added += mailing.added
    return added


def answered_sides(meeting_ids: list[int]) -> set[tuple[int, str]]:
    """(meeting, side) pairs that owe nothing more: the institution once it has recorded; the SME once it has
    recorded and, where the institution recorded an agreed or funded figure, confirmed or disputed it."""
    institution = aliased(Outcome)
    owes_answer = and_(institution.id.is_not(None),
                       or_(institution.agreed_amount_yuan > 0, institution.funded_amount_yuan > 0),
                       Outcome.verdict.is_(None))
    rows = db.session.execute(
        select(Outcome.meeting_id, Outcome.side, owes_answer)
        .outerjoin(institution, and_(institution.meeting_id == Outcome.meeting_id,
                                     institution.side == Side.INSTITUTION,
                                     Outcome.side == Side.ENTERPRISE))
        .where(Outcome.meeting_id.in_(meeting_ids)))
    return {(meeting_id, side) for meeting_id, side, owes in rows if not owes}


def all_outcomes_recorded(event: Event) -> bool:
    """Every meeting that took place has its figures final: the institution's outcome recorded, and where it
    recorded an agreed or funded figure (授信, 放款 …), the SME's confirmation or dispute. (Both sides' rows were
    needed before; the institution's figures are the authoritative ones now, and an SME with nothing to confirm
    does not hold the report back.)"""
    meetings = select(Meeting.id).join(EventSession).where(
        EventSession.event_id == event.id, Meeting.status.in_(MEETING_TOOK_PLACE))
    institution = aliased(Outcome)
    enterprise = aliased(Outcome)
    final = (select(institution.meeting_id)
             .outerjoin(enterprise, and_(enterprise.meeting_id == institution.meeting_id,
                                         enterprise.side == Side.ENTERPRISE))
             .where(institution.meeting_id.in_(meetings), institution.side == Side.INSTITUTION,
                    or_(and_(func.coalesce(institution.agreed_amount_yuan, 0) == 0,
                             func.coalesce(institution.funded_amount_yuan, 0) == 0),
                        enterprise.verdict.is_not(None))))
    missing = db.session.scalar(select(func.count()).select_from(
        meetings.where(Meeting.id.not_in(final)).subquery()))
    return missing == 0
