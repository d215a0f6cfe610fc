"""Whether a party is free at a time: THE one place that decides it, across every session and event.

A party is an enterprise, or a person staffing an institution's table. A meeting is *live* unless it
is cancelled (proposed, scheduled, held, no-show). Each placed meeting stores its absolute interval
(`Meeting.starts_at`/`ends_at`, set with the slot by `set_place`); two live meetings clash when their
intervals overlap and they share the enterprise, or the same institution table of one session, or a
staff member. Staff are per registration (`RegistrationStaff`), so the same person is recognised
across sessions of the same institution by normalised phone when both rows give one, else by name.
A staff row without a table number sits at the table of a single-table registration.

Within one session the partial unique indexes on meetings still refuse clashes (slot × enterprise,
slot × table, the pair) as a backstop; across sessions this service, under the locks below, is the
rule. Every path that places or moves a meeting calls it: the matcher (busy times elsewhere become
unavailable slots), the organiser's adds and moves, bookings, accepted requests, and the free-cell
listings that bookings and freed-slot offers are built from.

Lock order. `lock_parties` is THE one place that takes the locks of a meeting write; every path that
writes a session's meetings calls it before it reads what it decides on, so that check-then-write is
race-free and no two writers can wait on each other on PostgreSQL:

1. the event session rows being written and every session sharing their hall at the time
   (`venue_tables.sharing_sessions`, for sessions seated at the hall's tables), ``FOR UPDATE``, ascending id,
   in one statement (a path that may try several sessions, such as an accepted request, or a job that
   matches several, locks all of them up front);
2. the enterprise rows, ascending id;
3. the institution rows, ascending id.

A transaction may call it again (a service calling another): rows it already holds are not asked for again,
rows later in the order than everything it holds are waited for. A row earlier in the order than one it holds
(a session after a party, a lower id of the same kind: a script matching sessions one after the other) is
taken ``NOWAIT`` instead — a transaction never waits out of order, so no two can wait on each other — and if
another writer has it, the action is refused with a FieldError ("正被其他操作修改，请稍后重试") rather than a
deadlock. Jobs that write several sessions therefore lock them all up front.

The callers, by path (all in events/):
- matching: `scheduling.run_matching` (session, then its approved parties), `scheduling.run_due_matching`
  (every due session and their parties up front);
- publishing: `publication.publish_schedule`, `publication.publish_due_schedules` (every due session up front);
- the hall's tables: `venue_tables.sync_session_tables` (approvals, matching, publishing, session edits), whose
  callers all lock the session first;
- booking and placing: `agenda.book_slot`, `agenda.place_meeting` (accepted requests, via
  `requests.accept_request` / `place_accepted_request`, which lock every candidate session first);
- the organiser's edits: `schedule_edits.move_meeting`, `add_meeting`, `cancel_meeting`;
- cancelling: `agenda.cancel_meeting`, `agenda.cancel_party_meetings`;
- registration decisions: `registration._lock_session` (sign-up, approve, reject, waitlist, cancel, promote),
  taken before the registration changes, so the matcher never plans a party that is leaving;
- the meeting's day: `agenda.check_in`, `outcomes.record_outcome` (held / no-show).
Cancelling and status changes lock the session only: they free places, they never take one.

Party rows are taken ``FOR NO KEY UPDATE``: it excludes every other writer of meetings for that party
(whatever the session) but not the ``FOR KEY SHARE`` that inserting a row referencing the party takes,
so unrelated inserts (needs, registrations, notifications) never wait on it. Within a session the partial
unique indexes stay the backstop: inserts run in a SAVEPOINT and a unique violation becomes a FieldError.
On SQLite the row locks are plain SELECTs and ``BEGIN IMMEDIATE`` (chainmatch/database.py) serialises writers.
"""
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from core.clock import format_shanghai
from core.errors import FieldError
from core.extensions import db
from events.enums import ACTIVE_MEETING_STATUSES
from events.models import EventSession, Meeting, Registration, RegistrationStaff
from events.services import venue_tables
from market.models import Enterprise, Institution

LIVE = tuple(ACTIVE_MEETING_STATUSES)
log = logging.getLogger(__name__)


# ---- the stored interval --------------------------------------------------------------------------

def set_place(meeting: Meeting, session: EventSession, slot: int, table: int) -> Meeting:
    """Give a meeting its slot and table, and with them its absolute interval."""
    meeting.slot, meeting.table_number = slot, table
    meeting.starts_at, meeting.ends_at = session.slot_starts_at(slot), session.slot_ends_at(slot)
    return meeting


def overlaps(starts_a: datetime, ends_a: datetime, starts_b: datetime, ends_b: datetime) -> bool:
    return starts_a < ends_b and starts_b < ends_a


# ---- locks --------------------------------------------------------------------------------------

_HELD = "chainmatch.meeting_write_locks"
_KINDS = (("session", EventSession), ("enterprise", Enterprise), ("institution", Institution))


@event.listens_for(Session, "after_transaction_end")
def _forget_locks(session: Session, transaction) -> None:
    """Row locks end with the outermost transaction."""
    if transaction.parent is None:
        session.info.pop(_HELD, None)


def held_locks() -> dict[str, set[int]]:
    """What this transaction holds through `lock_parties`: kind → ids."""
    return db.session.info.setdefault(_HELD, {kind: set() for kind, _model in _KINDS})


def lock_parties(session_ids, enterprise_ids=(), institution_ids=()) -> None:
    """Take the locks of a meeting write in THE order: sessions (with those sharing their hall), enterprises,
    institutions, each kind ascending in one statement. Rows already held are not asked for again; rows that
    come before one already held are taken without waiting, or the action is refused (see the module)."""
    wanted = {"session": _with_hall({int(i) for i in session_ids}),
              "enterprise": {int(i) for i in enterprise_ids}, "institution": {int(i) for i in institution_ids}}
    held = held_locks()
    for position, (kind, model) in enumerate(_KINDS):
        new = wanted[kind] - held[kind]
        if not new:
            continue
        options = {} if model is EventSession else {"key_share": True}
        query = select(model.id).where(model.id.in_(new)).order_by(model.id)
        later = any(held[other] for other, _model in _KINDS[position + 1:])
        if later or (held[kind] and min(new) < max(held[kind])):
            _lock_without_waiting(kind, query, options)
        else:
            db.session.execute(query.with_for_update(**options)).all()
        held[kind] |= new


def _lock_without_waiting(kind: str, query, options: dict) -> None:
    """Rows out of the order: NOWAIT in a SAVEPOINT, a refusal if another writer holds one of them."""
    log.info("meeting-write lock on %s rows taken out of order, without waiting", kind)
    try:
        with db.session.begin_nested():
            db.session.execute(query.with_for_update(nowait=True, **options)).all()
    except OperationalError:  # PostgreSQL's lock_not_available: someone else is writing them
        raise FieldError("session", _l("同一场次或参会方正被其他操作修改，请稍后重试。")) from None


def _with_hall(session_ids: set[int]) -> set[int]:
    """The sessions and every session sharing the hall of one of them (only tabled sessions share a hall)."""
    found = set(session_ids)
    for session in db.session.scalars(select(EventSession).where(EventSession.id.in_(session_ids))).all():
        if venue_tables.has_venue_tables(session):
            found.update(other.id for other in venue_tables.sharing_sessions(session))
    return found


# ---- who is busy when -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Busy:
    """One live placed meeting, as much of it as a clash message needs."""

    meeting_id: int
    session_id: int
    session_title: str
    starts_at: datetime
    ends_at: datetime
    enterprise_id: int
    enterprise_name: str
    institution_id: int
    institution_name: str
    table_number: int

    @property
    def when(self) -> str:
        """"01-12 10:00–10:30" in Asia/Shanghai."""
        def local(moment: datetime, pattern: str) -> str:
            return format_shanghai(moment, pattern)
        return f"{local(self.starts_at, '%m-%d %H:%M')}–{local(self.ends_at, '%H:%M')}"


@dataclass(frozen=True)
class Person:
    """A staff member as written on one registration: normalised name and phone."""

    name: str
    phone: str

    def same_as(self, other: "Person") -> bool:
        if self.phone and other.phone:
            return self.phone == other.phone
        return bool(self.name) and self.name == other.name


def person(name: str, phone: str) -> Person:
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return Person(name="".join((name or "").split()).casefold(), phone=digits)


@dataclass(frozen=True)
class Clash:
    """Why a place is not free: the meeting in the way, and the staff member they share (if that is why)."""

    busy: Busy
    reason: str  # "enterprise" | "table" | "staff"
    staff: Person | None = None


@dataclass
class Availability:
    """The live meetings of some parties in a time window and who staffs their tables (loaded in 2 queries).

    `add` records a meeting placed meanwhile, so a loop that places several sees its own work."""

    busy: list[Busy] = field(default_factory=list)
    staff: dict[tuple[int, int, int], tuple[Person, ...]] = field(default_factory=dict)
    names: dict[tuple[int, int, int], tuple[str, ...]] = field(default_factory=dict)
    _of_enterprise: dict[int, list[Busy]] = field(default_factory=dict, repr=False)
    _of_institution: dict[int, list[Busy]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for busy in self.busy:
            self._index(busy)

    def _index(self, busy: Busy) -> None:
        self._of_enterprise.setdefault(busy.enterprise_id, []).append(busy)
        self._of_institution.setdefault(busy.institution_id, []).append(busy)

    @classmethod
    def load(cls, starts_at: datetime, ends_at: datetime, enterprise_ids=(), institution_ids=(),
             sessions=(), ignore_meeting_ids=(), ignore_session_id: int | None = None) -> "Availability":
        """Live placed meetings overlapping [starts_at, ends_at) of these enterprises or institutions, and the
        staff of those institutions in those meetings' sessions and in `sessions` (the ones to be written)."""
        enterprise_ids, institution_ids = set(enterprise_ids), set(institution_ids)
        parties = []
        if enterprise_ids:
            parties.append(Meeting.enterprise_id.in_(enterprise_ids))
        if institution_ids:
            parties.append(Meeting.institution_id.in_(institution_ids))
        busy = []
        if parties:
            query = (select(Meeting.id, Meeting.session_id, EventSession.title, Meeting.starts_at, Meeting.ends_at,
                            Meeting.enterprise_id, Enterprise.name, Meeting.institution_id, Institution.name,
                            Meeting.table_number)
                     .join(EventSession, EventSession.id == Meeting.session_id)
                     .join(Enterprise, Enterprise.id == Meeting.enterprise_id)
                     .join(Institution, Institution.id == Meeting.institution_id)
                     .where(or_(*parties), Meeting.status.in_(LIVE), Meeting.starts_at.is_not(None),
                            Meeting.starts_at < ends_at, Meeting.ends_at > starts_at)
                     .order_by(Meeting.starts_at, Meeting.id))
            if ignore_meeting_ids:
                query = query.where(Meeting.id.not_in(list(ignore_meeting_ids)))
            if ignore_session_id is not None:
                query = query.where(Meeting.session_id != ignore_session_id)
            busy = [Busy(*row) for row in db.session.execute(query)]
        found = cls(busy=busy)
        session_ids = {b.session_id for b in busy} | {s.id for s in sessions}
        staffed = institution_ids | {b.institution_id for b in busy}
        if session_ids and staffed:
            rows = db.session.execute(
                select(Registration.session_id, Registration.institution_id, Registration.tables,
                       RegistrationStaff.table_number, RegistrationStaff.name, RegistrationStaff.phone)
                .join(RegistrationStaff, RegistrationStaff.registration_id == Registration.id)
                .where(Registration.session_id.in_(session_ids), Registration.institution_id.in_(staffed))
                .order_by(RegistrationStaff.id))
            for session_id, institution_id, tables, table, name, phone in rows:
                if table is None and (tables or 1) == 1:
                    table = 1
                if table is None:
                    continue
                key = (session_id, institution_id, table)
                found.staff[key] = found.staff.get(key, ()) + (person(name, phone),)
                found.names[key] = found.names.get(key, ()) + (name,)
        return found

    def add(self, meeting: Meeting, session: EventSession) -> None:
        busy = Busy(meeting.id, session.id, session.title, meeting.starts_at, meeting.ends_at,
                    meeting.enterprise_id, "", meeting.institution_id, "", meeting.table_number)
        self.busy.append(busy)
        self._index(busy)

    def enterprise_clash(self, enterprise_id: int, starts_at: datetime, ends_at: datetime,
                         ignore: int | None = None) -> Clash | None:
        for busy in self._of_enterprise.get(enterprise_id, ()):
            if busy.meeting_id != ignore and \
                    overlaps(busy.starts_at, busy.ends_at, starts_at, ends_at):
                return Clash(busy, "enterprise")
        return None

    def table_clash(self, session_id: int, institution_id: int, table: int, starts_at: datetime, ends_at: datetime,
                    ignore: int | None = None) -> Clash | None:
        """The table is taken in this session, or one of its staff sits at an overlapping meeting elsewhere."""
        people = self.staff.get((session_id, institution_id, table), ())
        for busy in self._of_institution.get(institution_id, ()):
            if busy.meeting_id == ignore or \
                    not overlaps(busy.starts_at, busy.ends_at, starts_at, ends_at):
                continue
            if busy.session_id == session_id:
                if busy.table_number == table:
                    return Clash(busy, "table")
                continue
            others = self.staff.get((busy.session_id, institution_id, busy.table_number), ())
            for mine in people:
                if any(mine.same_as(other) for other in others):
                    index = people.index(mine)
                    shown = self.names[(session_id, institution_id, table)][index]
                    return Clash(busy, "staff", Person(shown, mine.phone))
        return None

    def clash(self, session: EventSession, slot: int, enterprise_id: int, institution_id: int, table: int,
              ignore: int | None = None) -> Clash | None:
        starts_at, ends_at = session.slot_starts_at(slot), session.slot_ends_at(slot)
        return self.enterprise_clash(enterprise_id, starts_at, ends_at, ignore) or \
            self.table_clash(session.id, institution_id, table, starts_at, ends_at, ignore)

    def busy_slots_of_enterprise(self, session: EventSession, enterprise_id: int) -> frozenset[int]:
        return frozenset(slot for slot in range(session.slot_count) if self.enterprise_clash(
            enterprise_id, session.slot_starts_at(slot), session.slot_ends_at(slot)))

    def busy_slots_of_table(self, session: EventSession, institution_id: int, table: int) -> frozenset[int]:
        return frozenset(slot for slot in range(session.slot_count) if self.table_clash(
            session.id, institution_id, table, session.slot_starts_at(slot), session.slot_ends_at(slot)))


def for_session(session: EventSession, enterprise_ids=(), institution_ids=(), ignore_meeting_ids=(),
                ignore_session_id: int | None = None) -> Availability:
    """The parties' busy times that can touch `session`'s slots."""
    return Availability.load(session.starts_at, session.ends_at, enterprise_ids, institution_ids, [session],
                             ignore_meeting_ids, ignore_session_id)


# ---- refusals in words ----------------------------------------------------------------------------

def clash_error(clash: Clash, for_sme: bool = False) -> FieldError:
    """A refusal that names the other meeting and its time, beside the right field."""
    busy = clash.busy
    if for_sme:
        if clash.reason == "enterprise":
            return FieldError("slot", _("您在 %(when)s 已与 %(other)s 有会谈（场次：%(session)s），请选择其他时段。",
                                        when=busy.when, other=busy.institution_name, session=busy.session_title))
        return FieldError("slot", _("该桌在 %(when)s 已有其他会谈，请选择其他时段。", when=busy.when))
    if clash.reason == "enterprise":
        return FieldError("slot", _("该企业在 %(when)s 已与 %(other)s 会谈（场次：%(session)s）。", when=busy.when,
                                    other=busy.institution_name, session=busy.session_title))
    if clash.reason == "table":
        table = venue_tables.meeting_table_label(db.session.get(Meeting, busy.meeting_id)) or \
            _("第 %(n)s 桌", n=busy.table_number)
        return FieldError("table_number", _("%(institution)s %(table)s在 %(when)s 已有会谈（%(other)s）。",
                                            institution=busy.institution_name, table=table,
                                            when=busy.when, other=busy.enterprise_name))
    return FieldError("table_number", _("该桌的洽谈人员 %(staff)s 在 %(when)s 已在“%(session)s”与 %(other)s 会谈。",
                                        staff=clash.staff.name if clash.staff else "", when=busy.when,
                                        session=busy.session_title, other=busy.enterprise_name))


def refuse_clash(session: EventSession, slot: int, enterprise_id: int, institution_id: int, table: int,
                 ignore_meeting_id: int | None = None, for_sme: bool = False) -> None:
    """Raise a FieldError naming the meeting in the way, unless both parties are free at that place and time.
    Call it under `lock_parties`."""
    availability = Availability.load(session.slot_starts_at(slot), session.slot_ends_at(slot), [enterprise_id],
                                     [institution_id], [session])
    clash = availability.clash(session, slot, enterprise_id, institution_id, table, ignore_meeting_id)
    if clash is not None:
        raise clash_error(clash, for_sme)
