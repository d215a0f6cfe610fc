"""Matching a session: the engine's instance from the approved registrations, its plan into meetings.

Ids given to the engine are "e<enterprise id>", "n<need id>", "i<institution id>", "p<product id>".
Re-running replaces only the matcher's proposed meetings; scheduled, held and the organisers' or
requests' meetings stay, and the engine plans around them. The parties' live meetings in other sessions
and events (events.services.availability) become unavailable slots; pending accepted requests (待安排)
go to the engine as accepted, so it places them first, and the meetings it gives them answer them.
"""
import logging
from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

import matchmaking
from core.actors import SYSTEM
from core.clock import utcnow
from core.errors import FieldError
from core.extensions import db
from events.enums import (
    ACTIVE_MEETING_STATUSES,
    MATCHMAKING_KINDS,
    EventStatus,
    MeetingSource,
    MeetingStatus,
    RegistrationStatus,
    RequestDirection,
    RequestStatus,
)
from events.models import Event, EventSession, Meeting, MeetingRequest, Registration, UnmatchedEnterprise
from events.services import availability, scope, venue_tables
from events.services.planning import advance_event
from events.services.requests import pending_requests_for_session, settled_request_ids
from market.enums import NeedStatus, ProductStatus

MATCHABLE_EVENT_STATUSES = (EventStatus.CLOSED, EventStatus.MATCHED, EventStatus.PUBLISHED, EventStatus.RUNNING)
ENGINE_REQUEST_STATUS = {RequestStatus.ACCEPTED: "accepted", RequestStatus.REQUESTED: "requested",
                         RequestStatus.DECLINED: "declined"}
ACTIVE = list(ACTIVE_MEETING_STATUSES)
TYPE_NOT_SERVED = ("所报融资需求的类型不在本场服务范围内", "the registered needs are of a type this session does not serve")
log = logging.getLogger(__name__)


def _key(prefix: str, number: int) -> str:
    return f"{prefix}{number}"


def _number(key: str) -> int:
    return int(key[1:])


def approved_registrations(session: EventSession) -> list[Registration]:
    return list(db.session.scalars(select(Registration).where(
        Registration.session_id == session.id, Registration.status == RegistrationStatus.APPROVED)
        .order_by(Registration.id)))


def active_meetings(session: EventSession) -> list[Meeting]:
    return list(db.session.scalars(select(Meeting).where(Meeting.session_id == session.id,
                                                         Meeting.status.in_(ACTIVE)).order_by(Meeting.id)))


def replaceable(meeting: Meeting) -> bool:
    """The matcher's own proposals are replaced by a new run; everything else is kept."""
    return meeting.status == MeetingStatus.PROPOSED and meeting.source == MeetingSource.MATCHER


def unavailable_slots(registration: Registration, slots: int) -> frozenset[int]:
    return frozenset(int(s) for s in (registration.unavailable_slots or [])
                     if isinstance(s, int) and not isinstance(s, bool) and 0 <= s < slots)


@dataclass
class Occupancy:
    """Who is busy when: enterprises per slot, institutions' tables per slot."""

    enterprise_slots: set = field(default_factory=set)   # (enterprise id, slot)
    table_slots: set = field(default_factory=set)        # (institution id, table, slot)
    pairs: set = field(default_factory=set)              # (enterprise id, institution id)

    def add(self, enterprise_id: int, institution_id: int, slot: int | None, table: int | None) -> None:
        self.pairs.add((enterprise_id, institution_id))
        if slot is not None:
            self.enterprise_slots.add((enterprise_id, slot))
            self.table_slots.add((institution_id, table, slot))

    def free(self, enterprise_id: int, institution_id: int, slot: int, table: int) -> bool:
        return (enterprise_id, slot) not in self.enterprise_slots and \
            (institution_id, table, slot) not in self.table_slots


def staff_busy_cells(session: EventSession, registrations: list[Registration],
                     known: availability.Availability) -> set[tuple[int, int, int]]:
    """(institution id, table, slot) cells whose staff sit at an overlapping live meeting in another session."""
    cells = set()
    for registration in registrations:
        if registration.institution_id is None:
            continue
        for table in range(1, (registration.tables or 1) + 1):
            cells |= {(registration.institution_id, table, slot)
                      for slot in known.busy_slots_of_table(session, registration.institution_id, table)}
    return cells


def build_instance(session: EventSession, registrations: list[Registration], kept: list[Meeting],
                   known: availability.Availability | None = None, settled_request_ids: set | None = None):
    """The engine's instance for `session`, planning around the meetings that are kept and the parties'
    busy times elsewhere (`known`, loaded without this session's meetings)."""
    slots = session.slot_count
    types = set(session.financing_types)
    placed = [m for m in kept if m.slot is not None]
    known = known or availability.Availability()
    kept_slots_of_enterprise: dict[int, set] = {}
    kept_count_of_institution: dict[int, int] = {}
    tables_used_in_slot: dict[tuple[int, int], set] = {}
    for meeting in placed:
        kept_slots_of_enterprise.setdefault(meeting.enterprise_id, set()).add(meeting.slot)
        kept_count_of_institution[meeting.institution_id] = kept_count_of_institution.get(meeting.institution_id, 0) + 1
        tables_used_in_slot.setdefault((meeting.institution_id, meeting.slot), set()).add(meeting.table_number)
    for institution_id, table, slot in staff_busy_cells(session, registrations, known):
        tables_used_in_slot.setdefault((institution_id, slot), set()).add(table)

    enterprises, needs, institutions, products = [], [], [], []
    for registration in registrations:
        if registration.enterprise_id is not None:
            enterprise = registration.enterprise
            own = kept_slots_of_enterprise.get(enterprise.id, set())
            cap = registration.max_meetings
            enterprises.append(matchmaking.Enterprise(
                id=_key("e", enterprise.id), region=enterprise.region_code, chain=enterprise.chain.code,
                stage=enterprise.stage, tiers=tuple(enterprise.tiers),
                max_meetings=None if cap is None else max(cap - len(own), 0),
                unavailable=unavailable_slots(registration, slots) | frozenset(own)
                | known.busy_slots_of_enterprise(session, enterprise.id),
                nodes=tuple(f"{enterprise.chain.code}/{node.code}" for node in enterprise.nodes),
                name=enterprise.name))
            for need in registration.needs:
                if need.status == NeedStatus.WITHDRAWN or (types and need.type not in types):
                    continue
                needs.append(matchmaking.Need(
                    id=_key("n", need.id), enterprise=_key("e", enterprise.id), type=need.type,
                    amount=need.amount_yuan, term_months=need.term_months, collateral=tuple(need.collateral),
                    purpose=need.purpose))
        else:
            institution = registration.institution
            tables = registration.tables or 1
            full = frozenset(slot for (inst_id, slot), used in tables_used_in_slot.items()
                             if inst_id == institution.id and len(used) >= tables)
            cap = registration.max_meetings
            kept_here = kept_count_of_institution.get(institution.id, 0)
            institutions.append(matchmaking.Institution(
                id=_key("i", institution.id), kind=institution.kind, tables=tables,
                max_meetings=None if cap is None else max(cap - kept_here, 0),
                unavailable=unavailable_slots(registration, slots) | full, name=institution.name))
            for product in registration.products:
                if product.status != ProductStatus.ACTIVE or (types and product.type not in types):
                    continue
                products.append(matchmaking.Product(
                    id=_key("p", product.id), institution=_key("i", institution.id), type=product.type,
                    amount_min=product.amount_min_yuan, amount_max=product.amount_max_yuan,
                    regions=tuple(product.region_codes), chains=tuple(chain.code for chain in product.chains),
                    stages=tuple(product.stages), tiers=tuple(product.tiers), collateral=tuple(product.collateral),
                    rate_min_bp=product.rate_min_bp, rate_max_bp=product.rate_max_bp,
                    term_min_months=product.term_min_months, term_max_months=product.term_max_months,
                    is_exclusive=bool(product.is_exclusive), name=product.name))

    requests = _engine_requests(session, {e.id for e in enterprises}, {i.id for i in institutions}, kept,
                                settled_request_ids or set())
    return matchmaking.Instance(slots=slots, enterprises=tuple(enterprises), needs=tuple(needs),
                                institutions=tuple(institutions), products=tuple(products),
                                requests=tuple(requests))


def _engine_requests(session: EventSession, enterprise_keys: set, institution_keys: set,
                     kept: list[Meeting], settled_request_ids: set) -> list:
    """The event's requests; a kept placed meeting's pair counts as settled (declined for the engine),
    a kept meeting still without a slot as accepted, so the engine places it first. An accepted request
    that already has its meeting (`settled_request_ids`, in any session) is settled too; a pending one
    goes as accepted, which the engine keeps before anything else."""
    requests = []
    rows = db.session.scalars(select(MeetingRequest).where(
        MeetingRequest.event_id == session.event_id,
        MeetingRequest.status.in_(list(ENGINE_REQUEST_STATUS)),
        (MeetingRequest.session_id.is_(None)) | (MeetingRequest.session_id == session.id))
        .order_by(MeetingRequest.id))
    for request in rows:
        enterprise, institution = _key("e", request.enterprise_id), _key("i", request.institution_id)
        if enterprise in enterprise_keys and institution in institution_keys:
            by = "enterprise" if request.direction == RequestDirection.FROM_ENTERPRISE else "institution"
            status = ENGINE_REQUEST_STATUS[request.status]
            if request.id in settled_request_ids:
                status = "declined"
            requests.append(matchmaking.Request(enterprise, institution, status, by))
    for meeting in kept:
        enterprise, institution = _key("e", meeting.enterprise_id), _key("i", meeting.institution_id)
        if enterprise in enterprise_keys and institution in institution_keys:
            status = "declined" if meeting.slot is not None else "accepted"
            requests.append(matchmaking.Request(enterprise, institution, status, None))
    return requests


def _stored_reasons(reasons, chain_names: dict[str, tuple[str, str]]) -> list[dict]:
    """The engine's reasons as JSON, chain codes in its sentences replaced by the chains' names."""
    stored = []
    for reason in reasons:
        zh, en = reason.zh, reason.en
        for code, (name_zh, name_en) in chain_names.items():
            zh = zh.replace(f"面向{code}产业链", f"面向{name_zh}产业链")
            en = en.replace(f"the {code} chain", f"the {name_en} chain")
        if zh:
            stored.append({"part": reason.part, "weight": reason.weight, "value": reason.value, "zh": zh, "en": en})
    return stored


@dataclass
class MatchingSummary:
    meetings: int = 0
    unmatched: int = 0
    unplaced: int = 0
    kept: int = 0
    met: set = field(default_factory=set, repr=False)  # enterprise ids the plan placed


def _tables_of(registrations: list[Registration]) -> dict[int, int]:
    return {r.institution_id: (r.tables or 1) for r in registrations if r.institution_id is not None}


def run_matching(actor, session: EventSession) -> MatchingSummary:
    """Plan the session's meetings with the engine. Safe to run again: only proposals are replaced."""
    scope.ensure_manages_event(actor, session.event)
    if not session.kind_enum.has_meetings:
        raise FieldError("session", _l("只有对接类场次可以运行匹配。"))
    if session.event.status not in MATCHABLE_EVENT_STATUSES:
        raise FieldError("session", _("报名截止后才能运行匹配（当前状态：%(status)s）。",
                                      status=session.event.status.label))
    if session.slot_count < 1:
        raise FieldError("session", _l("该场次没有可用的会谈时段，请检查时间和会谈时长。"))
    availability.lock_parties([session.id])  # the lock order: this session (and its hall), then its parties
    db.session.refresh(session)
    venue_tables.sync_session_tables(session)  # the hall must seat every approved institution first
    registrations = approved_registrations(session)
    enterprise_ids = [r.enterprise_id for r in registrations if r.enterprise_id is not None]
    institution_ids = [r.institution_id for r in registrations if r.institution_id is not None]
    availability.lock_parties([], enterprise_ids, institution_ids)
    meetings = active_meetings(session)
    kept = [m for m in meetings if not replaceable(m)]
    replaced_ids = [m.id for m in meetings if replaceable(m)]
    known = availability.for_session(session, enterprise_ids, institution_ids, ignore_session_id=session.id)
    settled = set(db.session.scalars(settled_request_ids().where(Meeting.id.not_in(replaced_ids))))
    pending = {(r.enterprise_id, r.institution_id): r for r in pending_requests_for_session(session)
               if r.id not in settled}
    instance = build_instance(session, registrations, kept, known, settled)
    try:
        plan = matchmaking.plan_meetings(instance)
    except matchmaking.InputError as error:
        raise FieldError("session", _("匹配数据有误：%(problem)s", problem=str(error))) from None

    db.session.execute(delete(Meeting).where(Meeting.id.in_([m.id for m in meetings if replaceable(m)]))
                       .execution_options(synchronize_session="fetch"))
    db.session.execute(delete(UnmatchedEnterprise).where(UnmatchedEnterprise.session_id == session.id))
    db.session.flush()

    try:
        with db.session.begin_nested():  # a unique index refusing a place is a refusal, not a 500
            summary = _place_plan(session, plan, instance, registrations, kept, known, pending)
    except IntegrityError:
        raise FieldError("session", _l("会谈位置刚被其他操作占用，请重新运行匹配。")) from None
    _record_unmatched(session, plan, registrations, kept, summary)
    session.matched_at = utcnow()
    db.session.flush()
    settle_event_status(actor, session.event)
    return summary


def _place_plan(session: EventSession, plan, instance, registrations: list[Registration], kept: list[Meeting],
                known: availability.Availability, pending: dict) -> "MatchingSummary":
    """The engine's meetings into rows, each at its place or the nearest free one."""
    occupancy = Occupancy()
    for meeting in kept:
        occupancy.add(meeting.enterprise_id, meeting.institution_id, meeting.slot, meeting.table_number)
    occupancy.table_slots |= staff_busy_cells(session, registrations, known)
    waiting = {(m.enterprise_id, m.institution_id): m for m in kept if m.slot is None}
    tables = _tables_of(registrations)
    chain_names = {c.code: (c.name_zh, c.name_en) for r in registrations if r.enterprise is not None
                   for c in [r.enterprise.chain]}
    unavailable = {(_number(e.id), "e"): e.unavailable for e in instance.enterprises}
    unavailable.update({(_number(i.id), "i"): i.unavailable for i in instance.institutions})
    summary = MatchingSummary(kept=len(kept), unplaced=len(plan.unplaced))
    for proposal in plan.meetings:
        enterprise_id, institution_id = _number(proposal.enterprise), _number(proposal.institution)
        place = _free_place(occupancy, enterprise_id, institution_id, proposal.slot, proposal.table,
                            tables.get(institution_id, 1), session.slot_count,
                            unavailable[(enterprise_id, "e")] | unavailable[(institution_id, "i")])
        if place is None:
            summary.unplaced += 1
            continue
        slot, table = place
        meeting = waiting.pop((enterprise_id, institution_id), None)
        if meeting is None:
            meeting = Meeting(session_id=session.id, enterprise_id=enterprise_id, institution_id=institution_id,
                              status=MeetingStatus.PROPOSED, source=MeetingSource.MATCHER)
            db.session.add(meeting)
        request = pending.pop((enterprise_id, institution_id), None)
        if request is not None:  # the pending request gets its meeting, kept like one placed at acceptance
            meeting.request_id, meeting.source = request.id, MeetingSource.REQUEST
            request.session_id = request.session_id or session.id
        meeting.need_id, meeting.product_id = _number(proposal.need), _number(proposal.product)
        availability.set_place(meeting, session, slot, table)
        meeting.score = round(proposal.score * 1000)
        meeting.reasons = _stored_reasons(proposal.reasons, chain_names)
        occupancy.add(enterprise_id, institution_id, slot, table)
        summary.meetings += 1
    db.session.flush()
    summary.met = {enterprise_id for enterprise_id, _slot in occupancy.enterprise_slots}
    return summary


def _record_unmatched(session: EventSession, plan, registrations: list[Registration], kept: list[Meeting],
                      summary: "MatchingSummary") -> None:
    """Why each approved SME got no meeting."""
    met = summary.met | {m.enterprise_id for m in kept}
    reasons = {_number(u.enterprise): u for u in plan.unmatched}
    for registration in registrations:
        enterprise_id = registration.enterprise_id
        if enterprise_id is None or enterprise_id in met:
            continue
        code, zh, en = "not_placed", *matchmaking.REASON_TEXT["not_placed"]
        if enterprise_id in reasons:
            code, zh, en = reasons[enterprise_id].reason, reasons[enterprise_id].zh, reasons[enterprise_id].en
        if code == "no_need" and registration.needs:
            code, zh, en = "type_not_served", *TYPE_NOT_SERVED
        db.session.add(UnmatchedEnterprise(session_id=session.id, enterprise_id=enterprise_id, reason_code=code,
                                           reason_zh=zh[:500], reason_en=en[:500]))
        summary.unmatched += 1


def lock_sessions_and_parties(sessions: list[EventSession]) -> None:
    """Every session one transaction will match, then all their approved parties, in the one lock order
    (a job matching several sessions cannot take them session by session: the second session's lock would
    come after the first one's parties)."""
    if not sessions:
        return
    session_ids = [s.id for s in sessions]
    availability.lock_parties(session_ids)
    parties = db.session.execute(select(Registration.enterprise_id, Registration.institution_id).where(
        Registration.session_id.in_(session_ids), Registration.status == RegistrationStatus.APPROVED)).all()
    availability.lock_parties([], [e for e, _i in parties if e is not None], [i for _e, i in parties if i is not None])


def _free_place(occupancy: Occupancy, enterprise_id: int, institution_id: int, slot: int, table: int,
                tables: int, slots: int, blocked: frozenset) -> tuple[int, int] | None:
    """The engine's place if free, else another table in that slot, else the first free slot."""
    if occupancy.free(enterprise_id, institution_id, slot, table):
        return slot, table
    for candidate_slot in [slot] + [s for s in range(slots) if s != slot]:
        if candidate_slot in blocked or (enterprise_id, candidate_slot) in occupancy.enterprise_slots:
            continue
        for candidate_table in range(1, tables + 1):
            if occupancy.free(enterprise_id, institution_id, candidate_slot, candidate_table):
                return candidate_slot, candidate_table
    return None


def matchmaking_sessions(event: Event) -> list[EventSession]:
    return [s for s in event.sessions if s.kind in MATCHMAKING_KINDS]


def settle_event_status(actor, event: Event) -> None:
    """closed → matched once every matchmaking session is matched; matched → published once every one is published."""
    sessions = matchmaking_sessions(event)
    if event.status == EventStatus.CLOSED and all(s.matched_at for s in sessions):
        advance_event(actor, event, EventStatus.MATCHED)
    if event.status == EventStatus.MATCHED and all(s.published_at for s in sessions):
        advance_event(actor, event, EventStatus.PUBLISHED)


def run_due_matching(now: datetime) -> dict[int, list[int]]:
    """Closed events whose matching time has come: match every matchmaking session not yet matched,
    then the event moves to "matched". Returns {event id: ids of sessions matched by this call}.

    A session the engine refuses (logged) is left unmatched and its event stays closed; the others go on.
    """
    done = {}
    events = db.session.scalars(select(Event).where(Event.status == EventStatus.CLOSED,
                                                    Event.matching_at.is_not(None), Event.matching_at <= now)
                                .order_by(Event.id)).all()
    lock_sessions_and_parties([s for event in events for s in matchmaking_sessions(event) if s.matched_at is None])
    for event in events:
        matched = []
        for session in matchmaking_sessions(event):
            if session.matched_at is not None:
                continue
            try:
                with db.session.begin_nested():
                    run_matching(SYSTEM, session)
            except FieldError as error:
                log.warning("matching of session %s (event %s) refused: %s", session.id, event.id, error.message)
            else:
                matched.append(session.id)
        settle_event_status(SYSTEM, event)
        if matched or event.status == EventStatus.MATCHED:
            done[event.id] = matched
    return done


# ---- shared helpers ---------------------------------------------------------------------------

def approved_registration_of(session: EventSession, enterprise_id: int | None = None,
                    institution_id: int | None = None) -> Registration | None:
    """The party's approved registration for the session, if any."""
    query = select(Registration).where(Registration.session_id == session.id,
                                       Registration.status == RegistrationStatus.APPROVED)
    if enterprise_id is not None:
        query = query.where(Registration.enterprise_id == enterprise_id)
    else:
        query = query.where(Registration.institution_id == institution_id)
    return db.session.scalar(query.execution_options(populate_existing=True))  # as it is now, under a lock


# ---- what the organiser's pages ask ------------------------------------------------------------------

def meeting_counts(sessions) -> dict[int, int]:
    """Meetings not cancelled, per session id (sessions without any are left out)."""
    return dict(db.session.execute(
        select(Meeting.session_id, func.count()).where(Meeting.session_id.in_([s.id for s in sessions]),
                                                        Meeting.status != MeetingStatus.CANCELLED.value)
        .group_by(Meeting.session_id)).all())


def unmatched_enterprises(session: EventSession) -> list[UnmatchedEnterprise]:
    """The enterprises the last matching run left without a meeting, with its reasons."""
    return list(db.session.scalars(select(UnmatchedEnterprise).where(UnmatchedEnterprise.session_id == session.id)
                                   .order_by(UnmatchedEnterprise.id)))


def cancelled_meetings(session: EventSession) -> list[Meeting]:
    """The session's cancelled meetings, most recently changed first."""
    return list(db.session.scalars(select(Meeting).where(Meeting.session_id == session.id,
                                                         Meeting.status == MeetingStatus.CANCELLED.value)
                                   .order_by(Meeting.updated_at.desc())))
