"""The organiser's changes to a session's schedule: move, cancel, add.

Whether the parties are free is decided by events.services.availability, across every session and
event, under its locks; the partial unique indexes on meetings remain the backstop within a session.
A refused change names the meeting it clashes with ("该企业在 01-12 10:00–10:30 已与 XX银行 会谈（场次：……）").
"""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from core.clock import utcnow
from core.errors import FieldError
from core.extensions import db
from events.enums import MeetingSource, MeetingStatus
from events.models import EventSession, Meeting, Registration
from events.services import availability, scope, venue_tables
from events.services.publication import notify_meeting_cancelled, notify_meeting_moved
from events.services.requests import pending_request_for
from events.services.scheduling import active_meetings, approved_registration_of, unavailable_slots
from events.services.slots import slot_label
from market.enums import NeedStatus, ProductStatus


def _check_place(session: EventSession, enterprise_id: int, institution_id: int, slot, table) -> None:
    """The slot lies in the session, the table among the institution's, and neither party excluded the slot."""
    if slot is None or not 0 <= slot < session.slot_count:
        raise FieldError("slot", _("时段须在第 1 至第 %(n)s 时段之间。", n=session.slot_count))
    enterprise_registration = approved_registration_of(session, enterprise_id=enterprise_id)
    institution_registration = approved_registration_of(session, institution_id=institution_id)
    tables = (institution_registration.tables if institution_registration else None) or 1
    if table is None or not 1 <= table <= tables:
        name = institution_registration.institution.name if institution_registration else ""
        raise FieldError("table_number", _("%(name)s 在本场次只有 %(n)s 张洽谈桌。", name=name, n=tables))
    for registration in (enterprise_registration, institution_registration):
        if registration is not None and slot in unavailable_slots(registration, session.slot_count):
            party = registration.enterprise or registration.institution
            raise FieldError("slot", _("%(name)s 已说明%(slot)s不能参会。", name=party.name,
                                       slot=slot_label(session, slot)))


def _clash(session: EventSession, meeting_id: int | None, enterprise_id: int, institution_id: int,
           slot: int, table: int) -> FieldError:
    """Which active meeting the database refused a change for, in words."""
    others = [m for m in active_meetings(session) if m.id != meeting_id]
    for other in others:
        if other.enterprise_id == enterprise_id and other.slot == slot:
            return FieldError("slot", _("该企业在%(slot)s已与 %(other)s 会谈。", slot=slot_label(session, slot),
                                        other=other.institution.name))
    for other in others:
        if other.institution_id == institution_id and other.table_number == table and other.slot == slot:
            return FieldError("table_number", _("%(institution)s %(table)s在%(slot)s已有会谈（%(other)s）。",
                                                institution=other.institution.name,
                                                table=venue_tables.meeting_table_label(other)
                                                or _("第 %(n)s 桌", n=table),
                                                slot=slot_label(session, slot), other=other.enterprise.name))
    for other in others:
        if other.enterprise_id == enterprise_id and other.institution_id == institution_id:
            where = slot_label(session, other.slot) if other.slot is not None else _l("待定时段")
            return FieldError("institution", _("双方在本场次已有会谈（%(slot)s）。", slot=where))
    return FieldError("slot", _l("与已有会谈冲突，请换一个时段或桌号。"))


def move_meeting(actor, meeting: Meeting, slot: int, table_number: int) -> Meeting:
    """Put a proposed or scheduled meeting at another slot and table; a clash names the other meeting.
    Participants of a scheduled meeting are told."""
    session = meeting.session
    scope.ensure_manages_event(actor, session.event)
    availability.lock_parties([session.id], [meeting.enterprise_id], [meeting.institution_id])
    db.session.refresh(meeting)  # as it is now: cancelled or moved meanwhile?
    if meeting.status not in (MeetingStatus.PROPOSED, MeetingStatus.SCHEDULED):
        raise FieldError("slot", _l("该会谈已取消或已结束，不能调整。"))
    _check_place(session, meeting.enterprise_id, meeting.institution_id, slot, table_number)
    if (meeting.slot, meeting.table_number) == (slot, table_number):
        return meeting
    availability.refuse_clash(session, slot, meeting.enterprise_id, meeting.institution_id, table_number,
                              ignore_meeting_id=meeting.id)
    try:
        with db.session.begin_nested():
            availability.set_place(meeting, session, slot, table_number)
            db.session.flush()
    except IntegrityError:
        raise _clash(session, meeting.id, meeting.enterprise_id, meeting.institution_id, slot,
                     table_number) from None
    if meeting.status == MeetingStatus.SCHEDULED:
        notify_meeting_moved(meeting)
    return meeting


def cancel_meeting(actor, meeting: Meeting, reason: str) -> bool:
    """Cancel with a reason; a scheduled meeting's participants are told. Returns whether it changed."""
    scope.ensure_manages_event(actor, meeting.session.event)
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", _l("取消会谈须填写原因。"))
    if len(reason) > 500:
        raise FieldError("reason", _l("原因不能超过 500 字。"))
    availability.lock_parties([meeting.session_id])  # no matching or publication of the session meanwhile
    db.session.refresh(meeting)
    was_scheduled = meeting.status == MeetingStatus.SCHEDULED
    result = db.session.execute(
        update(Meeting).where(Meeting.id == meeting.id,
                              Meeting.status.in_([MeetingStatus.PROPOSED, MeetingStatus.SCHEDULED]))
        .values(status=MeetingStatus.CANCELLED, cancel_reason=reason,
                cancelled_by_user_id=getattr(actor, "id", None), updated_at=utcnow())
        .execution_options(synchronize_session=False))
    db.session.refresh(meeting)
    if result.rowcount != 1:
        return False
    if was_scheduled:
        notify_meeting_cancelled(meeting)
    return True


def _need_and_product(session: EventSession, enterprise_registration: Registration,
                      institution_registration: Registration) -> tuple[int | None, int | None]:
    """The registered need and product the two would talk about: same type, the session's types first."""
    types = set(session.financing_types)
    needs = [n for n in enterprise_registration.needs if n.status != NeedStatus.WITHDRAWN]
    products = [p for p in institution_registration.products if p.status == ProductStatus.ACTIVE]
    pairs = [(n, p) for n in needs for p in products if n.type == p.type]
    pairs.sort(key=lambda pair: (bool(types) and pair[0].type not in types, pair[0].id, pair[1].id))
    if pairs:
        return pairs[0][0].id, pairs[0][1].id
    return (needs[0].id if needs else None), (products[0].id if products else None)


def add_meeting(actor, session: EventSession, enterprise_id: int, institution_id: int, slot: int,
                table_number: int) -> Meeting:
    """An organiser's own meeting (proposed; the next publication schedules and announces it)."""
    scope.ensure_manages_event(actor, session.event)
    if not session.kind_enum.has_meetings:
        raise FieldError("enterprise", _l("只有对接类场次可以安排会谈。"))
    availability.lock_parties([session.id])  # the session first: registrations are decided under its lock
    enterprise_registration = approved_registration_of(session, enterprise_id=enterprise_id)
    if enterprise_registration is None:
        raise FieldError("enterprise", _l("该企业未获准参加本场次。"))
    institution_registration = approved_registration_of(session, institution_id=institution_id)
    if institution_registration is None:
        raise FieldError("institution", _l("该机构未获准参加本场次。"))
    availability.lock_parties([], [enterprise_id], [institution_id])
    _check_place(session, enterprise_id, institution_id, slot, table_number)
    availability.refuse_clash(session, slot, enterprise_id, institution_id, table_number)
    need_id, product_id = _need_and_product(session, enterprise_registration, institution_registration)
    request = pending_request_for(session, enterprise_id, institution_id)
    if request is not None:
        need_id, product_id = request.need_id or need_id, request.product_id or product_id
    meeting = availability.set_place(Meeting(
        session_id=session.id, enterprise_id=enterprise_id, institution_id=institution_id, need_id=need_id,
        product_id=product_id, request_id=request.id if request else None, status=MeetingStatus.PROPOSED,
        source=MeetingSource.ORGANISER, reasons=[]), session, slot, table_number)
    if request is not None and request.session_id is None:
        request.session_id = session.id
    try:
        with db.session.begin_nested():
            db.session.add(meeting)
            db.session.flush()
    except IntegrityError:
        raise _clash(session, None, enterprise_id, institution_id, slot, table_number) from None
    return meeting
