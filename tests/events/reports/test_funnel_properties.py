"""The funnel never grows downwards, on random registrations, meetings and outcomes (hypothesis).

A fixed cast (two events, three sessions, six SMEs with two needs each, two institutions) is built once per test;
each example adds random registrations, meetings in every status and outcome rows from either side inside a
savepoint, checks the report and rolls back. Besides the monotone property, the unfiltered funnel is compared
with an oracle written here in plain Python from the generated rows.
"""
from datetime import date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import User
from core.extensions import db
from events.models import EventSession, Meeting, Outcome, Registration
from events.services import reports
from events.services.availability import set_place
from events.services.reports import STAGES, ReportFilter
from market.models import Chain, FinancingNeed, Institution, Product
from tests.events.reports.world import _enterprise, _event, _need, _session
from tests.support import factories

M = 1_000_000
TYPES = ("loan", "equity", "insurance", "guarantee")
MEETING_STATUSES = ("proposed", "scheduled", "held", "no_show", "cancelled")
REGIONS = ("330106", "330108", "330106", "330200", "330108", "330200")


@pytest.fixture
def cast(app):
    with app.test_request_context():
        admin = factories.admin()
        office = factories.organiser("330100")
        ai = db.session.scalar(db.select(Chain).where(Chain.code == "ai"))
        ic = db.session.scalar(db.select(Chain).where(Chain.code == "integrated_circuits"))
        event_a = _event(office.organiser_office_id, ai, "330100", "人工智能月", date(2025, 3, 10))
        event_b = _event(office.organiser_office_id, ic, "330100", "集成电路月", date(2025, 4, 14))
        sessions = [_session(event_a, "credit_matching", "信贷", datetime(2025, 3, 10, 1), datetime(2025, 3, 10, 4)),
                    _session(event_a, "equity_matching", "股权", datetime(2025, 3, 10, 6), datetime(2025, 3, 10, 8)),
                    _session(event_b, "credit_matching", "信贷", datetime(2025, 4, 14, 1), datetime(2025, 4, 14, 4))]
        enterprises = [_enterprise(region) for region in REGIONS]
        needs = [_need(enterprise, TYPES[(index + offset) % 4], (index + 1) * M)
                 for index, enterprise in enumerate(enterprises) for offset in (0, 1)]
        institutions = [Institution(name=f"测试机构{index}", kind="bank", status="approved") for index in range(2)]
        db.session.add_all(institutions)
        db.session.flush()
        products = [Product(institution=institutions[index % 2], name=f"产品{index}", type=kind, amount_min_yuan=M,
                            amount_max_yuan=50 * M) for index, kind in enumerate(TYPES)]
        db.session.add_all(products)
        db.session.commit()
        ids = {"admin": admin.id, "events": [event_a.id, event_b.id], "sessions": [s.id for s in sessions],
               "session_event": {s.id: s.event_id for s in sessions},
               "enterprises": [e.id for e in enterprises], "needs": [(n.id, n.enterprise_id) for n in needs],
               "institutions": [i.id for i in institutions], "products": [p.id for p in products],
               "ai": ai.id}
    return ids  # built and committed; each test opens its own context (a context left open would hold SQLite's lock)


amount = st.one_of(st.none(), st.just(0), st.integers(1, 30).map(lambda n: n * M))


@st.composite
def side_row(draw, with_verdict: bool):
    held = draw(st.booleans())
    intent, agreed = draw(amount), draw(amount)
    funded = draw(st.one_of(st.none(), st.integers(0, (agreed or 0) // M).map(lambda n: n * M)))
    verdict = draw(st.sampled_from((None, "confirmed", "disputed"))) if with_verdict else None
    return dict(held=held, intent=intent, agreed=agreed, funded=funded, verdict=verdict)


@st.composite
def month(draw):
    registrations = draw(st.dictionaries(
        st.tuples(st.integers(0, 2), st.integers(0, 5)),          # (session, SME)
        st.tuples(st.sampled_from(("approved", "approved", "pending", "rejected")),
                  st.lists(st.integers(0, 1), max_size=2, unique=True)),  # which of the SME's two needs
        max_size=10))
    meetings = draw(st.dictionaries(
        st.tuples(st.integers(0, 2), st.integers(0, 5), st.integers(0, 1)),  # (session, SME, institution)
        st.fixed_dictionaries({
            "status": st.sampled_from(MEETING_STATUSES), "checked_in": st.booleans(),
            "need": st.sampled_from((None, 0, 1)), "product": st.integers(0, 3),
            "institution_row": st.one_of(st.none(), side_row(False)),
            "enterprise_row": st.one_of(st.none(), side_row(True))}),
        max_size=14))
    return registrations, meetings


def _insert(cast, registrations, meetings) -> None:
    needs_of = {}
    for need_id, enterprise_id in cast["needs"]:
        needs_of.setdefault(enterprise_id, []).append(need_id)
    for (session, sme), (status, picked) in registrations.items():
        enterprise_id = cast["enterprises"][sme]
        registration = Registration(session_id=cast["sessions"][session], enterprise_id=enterprise_id, status=status)
        registration.needs = [db.session.get(FinancingNeed, needs_of[enterprise_id][index]) for index in picked]
        db.session.add(registration)
    for slot, ((session, sme, institution), facts) in enumerate(meetings.items()):
        enterprise_id = cast["enterprises"][sme]
        need_id = None if facts["need"] is None else needs_of[enterprise_id][facts["need"]]
        meeting = Meeting(session_id=cast["sessions"][session], enterprise_id=enterprise_id,
                          institution_id=cast["institutions"][institution], need_id=need_id,
                          product_id=cast["products"][facts["product"]], status=facts["status"], slot=slot,
                          table_number=1, checked_in_at=datetime(2025, 3, 10, 2) if facts["checked_in"] else None)
        set_place(meeting, db.session.get(EventSession, meeting.session_id), meeting.slot, meeting.table_number)
        db.session.add(meeting)
        db.session.flush()
        for side in ("institution", "enterprise"):
            row = facts[f"{side}_row"]
            if row is None:
                continue
            db.session.add(Outcome(meeting_id=meeting.id, side=side, held=row["held"], financing_type="loan",
                                   intent_amount_yuan=row["intent"], agreed_amount_yuan=row["agreed"],
                                   funded_amount_yuan=row["funded"], verdict=row["verdict"],
                                   dispute_reason="不符" if row["verdict"] == "disputed" else ""))
    db.session.flush()


def _oracle(cast, registrations, meetings) -> tuple[list[int], list[int]]:
    """SMEs and needs at least at each stage, computed from the generated rows by the documented rules."""
    needs_of = {}
    for need_id, enterprise_id in cast["needs"]:
        needs_of.setdefault(enterprise_id, []).append(need_id)
    enterprise_rank, need_rank = {}, {}

    def reach(enterprise_id, need_id, rank):
        enterprise_rank[enterprise_id] = max(enterprise_rank.get(enterprise_id, -1), rank)
        if need_id is not None:
            need_rank[need_id] = max(need_rank.get(need_id, -1), rank)

    for (_session_key, sme), (status, picked) in registrations.items():
        if status == "approved":
            enterprise_id = cast["enterprises"][sme]
            reach(enterprise_id, None, 0)
            for index in picked:
                reach(enterprise_id, needs_of[enterprise_id][index], 0)
    for (_session_key, sme, _institution), facts in meetings.items():
        if facts["status"] not in ("scheduled", "held", "no_show"):
            continue
        enterprise_id = cast["enterprises"][sme]
        need_id = None if facts["need"] is None else needs_of[enterprise_id][facts["need"]]
        institution, enterprise = facts["institution_row"], facts["enterprise_row"]
        rows = [row for row in (institution, enterprise) if row is not None]
        rank = 1
        if facts["status"] == "held" or facts["checked_in"] or any(row["held"] for row in rows):
            rank = 2
        intent = (institution or enterprise or {}).get("intent")
        if intent:
            rank = 3
        if institution and institution["agreed"]:
            rank = 4
        if institution and institution["funded"]:
            rank = 5
        reach(enterprise_id, need_id, rank)
    return ([sum(1 for r in enterprise_rank.values() if r >= index) for index in range(len(STAGES))],
            [sum(1 for r in need_rank.values() if r >= index) for index in range(len(STAGES))])


def _assert_monotone(figures, where) -> None:
    for earlier, later in zip(figures, figures[1:]):
        assert later.enterprises <= earlier.enterprises, (where, earlier, later)
        assert later.needs <= earlier.needs, (where, earlier, later)
        assert later.need_amount_yuan <= earlier.need_amount_yuan, (where, earlier, later)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(generated=month())
def test_every_stage_is_at_most_the_one_before(app, cast, generated):
    registrations, meetings = generated
    with app.test_request_context():
        savepoint = db.session.begin_nested()
        try:
            _insert(cast, registrations, meetings)
            admin = db.session.get(User, cast["admin"])
            funnel = reports.funnel(admin, ReportFilter())
            enterprises, needs = _oracle(cast, registrations, meetings)
            assert [f.enterprises for f in funnel] == enterprises
            assert [f.needs for f in funnel] == needs
            for filters in (ReportFilter(), ReportFilter(event_id=cast["events"][0]),
                            ReportFilter(chain_id=cast["ai"]), ReportFilter(region_code="330100"),
                            ReportFilter(region_code="330200"), ReportFilter(year=2025, month=4)):
                report = reports.build_report(admin, filters)
                _assert_monotone(report.funnel, filters)
                for dimension, rows in report.breakdowns.items():
                    for row in rows:
                        _assert_monotone([row.stages[name] for name in STAGES], (filters, dimension, row.key))
        finally:
            savepoint.rollback()
            db.session.rollback()
