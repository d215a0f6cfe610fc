"""A small, hand-counted world for the report tests, built straight from the models.

Three events: A (人工智能, Hangzhou, March 2025, a credit and an equity session), B (集成电路, Hangzhou, April
2025) and C (人工智能, Ningbo, March 2025). The expected figures in EXPECTED were counted by hand from the rows
below; each comment says why a row counts or not.
"""
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select

from core.extensions import db
from events.models import Event, EventSession, Meeting, MeetingRequest, Outcome, Registration
from events.services import venue_tables
from market import services as market
from market.models import Chain, FinancingNeed, Institution, Product
from tests.support import factories

M = 1_000_000  # yuan


@dataclass
class World:
    ids: dict = field(default_factory=dict)
    emails: dict = field(default_factory=dict)


def _event(office_id, chain, region, title, day: date) -> Event:
    event = Event(organiser_office_id=office_id, title=title, chain_id=chain.id, host_region_code=region,
                  starts_on=day, ends_on=day, registration_opens_at=datetime(day.year, 1, 1),
                  registration_closes_at=datetime(day.year, 1, 20), status="published")
    db.session.add(event)
    return event


def _session(event, kind, title, starts: datetime, ends: datetime) -> EventSession:
    session = EventSession(event=event, kind=kind, mode="offline", title=title, starts_at=starts, ends_at=ends,
                           slot_minutes=20, tables=4, venue="杭州国际博览中心")
    db.session.add(session)
    return session


def _enterprise(region: str, chain: str = "ai", name: str | None = None):
    facts = factories.enterprise_facts(region_code=region, chain_code=chain,
                                       node_keys=[f"{chain}/compute"] if chain == "ai" else [])
    if name:
        facts.name = name
    return market.create_enterprise(facts)


def _need(enterprise, type_: str, amount: int) -> FinancingNeed:
    need = FinancingNeed(enterprise_id=enterprise.id, type=type_, amount_yuan=amount, term_months=12, purpose="测试")
    db.session.add(need)
    return need


def _registration(session, status="approved", enterprise=None, institution=None, needs=()):
    registration = Registration(session=session, status=status, enterprise=enterprise, institution=institution,
                                tables=2 if institution is not None else None)
    registration.needs = list(needs)
    db.session.add(registration)
    return registration


def _meeting(session, enterprise, institution, status, slot, table, need=None, product=None, **extra) -> Meeting:
    meeting = factories.unsaved_meeting(session, slot, table, enterprise=enterprise, institution=institution,
                                        need=need, product=product, status=status, score=800, **extra)
    db.session.add(meeting)
    return meeting


def _outcome(meeting, side, held, intent=None, credit=None, disbursed=None, note="", verdict=None):
    financing_type = meeting.need.type if meeting.need else meeting.product.type
    db.session.add(Outcome(meeting=meeting, side=side, held=held, financing_type=financing_type,
                           intent_amount_yuan=intent, agreed_amount_yuan=credit, funded_amount_yuan=disbursed,
                           note=note, verdict=verdict))


def _request(event, enterprise, institution, status, created, respond_by, responded=None,
             direction="from_enterprise"):
    db.session.add(MeetingRequest(event=event, enterprise=enterprise, institution=institution, direction=direction,
                                  status=status, created_at=created, respond_by=respond_by, responded_at=responded))


def build_world() -> World:
    """Create the world and commit; returns ids of the objects the tests refer to."""
    hangzhou = factories.organiser("330100")
    ningbo = factories.organiser("330200")
    admin = factories.admin()
    ai = db.session.scalar(select(Chain).where(Chain.code == "ai"))
    ic = db.session.scalar(select(Chain).where(Chain.code == "integrated_circuits"))

    event_a = _event(hangzhou.organiser_office_id, ai, "330100", "2025年3月 · 人工智能产业链 · 杭州", date(2025, 3, 10))
    event_b = _event(hangzhou.organiser_office_id, ic, "330100", "2025年4月 · 集成电路产业链 · 杭州", date(2025, 4, 14))
    event_c = _event(ningbo.organiser_office_id, ai, "330200", "2025年3月 · 人工智能产业链 · 宁波", date(2025, 3, 20))
    s1 = _session(event_a, "credit_matching", "信贷融资对接会", datetime(2025, 3, 10, 1), datetime(2025, 3, 10, 4))
    s2 = _session(event_a, "equity_matching", "股权融资对接会", datetime(2025, 3, 10, 6), datetime(2025, 3, 10, 8))
    s3 = _session(event_b, "credit_matching", "信贷融资对接会", datetime(2025, 4, 14, 1), datetime(2025, 4, 14, 4))
    s4 = _session(event_c, "credit_matching", "信贷融资对接会", datetime(2025, 3, 20, 1), datetime(2025, 3, 20, 4))

    e1 = _enterprise("330106", name="西湖智算科技有限公司")
    e2 = _enterprise("330108", name="滨江视觉科技有限公司")
    e3 = _enterprise("330106")
    e4 = _enterprise("320100", chain="integrated_circuits", name="南京芯片设计有限公司")
    e5 = _enterprise("330200", name="宁波机器人有限公司")
    e6 = _enterprise("330106", name="西湖无需求科技有限公司")
    n1 = _need(e1, "loan", 5 * M)
    n1b = _need(e1, "equity", 20 * M)
    n2 = _need(e2, "loan", 3 * M)
    n3 = _need(e3, "loan", 1 * M)
    n4 = _need(e4, "loan", 2 * M)
    n5 = _need(e5, "loan", 7 * M)

    bank = Institution(name="测试杭城银行", kind="bank", status="approved")
    fund = Institution(name="测试产业基金", kind="investor", status="approved")
    db.session.add_all([bank, fund])
    db.session.flush()
    loan = Product(institution=bank, name="科创贷", type="loan", amount_min_yuan=M, amount_max_yuan=50 * M)
    equity = Product(institution=fund, name="成长基金", type="equity", amount_min_yuan=M, amount_max_yuan=50 * M)
    db.session.add_all([loan, equity])
    db.session.flush()

    # Registrations. N1 is attached in two sessions of A: it counts once.
    _registration(s1, enterprise=e1, needs=[n1])
    _registration(s2, enterprise=e1, needs=[n1b, n1])
    _registration(s1, enterprise=e2, needs=[n2])
    _registration(s1, status="pending", enterprise=e3, needs=[n3])       # not approved: not counted
    _registration(s3, enterprise=e4, needs=[n4])
    _registration(s4, enterprise=e5, needs=[n5])
    _registration(s1, enterprise=e6)                                      # approved, no need attached
    _registration(s1, institution=bank)                                   # institutions are not SMEs
    db.session.flush()
    venue_tables.sync_session_tables(s1)                                  # as approval does: tables 01, 02

    m1 = _meeting(s1, e1, bank, "scheduled", 0, 1, need=n1, product=loan)
    _outcome(m1, "enterprise", True, intent=5 * M, credit=0, note="企业：已提交材料",
             verdict="confirmed")                                       # the SME confirms the bank's figures
    _outcome(m1, "institution", True, intent=4 * M, credit=3 * M, disbursed=1 * M, note="机构：首笔已放款")
    m2 = _meeting(s2, e1, fund, "held", 0, 1, need=n1b, product=equity)
    _outcome(m2, "enterprise", True, intent=10 * M)                        # only the SME recorded
    _meeting(s1, e2, bank, "no_show", 1, 1, need=n2, product=loan)        # matched, not met
    _meeting(s1, e6, bank, "proposed", 2, 1, product=loan)                # a proposal: not counted
    _meeting(s1, e2, fund, "cancelled", 1, 1, need=n2, product=equity)    # cancelled: not counted
    m6 = _meeting(s3, e4, bank, "scheduled", 0, 1, need=n4, product=loan, checked_in_at=datetime(2025, 4, 14, 1))
    _outcome(m6, "institution", True, intent=2 * M, credit=2 * M, disbursed=0)
    m7 = _meeting(s4, e5, bank, "held", 0, 1, need=n5, product=loan)
    _outcome(m7, "institution", True, intent=7 * M, credit=7 * M, disbursed=7 * M)

    # Requests SMEs sent to institutions (times in UTC; Shanghai is UTC+8).
    _request(event_a, e1, bank, "accepted", datetime(2025, 3, 3, 1), datetime(2025, 3, 10, 1),
             responded=datetime(2025, 3, 4, 1))                          # Mon 09:00 → Tue 09:00: 1 working day
    _request(event_a, e6, bank, "declined", datetime(2025, 3, 7, 9), datetime(2025, 3, 10, 0),
             responded=datetime(2025, 3, 10, 1))                         # Fri 17:00 → Mon 09:00: 16 h, late
    _request(event_a, e2, bank, "requested", datetime(2025, 3, 1, 1), datetime(2025, 3, 5, 1))  # open, overdue
    _request(event_a, e1, bank, "withdrawn", datetime(2025, 3, 2, 1), datetime(2025, 3, 9, 1))  # not counted
    _request(event_a, e1, fund, "accepted", datetime(2025, 9, 30, 1), datetime(2025, 10, 20, 1),
             responded=datetime(2025, 10, 9, 1))                         # across the National Day holiday: 1 day
    _request(event_c, e5, bank, "accepted", datetime(2025, 3, 17, 1), datetime(2025, 3, 24, 1),
             responded=datetime(2025, 3, 17, 7))                         # Ningbo: 6 h = 0.25 day
    db.session.commit()
    world = World()
    world.emails.update(hangzhou=hangzhou.email, ningbo=ningbo.email, admin=admin.email)
    world.ids.update(hangzhou=hangzhou.id, ningbo=ningbo.id, admin=admin.id, event_a=event_a.id,
                     event_b=event_b.id, event_c=event_c.id, ai=ai.id, ic=ic.id, bank=bank.id, fund=fund.id)
    return world


def figures(stage) -> tuple:
    return stage.enterprises, stage.needs, stage.amount_yuan


# (SMEs, needs, amount in yuan) per stage, counted by hand above.
EXPECTED_ALL = {
    "registered": (5, 5, 37 * M),  # E1 (N1, N1b), E2 (N2), E4 (N4), E5 (N5), E6 (none)
    "matched": (4, 5, 37 * M),     # M1, M2, M3, M6, M7
    "met": (3, 4, 34 * M),         # M1 (outcome held), M2 (held), M6 (checked in), M7
    "intent": (3, 4, 23 * M),      # 4 (institution's, not the SME's 5) + 10 + 2 + 7
    "credit": (3, 3, 12 * M),      # 3 + 2 + 7
    "disbursed": (2, 2, 8 * M),    # 1 + 7
}
# (confirmed, unconfirmed) outcome figures: only M1's are confirmed (its SME confirmed the bank's figures).
EXPECTED_SPLIT_ALL = {"intent": (4 * M, 19 * M), "credit": (3 * M, 9 * M), "disbursed": (1 * M, 7 * M)}
EXPECTED_HANGZHOU = {
    "registered": (4, 4, 30 * M),
    "matched": (3, 4, 30 * M),
    "met": (2, 3, 27 * M),
    "intent": (2, 3, 16 * M),
    "credit": (2, 2, 5 * M),
    "disbursed": (1, 1, 1 * M),
}
# The amount of the needs that reached each stage (N1 5, N1b 20, N2 3, N4 2 million; furthest stages: N1 disbursed,
# N1b intent, N2 matched, N4 credit), and the (confirmed, unconfirmed) outcome figures: M1's are confirmed.
HANGZHOU_NEED_AMOUNTS = {"registered": 30 * M, "matched": 30 * M, "met": 27 * M, "intent": 27 * M, "credit": 7 * M,
                         "disbursed": 5 * M}
HANGZHOU_SPLIT = {"intent": (4 * M, 12 * M), "credit": (3 * M, 2 * M), "disbursed": (1 * M, 0)}
