"""What an institution may see of an SME, and the SME's consents behind it.

An institution sees an anonymised summary (chain, city, financing type, amount band) of an SME
unless an active Consent exists for that (enterprise, institution) pair. Consent is always per
institution, in the words the SME agreed to:

- requesting a meeting with an institution, or accepting one from it, grants consent to that
  institution at once (context "request" / "acceptance");
- registering for a session records the SME's agreement on the registration itself; it turns into
  a Consent (context "registration") for an institution only when a meeting between the two is
  scheduled in that session (`share_registration_details`, and `share_details_for_session` at
  publication). An explicit revocation made after the registration is respected: it is not undone
  by a later publication, only by a new request or acceptance.

Every time an institution's user is shown an SME's details — its page, or its name on a list — an
audit event (DETAILS_VIEWED, one per SME and page) is written; the SME reads them on its consents page.
"""
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from accounts import audit
from core.access import require_owner
from core.clock import utcnow
from core.errors import FieldError, Forbidden, NotFound
from core.extensions import db
from core.roles import Role
from events.enums import MeetingStatus, RegistrationStatus
from events.models import Consent, EventSession, Meeting, MeetingRequest, Registration
from market.enums import InstitutionStatus, NeedStatus
from market.models import Enterprise, FinancingNeed, Institution, Region

WAN = 10_000
AMOUNT_BANDS = (  # (upper bound in yuan, exclusive; label)
    (100 * WAN, _l("100万以下")), (500 * WAN, _l("100–500万")), (1000 * WAN, _l("500–1000万")),
    (5000 * WAN, _l("1000–5000万")), (10000 * WAN, _l("5000万–1亿")), (None, _l("1亿以上")),
)


def registration_consent_text() -> str:
    return str(_l("我同意：本场对接会日程发布后，将本企业的名称、联系人、联系方式和所报融资需求的详细信息，"
                  "分别提供给与本企业安排了会谈的每一家金融机构（仅限该机构，用于本次融资对接）。"
                  "未安排会谈的机构只能看到匿名摘要（产业链、所在城市、融资类型、金额区间）。"
                  "我可以随时在“信息授权”页面撤回。"))


def request_consent_text(institution_name: str) -> str:
    return str(_("我同意将本企业的名称、联系人、联系方式和融资需求的详细信息提供给“%(name)s”（仅限该机构），"
                 "用于本次约见和融资对接；我可以随时在“信息授权”页面撤回。", name=institution_name))


# ---- the anonymised summary ---------------------------------------------------------------------

def amount_band(yuan: int) -> str:
    for upper, label in AMOUNT_BANDS:
        if upper is None or yuan < upper:
            return str(label)
    return str(AMOUNT_BANDS[-1][1])


@dataclass
class EnterpriseSummary:
    """What an institution sees of an SME that has not consented: nothing that identifies it."""

    enterprise_id: int
    chain: str
    city: str
    needs: list[tuple[str, str]] = field(default_factory=list)  # (financing type label, amount band)

    @property
    def reference(self) -> str:
        return f"#{self.enterprise_id:05d}"


def city_name(region_code: str, locale: str = "zh") -> str:
    """The city (or province, for a province-level code or an unknown city) of a region code."""
    for code in (region_code[:4] + "00", region_code[:2] + "0000"):
        region = db.session.get(Region, code)
        if region is not None and code != "000000":
            return region.name(locale)
    return ""


def anonymised_summary(enterprise: Enterprise, needs: list[FinancingNeed] | None = None,
                       locale: str = "zh") -> EnterpriseSummary:
    needs = [need for need in (needs if needs is not None else enterprise.needs)
             if need.status != NeedStatus.WITHDRAWN]
    return EnterpriseSummary(enterprise_id=enterprise.id, chain=enterprise.chain.name(locale),
                             city=city_name(enterprise.region_code, locale),
                             needs=[(need.type.label, amount_band(need.amount_yuan)) for need in needs])


# ---- consents -----------------------------------------------------------------------------------

def active_consent(enterprise_id: int, institution_id: int) -> Consent | None:
    return db.session.scalar(select(Consent).where(Consent.enterprise_id == enterprise_id,
                                                   Consent.institution_id == institution_id,
                                                   Consent.revoked_at.is_(None)))


def institution_is_approved(institution_id: int | None) -> bool:
    """Only an approved institution sees anything of an SME: a pending or rejected one, none of it."""
    return institution_id is not None and db.session.scalar(select(Institution.id).where(
        Institution.id == institution_id, Institution.status == InstitutionStatus.APPROVED)) is not None


def has_active_consent(enterprise_id: int, institution_id: int) -> bool:
    """Whether the institution is shown the SME's details: it is approved and holds the SME's consent."""
    return bool(consented_enterprise_ids(institution_id, {enterprise_id}))


def consented_enterprise_ids(institution_id: int, enterprise_ids) -> set[int]:
    """Of `enterprise_ids`, those that share their details with the institution, if it is approved (one query)."""
    wanted = set(enterprise_ids)
    if not wanted:
        return set()
    return set(db.session.scalars(select(Consent.enterprise_id).join(Institution, Institution.id == Consent.institution_id)
                                  .where(Consent.institution_id == institution_id, Consent.revoked_at.is_(None),
                                         Consent.enterprise_id.in_(wanted),
                                         Institution.status == InstitutionStatus.APPROVED)))


def enterprise_names(institution_id: int, enterprises) -> dict[int, str]:
    """enterprise id → its name when it shares details with the institution, else its anonymous reference."""
    consented = consented_enterprise_ids(institution_id, {enterprise.id for enterprise in enterprises})
    return {enterprise.id: enterprise.name if enterprise.id in consented
            else str(_("企业 #%(ref)05d（未授权查看详情）", ref=enterprise.id)) for enterprise in enterprises}


def enterprise_visible_to(institution_id: int, enterprise_id: int) -> bool:
    """An approved institution may look an SME up (summary or details) only if the SME registered for a session,
    or the two have a request or a meeting: other SMEs' ids are not confirmed."""
    if not institution_is_approved(institution_id):
        return False
    checks = (select(Registration.id).where(Registration.enterprise_id == enterprise_id,
                                            Registration.status != RegistrationStatus.CANCELLED),
              select(MeetingRequest.id).where(MeetingRequest.enterprise_id == enterprise_id,
                                              MeetingRequest.institution_id == institution_id),
              select(Meeting.id).where(Meeting.enterprise_id == enterprise_id,
                                       Meeting.institution_id == institution_id))
    return any(db.session.scalar(check.limit(1)) is not None for check in checks)


def session_leads(actor, session: EventSession) -> list[Registration]:
    """The SMEs registered (approved or waitlisted) for a session the institution takes part in; 404 otherwise."""
    mine = db.session.scalar(select(Registration).where(Registration.session_id == session.id,
                                                        Registration.institution_id == actor.institution_id))
    if actor.institution_id is None or mine is None or mine.status != RegistrationStatus.APPROVED \
            or not institution_is_approved(actor.institution_id):
        raise NotFound()
    return list(db.session.scalars(select(Registration).where(
        Registration.session_id == session.id, Registration.enterprise_id.is_not(None),
        Registration.status.in_([RegistrationStatus.APPROVED, RegistrationStatus.WAITLISTED]))
        .order_by(Registration.id)))


def grant_consent(enterprise_id: int, institution_id: int, text: str, context: str,
                  granted_by_user_id: int | None = None) -> Consent:
    """Record consent for one pair; an active one already there is kept (the partial unique index)."""
    if not (text or "").strip():
        raise FieldError("consent", _l("请阅读并勾选同意信息共享说明。"))
    existing = active_consent(enterprise_id, institution_id)
    if existing is not None:
        return existing
    consent = Consent(enterprise_id=enterprise_id, institution_id=institution_id, text=text.strip(),
                      context=context, granted_by_user_id=granted_by_user_id, granted_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(consent)
            db.session.flush()
    except IntegrityError:
        existing = active_consent(enterprise_id, institution_id)
        if existing is None:
            raise
        return existing
    return consent


def revoke_consent(actor, consent: Consent) -> Consent:
    """The SME withdraws its consent; the institution sees the anonymised summary again."""
    require_owner(consent.enterprise_id, actor.enterprise_id)
    db.session.execute(update(Consent).where(Consent.id == consent.id, Consent.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))
    db.session.refresh(consent)
    return consent


def own_consent(actor, consent_id: int) -> Consent:
    consent = db.session.get(Consent, consent_id)
    require_owner(getattr(consent, "enterprise_id", None), actor.enterprise_id)
    return consent


def consents_of(actor) -> list[tuple[Consent, Institution]]:
    """The SME's consents, active first, newest first."""
    if actor.enterprise_id is None:
        raise Forbidden()
    rows = db.session.execute(select(Consent, Institution).join(Institution, Institution.id == Consent.institution_id)
                              .where(Consent.enterprise_id == actor.enterprise_id)
                              .order_by(Consent.revoked_at.is_not(None), Consent.granted_at.desc(), Consent.id.desc()))
    return [(consent, institution) for consent, institution in rows]


def share_registration_details(meeting: Meeting) -> Consent | None:
    """A scheduled meeting turns the SME's registration consent into consent for that institution alone."""
    registration = db.session.scalar(select(Registration).where(
        Registration.session_id == meeting.session_id, Registration.enterprise_id == meeting.enterprise_id))
    if registration is None or not registration.consent_text or registration.status == RegistrationStatus.CANCELLED:
        return None
    revoked_since = db.session.scalar(select(Consent.id).where(
        Consent.enterprise_id == meeting.enterprise_id, Consent.institution_id == meeting.institution_id,
        Consent.revoked_at.is_not(None), Consent.revoked_at >= registration.created_at).limit(1))
    if revoked_since is not None:
        return None
    return grant_consent(meeting.enterprise_id, meeting.institution_id, registration.consent_text, "registration",
                         registration.registered_by_user_id)


def share_details_for_session(session: EventSession) -> int:
    """At publication: registration consent for every scheduled meeting of the session. Returns how many pairs."""
    meetings = db.session.scalars(select(Meeting).where(Meeting.session_id == session.id,
                                                        Meeting.status == MeetingStatus.SCHEDULED))
    return sum(share_registration_details(meeting) is not None for meeting in meetings)


# ---- the institution's view of an SME -------------------------------------------------------------

def enterprise_view_for(actor, enterprise: Enterprise, page: str) -> bool:
    """Whether the institution user may see the SME's details; if so the view is logged. Others: 403."""
    if actor.role != Role.INSTITUTION or actor.institution_id is None:
        raise Forbidden()
    if not has_active_consent(enterprise.id, actor.institution_id):
        return False
    audit.record_detail_views(actor, [enterprise], page)
    return True


def log_details_shown(actor, enterprises, page: str) -> int:
    """An institution user's page names SMEs: log a view for each one whose details it was shown (consented).

    Two statements whatever the number of SMEs. Not for SME users (their own pages show institutions).
    """
    if actor.institution_id is None:
        return 0
    enterprises = [enterprise for enterprise in enterprises if enterprise is not None]
    consented = consented_enterprise_ids(actor.institution_id, {enterprise.id for enterprise in enterprises})
    return audit.record_detail_views(actor, [e for e in enterprises if e.id in consented], page)


def detail_views_of(actor, limit: int = 20) -> list:
    """The latest views of the SME's details by institutions (its consents page; the whole log is paginated)."""
    if actor.enterprise_id is None:
        raise Forbidden()
    events, _more = audit.events_for(actor, audit.AuditFilter(), per_page=limit)
    return events
