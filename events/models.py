"""Tables of the month's event. Clashes and duplicates are refused by the database itself."""
from datetime import date, datetime, timedelta

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.ext.associationproxy import AssociationProxy, association_proxy
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.clock import utcnow
from core.enums import enum_column, sql_in
from core.extensions import db
from events.enums import (
    EventStatus,
    LeadSource,
    MeetingSource,
    MeetingStatus,
    RegistrationStatus,
    RequestDirection,
    RequestStatus,
    SessionKind,
    SessionMode,
    Side,
    Verdict,
)
from market.enums import FinancingType
from market.models import TEXT_MAX, Chain, Enterprise, FinancingNeed, Institution, Product, Region

NOT_CANCELLED = "status <> 'cancelled'"


def _partial(condition: str) -> dict:
    return {"sqlite_where": text(condition), "postgresql_where": text(condition)}


class YearPlanEntry(db.Model):
    """One month of an office's year calendar: which chain, where."""

    __tablename__ = "year_plan_entries"
    __table_args__ = (
        UniqueConstraint("organiser_office_id", "year", "month"),
        CheckConstraint("month BETWEEN 1 AND 12", name="month_in_range"),
        CheckConstraint("year BETWEEN 2024 AND 2100", name="year_in_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    organiser_office_id: Mapped[int] = mapped_column(ForeignKey("organiser_offices.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    month: Mapped[int] = mapped_column(Integer)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id"))
    host_region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    note: Mapped[str] = mapped_column(String(500), default="")
    chain: Mapped[Chain] = relationship()
    host_region: Mapped[Region] = relationship()
    event: Mapped["Event | None"] = relationship(back_populates="plan_entry", uselist=False)


class Event(db.Model):
    """The month's event (e.g. "2027年3月 · 人工智能产业链 · 杭州"). Times in UTC."""

    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("starts_on <= ends_on", name="dates_in_order"),
        # The year plan's range (YearPlanEntry.year); the services keep tighter windows around the plan.
        CheckConstraint("starts_on >= '2024-01-01' AND ends_on <= '2100-12-31'", name="dates_in_plan_years"),
        CheckConstraint("ready_by_user_id IS NULL OR ready_at IS NOT NULL", name="ready_by_needs_ready_at"),
        CheckConstraint("registration_opens_at < registration_closes_at", name="registration_window_in_order"),
        CheckConstraint("matching_at IS NULL OR registration_closes_at <= matching_at", name="matching_after_close"),
        CheckConstraint("publication_at IS NULL OR matching_at IS NULL OR matching_at <= publication_at",
                        name="publication_after_matching"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_entry_id: Mapped[int | None] = mapped_column(ForeignKey("year_plan_entries.id"), unique=True)
    organiser_office_id: Mapped[int] = mapped_column(ForeignKey("organiser_offices.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.id"))
    host_region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    registration_opens_at: Mapped[datetime] = mapped_column(DateTime)
    registration_closes_at: Mapped[datetime] = mapped_column(DateTime)
    matching_at: Mapped[datetime | None] = mapped_column(DateTime)
    publication_at: Mapped[datetime | None] = mapped_column(DateTime)
    publication_approved: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[EventStatus] = mapped_column(enum_column(EventStatus, 20, "status_known"),
                                                default=EventStatus.DRAFT, index=True)
    # The organiser's "ready": only a ready draft is opened by the clock (see planning.open_due_registrations).
    ready_at: Mapped[datetime | None] = mapped_column(DateTime)
    ready_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    plan_entry: Mapped[YearPlanEntry | None] = relationship(back_populates="event")
    ready_by = relationship("User", foreign_keys=[ready_by_user_id])  # by name, like every relationship to accounts' users
    chain: Mapped[Chain] = relationship()
    host_region: Mapped[Region] = relationship()
    sessions: Mapped[list["EventSession"]] = relationship(back_populates="event", order_by="EventSession.starts_at",
                                                          cascade="all, delete-orphan")
    status_changes: Mapped[list["EventStatusChange"]] = relationship(order_by="EventStatusChange.id",
                                                                     cascade="all, delete-orphan")


class EventStatusChange(db.Model):
    """The event's history; a step backwards carries the organiser's reason."""

    __tablename__ = "event_status_changes"
    __table_args__ = (
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[EventStatus] = mapped_column(enum_column(EventStatus, 20, "from_known"))
    to_status: Mapped[EventStatus] = mapped_column(enum_column(EventStatus, 20, "to_known"))
    reason: Mapped[str] = mapped_column(String(500), default="")
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SessionFinancingType(db.Model):
    __tablename__ = "session_financing_types"
    session_id: Mapped[int] = mapped_column(ForeignKey("event_sessions.id", ondelete="CASCADE"), primary_key=True)
    type: Mapped[FinancingType] = mapped_column(enum_column(FinancingType, 20, "type_known"), primary_key=True)


class EventSession(db.Model):
    """One activity of the event: a matchmaking session with tables and slots, a talk, a livestream..."""

    __tablename__ = "event_sessions"
    __table_args__ = (
        CheckConstraint("starts_at < ends_at", name="times_in_order"),
        CheckConstraint("slot_minutes IS NULL OR slot_minutes BETWEEN 5 AND 240", name="slot_length_sane"),
        CheckConstraint("tables >= 0 AND tables <= 500", name="tables_in_range"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint("table_digits BETWEEN 1 AND 3", name="table_digits_in_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    kind: Mapped[SessionKind] = mapped_column(enum_column(SessionKind, 30, "kind_known"))
    mode: Mapped[SessionMode] = mapped_column(enum_column(SessionMode, 10, "mode_known"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    venue: Mapped[str] = mapped_column(String(200), default="")
    room: Mapped[str] = mapped_column(String(100), default="")
    online_url: Mapped[str] = mapped_column(String(500), default="")
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    slot_minutes: Mapped[int | None] = mapped_column(Integer)
    tables: Mapped[int] = mapped_column(Integer, default=0)  # venue tables in the hall, numbered 1..tables
    table_area: Mapped[str] = mapped_column(String(40), default="")  # the hall's name for them: "洽谈区 A"
    table_digits: Mapped[int] = mapped_column(Integer, default=2)  # zero-padding of the number: 2 → "第 07 桌"
    capacity: Mapped[int | None] = mapped_column(Integer)
    # Livestreams and talks (the online half): who speaks, where to watch, what to download.
    host_institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id", ondelete="SET NULL"))
    speakers: Mapped[str] = mapped_column(String(500), default="")
    stream_url: Mapped[str] = mapped_column(String(500), default="")
    replay_url: Mapped[str] = mapped_column(String(500), default="")
    attachments: Mapped[list] = mapped_column(JSON, default=list)  # [{"title": ..., "url": ...}]
    matched_at: Mapped[datetime | None] = mapped_column(DateTime)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)

    event: Mapped[Event] = relationship(back_populates="sessions")
    host_institution: Mapped[Institution | None] = relationship()
    _type_rows: Mapped[list[SessionFinancingType]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    financing_types: AssociationProxy[list[str]] = association_proxy(
        "_type_rows", "type", creator=lambda value: SessionFinancingType(type=value))

    @property
    def slot_count(self) -> int:
        if not self.slot_minutes:
            return 0
        return int((self.ends_at - self.starts_at).total_seconds() // 60) // self.slot_minutes

    def slot_starts_at(self, slot: int) -> datetime:
        return self.starts_at + timedelta(minutes=self.slot_minutes * slot)

    def slot_ends_at(self, slot: int) -> datetime:
        return self.slot_starts_at(slot) + timedelta(minutes=self.slot_minutes)

    @property
    def kind_enum(self) -> SessionKind:
        return self.kind


class Registration(db.Model):
    """An SME or an institution signed up for one session. One per party and session."""

    __tablename__ = "registrations"
    __table_args__ = (
        CheckConstraint("(enterprise_id IS NULL) <> (institution_id IS NULL)", name="one_party"),
        CheckConstraint("tables IS NULL OR tables BETWEEN 1 AND 50", name="tables_in_range"),
        CheckConstraint("waitlist_cause IS NULL OR waitlist_cause IN ('full', 'organiser')",
                        name="waitlist_cause_known"),
        UniqueConstraint("session_id", "enterprise_id"),
        UniqueConstraint("session_id", "institution_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("event_sessions.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"), index=True)
    status: Mapped[RegistrationStatus] = mapped_column(enum_column(RegistrationStatus, 20, "status_known"),
                                                       default=RegistrationStatus.PENDING)
    decision_reason: Mapped[str] = mapped_column(String(500), default="")
    # Why a waitlisted registration waits: "full" (moves up by itself when a place frees) or "organiser"
    # (the organiser's decision, with its reason in decision_reason; only the organiser lifts it).
    waitlist_cause: Mapped[str | None] = mapped_column(String(20))
    tables: Mapped[int | None] = mapped_column(Integer)  # institutions: how many tables they staff
    max_meetings: Mapped[int | None] = mapped_column(Integer)
    unavailable_slots: Mapped[list] = mapped_column(JSON, default=list)
    consent_text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    registered_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    session: Mapped[EventSession] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()
    institution: Mapped[Institution | None] = relationship()
    needs: Mapped[list[FinancingNeed]] = relationship(secondary="registration_needs")
    products: Mapped[list[Product]] = relationship(secondary="registration_products")
    staff: Mapped[list["RegistrationStaff"]] = relationship(cascade="all, delete-orphan",
                                                            order_by="RegistrationStaff.table_number")


class RegistrationNeed(db.Model):
    __tablename__ = "registration_needs"
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"), primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("financing_needs.id", ondelete="CASCADE"), primary_key=True)


class RegistrationProduct(db.Model):
    __tablename__ = "registration_products"
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), primary_key=True)


class RegistrationStaff(db.Model):
    """Who sits at an institution's table."""

    __tablename__ = "registration_staff"
    __table_args__ = (CheckConstraint("table_number IS NULL OR table_number >= 1", name="table_positive"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registrations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(60), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    table_number: Mapped[int | None] = mapped_column(Integer)


class VenueTable(db.Model):
    """A table of the hall allotted to an institution for a session: its `table_index`-th table there.

    Meetings keep the institution's own index (`Meeting.table_number`); this row gives it the venue's
    number and label ("洽谈区 A 第 07 桌"). Unique per session by number, by label and by institution
    table; sessions overlapping in the same venue and room are kept apart by the allotment service.
    """

    __tablename__ = "venue_tables"
    __table_args__ = (
        UniqueConstraint("session_id", "number"),
        UniqueConstraint("session_id", "label"),
        UniqueConstraint("session_id", "institution_id", "table_index"),
        CheckConstraint("number BETWEEN 1 AND 500", name="number_in_range"),
        CheckConstraint("table_index BETWEEN 1 AND 50", name="table_index_in_range"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("event_sessions.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(80))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"), index=True)
    table_index: Mapped[int] = mapped_column(Integer)
    institution: Mapped[Institution] = relationship()


class MeetingRequest(db.Model):
    """One side asks the other for a meeting; the other side answers within the promised working days."""

    __tablename__ = "meeting_requests"
    __table_args__ = (
        Index("uq_meeting_requests_open_pair", "event_id", "enterprise_id", "institution_id", unique=True,
              **_partial("status IN ('requested', 'accepted')")),
        # NULLs never collide in a unique index: a direct request (no event) needs its own rule.
        Index("uq_meeting_requests_open_direct_pair", "enterprise_id", "institution_id", unique=True,
              **_partial("event_id IS NULL AND status IN ('requested', 'accepted')")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("event_sessions.id", ondelete="SET NULL"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"), index=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("financing_needs.id", ondelete="SET NULL"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    direction: Mapped[RequestDirection] = mapped_column(enum_column(RequestDirection, 20, "direction_known"))
    status: Mapped[RequestStatus] = mapped_column(enum_column(RequestStatus, 20, "status_known"),
                                                  default=RequestStatus.REQUESTED, index=True)
    message: Mapped[str] = mapped_column(String(1000), default="")
    answer_note: Mapped[str] = mapped_column(String(1000), default="")
    respond_by: Mapped[datetime] = mapped_column(DateTime)
    responded_at: Mapped[datetime | None] = mapped_column(DateTime)
    lead_source: Mapped[LeadSource] = mapped_column(enum_column(LeadSource, 20, "lead_source_known"),
                                                    default=LeadSource.DIRECT)
    lead_session_id: Mapped[int | None] = mapped_column(ForeignKey("event_sessions.id", ondelete="SET NULL"))
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    event: Mapped[Event | None] = relationship()
    session: Mapped[EventSession | None] = relationship(foreign_keys=[session_id])
    lead_session: Mapped[EventSession | None] = relationship(foreign_keys=[lead_session_id])
    enterprise: Mapped[Enterprise] = relationship()
    institution: Mapped[Institution] = relationship()
    need: Mapped[FinancingNeed | None] = relationship()
    product: Mapped[Product | None] = relationship()


class Meeting(db.Model):
    """One enterprise with one institution at a table in a slot of a session.

    The unique indexes refuse clashes within one session; clashes across sessions and events are
    refused by events.services.availability, which every path that places a meeting calls."""

    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint("slot IS NULL OR slot >= 0", name="slot_not_negative"),
        CheckConstraint("table_number IS NULL OR table_number >= 1", name="table_positive"),
        CheckConstraint("(slot IS NULL) = (table_number IS NULL)", name="slot_and_table_together"),
        CheckConstraint("(slot IS NULL) = (starts_at IS NULL) AND (slot IS NULL) = (ends_at IS NULL) "
                        "AND (starts_at IS NULL OR starts_at < ends_at)", name="times_with_slot"),
        Index("ix_meetings_enterprise_time", "enterprise_id", "starts_at"),
        Index("ix_meetings_institution_time", "institution_id", "starts_at"),
        Index("uq_meetings_enterprise_slot", "session_id", "enterprise_id", "slot", unique=True,
              **_partial(NOT_CANCELLED)),
        Index("uq_meetings_table_slot", "session_id", "institution_id", "table_number", "slot", unique=True,
              **_partial(NOT_CANCELLED)),
        Index("uq_meetings_pair", "session_id", "enterprise_id", "institution_id", unique=True,
              **_partial(NOT_CANCELLED)),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("event_sessions.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"), index=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("financing_needs.id", ondelete="SET NULL"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id", ondelete="SET NULL"))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("meeting_requests.id", ondelete="SET NULL"))
    slot: Mapped[int | None] = mapped_column(Integer)
    table_number: Mapped[int | None] = mapped_column(Integer)
    # The slot's absolute interval (UTC), set with the slot by events.services.availability.set_place:
    # what every party's clock is checked against across sessions and events.
    starts_at: Mapped[datetime | None] = mapped_column(DateTime)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[MeetingStatus] = mapped_column(enum_column(MeetingStatus, 20, "status_known"),
                                                  default=MeetingStatus.PROPOSED, index=True)
    source: Mapped[MeetingSource] = mapped_column(enum_column(MeetingSource, 20, "source_known"),
                                                  default=MeetingSource.MATCHER)
    score: Mapped[int | None] = mapped_column(Integer)  # per mille, 0..1000
    reasons: Mapped[list] = mapped_column(JSON, default=list)  # [{"zh": ..., "en": ...}]
    cancel_reason: Mapped[str] = mapped_column(String(500), default="")
    cancelled_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    session: Mapped[EventSession] = relationship()
    enterprise: Mapped[Enterprise] = relationship()
    institution: Mapped[Institution] = relationship()
    need: Mapped[FinancingNeed | None] = relationship()
    product: Mapped[Product | None] = relationship()
    outcomes: Mapped[list["Outcome"]] = relationship(back_populates="meeting", cascade="all, delete-orphan")
    # The hall's table this meeting sits at (offline and hybrid sessions), loaded in one query per page.
    venue_table: Mapped[VenueTable | None] = relationship(
        primaryjoin="and_(foreign(Meeting.session_id) == VenueTable.session_id, "
                    "foreign(Meeting.institution_id) == VenueTable.institution_id, "
                    "foreign(Meeting.table_number) == VenueTable.table_index)",
        viewonly=True, lazy="selectin", uselist=False)


class UnmatchedEnterprise(db.Model):
    """An SME the last matching run left without a meeting, with the reason in words it understands."""

    __tablename__ = "unmatched_enterprises"
    __table_args__ = (UniqueConstraint("session_id", "enterprise_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("event_sessions.id", ondelete="CASCADE"), index=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"))
    reason_code: Mapped[str] = mapped_column(String(40))
    reason_zh: Mapped[str] = mapped_column(String(500))
    reason_en: Mapped[str] = mapped_column(String(500))
    enterprise: Mapped[Enterprise] = relationship()


class Outcome(db.Model):
    """What one side says came of a meeting, in the steps of the meeting's financing type. Amounts in yuan.

    Two steps after the intent, named by type (events/services/outcomes.py, OUTCOME_TERMS): `agreed` is 授信
    (loan), 签署投资协议 (equity), 出单 — 保额 (insurance) or 出具担保函 (guarantee); `funded` is 放款 or 资金到位
    (loan and equity only); `premium` is the insurance 保费. The institution's row is authoritative; the SME's row
    carries its own view and its verdict on the institution's figures (confirmed or disputed, with a reason).
    """

    __tablename__ = "outcomes"
    __table_args__ = (
        UniqueConstraint("meeting_id", "side"),
        CheckConstraint("intent_amount_yuan IS NULL OR intent_amount_yuan >= 0", name="intent_not_negative"),
        CheckConstraint("agreed_amount_yuan IS NULL OR agreed_amount_yuan >= 0", name="agreed_not_negative"),
        CheckConstraint("funded_amount_yuan IS NULL OR funded_amount_yuan >= 0", name="funded_not_negative"),
        CheckConstraint("premium_yuan IS NULL OR premium_yuan >= 0", name="premium_not_negative"),
        CheckConstraint("funded_amount_yuan IS NULL OR funded_amount_yuan = 0 OR "
                        "funded_amount_yuan <= agreed_amount_yuan", name="funded_within_agreed"),
        CheckConstraint("premium_yuan IS NULL OR premium_yuan = 0 OR premium_yuan <= agreed_amount_yuan",
                        name="premium_within_cover"),
        CheckConstraint("funded_amount_yuan IS NULL OR financing_type IN ('loan', 'equity')",
                        name="funded_only_loan_equity"),
        CheckConstraint("premium_yuan IS NULL OR financing_type = 'insurance'", name="premium_only_insurance"),
        CheckConstraint("verdict IS NULL OR (side = 'enterprise' AND " + sql_in(Verdict, "verdict") + ")",
                        name="verdict_by_enterprise"),
        CheckConstraint("verdict IS NULL OR verdict <> 'disputed' OR dispute_reason <> ''",
                        name="dispute_has_reason"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    side: Mapped[Side] = mapped_column(enum_column(Side, 20, "side_known"))
    financing_type: Mapped[FinancingType] = mapped_column(enum_column(FinancingType, 20, "financing_type_known"),
                                                          default=FinancingType.LOAN)
    held: Mapped[bool] = mapped_column(Boolean)
    intent_amount_yuan: Mapped[int | None] = mapped_column(BigInteger)
    agreed_amount_yuan: Mapped[int | None] = mapped_column(BigInteger)
    funded_amount_yuan: Mapped[int | None] = mapped_column(BigInteger)
    premium_yuan: Mapped[int | None] = mapped_column(BigInteger)
    # its CHECK is verdict_by_enterprise (only the enterprise gives a verdict)
    verdict: Mapped[Verdict | None] = mapped_column(enum_column(Verdict, 20, None))
    dispute_reason: Mapped[str] = mapped_column(String(500), default="")
    verdict_at: Mapped[datetime | None] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(String(TEXT_MAX), default="")
    recorded_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
    meeting: Mapped[Meeting] = relationship(back_populates="outcomes")


class Consent(db.Model):
    """An SME agreed to share its details with one institution, in these words; revocable."""

    __tablename__ = "consents"
    __table_args__ = (
        Index("uq_consents_active_pair", "enterprise_id", "institution_id", unique=True,
              **_partial("revoked_at IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprises.id", ondelete="CASCADE"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    context: Mapped[str] = mapped_column(String(40))  # registration | request | acceptance
    granted_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    granted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)


class OnlineVisit(db.Model):
    """A look at an institution's service zone or a click through to a livestream/talk.

    `user_id` is empty for visitors who are not signed in; SME viewers also carry their enterprise,
    so the lead report can count distinct SMEs as well as page views.
    """

    __tablename__ = "online_visits"
    __table_args__ = (
        CheckConstraint("kind IN ('zone_view', 'stream_view', 'stream_click')", name="kind_known"),
        CheckConstraint("(institution_id IS NULL) <> (session_id IS NULL)", name="one_target"),
        Index("ix_online_visits_institution_kind", "institution_id", "kind"),
        Index("ix_online_visits_session_kind", "session_id", "kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("event_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
