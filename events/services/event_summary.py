"""Per event, the summary that tour reports state (活动成效汇总): sessions, attendance, needs, meetings, outcomes.

For each event in reach of the actor and the filters:

- sessions held — sessions that have ended by `now`, by mode (线上 / 线下 / 线上+线下), and sessions planned;
- institutions and enterprises attending — distinct ones with an APPROVED registration for a session of the event;
  enterprises met — distinct SMEs with a held meeting (the funnel's "met" rule);
- needs — distinct needs attached to approved registrations, their count and amount (each need once);
- meetings — meetings in the published schedule (scheduled, held, no-show), of which held and no-show;
- by financing type (the need's, else the product's): meetings, held, intents, then the type's own steps —
  授信/放款 (loan), 签署投资协议/资金到位 (equity), 出单 with 保额 and 保费 (insurance), 出具担保函 (guarantee) — each
  as a count of meetings and amounts confirmed / unconfirmed (the funnel's rule: the institution's figures,
  confirmed when the SME confirmed), and the SME-only figures that are not counted;
- disputes — meetings whose SME disputes the institution's figures, with the reason, for the organiser.

A fixed number of queries whatever the number of events, meetings or outcomes.
"""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import String, and_, case, distinct, func, or_, select, true
from sqlalchemy.orm import contains_eager

from core.clock import utcnow
from core.extensions import db
from events.enums import MeetingStatus, RegistrationStatus, SessionMode, Side
from events.models import Event, EventSession, Meeting, Outcome, Registration, RegistrationNeed
from events.services.outcomes import OUTCOME_TERMS
from events.services.reports import (
    MATCHED_STATUSES,
    UNSPECIFIED,
    ReportFilter,
    effective_outcome,
    enterprise_conditions,
    event_conditions,
    financing_type_label,
)
from market.enums import FinancingType
from market.models import Enterprise, FinancingNeed, Institution, Product


@dataclass
class Amount:
    """Meetings that reached a step, and the step's amount split by confirmation."""

    meetings: int = 0
    confirmed_yuan: int = 0
    unconfirmed_yuan: int = 0

    @property
    def total_yuan(self) -> int:
        return self.confirmed_yuan + self.unconfirmed_yuan


@dataclass
class TypeSummary:
    financing_type: str
    meetings: int = 0
    held: int = 0
    intent: Amount = field(default_factory=Amount)
    agreed: Amount = field(default_factory=Amount)
    funded: Amount = field(default_factory=Amount)
    premium: Amount = field(default_factory=Amount)
    enterprise_only: Amount = field(default_factory=Amount)  # SME-reported 授信/放款 etc. the institution did not

    @property
    def label(self) -> str:
        return financing_type_label(self.financing_type)

    @property
    def terms(self):
        """The type's words (loan's for a meeting of no known type)."""
        try:
            return OUTCOME_TERMS[FinancingType(self.financing_type)]
        except ValueError:
            return OUTCOME_TERMS[FinancingType.LOAN]


@dataclass
class Dispute:
    meeting_id: int
    session_title: str
    starts_at: datetime | None
    enterprise_name: str
    institution_name: str
    financing_type: str
    reason: str
    intent_yuan: int | None
    agreed_yuan: int | None
    funded_yuan: int | None


@dataclass
class EventSummary:
    event: Event
    sessions_planned: int = 0
    sessions_held: dict = field(default_factory=lambda: {mode.value: 0 for mode in SessionMode})
    institutions: int = 0
    enterprises: int = 0
    enterprises_met: int = 0
    needs: int = 0
    needs_yuan: int = 0
    meetings: int = 0
    meetings_held: int = 0
    no_shows: int = 0
    by_type: dict = field(default_factory=dict)  # financing type → TypeSummary
    disputes: list = field(default_factory=list)

    @property
    def sessions_held_total(self) -> int:
        return sum(self.sessions_held.values())

    def types(self) -> list[TypeSummary]:
        order = [member.value for member in FinancingType] + [UNSPECIFIED]
        return sorted(self.by_type.values(), key=lambda row: order.index(row.financing_type)
                      if row.financing_type in order else len(order))

    def total(self, step: str) -> Amount:
        rows = [getattr(row, step) for row in self.by_type.values()]
        return Amount(sum(r.meetings for r in rows), sum(r.confirmed_yuan for r in rows),
                      sum(r.unconfirmed_yuan for r in rows))


def _sum_if(condition, value, confirmed=None):
    if confirmed is not None:
        condition = and_(condition, confirmed)
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def event_summaries(actor, filters: ReportFilter, now: datetime | None = None) -> list[EventSummary]:
    """One summary per event in reach (newest first), in seven queries."""
    now = now or utcnow()
    events = list(db.session.scalars(select(Event).where(*event_conditions(actor, filters))
                                     .order_by(Event.starts_on.desc(), Event.id.desc())))
    summaries = {event.id: EventSummary(event) for event in events}
    if not summaries:
        return []
    ids = list(summaries)
    smes = enterprise_conditions(filters)

    sessions = (select(EventSession.event_id, EventSession.mode, (EventSession.ends_at <= now).label("ended"))
                .where(EventSession.event_id.in_(ids)).subquery("summary_sessions"))
    for event_id, mode, ended, count in db.session.execute(
            select(sessions.c.event_id, sessions.c.mode, sessions.c.ended, func.count())
            .group_by(sessions.c.event_id, sessions.c.mode, sessions.c.ended)):
        summary = summaries[event_id]
        summary.sessions_planned += count
        if ended:
            summary.sessions_held[mode] = summary.sessions_held.get(mode, 0) + count

    approved = (select(EventSession.event_id, Registration.enterprise_id, Registration.institution_id,
                       Registration.id.label("registration_id"))
                .join(EventSession, EventSession.id == Registration.session_id)
                .outerjoin(Enterprise, Enterprise.id == Registration.enterprise_id)
                .where(EventSession.event_id.in_(ids), Registration.status == RegistrationStatus.APPROVED,
                       or_(Registration.enterprise_id.is_(None), *smes) if smes else true())
                .subquery("approved"))
    for event_id, enterprises, institutions in db.session.execute(
            select(approved.c.event_id, func.count(distinct(approved.c.enterprise_id)),
                   func.count(distinct(approved.c.institution_id))).group_by(approved.c.event_id)):
        summaries[event_id].enterprises, summaries[event_id].institutions = enterprises, institutions

    needs = (select(approved.c.event_id, FinancingNeed.id, FinancingNeed.amount_yuan).distinct()
             .join(RegistrationNeed, RegistrationNeed.registration_id == approved.c.registration_id)
             .join(FinancingNeed, FinancingNeed.id == RegistrationNeed.need_id).subquery("needs"))
    for event_id, count, amount in db.session.execute(
            select(needs.c.event_id, func.count(), func.coalesce(func.sum(needs.c.amount_yuan), 0))
            .group_by(needs.c.event_id)):
        summaries[event_id].needs, summaries[event_id].needs_yuan = count, int(amount)

    outcome = effective_outcome()
    held = or_(Meeting.status == MeetingStatus.HELD, Meeting.checked_in_at.is_not(None),
               outcome.c.held.is_(True))
    confirmed = outcome.c.confirmed.is_(True)
    unconfirmed = or_(outcome.c.confirmed.is_(None), outcome.c.confirmed.is_(False))
    financing_type = func.coalesce(FinancingNeed.type, Product.type, UNSPECIFIED, type_=String)
    meetings = (select(EventSession.event_id, financing_type.label("financing_type"), Meeting.enterprise_id,
                       held.label("held"), (Meeting.status == MeetingStatus.NO_SHOW).label("no_show"),
                       outcome.c.intent, outcome.c.agreed, outcome.c.funded, outcome.c.premium,
                       outcome.c.enterprise_agreed, outcome.c.enterprise_funded,
                       confirmed.label("confirmed"), unconfirmed.label("unconfirmed"))
                .select_from(Meeting)
                .join(EventSession, EventSession.id == Meeting.session_id)
                .join(Enterprise, Enterprise.id == Meeting.enterprise_id)
                .outerjoin(FinancingNeed, FinancingNeed.id == Meeting.need_id)
                .outerjoin(Product, Product.id == Meeting.product_id)
                .outerjoin(outcome, outcome.c.meeting_id == Meeting.id)
                .where(EventSession.event_id.in_(ids), Meeting.status.in_(MATCHED_STATUSES), *smes)
                .subquery("summary_meetings"))
    m = meetings.c
    columns = [func.count(), _count_if(m.held.is_(True))]
    for figure in ("intent", "agreed", "funded", "premium"):
        value = m[figure]
        columns += [_count_if(value > 0), _sum_if(value > 0, value, m.confirmed.is_(True)),
                    _sum_if(value > 0, value, m.unconfirmed.is_(True))]
    enterprise_only = or_(and_(m.enterprise_agreed > 0, func.coalesce(m.agreed, 0) == 0),
                          and_(m.enterprise_funded > 0, func.coalesce(m.funded, 0) == 0))
    enterprise_only_amount = case((func.coalesce(m.funded, 0) == 0, func.coalesce(m.enterprise_funded, 0)), else_=0) \
        + case((func.coalesce(m.agreed, 0) == 0, func.coalesce(m.enterprise_agreed, 0)), else_=0)
    columns += [_count_if(enterprise_only), _sum_if(enterprise_only, enterprise_only_amount)]
    for row in db.session.execute(select(m.event_id, m.financing_type, *columns)
                                  .group_by(m.event_id, m.financing_type)):
        event_id, type_value, count, held_count, *rest = row
        summary = summaries[event_id]
        typed = summary.by_type.setdefault(type_value, TypeSummary(type_value))
        typed.meetings, typed.held = int(count), int(held_count)
        for index, figure in enumerate(("intent", "agreed", "funded", "premium")):
            setattr(typed, figure, Amount(*(int(value) for value in rest[3 * index:3 * index + 3])))
        typed.enterprise_only = Amount(int(rest[12]), 0, int(rest[13]))
        summary.meetings += typed.meetings
        summary.meetings_held += typed.held
    for event_id, no_shows, met in db.session.execute(
            select(m.event_id, _count_if(m.no_show.is_(True)),
                   func.count(distinct(case((m.held.is_(True), m.enterprise_id)))))
            .group_by(m.event_id)):
        summaries[event_id].no_shows, summaries[event_id].enterprises_met = int(no_shows), int(met)

    for summary_event_id, dispute in _disputes(ids, smes, outcome):
        summaries[summary_event_id].disputes.append(dispute)
    return [summaries[event.id] for event in events]


def _disputes(event_ids: list[int], smes: list, outcome) -> list[tuple[int, Dispute]]:
    """Meetings whose SME disputes the institution's figures (whatever became of the meeting since), oldest first."""
    by_enterprise = Outcome.__table__.alias("disputing")
    rows = db.session.execute(
        select(EventSession.event_id, Meeting, Enterprise.name,
               Institution.name, func.coalesce(FinancingNeed.type, Product.type, UNSPECIFIED, type_=String),
               by_enterprise.c.dispute_reason, outcome.c.intent, outcome.c.agreed, outcome.c.funded)
        .select_from(Meeting)
        .join(EventSession, EventSession.id == Meeting.session_id)
        .join(Enterprise, Enterprise.id == Meeting.enterprise_id)
        .join(Institution, Institution.id == Meeting.institution_id)
        .outerjoin(FinancingNeed, FinancingNeed.id == Meeting.need_id)
        .outerjoin(Product, Product.id == Meeting.product_id)
        .join(outcome, outcome.c.meeting_id == Meeting.id)
        .join(by_enterprise, and_(by_enterprise.c.meeting_id == Meeting.id,
                                  by_enterprise.c.side == Side.ENTERPRISE))
        .where(EventSession.event_id.in_(event_ids), outcome.c.disputed.is_(True), *smes)
        .options(contains_eager(Meeting.session))
        .order_by(EventSession.starts_at, Meeting.slot, Meeting.id))
    grouped = defaultdict(list)
    for event_id, meeting, *values in rows:
        grouped[event_id].append(Dispute(meeting.id, meeting.session.title, meeting.starts_at, *values))
    return [(event_id, dispute) for event_id, disputes in grouped.items() for dispute in disputes]
