"""The hall's tables: which venue table each institution sits at in an offline or hybrid session.

An institution staffs `Registration.tables` tables of its own (its 1st, 2nd … table: `Meeting.table_number`);
the venue numbers its tables 1..`EventSession.tables` and labels them "洽谈区 A 第 07 桌". Allotting maps
the one to the other (`VenueTable`), so no two institutions share a venue table in a session. Sessions
whose times overlap in the same venue and room share the hall: they never get the same label, which this
service checks under the rows' locks (every such session row `FOR UPDATE`, ascending id: step 1 of the one
lock order, which every caller takes with availability.lock_parties first; SQLite's BEGIN IMMEDIATE serialises writers)
while the database refuses duplicates within a session.
"""
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from core.errors import FieldError
from core.extensions import db
from events.enums import MeetingStatus, RegistrationStatus, SessionMode
from events.models import EventSession, Meeting, Registration, VenueTable
from events.services import scope
from events.services.slots import slot_label

TABLED_MODES = (SessionMode.OFFLINE, SessionMode.HYBRID)


def has_venue_tables(session: EventSession) -> bool:
    """Matchmaking sessions held in a place (offline or hybrid) seat institutions at the hall's tables."""
    return session.kind.has_meetings and session.mode in TABLED_MODES


def padded(number: int, digits: int) -> str:
    return f"{number:0{max(1, min(digits or 1, 3))}d}"


def venue_label(area: str, digits: int, number: int) -> str:
    """The label printed on the table card, as stored: "洽谈区 A 第 07 桌" (or "第 07 桌" without an area)."""
    area = (area or "").strip()
    return f"{area} 第 {padded(number, digits)} 桌" if area else f"第 {padded(number, digits)} 桌"


def venue_label_en(area: str, digits: int, number: int) -> str:
    """The same table in English messages (which do not go through the catalogue)."""
    area = (area or "").strip()
    return f"{area}, table {padded(number, digits)}" if area else f"table {padded(number, digits)}"


def display_label(table: VenueTable, session: EventSession) -> str:
    """The venue table in the reader's language."""
    number = padded(table.number, session.table_digits)
    if (session.table_area or "").strip():
        return _("%(area)s 第 %(n)s 桌", area=session.table_area.strip(), n=number)
    return _("第 %(n)s 桌", n=number)


def _table_of(meeting: Meeting) -> VenueTable | None:
    """The meeting's venue table; loaded again if the meeting moved to another table since it was read."""
    row = meeting.venue_table
    if row is not None and (row.session_id, row.institution_id, row.table_index) != \
            (meeting.session_id, meeting.institution_id, meeting.table_number):
        db.session.expire(meeting, ["venue_table"])
        row = meeting.venue_table
    return row


def meeting_table_label(meeting: Meeting) -> str:
    """Where at the venue the meeting sits ("洽谈区 A 第 07 桌"); "" when it has no table (online, unplaced)."""
    session = meeting.session
    if meeting.table_number is None or not has_venue_tables(session):
        return ""
    table = _table_of(meeting)
    return _("桌号待分配") if table is None else display_label(table, session)


def meeting_table_labels(meeting: Meeting) -> tuple[str, str]:
    """(Chinese, English) of the meeting's venue table for bilingual messages; ("", "") when none."""
    session = meeting.session
    if meeting.table_number is None or not has_venue_tables(session):
        return "", ""
    table = _table_of(meeting)
    if table is None:
        return "桌号待分配", "table to be assigned"
    number = table.number
    return (venue_label(session.table_area, session.table_digits, number),
            venue_label_en(session.table_area, session.table_digits, number))


def tables_by_index(session: EventSession) -> dict[tuple[int, int], VenueTable]:
    """(institution id, its table index) → venue table, in one query."""
    rows = db.session.scalars(select(VenueTable).where(VenueTable.session_id == session.id))
    return {(row.institution_id, row.table_index): row for row in rows}


def table_headings(session: EventSession, registrations) -> dict[tuple[int, int], str]:
    """(institution id, its table) → what to call that table on a page: the venue label, "N 号桌" online."""
    if not has_venue_tables(session):
        return {(r.institution_id, t): _("%(n)s 号桌", n=t) for r in registrations
                for t in range(1, (r.tables or 1) + 1)}
    allotted = tables_by_index(session)
    return {(r.institution_id, t): display_label(allotted[(r.institution_id, t)], session)
            if (r.institution_id, t) in allotted else _("桌号待分配")
            for r in registrations for t in range(1, (r.tables or 1) + 1)}


def labels_of_institution(institution_id: int | None) -> dict[int, list[str]]:
    """session id → the venue tables the institution holds there, in its own table order (one query)."""
    if institution_id is None:
        return {}
    rows = db.session.execute(select(VenueTable, EventSession)
                              .join(EventSession, EventSession.id == VenueTable.session_id)
                              .where(VenueTable.institution_id == institution_id)
                              .order_by(VenueTable.session_id, VenueTable.table_index)).all()
    labels: dict[int, list[str]] = {}
    for table, session in rows:
        labels.setdefault(session.id, []).append(display_label(table, session))
    return labels


# ---- allotting ----------------------------------------------------------------------------------

def _same_room(session: EventSession, other: EventSession) -> bool:
    return (other.venue or "").strip() == (session.venue or "").strip() and \
        (other.room or "").strip() == (session.room or "").strip()


def sharing_sessions(session: EventSession) -> list[EventSession]:
    """Other tabled sessions in the same venue and room whose times overlap this one's (any event)."""
    candidates = db.session.scalars(select(EventSession).where(
        EventSession.id != session.id, EventSession.starts_at < session.ends_at,
        EventSession.ends_at > session.starts_at, EventSession.mode.in_(TABLED_MODES))
        .order_by(EventSession.id)).all()
    return [other for other in candidates if has_venue_tables(other) and _same_room(session, other)]


def _labels_elsewhere(sessions: list[EventSession]) -> dict[str, str]:
    """label → title of the overlapping session that holds it."""
    if not sessions:
        return {}
    titles = {s.id: s.title for s in sessions}
    rows = db.session.execute(select(VenueTable.label, VenueTable.session_id)
                              .where(VenueTable.session_id.in_(titles)))
    return {label: titles[session_id] for label, session_id in rows}


def _label_list(labels) -> str:
    labels = sorted(labels)
    shown = _("、").join(labels[:8])
    return shown if len(labels) <= 8 else _("%(labels)s 等 %(n)s 张", labels=shown, n=len(labels))


@dataclass
class Allotment:
    """What syncing a session's venue tables did."""

    added: list[VenueTable] = field(default_factory=list)
    released: int = 0


def sync_session_tables(session: EventSession) -> Allotment:
    """Make the session's venue tables match its approved institutions: keep what is allotted (relabelled
    when the area or padding changed), release what no approved registration needs, allot the rest.

    The caller holds step 1 of the one lock order (`availability.lock_parties([session.id])`: the session and
    those sharing its hall); every caller takes it before anything changes. Idempotent. Refuses (naming the tables) when the hall has too few tables, when a number is beyond
    the hall's count, or when a label would clash with an overlapping session in the same room.
    """
    result = Allotment()
    others = sharing_sessions(session) if has_venue_tables(session) else []  # locked by the caller (step 1)
    rows = db.session.scalars(select(VenueTable).where(VenueTable.session_id == session.id)
                              .order_by(VenueTable.number)).all()
    if not has_venue_tables(session):
        if rows:
            result.released = len(rows)
            db.session.execute(delete(VenueTable).where(VenueTable.session_id == session.id))
            db.session.flush()
        return result
    wanted = {r.institution_id: (r.tables or 1) for r in db.session.scalars(select(Registration).where(
        Registration.session_id == session.id, Registration.institution_id.is_not(None),
        Registration.status == RegistrationStatus.APPROVED))}
    kept = []
    for row in rows:
        if row.table_index > wanted.get(row.institution_id, 0):
            db.session.delete(row)
            result.released += 1
        else:
            kept.append(row)
    for row in kept:
        row.label = venue_label(session.table_area, session.table_digits, row.number)
    beyond = [row for row in kept if row.number > session.tables]
    if beyond:
        raise FieldError("tables", _("洽谈桌数不能少于已分配的桌号：%(labels)s 已分配给参会机构。",
                                     labels=_label_list(row.label for row in beyond)))
    elsewhere = _labels_elsewhere(others)
    clashes = [row.label for row in kept if row.label in elsewhere]
    if clashes:
        raise FieldError("table_area", _("%(labels)s 已被同一场地、时间重叠的场次“%(title)s”使用，请换一个洽谈区名称。",
                                         labels=_label_list(clashes), title=elsewhere[clashes[0]]))
    held = {(row.institution_id, row.table_index) for row in kept}
    missing = [(institution_id, index) for institution_id, count in sorted(wanted.items())
               for index in range(1, count + 1) if (institution_id, index) not in held]
    used = {row.number for row in kept}
    free = [number for number in range(1, session.tables + 1) if number not in used
            and venue_label(session.table_area, session.table_digits, number) not in elsewhere]
    if len(free) < len(missing):
        shared = sorted(number for number in range(1, session.tables + 1) if number not in used
                        and venue_label(session.table_area, session.table_digits, number) in elsewhere)
        raise FieldError("tables", _(
            "洽谈桌不够：场地共 %(total)s 张桌，已分配 %(used)s 张，同场地时间重叠的场次占用 %(shared)s 张，"
            "还需 %(need)s 张、只剩 %(free)s 张。请增加场次的洽谈桌数，或减少机构的桌数。",
            total=session.tables, used=len(used), shared=len(shared), need=len(missing), free=len(free)))
    db.session.flush()  # releases and relabels first, so a re-used number does not collide
    for (institution_id, index), number in zip(missing, free):
        row = VenueTable(session_id=session.id, number=number, institution_id=institution_id, table_index=index,
                         label=venue_label(session.table_area, session.table_digits, number))
        db.session.add(row)
        result.added.append(row)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise FieldError("tables", _("洽谈桌刚被其他操作分配，请刷新后再试。")) from None
    for meeting in db.session.identity_map.values():  # meetings already loaded see their new table
        if isinstance(meeting, Meeting) and meeting.session_id == session.id:
            db.session.expire(meeting, ["venue_table"])
    return result


def release_tables(registration: Registration) -> int:
    """A registration no longer approved gives its venue tables back; returns how many."""
    if registration.institution_id is None:
        return 0
    result = db.session.execute(delete(VenueTable).where(VenueTable.session_id == registration.session_id,
                                                         VenueTable.institution_id == registration.institution_id)
                                .execution_options(synchronize_session="fetch"))
    return result.rowcount


# ---- the printable table plan -------------------------------------------------------------------

@dataclass
class PlanRow:
    label: str
    institution: str
    enterprise: str = ""
    status: str = ""


@dataclass
class PlanSlot:
    label: str
    rows: list[PlanRow]


@dataclass
class TableCard:
    label: str
    institution: str
    staff: list[str]


@dataclass
class TablePlan:
    session: EventSession
    slots: list[PlanSlot]
    cards: list[TableCard]
    unallotted: list[str]  # institutions approved but without a venue table


def table_plan(actor, session: EventSession) -> TablePlan:
    """The day's plan: per slot, each venue table with its institution and enterprise; a card per table."""
    scope.ensure_manages_event(actor, session.event)
    tables = db.session.scalars(select(VenueTable).where(VenueTable.session_id == session.id)
                                .options(selectinload(VenueTable.institution)).order_by(VenueTable.number)).all()
    registrations = db.session.scalars(select(Registration).where(
        Registration.session_id == session.id, Registration.institution_id.is_not(None),
        Registration.status == RegistrationStatus.APPROVED)
        .options(selectinload(Registration.institution), selectinload(Registration.staff))
        .order_by(Registration.id)).all()
    staff: dict[tuple[int, int], list[str]] = {}
    for registration in registrations:
        for member in registration.staff:
            staff.setdefault((registration.institution_id, member.table_number or 1), []).append(
                _("%(a)s（%(b)s）", a=member.name, b=member.title) if member.title else member.name)
    meetings = db.session.scalars(select(Meeting).where(
        Meeting.session_id == session.id, Meeting.slot.is_not(None), Meeting.status != MeetingStatus.CANCELLED)
        .options(selectinload(Meeting.enterprise))).all()
    at = {(m.institution_id, m.table_number, m.slot): m for m in meetings}
    slots = []
    for slot in range(session.slot_count):
        rows = []
        for table in tables:
            meeting = at.get((table.institution_id, table.table_index, slot))
            rows.append(PlanRow(label=display_label(table, session), institution=table.institution.name,
                                enterprise=meeting.enterprise.name if meeting else "",
                                status=meeting.status.label if meeting else ""))
        slots.append(PlanSlot(label=slot_label(session, slot), rows=rows))
    cards = [TableCard(label=display_label(table, session), institution=table.institution.name,
                       staff=staff.get((table.institution_id, table.table_index), [])) for table in tables]
    seated = {table.institution_id for table in tables}
    unallotted = [r.institution.name for r in registrations if r.institution_id not in seated]
    return TablePlan(session=session, slots=slots, cards=cards, unallotted=unallotted)

