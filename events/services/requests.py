"""Meeting requests between an SME and an institution, answered within the promised working days.

The deadline (`respond_by`) is the end of the N-th official working day after the request day
(events.workdays), N being the product's promise, else the institution's smallest promise, else 5.
An accepted request becomes a fixed meeting in the event's matching session that serves the need's
type, in the first slot and table both can take (events.services.availability judges "free", across
sessions and events). When nothing is free it is *pending* (待安排): accepted with no live placed meeting
linked to it. The organiser's schedule page lists pending requests, the next matcher run places them
first, and both sides' pages and messages say so. A direct request (no event) has no sessions: it is
accepted, and the two sides agree the time themselves.
"""
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from core.access import require_owner
from core.clock import format_shanghai, utcnow
from core.errors import FieldError, Forbidden, NotFound
from core.extensions import db
from core.roles import Role
from events.enums import (
    EventStatus,
    LeadSource,
    MeetingSource,
    MeetingStatus,
    RegistrationStatus,
    RequestDirection,
    RequestStatus,
    SessionMode,
)
from events.models import Event, EventSession, Meeting, MeetingRequest, Registration
from events.services import availability
from events.services.agenda import place_meeting
from events.services.consent import grant_consent
from events.services.participants import notify_party
from events.services.registration import serves_type
from events.workdays import add_working_days
from market.enums import InstitutionStatus, NeedStatus, ProductStatus
from market.models import Enterprise, FinancingNeed, Institution, Product
from notifications.services import Bilingual, path_for

DEFAULT_RESPONSE_WORKING_DAYS = 5
OPEN_STATUSES = (RequestStatus.REQUESTED, RequestStatus.ACCEPTED)


def response_working_days(institution_id: int, product: Product | None = None) -> int:
    """The product's promise, else the institution's smallest promise among active products, else 5."""
    if product is not None:
        return product.response_working_days
    smallest = db.session.scalar(select(func.min(Product.response_working_days)).where(
        Product.institution_id == institution_id, Product.status == ProductStatus.ACTIVE))
    return smallest or DEFAULT_RESPONSE_WORKING_DAYS


def _open_request(event_id: int | None, enterprise_id: int, institution_id: int) -> MeetingRequest | None:
    query = select(MeetingRequest).where(MeetingRequest.enterprise_id == enterprise_id,
                                         MeetingRequest.institution_id == institution_id,
                                         MeetingRequest.status.in_(OPEN_STATUSES))
    query = query.where(MeetingRequest.event_id.is_(None) if event_id is None else MeetingRequest.event_id == event_id)
    return db.session.scalar(query.order_by(MeetingRequest.id).limit(1))


def _check_need(need_id, enterprise_id: int) -> FinancingNeed | None:
    if not need_id:
        return None
    need = db.session.get(FinancingNeed, int(need_id))
    require_owner(getattr(need, "enterprise_id", None), enterprise_id)
    if need.status == NeedStatus.WITHDRAWN:
        raise FieldError("need_id", _l("该需求已撤回。"))
    return need


def _check_product(product_id, institution_id: int) -> Product | None:
    if not product_id:
        return None
    product = db.session.get(Product, int(product_id))
    require_owner(getattr(product, "institution_id", None), institution_id)
    if product.status != ProductStatus.ACTIVE:
        raise FieldError("product_id", _l("该产品已下架。"))
    return product


def request_meeting(actor, event: Event | None, target: Enterprise | Institution, need_id=None, product_id=None,
                    message: str = "", lead_source: str = LeadSource.DIRECT, lead_session_id: int | None = None,
                    consent_text: str = "", *, consented: bool = False) -> MeetingRequest:
    """An SME asks an institution for a meeting, or the reverse. An SME's request shares its details with
    that institution alone, so it needs the SME's tick (`consented`) and `consent_text` (the words shown
    beside the checkbox)."""
    if actor.role == Role.SME and actor.enterprise_id is not None and isinstance(target, Institution):
        enterprise_id, institution_id, direction = actor.enterprise_id, target.id, RequestDirection.FROM_ENTERPRISE
        if target.status != InstitutionStatus.APPROVED:
            raise NotFound()
    elif actor.role == Role.INSTITUTION and actor.institution_id is not None and isinstance(target, Enterprise):
        enterprise_id, institution_id, direction = target.id, actor.institution_id, RequestDirection.FROM_INSTITUTION
        if db.session.get(Institution, institution_id).status != InstitutionStatus.APPROVED:
            raise FieldError("message", _l("机构资料通过审核后才能发起约见。"))
    else:
        raise Forbidden()
    if direction == RequestDirection.FROM_ENTERPRISE and not (consented and (consent_text or "").strip()):
        raise FieldError("consent", _l("请勾选同意向该机构提供企业信息。"))
    if lead_source not in {source.value for source in LeadSource}:
        raise FieldError("lead_source", _l("未知的线索来源。"))
    if lead_session_id is not None and db.session.get(EventSession, lead_session_id) is None:
        lead_session_id = None  # where the lead came from is a note; an unknown session is no refusal
    need = _check_need(need_id, enterprise_id)
    product = _check_product(product_id, institution_id)
    if need is not None and product is not None and need.type != product.type:
        raise FieldError("product_id", _l("所选产品与需求的融资类型不一致。"))
    if event is not None and event.status not in (EventStatus.OPEN, EventStatus.CLOSED, EventStatus.MATCHED,
                                                  EventStatus.PUBLISHED, EventStatus.RUNNING):
        raise FieldError("message", _l("该活动当前不接受约见。"))
    existing = _open_request(event.id if event else None, enterprise_id, institution_id)
    if existing is not None:
        return existing  # a double submission, or the pair is already talking
    now = utcnow()
    request = MeetingRequest(
        event_id=event.id if event else None, enterprise_id=enterprise_id, institution_id=institution_id,
        need_id=need.id if need else None, product_id=product.id if product else None, direction=direction,
        status=RequestStatus.REQUESTED, message=(message or "").strip()[:1000],
        respond_by=add_working_days(now, response_working_days(institution_id, product)), lead_source=lead_source,
        lead_session_id=lead_session_id, created_by_user_id=actor.id, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(request)
            db.session.flush()
    except IntegrityError:
        existing = _open_request(event.id if event else None, enterprise_id, institution_id)
        if existing is None:
            raise
        return existing
    if direction == RequestDirection.FROM_ENTERPRISE:
        grant_consent(enterprise_id, institution_id, consent_text, "request", actor.id)
    _tell(request, "request_received", to_requester=False)
    return request


def _tell(request: MeetingRequest, kind: str, to_requester: bool, context: dict | None = None) -> None:
    link = path_for("events.requests")
    to_enterprise = (request.direction == RequestDirection.FROM_ENTERPRISE) == to_requester
    if to_enterprise:
        notify_party(kind, "meeting_request", request.id, context=context or {}, link=link,
                     enterprise_id=request.enterprise_id)
    else:
        notify_party(kind, "meeting_request", request.id, context=context or {}, link=link,
                     institution_id=request.institution_id)


def is_requester(actor, request: MeetingRequest) -> bool:
    if request.direction == RequestDirection.FROM_ENTERPRISE:
        return actor.enterprise_id is not None and actor.enterprise_id == request.enterprise_id
    return actor.institution_id is not None and actor.institution_id == request.institution_id


def is_recipient(actor, request: MeetingRequest) -> bool:
    if request.direction == RequestDirection.FROM_ENTERPRISE:
        return actor.institution_id is not None and actor.institution_id == request.institution_id
    return actor.enterprise_id is not None and actor.enterprise_id == request.enterprise_id


def own_request(actor, request_id: int) -> MeetingRequest:
    request = db.session.get(MeetingRequest, request_id)
    if request is None or not (is_requester(actor, request) or is_recipient(actor, request)):
        raise NotFound()
    return request


def _answer(request: MeetingRequest, to: RequestStatus, note: str, now: datetime) -> None:
    """requested → accepted/declined, only before the deadline and only once."""
    result = db.session.execute(
        update(MeetingRequest).where(MeetingRequest.id == request.id,
                                     MeetingRequest.status == RequestStatus.REQUESTED,
                                     MeetingRequest.respond_by >= now)
        .values(status=to, answer_note=(note or "").strip()[:1000], responded_at=now))
    db.session.refresh(request)
    if result.rowcount != 1:
        if request.status == RequestStatus.REQUESTED:
            raise FieldError("note", _l("已超过答复期限，该请求已失效。"))
        raise FieldError("note", _("该请求已是“%(status)s”状态。", status=request.status.label))


def accept_request(actor, request: MeetingRequest, note: str = "", consent_text: str = "", *,
                   consented: bool = False, now: datetime | None = None) -> Meeting | None:
    """The other side accepts; returns the fixed meeting, or None when it is pending (no common free slot,
    or no event). The requester is told which of the two, with the time and place when there is one.
    An accepting SME shares its details with the institution, so it needs its tick (`consented`)."""
    if not is_recipient(actor, request):
        raise NotFound()
    if actor.enterprise_id is not None and not (consented and (consent_text or "").strip()):
        raise FieldError("consent", _l("请勾选同意向该机构提供企业信息。"))
    sessions = sessions_for_request(request)
    availability.lock_parties([s.id for s in sessions], [request.enterprise_id], [request.institution_id])
    _answer(request, RequestStatus.ACCEPTED, note, now or utcnow())
    if actor.enterprise_id is not None:
        grant_consent(request.enterprise_id, request.institution_id, consent_text, "acceptance", actor.id)
    meeting = place_accepted_request(request, sessions)
    _tell(request, "request_accepted", to_requester=True, context={
        "when": Bilingual(*meeting_when(meeting)) if meeting is not None else None,
        "session": meeting.session.title if meeting is not None else "", "in_event": request.event_id is not None})
    return meeting


def meeting_when(meeting: Meeting) -> tuple[str, str]:
    """"2027-01-12 10:00–10:30（北京时间），<place>" and its English, for messages."""
    session = meeting.session
    day = format_shanghai(meeting.starts_at, "%Y-%m-%d")
    span = f"{format_shanghai(meeting.starts_at, '%H:%M')}–{format_shanghai(meeting.ends_at, '%H:%M')}"
    if session.mode == SessionMode.ONLINE:
        place_zh, place_en = f"线上会议室 {session.online_url}", f"online room {session.online_url}"
    else:
        where = " ".join(part for part in (session.venue, session.room) if part)
        place_zh = f"{where} {meeting.institution.name} {meeting.table_number} 号桌".strip()
        place_en = f"{where}, {meeting.institution.name} table {meeting.table_number}".strip(", ")
    return f"{day} {span}（北京时间），{place_zh}", f"{day} {span} (Beijing time), {place_en}"


def sessions_for_request(request: MeetingRequest) -> list[EventSession]:
    """Matching sessions of the event that serve the need's (or product's) type; registered ones first."""
    if request.event_id is None:
        return []
    if request.session_id is not None:
        return [request.session]
    wanted = request.need.type if request.need else (request.product.type if request.product else None)
    now = utcnow()
    sessions = [session for session in request.event.sessions
                if session.kind.has_meetings and session.slot_minutes and session.ends_at > now
                and (wanted is None or serves_type(session, wanted))]
    registered = set(db.session.scalars(select(Registration.session_id).where(
        Registration.institution_id == request.institution_id, Registration.status == RegistrationStatus.APPROVED)))
    return sorted(sessions, key=lambda session: (session.id not in registered, session.starts_at, session.id))


def place_accepted_request(request: MeetingRequest, sessions: list[EventSession] | None = None) -> Meeting | None:
    """Try each suitable session in turn; the first free common slot wins (idempotent for the pair).
    Locks every candidate session first, then the two parties (the availability module's order)."""
    if sessions is None:
        sessions = sessions_for_request(request)
        availability.lock_parties([s.id for s in sessions], [request.enterprise_id], [request.institution_id])
    for session in sessions:
        meeting = place_meeting(session, request.enterprise_id, request.institution_id, request.need_id,
                                request.product_id, MeetingSource.REQUEST, request.id)
        if meeting is not None:
            if request.session_id is None:
                request.session_id = session.id
                db.session.flush()
            return meeting
    return None


def decline_request(actor, request: MeetingRequest, note: str = "", now: datetime | None = None) -> MeetingRequest:
    if not is_recipient(actor, request):
        raise NotFound()
    _answer(request, RequestStatus.DECLINED, note, now or utcnow())
    _tell(request, "request_declined", to_requester=True, context={"note": request.answer_note})
    return request


def withdraw_request(actor, request: MeetingRequest) -> MeetingRequest:
    if not is_requester(actor, request):
        raise NotFound()
    result = db.session.execute(update(MeetingRequest).where(MeetingRequest.id == request.id,
                                                             MeetingRequest.status == RequestStatus.REQUESTED)
                                .values(status=RequestStatus.WITHDRAWN, responded_at=utcnow()))
    db.session.refresh(request)
    if result.rowcount != 1:
        raise FieldError("note", _("该请求已是“%(status)s”状态，不能撤回。", status=request.status.label))
    return request


def expire_overdue_requests(now: datetime | None = None) -> int:
    """Scheduler job: requests past their deadline become expired; both sides are told once. Returns how many."""
    now = now or utcnow()
    overdue = db.session.scalars(select(MeetingRequest).where(MeetingRequest.status == RequestStatus.REQUESTED,
                                                              MeetingRequest.respond_by < now)
                                 .order_by(MeetingRequest.id)).all()
    expired = 0
    for request in overdue:
        result = db.session.execute(update(MeetingRequest).where(MeetingRequest.id == request.id,
                                                                 MeetingRequest.status == RequestStatus.REQUESTED,
                                                                 MeetingRequest.respond_by < now)
                                    .values(status=RequestStatus.EXPIRED))
        if result.rowcount != 1:
            continue
        expired += 1
        db.session.refresh(request)
        link = path_for("events.requests")
        notify_party("request_expired", "meeting_request", request.id, context={}, link=link,
                     enterprise_id=request.enterprise_id)
        notify_party("request_expired", "meeting_request", request.id, context={}, link=link,
                     institution_id=request.institution_id)
    return expired


def requests_of(actor) -> tuple[list[MeetingRequest], list[MeetingRequest]]:
    """(inbox, outbox) of the actor's party, newest first."""
    if actor.enterprise_id is not None:
        party = MeetingRequest.enterprise_id == actor.enterprise_id
        incoming = RequestDirection.FROM_INSTITUTION
    elif actor.institution_id is not None:
        party = MeetingRequest.institution_id == actor.institution_id
        incoming = RequestDirection.FROM_ENTERPRISE
    else:
        raise Forbidden()
    rows = db.session.scalars(select(MeetingRequest).where(party).order_by(MeetingRequest.created_at.desc(),
                                                                          MeetingRequest.id.desc())).all()
    return [r for r in rows if r.direction == incoming], [r for r in rows if r.direction != incoming]


def settled_request_ids():
    """Ids of requests that have their meeting: a live one with a time, or one that was cancelled since."""
    return select(Meeting.request_id).where(
        Meeting.request_id.is_not(None),
        (Meeting.status == MeetingStatus.CANCELLED)
        | (Meeting.status.in_(availability.LIVE) & Meeting.slot.is_not(None)))


def accepted_unplaced_query():
    """Pending (待安排) requests: accepted, and no meeting has answered them yet."""
    return select(MeetingRequest).where(MeetingRequest.status == RequestStatus.ACCEPTED,
                                        MeetingRequest.id.not_in(settled_request_ids()))


def pending_requests_of(actor) -> list[MeetingRequest]:
    """The actor's party's pending requests (event ones await the organiser; direct ones the two sides)."""
    if actor.enterprise_id is not None:
        party = MeetingRequest.enterprise_id == actor.enterprise_id
    elif actor.institution_id is not None:
        party = MeetingRequest.institution_id == actor.institution_id
    else:
        return []
    return list(db.session.scalars(accepted_unplaced_query().where(party)
                                   .options(selectinload(MeetingRequest.event), selectinload(MeetingRequest.enterprise),
                                            selectinload(MeetingRequest.institution))
                                   .order_by(MeetingRequest.responded_at, MeetingRequest.id)))


def pending_requests_for_session(session: EventSession) -> list[MeetingRequest]:
    """The event's pending requests this session could host (not tied to another session), oldest first."""
    return list(db.session.scalars(accepted_unplaced_query().where(
        MeetingRequest.event_id == session.event_id,
        MeetingRequest.session_id.is_(None) | (MeetingRequest.session_id == session.id))
        .options(selectinload(MeetingRequest.enterprise), selectinload(MeetingRequest.institution))
        .order_by(MeetingRequest.responded_at, MeetingRequest.id)))


def pending_request_for(session: EventSession, enterprise_id: int, institution_id: int) -> MeetingRequest | None:
    """The pair's pending request in the session's event, if any (one open request per pair and event)."""
    return db.session.scalar(accepted_unplaced_query().where(
        MeetingRequest.event_id == session.event_id, MeetingRequest.enterprise_id == enterprise_id,
        MeetingRequest.institution_id == institution_id,
        MeetingRequest.session_id.is_(None) | (MeetingRequest.session_id == session.id)).limit(1))


def request_meetings(rows: list[MeetingRequest]) -> dict[int, Meeting]:
    """request id → the meeting that answers it (live, else cancelled), for the requests pages (one query)."""
    ids = [r.id for r in rows if r.status == RequestStatus.ACCEPTED]
    if not ids:
        return {}
    meetings = db.session.scalars(select(Meeting).where(Meeting.request_id.in_(ids), Meeting.slot.is_not(None))
                                  .options(selectinload(Meeting.session)).order_by(Meeting.id))
    found: dict[int, Meeting] = {}
    for meeting in meetings:  # a live meeting wins over a cancelled one
        if meeting.request_id not in found or found[meeting.request_id].status == MeetingStatus.CANCELLED:
            found[meeting.request_id] = meeting
    return found
