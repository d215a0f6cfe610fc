
"""The audit log: one table of security events, and who may read which of them.

Recorded: sign-in, failed and throttled sign-in (with the address tried), sign-out, expired sessions,
password change, reset request and reset, address verification, sign-up attempts for a taken address,
status changes (accounts enabled or disabled, institutions approved or rejected), export downloads, and
every time an institution's user is shown an SME's consented details (list pages included, one row per
SME shown).

Readers: an administrator sees everything; an organiser the events of its office's region (an
event carries the region of the user, enterprise or event it is about); an SME the views of its own
details. Rows are only ever added, in the transaction of the action they describe.

Shared like `core.extensions` and `core.access`: domain packages record their own events
(`events` records detail views and exports) through `record` and `record_detail_views`.
"""
from dataclasses import dataclass
from datetime import datetime

from flask import has_request_context, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, ForeignKey, Index, String, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from accounts.models import User
from core.clock import utcnow
from core.enums import LabelledEnum, enum_column
from core.extensions import db
from core.regions import covering_region, region_prefix
from core.roles import Role
from market.models import Enterprise, Institution
from market.signals import institution_reviewed

PAGE_SIZE = 50


class AuditKind(LabelledEnum):
    SIGN_IN = "sign_in"
    SIGN_IN_FAILED = "sign_in_failed"
    SIGN_IN_THROTTLED = "sign_in_throttled"
    SIGN_OUT = "sign_out"
    SESSION_EXPIRED = "session_expired"
    SIGN_UP = "sign_up"
    SIGN_UP_ADDRESS_TAKEN = "sign_up_address_taken"
    EMAIL_VERIFIED = "email_verified"
    PASSWORD_CHANGED = "password_changed"
    PASSWORD_RESET_REQUESTED = "password_reset_requested"
    PASSWORD_RESET = "password_reset"
    STATUS_CHANGED = "status_changed"
    INSTITUTION_REVIEWED = "institution_reviewed"
    EXPORT_DOWNLOADED = "export_downloaded"
    DETAILS_VIEWED = "details_viewed"

    @classmethod
    def _labels(cls):
        return {cls.SIGN_IN: _l("登录"), cls.SIGN_IN_FAILED: _l("登录失败"), cls.SIGN_IN_THROTTLED: _l("登录被限流"),
                cls.SIGN_OUT: _l("退出登录"), cls.SESSION_EXPIRED: _l("登录超时"), cls.SIGN_UP: _l("注册"),
                cls.SIGN_UP_ADDRESS_TAKEN: _l("用已注册邮箱注册"), cls.EMAIL_VERIFIED: _l("邮箱验证"),
                cls.PASSWORD_CHANGED: _l("修改密码"), cls.PASSWORD_RESET_REQUESTED: _l("申请重置密码"),
                cls.PASSWORD_RESET: _l("重置密码"), cls.STATUS_CHANGED: _l("账号启用/停用"), cls.INSTITUTION_REVIEWED: _l("机构审核"),
                cls.EXPORT_DOWNLOADED: _l("导出下载"), cls.DETAILS_VIEWED: _l("查看企业详情")}


# What an account's own page lists of it: its sign-ins and the events of its password and status.
OWN_ACCOUNT_KINDS = tuple(kind for kind in AuditKind if kind not in (
    AuditKind.SIGN_UP, AuditKind.INSTITUTION_REVIEWED, AuditKind.EXPORT_DOWNLOADED, AuditKind.DETAILS_VIEWED))


class AuditEvent(db.Model):
    """One security event. `region_code` places it for organisers; `enterprise_id` for the SME it concerns."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_enterprise_occurred", "enterprise_id", "occurred_at"),
        Index("ix_audit_events_region_occurred", "region_code", "occurred_at"),
        Index("ix_audit_events_kind_occurred", "kind", "occurred_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    kind: Mapped[AuditKind] = mapped_column(enum_column(AuditKind, 40, "kind_known"))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    email: Mapped[str] = mapped_column(String(254), default="")  # the address tried or concerned
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id", ondelete="SET NULL"),
                                                       index=True)
    region_code: Mapped[str | None] = mapped_column(String(6))
    client_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(String(500), default="")

    @property
    def kind_label(self) -> str:
        return self.kind.label


def _client() -> dict:
    """The client's address and browser, when the event comes from a request (jobs have none)."""
    if not has_request_context():
        return {"client_address": "", "user_agent": ""}
    return {"client_address": (request.remote_addr or "")[:45],
            "user_agent": (request.user_agent.string or "")[:200]}


def home_region(user) -> str | None:
    """The region an account belongs to, for organisers' view of the log."""
    if user is None or getattr(user, "is_system", False):  # anonymous, or the scheduler: no home
        return None
    if user.enterprise_id is not None and user.enterprise is not None:
        return user.enterprise.region_code
    if user.organiser_office_id is not None and user.organiser_office is not None:
        return user.organiser_office.region_code
    if user.institution_id is not None and user.institution is not None:
        return covering_region(list(user.institution.region_codes))
    return None


def record(kind: AuditKind, actor=None, *, subject=None, email: str = "", enterprise_id: int | None = None,
           institution_id: int | None = None, region_code: str | None = None, detail: str = "") -> AuditEvent:
    """Add one event to the session (the caller's transaction commits it with the action)."""
    about = subject if subject is not None else actor
    event = AuditEvent(
        kind=AuditKind(kind), occurred_at=utcnow(),
        actor_user_id=getattr(actor, "id", None), subject_user_id=getattr(subject, "id", None),
        email=(email or getattr(about, "email", "") or "")[:254],
        enterprise_id=enterprise_id if enterprise_id is not None else getattr(about, "enterprise_id", None),
        institution_id=institution_id if institution_id is not None else getattr(about, "institution_id", None),
        region_code=region_code if region_code is not None else home_region(about),
        detail=detail[:500], **_client())
    db.session.add(event)
    db.session.flush()
    return event


@institution_reviewed.connect
def _record_institution_review(actor, institution, **_ignored) -> None:
    """The market's review of an institution, in the log (market announces it; it cannot import accounts)."""
    record(AuditKind.INSTITUTION_REVIEWED, actor, institution_id=institution.id,
           region_code=covering_region(list(institution.region_codes)),  # national: the reviewer's
           detail=institution.status + (": " + institution.review_note if institution.review_note else ""))


def record_detail_views(viewer, enterprises, page: str) -> int:
    """One DETAILS_VIEWED row per SME whose consented details `viewer` (an institution user) is shown."""
    rows = [{"kind": AuditKind.DETAILS_VIEWED, "occurred_at": utcnow(), "actor_user_id": viewer.id,
             "subject_user_id": None, "email": viewer.email[:254], "enterprise_id": enterprise.id,
             "institution_id": viewer.institution_id, "region_code": enterprise.region_code, "detail": page[:500],
             **_client()} for enterprise in {enterprise.id: enterprise for enterprise in enterprises}.values()]
    if rows:
        db.session.execute(insert(AuditEvent), rows)
    return len(rows)


@dataclass(frozen=True)
class AuditFilter:
    kind: str | None = None
    email: str | None = None          # part of the address tried or concerned
    enterprise_id: int | None = None
    since: datetime | None = None     # naive UTC, inclusive
    until: datetime | None = None     # naive UTC, exclusive


def _readable_by(actor):
    """The rows `actor` may read, as a WHERE clause; None when it may read none."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role == Role.ORGANISER and actor.organiser_office is not None:
        return AuditEvent.region_code.startswith(region_prefix(actor.organiser_office.region_code))
    if actor.role == Role.SME and actor.enterprise_id is not None:
        return (AuditEvent.kind == AuditKind.DETAILS_VIEWED) & (AuditEvent.enterprise_id == actor.enterprise_id)
    return None


def can_read_log(actor) -> bool:
    return _readable_by(actor) is not None


def events_for(actor, filters: AuditFilter, page: int = 1,
               per_page: int = PAGE_SIZE) -> tuple[list[AuditEvent], bool]:
    """One page of the events `actor` may read, newest first, and whether there is a next page."""
    scope = _readable_by(actor)
    if scope is None:
        return [], False
    statement = select(AuditEvent)
    if scope is not True:
        statement = statement.where(scope)
    if filters.kind:
        statement = statement.where(AuditEvent.kind == filters.kind)
    if filters.email:
        pattern = "%" + filters.email.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        statement = statement.where(AuditEvent.email.ilike(pattern, escape="\\"))
    if filters.enterprise_id is not None:
        statement = statement.where(AuditEvent.enterprise_id == filters.enterprise_id)
    if filters.since is not None:
        statement = statement.where(AuditEvent.occurred_at >= filters.since)
    if filters.until is not None:
        statement = statement.where(AuditEvent.occurred_at < filters.until)
    rows = db.session.scalars(statement.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
                              .offset((page - 1) * per_page).limit(per_page + 1)).all()
    return list(rows[:per_page]), len(rows) > per_page


def own_account_events(actor, limit: int = 10) -> list[AuditEvent]:
    """The latest sign-ins, failures and password events of the actor's own account (its account page)."""
    return list(db.session.scalars(
        select(AuditEvent).where(AuditEvent.subject_user_id == actor.id, AuditEvent.kind.in_(OWN_ACCOUNT_KINDS))
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()).limit(limit)))


def names_for(events: list[AuditEvent]) -> dict:
    """Display names of the users, enterprises and institutions a page of events mentions (three queries at most)."""
    user_ids = {e.actor_user_id for e in events} | {e.subject_user_id for e in events}
    enterprise_ids = {e.enterprise_id for e in events}
    institution_ids = {e.institution_id for e in events}
    names = {"user": {}, "enterprise": {}, "institution": {}}
    for key, model, ids, column in (("user", User, user_ids, User.display_name),
                                    ("enterprise", Enterprise, enterprise_ids, Enterprise.name),
                                    ("institution", Institution, institution_ids, Institution.name)):
        ids.discard(None)
        if ids:
            names[key] = dict(db.session.execute(select(model.id, column).where(model.id.in_(ids))).all())
    return names
