"""The per-event summary (活动成效汇总) against counts made here in Python, its printable page and its sheets."""
from collections import defaultdict
from contextlib import contextmanager
from io import BytesIO

import pytest
from hypothesis import HealthCheck, given, settings
from openpyxl import load_workbook
from sqlalchemy import event as sa_event

from accounts.models import User
from core.extensions import db
from events.models import EventSession, Meeting, Outcome, Registration
from events.services.availability import set_place
from events.services.event_summary import event_summaries
from events.services.reports import ReportFilter
from market.models import FinancingNeed, Product
from tests.conftest import sign_in
from tests.events.reports.test_funnel_properties import TYPES, _insert, cast, month  # noqa: F401 (fixture)

M = 1_000_000
MATCHED = ("scheduled", "held", "no_show")


def _expected(cast, registrations, meetings, event_index: int = 0) -> dict:
    """The summary of one event, counted from the generated rows by the rules in event_summary's docstring."""
    sessions = [index for index, session_id in enumerate(cast["sessions"])
                if cast["session_event"][session_id] == cast["events"][event_index]]
    needs_of = defaultdict(list)
    need_amount, need_type = {}, {}
    for need_id, enterprise_id in cast["needs"]:
        needs_of[enterprise_id].append(need_id)
    for need in db.session.scalars(db.select(FinancingNeed)):
        need_amount[need.id], need_type[need.id] = need.amount_yuan, need.type
    product_type = {p.id: p.type for p in db.session.scalars(db.select(Product))}
    enterprises, needs = set(), set()
    for (session, sme), (status, picked) in registrations.items():
        if session in sessions and status == "approved":
            enterprise_id = cast["enterprises"][sme]
            enterprises.add(enterprise_id)
            needs.update(needs_of[enterprise_id][index] for index in picked)
    by_type = defaultdict(lambda: defaultdict(int))
    counted = held_count = no_shows = 0
    met, disputes = set(), 0
    for (session, sme, _institution), facts in meetings.items():
        if session not in sessions:
            continue
        institution, enterprise = facts["institution_row"], facts["enterprise_row"]
        if institution and enterprise and enterprise["verdict"] == "disputed":
            disputes += 1
        if facts["status"] not in MATCHED:
            continue
        enterprise_id = cast["enterprises"][sme]
        need_id = None if facts["need"] is None else needs_of[enterprise_id][facts["need"]]
        kind = need_type[need_id] if need_id else product_type[cast["products"][facts["product"]]]
        figures = by_type[kind]
        counted += 1
        figures["meetings"] += 1
        rows = [row for row in (institution, enterprise) if row]
        held = facts["status"] == "held" or facts["checked_in"] or any(row["held"] for row in rows)
        if held:
            held_count += 1
            figures["held"] += 1
            met.add(enterprise_id)
        no_shows += facts["status"] == "no_show"
        confirmed = bool(institution) and bool(enterprise) and enterprise["verdict"] == "confirmed"
        intent = (institution or enterprise or {}).get("intent")
        steps = {"intent": intent, "agreed": institution and institution["agreed"],
                 "funded": institution and institution["funded"]}
        for step, value in steps.items():
            if value:
                figures[f"{step}_meetings"] += 1
                figures[f"{step}_{'confirmed' if confirmed else 'unconfirmed'}"] += value
        if enterprise:
            own = [(enterprise["agreed"], institution and institution["agreed"]),
                   (enterprise["funded"], institution and institution["funded"])]
            alone = [mine for mine, theirs in own if mine and not theirs]
            if alone:
                figures["enterprise_only_meetings"] += 1
                figures["enterprise_only_yuan"] += sum(alone)
    return {"enterprises": len(enterprises), "needs": len(needs), "needs_yuan": sum(need_amount[n] for n in needs),
            "meetings": counted, "meetings_held": held_count, "no_shows": no_shows, "enterprises_met": len(met),
            "disputes": disputes, "by_type": {kind: dict(values) for kind, values in by_type.items()}}


def _actual(summary) -> dict:
    by_type = {}
    for row in summary.types():
        values = {"meetings": row.meetings, "held": row.held}
        for step in ("intent", "agreed", "funded"):
            amount = getattr(row, step)
            values.update({f"{step}_meetings": amount.meetings, f"{step}_confirmed": amount.confirmed_yuan,
                           f"{step}_unconfirmed": amount.unconfirmed_yuan})
        values.update(enterprise_only_meetings=row.enterprise_only.meetings,
                      enterprise_only_yuan=row.enterprise_only.unconfirmed_yuan)
        by_type[row.financing_type] = {key: value for key, value in values.items() if value}
    return {"enterprises": summary.enterprises, "needs": summary.needs, "needs_yuan": summary.needs_yuan,
            "meetings": summary.meetings, "meetings_held": summary.meetings_held, "no_shows": summary.no_shows,
            "enterprises_met": summary.enterprises_met, "disputes": len(summary.disputes), "by_type": by_type}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(generated=month())
def test_the_summary_matches_the_meetings_and_outcomes_it_counts(app, cast, generated):  # noqa: F811
    registrations, meetings = generated
    with app.test_request_context():
        savepoint = db.session.begin_nested()
        try:
            _insert(cast, registrations, meetings)
            admin = db.session.get(User, cast["admin"])
            summaries = {s.event.id: s for s in event_summaries(admin, ReportFilter())}
            for index, event_id in enumerate(cast["events"]):
                assert _actual(summaries[event_id]) == _expected(cast, registrations, meetings, index)
            [only_a] = event_summaries(admin, ReportFilter(event_id=cast["events"][0]))
            assert _actual(only_a) == _expected(cast, registrations, meetings, 0)
        finally:
            savepoint.rollback()
            db.session.rollback()


# ---- a hand-made month: sessions by mode, each type's words, a dispute, a fixed number of queries -------

@contextmanager
def counted_queries():
    statements = []

    def count(*_args):
        statements.append(1)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)


def _month_with_every_type(cast) -> None:
    """Session 2 goes online; one held meeting per type with the type's figures; the loan one is disputed."""
    online = db.session.get(EventSession, cast["sessions"][1])
    online.mode = "online"
    db.session.add(Registration(session_id=cast["sessions"][0], institution_id=cast["institutions"][0],
                                status="approved", tables=2))
    rows = {"loan": dict(intent=5 * M, agreed=4 * M, funded=2 * M, premium=None),
            "equity": dict(intent=8 * M, agreed=6 * M, funded=3 * M, premium=None),
            "insurance": dict(intent=2 * M, agreed=2 * M, funded=None, premium=16_000),
            "guarantee": dict(intent=3 * M, agreed=3 * M, funded=None, premium=None)}
    for slot, kind in enumerate(TYPES):
        meeting = Meeting(session_id=cast["sessions"][0], enterprise_id=cast["enterprises"][slot],
                          institution_id=cast["institutions"][0], product_id=cast["products"][TYPES.index(kind)],
                          status="held", slot=slot, table_number=1)
        set_place(meeting, db.session.get(EventSession, meeting.session_id), meeting.slot, meeting.table_number)
        db.session.add(meeting)
        db.session.flush()
        figures = rows[kind]
        db.session.add(Outcome(meeting_id=meeting.id, side="institution", held=True, financing_type=kind,
                               intent_amount_yuan=figures["intent"], agreed_amount_yuan=figures["agreed"],
                               funded_amount_yuan=figures["funded"], premium_yuan=figures["premium"]))
        verdict = "disputed" if kind == "loan" else "confirmed"
        db.session.add(Outcome(meeting_id=meeting.id, side="enterprise", held=True, financing_type=kind,
                               verdict=verdict, dispute_reason="实际授信 300 万元" if verdict == "disputed" else ""))
    db.session.commit()


def test_the_printable_page_states_each_type_in_its_words_and_lists_disputes(app, client, cast):  # noqa: F811
    with app.app_context():
        _month_with_every_type(cast)
        admin_email = db.session.get(User, cast["admin"]).email
    sign_in(client, admin_email)
    response = client.get(f"/reports/events/{cast['events'][0]}/summary")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "css/summary.css" in html and "js/print.js" in html and "data-print" in html
    assert 'id="row-sessions"' in html and "线上 1 场，线下 1 场" in html
    assert 'id="row-institutions"' in html and 'data-value="1">1 家' in html
    for words in (["意向 → 授信 → 放款"], ["签署投资协议", "资金到位"], ["出单", "保费"], ["出具担保函"]):
        for word in words:
            assert word in html, word
    assert 'data-type="insurance"' in html and 'data-key="premium" data-value="16000"' in html
    assert 'data-type="guarantee"' in html
    guarantee = html[html.index('data-type="guarantee"'):]
    guarantee = guarantee[:guarantee.index("</table>")]
    assert 'data-key="funded"' not in guarantee  # a guarantee ends with its letter
    assert "实际授信 300 万元" in html[html.index('id="disputes"'):]


def test_the_sheets_of_the_export_carry_the_summary(app, client, cast):  # noqa: F811
    with app.app_context():
        _month_with_every_type(cast)
        admin_email = db.session.get(User, cast["admin"]).email
    sign_in(client, admin_email)
    response = client.get(f"/reports/export/outcomes.xlsx?event={cast['events'][0]}")
    book = load_workbook(BytesIO(response.data))
    summary = [[cell.value for cell in row] for row in book["活动汇总"].iter_rows(min_row=3)]
    headers = [cell.value for cell in book["活动汇总"][2]]
    row = dict(zip(headers, summary[0], strict=True))
    assert row["线上场次(已举办)"] == 1 and row["线下场次(已举办)"] == 1 and row["参会机构(家)"] == 1
    assert row["已会谈(场)"] == 4 and row["授信/签约(场)"] == 4
    assert float(row["授信/签约已确认(万元)"]) == 1100 and float(row["授信/签约待确认(万元)"]) == 400
    assert float(row["放款/到位已确认(万元)"]) == 300 and float(row["放款/到位待确认(万元)"]) == 200
    types = {r[1]: r for r in ([c.value for c in row] for row in book["分类型成效"].iter_rows(min_row=3))}
    assert types["保险"][7] == "出单" and float(types["保险"][15]) == 1.6
    assert types["融资担保"][7] == "出具担保函" and types["融资担保"][11] == "—"
    assert types["股权融资"][11] == "资金到位"
    disputes = [[c.value for c in row] for row in book["数据异议"].iter_rows(min_row=3)]
    assert [d[9] for d in disputes] == ["实际授信 300 万元"]


@pytest.mark.parametrize("path", ["/reports/events/{event}/summary", "/reports/?event={event}",
                                  "/reports/export/outcomes.xlsx?event={event}"])
def test_pages_run_a_fixed_number_of_queries(app, client, cast, path):  # noqa: F811
    with app.app_context():
        _month_with_every_type(cast)
        admin_email = db.session.get(User, cast["admin"]).email
    sign_in(client, admin_email)
    url = path.format(event=cast["events"][0])
    client.get(url)
    with app.app_context(), counted_queries() as few:
        assert client.get(url).status_code == 200
    with app.app_context():
        for index in range(12):  # six SMEs × two institutions: every pair once in the session
            meeting = Meeting(session_id=cast["sessions"][1], enterprise_id=cast["enterprises"][index % 6],
                              institution_id=cast["institutions"][index // 6 % 2],
                              product_id=cast["products"][index % 4], status="held", slot=20 + index, table_number=1)
            set_place(meeting, db.session.get(EventSession, meeting.session_id), meeting.slot, meeting.table_number)
            db.session.add(meeting)
            db.session.flush()
            db.session.add(Outcome(meeting_id=meeting.id, side="institution", held=True, financing_type="loan",
                                   intent_amount_yuan=M))
            db.session.add(Outcome(meeting_id=meeting.id, side="enterprise", held=True, financing_type="loan",
                                   verdict="disputed", dispute_reason="金额不符"))
        db.session.commit()
    with app.app_context(), counted_queries() as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few)
