"""A participant's meetings: where and when, the calendar file, cancelling, check-in, booking a free slot.

Whether the parties are free is decided by events.services.availability (across every session and event,
under its locks); within a session the partial unique indexes (slot × enterprise, slot × table, the pair)
stay the backstop: placing or booking inserts in a SAVEPOINT and treats an IntegrityError as "just taken".
"""
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from icalendar import Calendar
from icalendar import Event as CalendarEvent
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from core.clock import format_shanghai, shanghai_date, to_shanghai, utcnow
from core.errors import FieldError, Forbidden, NotFound
from core.extensions import db
from core.roles import Role
from events.enums import EventStatus, MeetingSource, MeetingStatus, RegistrationStatus, SessionMode
from events.models import EventSession, Meeting, Registration, UnmatchedEnterprise
from events.services import availability, venue_tables
from events.services.consent import enterprise_names, share_registration_details
from events.services.outcomes import refresh_need_status
from events.services.participants import notify_party, registration_of
from events.services.scope import ensure_manages_event
from market.enums import NeedStatus
from market.models import FinancingNeed, Institution, Product
from notifications.services import Bilingual, path_for

SLOT_TAKEN = _l("该时段刚刚被预约，请选择其他时段")
ACTIVE_PLANNED = (MeetingStatus.PROPOSED, MeetingStatus.SCHEDULED)
CALENDAR_EPOCH = datetime(2024, 1, 1)


def session_is_published(session: EventSession) -> bool:
    return session.published_at is not None or \
        session.event.status.rank >= EventStatus.PUBLISHED.rank


def _shown_to_participants():
    """Participants see published meetings and the ones they made themselves (requests, bookings, and any
    meeting that answers one of their accepted requests)."""
    return or_(Meeting.status != MeetingStatus.PROPOSED,
               Meeting.source.in_([MeetingSource.REQUEST, MeetingSource.BOOKING]),
               Meeting.request_id.is_not(None))


def agenda_for(actor) -> list[Meeting]:
    """The actor's party's meetings, in time order (cancelled ones included, marked as such)."""
    query = select(Meeting).join(EventSession).where(_shown_to_participants())
    if actor.enterprise_id is not None:
        query = query.where(Meeting.enterprise_id == actor.enterprise_id)
    elif actor.institution_id is not None:
        query = query.where(Meeting.institution_id == actor.institution_id)
    else:
        raise Forbidden()
    query = query.order_by(EventSession.starts_at, Meeting.slot.is_(None), Meeting.slot, Meeting.table_number,
                           Meeting.id)
    return list(db.session.scalars(query))


def own_meeting(actor, meeting_id: int) -> Meeting:
    """A meeting of the actor's party (404 otherwise)."""
    meeting = db.session.get(Meeting, meeting_id)
    if meeting is None or not (
            (actor.enterprise_id is not None and meeting.enterprise_id == actor.enterprise_id)
            or (actor.institution_id is not None and meeting.institution_id == actor.institution_id)):
        raise NotFound()
    return meeting


def meeting_location(meeting: Meeting) -> str:
    """Venue and table, or the online room, as the participants should read it."""
    session = meeting.session
    table = venue_tables.meeting_table_label(meeting)
    place = " ".join(part for part in (session.venue, session.room, table) if part)
    if session.mode == SessionMode.ONLINE:
        return session.online_url or str(_("线上会议室 %(n)s", n=meeting.table_number or ""))
    if session.mode == SessionMode.HYBRID and session.online_url:
        return f"{place} / {_l('线上')}: {session.online_url}" if place else session.online_url
    return place


def counterpart_names(actor, meetings: list[Meeting]) -> dict[int, str]:
    """meeting id → the other side's name; an SME without consent is shown by its anonymous reference."""
    if actor.enterprise_id is not None:
        return {meeting.id: meeting.institution.name for meeting in meetings}
    names = enterprise_names(actor.institution_id, [meeting.enterprise for meeting in meetings])
    return {meeting.id: names[meeting.enterprise_id] for meeting in meetings}


def agenda_ics(actor, meetings: list[Meeting]) -> bytes:
    """An iCalendar file (RFC 5545) of the meetings that have a time, with Asia/Shanghai times and VTIMEZONE."""
    calendar = Calendar()
    calendar.add("prodid", "-//chainmatch//一月一链 益企畅融//ZH")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", str(_l("一月一链 · 对接会日程")))
    calendar.add("x-wr-timezone", "Asia/Shanghai")
    names = counterpart_names(actor, meetings)
    stamp = datetime.now(UTC).replace(microsecond=0)
    for meeting in meetings:
        if meeting.slot is None:
            continue
        session = meeting.session
        entry = CalendarEvent()
        entry.add("uid", f"meeting-{meeting.id}@chainmatch")
        entry.add("dtstamp", stamp)
        entry.add("dtstart", to_shanghai(meeting.starts_at))
        entry.add("dtend", to_shanghai(meeting.ends_at))
        entry.add("summary", str(_("融资对接：%(name)s", name=names[meeting.id])))
        entry.add("location", meeting_location(meeting))
        lines = [session.title, str(_("对方：%(name)s", name=names[meeting.id]))]
        if venue_tables.meeting_table_label(meeting):
            lines.append(str(_("桌号：%(n)s", n=venue_tables.meeting_table_label(meeting))))
        if session.online_url:
            lines.append(str(_("线上会议室：%(url)s", url=session.online_url)))
            entry.add("url", session.online_url)
        lines.append(str(_("状态：%(status)s", status=meeting.status.label)))
        entry.add("description", "\n".join(lines))
        entry.add("status", "CANCELLED" if meeting.status == MeetingStatus.CANCELLED else
                  "TENTATIVE" if meeting.status == MeetingStatus.PROPOSED else "CONFIRMED")
        entry.add("sequence", max(0, int((meeting.updated_at - CALENDAR_EPOCH).total_seconds())))
        calendar.add_component(entry)
    calendar.add_missing_timezones()
    return calendar.to_ical()


# ---- placing meetings ---------------------------------------------------------------------------

def _insert_meeting(meeting: Meeting) -> bool:
    try:
        with db.session.begin_nested():
            db.session.add(meeting)
            db.session.flush()
    except IntegrityError:
        return False
    return True


def active_pair_meeting(session_id: int, enterprise_id: int, institution_id: int) -> Meeting | None:
    return db.session.scalar(select(Meeting).where(
        Meeting.session_id == session_id, Meeting.enterprise_id == enterprise_id,
        Meeting.institution_id == institution_id, Meeting.status != MeetingStatus.CANCELLED))


def _taken(session_id: int, column, value) -> set:
    rows = db.session.execute(select(Meeting.slot, Meeting.table_number).where(
        Meeting.session_id == session_id, column == value, Meeting.status != MeetingStatus.CANCELLED,
        Meeting.slot.is_not(None)))
    return {(slot, table) for slot, table in rows}


def free_cells(session: EventSession, institution_id: int, enterprise_id: int | None = None,
               now: datetime | None = None, known: availability.Availability | None = None,
               registration: Registration | None = None) -> list[tuple[int, int]]:
    """(slot, table) pairs still free at the institution (and for the enterprise), in the future, in every
    session and event (`known`: the parties' busy times, loaded once by the caller for several institutions)."""
    if registration is None:
        registration = registration_of(session.id, institution_id=institution_id)
    if not session.slot_minutes or registration is None or registration.status != RegistrationStatus.APPROVED:
        return []
    now = now or utcnow()
    if known is None:
        known = availability.for_session(session, [enterprise_id] if enterprise_id else [], [institution_id])
    blocked = set(registration.unavailable_slots or [])
    cells = []
    for slot in range(session.slot_count):
        starts_at, ends_at = session.slot_starts_at(slot), session.slot_ends_at(slot)
        if starts_at <= now or slot in blocked or \
                (enterprise_id and known.enterprise_clash(enterprise_id, starts_at, ends_at)):
            continue
        cells += [(slot, table) for table in range(1, (registration.tables or 1) + 1)
                  if not known.table_clash(session.id, institution_id, table, starts_at, ends_at)]
    return cells


def place_meeting(session: EventSession, enterprise_id: int, institution_id: int, need_id: int | None,
                  product_id: int | None, source: MeetingSource, request_id: int | None = None) -> Meeting | None:
    """Put a fixed meeting in the first free slot and table both can take; None when nothing is free.
    A meeting the pair already has in the session answers a request too (it is linked to it)."""
    availability.lock_parties([session.id], [enterprise_id], [institution_id])
    existing = active_pair_meeting(session.id, enterprise_id, institution_id)
    if existing is not None:
        if request_id is not None and existing.request_id is None:
            existing.request_id = request_id
            db.session.flush()
        return existing
    status = MeetingStatus.SCHEDULED if session_is_published(session) else MeetingStatus.PROPOSED
    for slot, table in free_cells(session, institution_id, enterprise_id):
        meeting = availability.set_place(Meeting(
            session_id=session.id, enterprise_id=enterprise_id, institution_id=institution_id, need_id=need_id,
            product_id=product_id, request_id=request_id, status=status, source=source),
            session, slot, table)
        if _insert_meeting(meeting):
            _after_new_meeting(meeting)
            return meeting
    return None


def _after_new_meeting(meeting: Meeting) -> None:
    if meeting.status == MeetingStatus.SCHEDULED:
        share_registration_details(meeting)
    if meeting.need is not None and meeting.need.status == NeedStatus.OPEN:
        refresh_need_status(meeting.need)


def book_slot(actor, session: EventSession, institution: Institution, slot: int, table: int) -> Meeting:
    """An SME takes a free slot at an institution's table; of concurrent bookers exactly one wins."""
    if actor.role != Role.SME or actor.enterprise_id is None:
        raise Forbidden()
    # the lock first, then everything decided on read under it (a publication, a withdrawal, a booking)
    availability.lock_parties([session.id], [actor.enterprise_id], [institution.id])
    db.session.refresh(session)
    if not session.kind.has_meetings or not session_is_published(session):
        raise FieldError("slot", _l("本场日程尚未发布，暂不能预约。"))
    mine = registration_of(session.id, enterprise_id=actor.enterprise_id)
    if mine is None or mine.status not in (RegistrationStatus.APPROVED, RegistrationStatus.WAITLISTED):
        raise FieldError("slot", _l("请先报名本场（已通过或候补中）再预约。"))
    theirs = registration_of(session.id, institution_id=institution.id)
    if theirs is None or theirs.status != RegistrationStatus.APPROVED:
        raise NotFound()
    if not 0 <= slot < session.slot_count or not 1 <= table <= (theirs.tables or 1):
        raise FieldError("slot", _l("该时段或桌号不存在。"))
    if slot in (theirs.unavailable_slots or []) or session.slot_starts_at(slot) <= utcnow():
        raise FieldError("slot", _l("该时段不可预约，请选择其他时段。"))
    need, product = _need_and_product(mine, theirs)
    existing = active_pair_meeting(session.id, actor.enterprise_id, institution.id)
    if existing is not None:
        if (existing.slot, existing.table_number) == (slot, table):
            if existing.status == MeetingStatus.PROPOSED and existing.source == MeetingSource.MATCHER:
                # the matcher's unpublished proposal at this very place: booking it makes it the SME's, kept
                # by the next matching run instead of replaced
                existing.status, existing.source = MeetingStatus.SCHEDULED, MeetingSource.BOOKING
                db.session.flush()
                _after_new_meeting(existing)
            return existing  # the same booking submitted twice
        raise FieldError("slot", _("您已与该机构安排了会谈（%(at)s）。",
                                   at=format_shanghai(existing.starts_at, "%H:%M")))
    if (slot, table) in _taken(session.id, Meeting.institution_id, institution.id):
        raise FieldError("slot", SLOT_TAKEN)
    availability.refuse_clash(session, slot, actor.enterprise_id, institution.id, table, for_sme=True)
    meeting = availability.set_place(Meeting(
        session_id=session.id, enterprise_id=actor.enterprise_id, institution_id=institution.id, need_id=need.id,
        product_id=product.id if product else None, status=MeetingStatus.SCHEDULED,
        source=MeetingSource.BOOKING), session, slot, table)
    if not _insert_meeting(meeting):
        again = active_pair_meeting(session.id, actor.enterprise_id, institution.id)
        if again is not None and (again.slot, again.table_number) == (slot, table):
            return again
        raise FieldError("slot", SLOT_TAKEN)
    _after_new_meeting(meeting)
    where_zh, where_en = venue_tables.meeting_table_labels(meeting)
    where_zh, where_en = where_zh or f"第 {table} 桌", where_en or f"table {table}"
    notify_party("meeting_booked", "meeting", meeting.id,
                 context={"title": session.title, "where": Bilingual(where_zh, where_en)},
                 link=path_for("events.agenda"), institution_id=institution.id)
    return meeting


def _need_and_product(mine: Registration, theirs: Registration) -> tuple[FinancingNeed, Product | None]:
    """The SME's registered need that one of the institution's registered products serves."""
    for need in mine.needs:
        if need.status == NeedStatus.WITHDRAWN:
            continue
        for product in theirs.products:
            if product.type == need.type:
                return need, product
    raise FieldError("slot", _l("该机构在本场的产品与您报名的融资需求类型不对应。"))


def offer_freed_slot(meeting: Meeting) -> int:
    """Offer a cancelled meeting's slot to the session's waitlisted or unmatched SMEs whose needs the
    institution's products serve; returns how many SMEs were messaged."""
    session = meeting.session
    if meeting.slot is None or not session_is_published(session) or meeting.starts_at <= utcnow():
        return 0
    theirs = registration_of(session.id, institution_id=meeting.institution_id)
    if theirs is None or theirs.status != RegistrationStatus.APPROVED:
        return 0
    types = {product.type for product in theirs.products}
    unmatched = select(UnmatchedEnterprise.enterprise_id).where(UnmatchedEnterprise.session_id == session.id)
    candidates = db.session.scalars(select(Registration).where(
        Registration.session_id == session.id, Registration.enterprise_id.is_not(None),
        Registration.enterprise_id != meeting.enterprise_id,
        or_(Registration.status == RegistrationStatus.WAITLISTED,
            (Registration.status == RegistrationStatus.APPROVED) & Registration.enterprise_id.in_(unmatched)))
        .order_by(Registration.created_at, Registration.id)).all()
    link = path_for("events.book", session_id=session.id, institution=meeting.institution_id, slot=meeting.slot,
                    table=meeting.table_number)
    start = format_shanghai(meeting.starts_at, "%m-%d %H:%M")
    known = availability.Availability.load(meeting.starts_at, meeting.ends_at,
                                           [r.enterprise_id for r in candidates])
    where_zh, where_en = venue_tables.meeting_table_labels(meeting)
    where_zh = where_zh or f"第 {meeting.table_number} 桌"
    where_en = where_en or f"table {meeting.table_number}"
    offered = 0
    for registration in candidates:
        if not any(need.type in types and need.status != NeedStatus.WITHDRAWN for need in registration.needs):
            continue
        if known.enterprise_clash(registration.enterprise_id, meeting.starts_at, meeting.ends_at):
            continue  # busy then, in this session or another
        if active_pair_meeting(session.id, registration.enterprise_id, meeting.institution_id) is not None:
            continue
        context = {"title": session.title, "institution": meeting.institution.name, "start": start,
                   "where": Bilingual(where_zh, where_en)}
        notify_party("freed_slot_offer", "meeting", meeting.id, context=context, link=link,
                     enterprise_id=registration.enterprise_id)
        offered += 1
    return offered


# ---- cancelling and check-in --------------------------------------------------------------------

def _cancel(actor, meeting: Meeting, reason: str) -> bool:
    """planned → cancelled, once; call it under the session's lock (`availability.lock_parties`)."""
    result = db.session.execute(update(Meeting).where(Meeting.id == meeting.id, Meeting.status.in_(ACTIVE_PLANNED))
                                .values(status=MeetingStatus.CANCELLED, cancel_reason=reason[:500],
                                        cancelled_by_user_id=actor.id, updated_at=utcnow()))
    db.session.refresh(meeting)
    return result.rowcount == 1


def cancel_meeting(actor, meeting: Meeting, reason: str) -> Meeting:
    """Either side (or an organiser) cancels with a reason; the other side is told; the slot is offered on."""
    availability.lock_parties([meeting.session_id])  # no matching or publication of the session meanwhile
    db.session.refresh(meeting)
    is_party = meeting.enterprise_id == actor.enterprise_id or meeting.institution_id == actor.institution_id
    if not is_party:
        ensure_manages_event(actor, meeting.session.event)
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", _l("请填写取消原因。"))
    if meeting.starts_at is not None and meeting.starts_at <= utcnow():
        raise FieldError("reason", _l("会谈已开始，不能取消；请在会谈结果中记录未到场。"))
    was_scheduled = meeting.status == MeetingStatus.SCHEDULED
    if not _cancel(actor, meeting, reason):
        raise FieldError("reason", _("会谈已是“%(status)s”状态，不能取消。", status=meeting.status.label))
    _tell_cancelled(actor, meeting, reason)
    if was_scheduled:
        offer_freed_slot(meeting)
    return meeting


def _tell_cancelled(actor, meeting: Meeting, reason: str) -> None:
    context, link = {"title": meeting.session.title, "reason": reason, "by_organiser": False}, path_for("events.agenda")
    if actor.enterprise_id != meeting.enterprise_id:
        notify_party("meeting_cancelled", "meeting", meeting.id, context=context, link=link,
                     enterprise_id=meeting.enterprise_id)
    if actor.institution_id != meeting.institution_id:
        notify_party("meeting_cancelled", "meeting", meeting.id, context=context, link=link,
                     institution_id=meeting.institution_id)


def cancel_party_meetings(actor, registration: Registration, reason) -> int:
    """A cancelled registration takes the party's planned meetings in that session with it."""
    availability.lock_parties([registration.session_id])
    party = (Meeting.enterprise_id == registration.enterprise_id if registration.enterprise_id is not None
             else Meeting.institution_id == registration.institution_id)
    meetings = db.session.scalars(select(Meeting).where(Meeting.session_id == registration.session_id, party,
                                                        Meeting.status.in_(ACTIVE_PLANNED))).all()
    cancelled = 0
    for meeting in meetings:
        was_scheduled = meeting.status == MeetingStatus.SCHEDULED
        if _cancel(actor, meeting, str(reason)):
            cancelled += 1
            _tell_cancelled(actor, meeting, str(reason))
            if was_scheduled and registration.enterprise_id is not None:
                offer_freed_slot(meeting)
    return cancelled


def check_in(actor, meeting: Meeting, now: datetime | None = None) -> Meeting:
    """At the venue, an organiser or the institution marks the meeting held (from the session's day on)."""
    if actor.institution_id is None or actor.institution_id != meeting.institution_id:
        ensure_manages_event(actor, meeting.session.event)
    now = now or utcnow()
    availability.lock_parties([meeting.session_id])  # the one lock order of meeting writes
    if shanghai_date(now) < shanghai_date(meeting.session.starts_at):
        raise FieldError("meeting", _l("会谈当天才能签到。"))
    result = db.session.execute(
        update(Meeting).where(Meeting.id == meeting.id,
                              Meeting.status.in_([MeetingStatus.SCHEDULED, MeetingStatus.NO_SHOW]))
        .values(status=MeetingStatus.HELD, checked_in_at=now, updated_at=now))
    db.session.refresh(meeting)
    if result.rowcount != 1 and meeting.status != MeetingStatus.HELD:
        raise FieldError("meeting", _("会谈为“%(status)s”状态，不能签到。", status=meeting.status.label))
    if meeting.need is not None:
        refresh_need_status(meeting.need)
    return meeting


def bookable_institutions(session: EventSession, actor) -> list[tuple[Registration, list[tuple[int, int]]]]:
    """Institutions of a published session with their free (slot, table) cells for this SME."""
    if not session_is_published(session) or actor.enterprise_id is None:
        return []
    registrations = db.session.scalars(select(Registration).where(
        Registration.session_id == session.id, Registration.institution_id.is_not(None),
        Registration.status == RegistrationStatus.APPROVED).order_by(Registration.id)).all()
    known = availability.for_session(session, [actor.enterprise_id], [r.institution_id for r in registrations])
    return [(registration, free_cells(session, registration.institution_id, actor.enterprise_id, known=known,
                                      registration=registration))
            for registration in registrations]


def slot_label(session: EventSession, slot: int) -> str:
    start = to_shanghai(session.slot_starts_at(slot))
    return f"{start:%H:%M}–{(start + timedelta(minutes=session.slot_minutes)):%H:%M}"
