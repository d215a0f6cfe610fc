"""Signing up for a session, and the organisers' decisions on sign-ups.

An SME brings needs, an institution its products, tables, staff and the slots it cannot take. One
registration per party and session (unique constraints): a second submission returns the first. A
full session puts SMEs on the waitlist, which moves up by itself whenever a place frees.
"""
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from core.access import require_owner
from core.clock import format_shanghai, utcnow
from core.errors import FieldError, Forbidden
from core.extensions import db
from core.roles import Role
from events.enums import EventStatus, RegistrationStatus
from events.models import Event, EventSession, Registration, RegistrationStaff
from events.services import availability, venue_tables
from events.services.agenda import cancel_party_meetings
from events.services.participants import notify_party, registration_of
from events.services.scope import ensure_manages_event
from market.enums import FinancingType, InstitutionStatus, NeedStatus, ProductStatus
from market.models import FinancingNeed, Institution, Product
from notifications.services import path_for

LIVE_STATUSES = (RegistrationStatus.PENDING, RegistrationStatus.APPROVED, RegistrationStatus.WAITLISTED)
MAX_TABLES_PER_INSTITUTION = 50
WAITLIST_FULL, WAITLIST_ORGANISER = "full", "organiser"  # Registration.waitlist_cause


@dataclass
class StaffMember:
    """Someone who sits at one of the institution's tables."""

    name: str
    title: str = ""
    phone: str = ""
    table_number: int | None = None


# ---- reading ------------------------------------------------------------------------------------

def my_registrations(actor) -> list[Registration]:
    """The actor's party's registrations, newest session first."""
    query = select(Registration).join(EventSession).order_by(EventSession.starts_at.desc(), Registration.id)
    if actor.enterprise_id is not None:
        query = query.where(Registration.enterprise_id == actor.enterprise_id)
    elif actor.institution_id is not None:
        query = query.where(Registration.institution_id == actor.institution_id)
    else:
        return []
    return list(db.session.scalars(query))


def stored_unavailable_slots(registration: Registration) -> list[int]:
    """The registration's unavailable slots that exist in its session's current grid (for labelling)."""
    count = registration.session.slot_count
    return sorted({slot for slot in (registration.unavailable_slots or [])
                   if isinstance(slot, int) and not isinstance(slot, bool) and 0 <= slot < count})


def approved_enterprise_count(session_id: int) -> int:
    return db.session.scalar(select(func.count(Registration.id)).where(
        Registration.session_id == session_id, Registration.enterprise_id.is_not(None),
        Registration.status == RegistrationStatus.APPROVED))


def served_types_label(session: EventSession) -> str:
    return _l("、").join(FinancingType(value).label for value in sorted(session.financing_types))


def serves_type(session: EventSession, financing_type: str) -> bool:
    """A session without financing types (a talk, an industry session) serves every type."""
    return not session.financing_types or financing_type in session.financing_types


def registration_is_open(session: EventSession, now: datetime | None = None) -> bool:
    try:
        ensure_registration_open(session, now)
    except FieldError:
        return False
    return True


def ensure_registration_open(session: EventSession, now: datetime | None = None) -> None:
    """Refuse (naming why) unless the event takes registrations now."""
    event, now = session.event, now or utcnow()
    if event.status != EventStatus.OPEN:
        raise FieldError("registration", _("该活动当前不接受报名（状态：%(status)s）。",
                                           status=event.status.label))
    if now < event.registration_opens_at:
        raise FieldError("registration", _("报名尚未开始，%(at)s 起可报名。", at=format_shanghai(event.registration_opens_at)))
    if now >= event.registration_closes_at:
        raise FieldError("registration", _("报名已于 %(at)s 截止。", at=format_shanghai(event.registration_closes_at)))


def _lock_session(session: EventSession) -> None:
    """Serialise capacity, table and participation decisions on one session, taken before anything changes:
    step 1 of the one lock order (`availability.lock_parties`: the session and those sharing its hall)."""
    availability.lock_parties([session.id])


def _insert_or_existing(registration: Registration, session_id: int, **party) -> Registration:
    """Insert in a SAVEPOINT; if the party registered meanwhile (double click, two tabs) return that one."""
    try:
        with db.session.begin_nested():
            db.session.add(registration)
            db.session.flush()
    except IntegrityError:
        existing = registration_of(session_id, **party)
        if existing is None:
            raise
        return existing
    return registration


# ---- SMEs -------------------------------------------------------------------------------------

def _own_needs(actor, need_ids) -> list[FinancingNeed]:
    needs = []
    for need_id in sorted({int(value) for value in need_ids}):
        need = db.session.get(FinancingNeed, need_id)
        require_owner(getattr(need, "enterprise_id", None), actor.enterprise_id)
        needs.append(need)
    return needs


def sessions_serving(session: EventSession, types: set[str]) -> list[EventSession]:
    """Other matchmaking sessions of the same event that serve one of `types`."""
    return [other for other in session.event.sessions if other.id != session.id
            and other.kind.has_meetings and any(serves_type(other, t) for t in types)]


def register_enterprise(actor, session: EventSession, need_ids, consent_text: str, *, consented: bool = False,
                        now: datetime | None = None) -> Registration:
    """An SME signs up with the needs it brings (only those the session serves are kept). It agrees to share its
    details by its tick (`consented`) beside `consent_text`, the words stored with the registration."""
    if actor.role != Role.SME or actor.enterprise_id is None:
        raise Forbidden()
    _lock_session(session)
    existing = registration_of(session.id, enterprise_id=actor.enterprise_id)
    if existing is not None and existing.status != RegistrationStatus.CANCELLED:
        return existing
    ensure_registration_open(session, now)
    needs = _own_needs(actor, need_ids)
    withdrawn = [need for need in needs if need.status == NeedStatus.WITHDRAWN]
    if withdrawn:
        raise FieldError("needs", _l("已撤回的需求不能报名。"))
    if not needs and session.kind.has_meetings:
        raise FieldError("needs", _l("请至少选择一项融资需求。"))
    served = [need for need in needs if serves_type(session, need.type)]
    if needs and not served:
        others = sessions_serving(session, {need.type for need in needs})
        hint = _("可改报：%(titles)s。", titles=_l("、").join(s.title for s in others)) if others else ""
        raise FieldError("needs", _("本场服务的融资类型为：%(types)s；您所选的需求均不在其中。%(hint)s",
                                    types=served_types_label(session), hint=hint))
    if not (consented and (consent_text or "").strip()):
        raise FieldError("consent", _l("请阅读并勾选同意信息共享说明。"))
    full = session.capacity is not None and approved_enterprise_count(session.id) >= session.capacity
    status = RegistrationStatus.WAITLISTED if full else RegistrationStatus.PENDING
    cause = WAITLIST_FULL if full else None
    if existing is not None:  # re-registering after cancelling: goes to the back of the queue
        return _reactivate(existing, actor, status, "", consent_text.strip(), needs=served, cause=cause)
    registration = Registration(session_id=session.id, enterprise_id=actor.enterprise_id, status=status,
                                decision_reason="", waitlist_cause=cause, consent_text=consent_text.strip(),
                                registered_by_user_id=actor.id, created_at=utcnow())
    registration.needs = served
    return _insert_or_existing(registration, session.id, enterprise_id=actor.enterprise_id)


def _reactivate(registration: Registration, actor, status, reason: str, consent_text: str, *,
                needs=None, products=None, cause: str | None = None) -> Registration:
    result = db.session.execute(
        update(Registration).where(Registration.id == registration.id,
                                   Registration.status == RegistrationStatus.CANCELLED)
        .values(status=status, decision_reason=reason, waitlist_cause=cause, consent_text=consent_text,
                created_at=utcnow(), decided_at=None, registered_by_user_id=actor.id))
    db.session.refresh(registration)
    if result.rowcount == 1:
        if needs is not None:
            registration.needs = needs
        if products is not None:
            registration.products = products
        db.session.flush()
    return registration


# ---- institutions -----------------------------------------------------------------------------

def _own_products(actor, product_ids) -> list[Product]:
    products = []
    for product_id in sorted({int(value) for value in product_ids}):
        product = db.session.get(Product, product_id)
        require_owner(getattr(product, "institution_id", None), actor.institution_id)
        products.append(product)
    return products


def _check_staff(staff: list[StaffMember], tables: int) -> list[RegistrationStaff]:
    rows = []
    for member in staff:
        name = (member.name or "").strip()
        if not name:
            continue
        if len(name) > 60 or len(member.title or "") > 60 or len(member.phone or "") > 30:
            raise FieldError("staff", _l("人员姓名、职务不超过 60 字，电话不超过 30 字。"))
        if member.table_number is not None and not 1 <= member.table_number <= tables:
            raise FieldError("staff", _("桌号须在 1 到 %(tables)s 之间。", tables=tables))
        rows.append(RegistrationStaff(name=name, title=(member.title or "").strip(),
                                      phone=(member.phone or "").strip(), table_number=member.table_number))
    return rows


def register_institution(actor, session: EventSession, product_ids, tables: int | None,
                         staff: list[StaffMember], unavailable_slots, now: datetime | None = None) -> Registration:
    """An approved institution signs up with products, tables, who sits at them and slots it cannot take."""
    if actor.role != Role.INSTITUTION or actor.institution_id is None:
        raise Forbidden()
    existing = registration_of(session.id, institution_id=actor.institution_id)
    if existing is not None and existing.status != RegistrationStatus.CANCELLED:
        return existing
    institution = db.session.get(Institution, actor.institution_id)
    if institution.status != InstitutionStatus.APPROVED:
        raise FieldError("registration", _l("机构资料通过审核后才能报名。"))
    ensure_registration_open(session, now)
    products = _own_products(actor, product_ids)
    if any(product.status != ProductStatus.ACTIVE for product in products):
        raise FieldError("products", _l("已下架的产品不能报名。"))
    if not products:
        raise FieldError("products", _l("请至少选择一项产品。"))
    if not any(serves_type(session, product.type) for product in products):
        raise FieldError("products", _("本场服务的融资类型为：%(types)s；您所选的产品均不在其中。",
                                       types=served_types_label(session)))
    products = [product for product in products if serves_type(session, product.type)]
    slot_rows: list[int] = []
    staff_rows: list[RegistrationStaff] = []
    if session.kind.has_meetings:
        limit = min(MAX_TABLES_PER_INSTITUTION, session.tables or MAX_TABLES_PER_INSTITUTION)
        if tables is None or not 1 <= tables <= limit:
            raise FieldError("tables", _("桌数须在 1 到 %(limit)s 之间。", limit=limit))
        staff_rows = _check_staff(staff, tables)
        if not staff_rows:
            raise FieldError("staff", _l("请至少填写一位出席人员。"))
        slot_rows = sorted({int(slot) for slot in unavailable_slots})
        if any(not 0 <= slot < session.slot_count for slot in slot_rows):
            raise FieldError("unavailable_slots", _l("所选时段不属于本场。"))
        if session.slot_count and len(slot_rows) >= session.slot_count:
            raise FieldError("unavailable_slots", _l("不能所有时段都不可参加。"))
    else:
        tables = None
    if existing is not None:
        registration = _reactivate(existing, actor, RegistrationStatus.PENDING, "", "", products=products)
        registration.tables, registration.unavailable_slots, registration.staff = tables, slot_rows, staff_rows
        db.session.flush()
        return registration
    registration = Registration(session_id=session.id, institution_id=actor.institution_id,
                                status=RegistrationStatus.PENDING, tables=tables,
                                unavailable_slots=slot_rows, registered_by_user_id=actor.id, created_at=utcnow())
    registration.products = products
    registration.staff = staff_rows
    return _insert_or_existing(registration, session.id, institution_id=actor.institution_id)


# ---- organisers' decisions --------------------------------------------------------------------

def _move(registration: Registration, allowed_from, to: RegistrationStatus, reason: str = "",
          cause: str | None = None) -> None:
    """Conditional UPDATE: refuses when someone else changed the registration first."""
    result = db.session.execute(
        update(Registration).where(Registration.id == registration.id,
                                   Registration.status.in_(list(allowed_from)))
        .values(status=to, decision_reason=reason, waitlist_cause=cause, decided_at=utcnow()))
    db.session.refresh(registration)
    if result.rowcount != 1:
        raise FieldError("registration", _("报名状态已变为“%(status)s”，请刷新后再操作。",
                                           status=registration.status.label))


def _decision_message(registration: Registration, kind: str) -> None:
    """Approved or not accepted, with the organiser's reason (when given) in every language."""
    _notify_registrant(kind, registration, {"title": registration.session.title,
                                            "reason": registration.decision_reason})


def _notify_registrant(kind: str, registration: Registration, context: dict) -> None:
    notify_party(kind, "registration", registration.id, context=context, link=path_for("events.my_registrations"),
                 enterprise_id=registration.enterprise_id, institution_id=registration.institution_id)


def _waitlist_context(registration: Registration) -> dict:
    """Why the registrant waits: the session is full (moves up by itself) or the organiser decided (and why)."""
    session = registration.session
    return {"title": session.title, "capacity": session.capacity, "reason": registration.decision_reason,
            "full": registration.waitlist_cause == WAITLIST_FULL}


def waitlist_explanation(registration: Registration) -> str:
    """The registrant's page: why this registration waits (empty unless waitlisted)."""
    if registration.status != RegistrationStatus.WAITLISTED:
        return ""
    if registration.waitlist_cause == WAITLIST_ORGANISER:
        return _("主办方决定将本报名列入候补，原因：%(reason)s。此候补不会自动递补，主办方审核后会通知您。",
                 reason=registration.decision_reason)
    return _("本场名额已满，您在候补名单中；有名额空出时将按报名先后自动递补。")


def approve_registration(actor, registration: Registration) -> Registration:
    ensure_manages_event(actor, registration.session.event)
    session = registration.session
    _lock_session(session)  # capacity, the hall's tables and the matcher's view of who takes part
    if registration.enterprise_id is not None and session.capacity is not None:
        if approved_enterprise_count(session.id) >= session.capacity:
            raise FieldError("registration", _("本场名额（%(capacity)s 家企业）已满，不能再通过；可改为候补。",
                                               capacity=session.capacity))
    _move(registration, (RegistrationStatus.PENDING, RegistrationStatus.WAITLISTED), RegistrationStatus.APPROVED)
    if registration.institution_id is not None:
        venue_tables.sync_session_tables(session)  # the hall's tables for it, or a refusal naming the shortfall
    _decision_message(registration, "registration_approved")
    return registration


def reject_registration(actor, registration: Registration, reason: str) -> Registration:
    ensure_manages_event(actor, registration.session.event)
    reason = (reason or "").strip()
    if not reason:
        raise FieldError("reason", _l("请填写不通过的理由。"))
    _lock_session(registration.session)
    _move(registration, LIVE_STATUSES, RegistrationStatus.REJECTED, reason[:500])
    venue_tables.release_tables(registration)
    _decision_message(registration, "registration_rejected")
    promote_waitlist(registration.session)
    return registration


def waitlist_registration(actor, registration: Registration, reason: str = "") -> Registration:
    """The organiser waitlists a sign-up: because the session is full (it then moves up by itself), or as the
    organiser's own decision, which needs a reason and is lifted only by the organiser."""
    session = registration.session
    ensure_manages_event(actor, session.event)
    reason = (reason or "").strip()
    if len(reason) > 500:
        raise FieldError("reason", _l("原因不能超过 500 字。"))
    full = False
    _lock_session(session)
    if registration.enterprise_id is not None and session.capacity is not None:
        others = approved_enterprise_count(session.id) - (registration.status == RegistrationStatus.APPROVED)
        full = others >= session.capacity
    if not full and not reason:
        if session.capacity is not None and registration.enterprise_id is not None:
            raise FieldError("reason", _("本场名额未满（已通过 %(approved)s / %(capacity)s 家企业），列入候补须填写理由。",
                                         approved=approved_enterprise_count(session.id), capacity=session.capacity))
        raise FieldError("reason", _l("本场不限名额，列入候补须填写理由。"))
    _move(registration, (RegistrationStatus.PENDING, RegistrationStatus.APPROVED), RegistrationStatus.WAITLISTED,
          reason, WAITLIST_FULL if full else WAITLIST_ORGANISER)
    venue_tables.release_tables(registration)
    _notify_registrant("registration_waitlisted", registration, _waitlist_context(registration))
    promote_waitlist(session, exclude_id=registration.id)
    return registration


def cancel_registration(actor, registration: Registration, reason: str = "") -> Registration:
    """The registrant or an organiser cancels; the party's meetings in the session are cancelled too."""
    own = (registration.enterprise_id is not None and registration.enterprise_id == actor.enterprise_id) or \
          (registration.institution_id is not None and registration.institution_id == actor.institution_id)
    if not own:
        ensure_manages_event(actor, registration.session.event)
    _lock_session(registration.session)  # before the registration changes: no matching plans the party meanwhile
    _move(registration, LIVE_STATUSES, RegistrationStatus.CANCELLED, (reason or "").strip()[:500])
    venue_tables.release_tables(registration)
    cancel_party_meetings(actor, registration, "报名已取消")
    promote_waitlist(registration.session)
    return registration


def promote_waitlist(session: EventSession, exclude_id: int | None = None) -> list[Registration]:
    """Fill free places (capacity minus approved SMEs; every place once the session has no capacity) with the
    oldest SMEs waitlisted because the session was full; message each one. Those the organiser waitlisted
    on purpose wait for the organiser."""
    _lock_session(session)
    query = (select(Registration).where(Registration.session_id == session.id,
                                        Registration.enterprise_id.is_not(None),
                                        Registration.status == RegistrationStatus.WAITLISTED,
                                        or_(Registration.waitlist_cause.is_(None),
                                            Registration.waitlist_cause == WAITLIST_FULL))
             .order_by(Registration.created_at, Registration.id))
    if exclude_id is not None:
        query = query.where(Registration.id != exclude_id)
    promoted: list[Registration] = []
    for candidate in db.session.scalars(query).all():
        if session.capacity is not None and approved_enterprise_count(session.id) >= session.capacity:
            break
        result = db.session.execute(
            update(Registration).where(Registration.id == candidate.id,
                                       Registration.status == RegistrationStatus.WAITLISTED)
            .values(status=RegistrationStatus.APPROVED, decision_reason="", waitlist_cause=None,
                    decided_at=utcnow()))
        db.session.refresh(candidate)
        if result.rowcount == 1:
            promoted.append(candidate)
            notify_party("registration_promoted", "registration", candidate.id,
                         context={"title": session.title, "limited": session.capacity is not None},
                         link=path_for("events.my_registrations"), enterprise_id=candidate.enterprise_id)
    return promoted


# ---- what the pages ask --------------------------------------------------------------------------

def public_events(limit: int = 50) -> list[Event]:
    """Events past their draft, newest first."""
    return list(db.session.scalars(select(Event).where(Event.status != EventStatus.DRAFT)
                                   .order_by(Event.starts_on.desc(), Event.id.desc()).limit(limit)))


def public_session(session_id: int) -> EventSession | None:
    """A session of an event past its draft, or None."""
    session = db.session.get(EventSession, session_id)
    if session is None or session.event.status == EventStatus.DRAFT:
        return None
    return session


def own_registration(actor, registration_id: int) -> Registration | None:
    """The registration if it is the actor's enterprise's or institution's, else None."""
    signed_up = db.session.get(Registration, registration_id)
    if signed_up is None or not ((actor.enterprise_id and signed_up.enterprise_id == actor.enterprise_id)
                                 or (actor.institution_id and signed_up.institution_id == actor.institution_id)):
        return None
    return signed_up


def registration_counts(sessions) -> dict[int, dict[str, dict[str, int]]]:
    """Registrations per session id, side ("enterprise"/"institution") and status."""
    counts: dict[int, dict[str, dict[str, int]]] = {}
    rows = db.session.execute(
        select(Registration.session_id, Registration.status, Registration.enterprise_id.is_(None), func.count())
        .where(Registration.session_id.in_([s.id for s in sessions]))
        .group_by(Registration.session_id, Registration.status, Registration.enterprise_id.is_(None)))
    for session_id, status, is_institution, count in rows:
        side = "institution" if is_institution else "enterprise"
        counts.setdefault(session_id, {}).setdefault(side, {})[status] = count
    return counts


def session_registrations(session: EventSession) -> list[Registration]:
    """The session's registrations for review: pending first, then in the order they came."""
    return list(db.session.scalars(select(Registration).where(Registration.session_id == session.id)
                                   .order_by(Registration.status != RegistrationStatus.PENDING.value,
                                             Registration.created_at, Registration.id)))
