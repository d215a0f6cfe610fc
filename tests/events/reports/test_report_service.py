"""The funnel, its breakdowns and the response times, against a hand-counted world (tests/events/reports/world.py)."""
from datetime import datetime

import pytest

from accounts.models import User
from core.errors import NotFound
from core.extensions import db
from events.routes.reports import chart_data_of
from events.services import reports
from events.services.reports import ReportFilter
from tests.events.reports.world import EXPECTED_ALL, EXPECTED_HANGZHOU, M, build_world, figures

NOW = datetime(2025, 11, 1)


@pytest.fixture
def world(app):
    with app.app_context():
        built = build_world()
    with app.test_request_context():  # labels are translated: they need a locale
        yield built


def user(world, key) -> User:
    return db.session.get(User, world.ids[key])


def as_dict(funnel) -> dict:
    return {stage.stage: figures(stage) for stage in funnel}


def test_admin_sees_every_event(world):
    assert as_dict(reports.funnel(user(world, "admin"), ReportFilter())) == EXPECTED_ALL


def test_organiser_sees_the_events_of_its_region_only(world):
    assert as_dict(reports.funnel(user(world, "hangzhou"), ReportFilter())) == EXPECTED_HANGZHOU
    ningbo = as_dict(reports.funnel(user(world, "ningbo"), ReportFilter()))
    assert ningbo == {stage: (1, 1, 7 * M) for stage in reports.STAGES}


def test_an_event_out_of_reach_is_not_found(world):
    with pytest.raises(NotFound):
        reports.funnel(user(world, "ningbo"), ReportFilter(event_id=world.ids["event_a"]))


def test_filters(world):
    admin = user(world, "admin")
    by_event = as_dict(reports.funnel(admin, ReportFilter(event_id=world.ids["event_b"])))
    assert by_event["registered"] == (1, 1, 2 * M) and by_event["disbursed"] == (0, 0, 0)
    march = as_dict(reports.funnel(admin, ReportFilter(year=2025, month=3)))
    assert march["registered"] == (4, 4, 35 * M)
    assert as_dict(reports.funnel(admin, ReportFilter(year=2024)))["registered"] == (0, 0, 0)
    chain = as_dict(reports.funnel(admin, ReportFilter(chain_id=world.ids["ic"])))
    assert chain["credit"] == (1, 1, 2 * M)
    xihu = as_dict(reports.funnel(admin, ReportFilter(region_code="330106")))
    assert xihu["registered"] == (2, 2, 25 * M) and xihu["intent"] == (1, 2, 14 * M)
    zhejiang = as_dict(reports.funnel(admin, ReportFilter(region_code="330000")))
    assert zhejiang["registered"] == (4, 4, 35 * M)


def rows(breakdown) -> dict:
    return {row.key: {stage: figures(figure) for stage, figure in row.stages.items()} for row in breakdown}


def test_breakdown_by_month_and_chain(world):
    hangzhou = user(world, "hangzhou")
    by_month = rows(reports.breakdown(hangzhou, ReportFilter(), "month"))
    assert list(by_month) == ["2025-03", "2025-04"]
    assert by_month["2025-03"]["registered"] == (3, 3, 28 * M)
    assert by_month["2025-04"]["credit"] == (1, 1, 2 * M)
    by_chain = reports.breakdown(hangzhou, ReportFilter(), "chain")
    assert [row.label for row in by_chain] == ["人工智能", "集成电路"]
    assert rows(by_chain)[str(world.ids["ai"])]["disbursed"] == (1, 1, 1 * M)


def test_breakdown_by_financing_type(world):
    by_type = rows(reports.breakdown(user(world, "admin"), ReportFilter(), "financing_type"))
    assert list(by_type) == ["equity", "loan", "unspecified"]
    assert by_type["loan"]["registered"] == (4, 4, 17 * M)
    assert by_type["equity"]["intent"] == (1, 1, 10 * M)
    assert by_type["unspecified"]["registered"] == (1, 0, 0)


def test_breakdown_by_region_follows_the_scope(world):
    admin = rows(reports.breakdown(user(world, "admin"), ReportFilter(), "region"))
    assert admin["330000"]["registered"] == (4, 4, 35 * M)  # E1, E2, E5, E6
    assert admin["320000"]["registered"] == (1, 1, 2 * M)
    hangzhou = reports.breakdown(user(world, "hangzhou"), ReportFilter(), "region")
    keyed = rows(hangzhou)
    assert set(keyed) == {"330106", "330108", "320100"}
    assert keyed["330106"]["registered"] == (2, 2, 25 * M)
    assert {row.key: row.label for row in hangzhou}["330106"] == "西湖区"
    by_city = rows(reports.breakdown(user(world, "admin"), ReportFilter(), "region", region_level="city"))
    assert by_city["330100"]["met"] == (1, 2, 25 * M)


def test_report_bundles_the_same_numbers(world):
    report = reports.build_report(user(world, "hangzhou"), ReportFilter(), now=NOW)
    assert as_dict(report.funnel) == EXPECTED_HANGZHOU
    assert report.region_level == "district"
    data = chart_data_of(report)
    assert [item["enterprises"] for item in data["funnel"]] == [EXPECTED_HANGZHOU[s][0] for s in reports.STAGES]
    assert data["funnel"][0]["amount_wan"] == 3000.0


def test_institution_response_times(world):
    responses = {row.name: row for row in reports.institution_responses(user(world, "hangzhou"), ReportFilter(),
                                                                        now=NOW)}
    bank = responses["测试杭城银行"]
    assert (bank.received, bank.answered, bank.overdue, bank.open) == (3, 2, 2, 1)
    assert bank.median_days == pytest.approx((1 + 16 / 24) / 2, abs=0.01)
    assert bank.answered_share == pytest.approx(2 / 3)
    fund = responses["测试产业基金"]
    assert (fund.received, fund.answered, fund.overdue) == (1, 1, 0)
    assert fund.median_days == pytest.approx(1.0)  # 30 Sep 09:00 → 9 Oct 09:00 across the holiday
    ningbo = reports.institution_responses(user(world, "ningbo"), ReportFilter(), now=NOW)
    assert [(row.name, row.received, row.median_days) for row in ningbo] == [("测试杭城银行", 1, 0.25)]


def test_working_days_follow_the_official_calendar():
    # Saturday 11 October 2025 is a make-up working day; Sunday 12 is not.
    assert reports.working_days_between(datetime(2025, 10, 10, 16), datetime(2025, 10, 12, 16)) == pytest.approx(1.0)
    assert reports.working_days_between(datetime(2025, 3, 7, 16), datetime(2025, 3, 9, 16)) == pytest.approx(0.0)
    assert reports.working_days_between(datetime(2025, 3, 9, 16), datetime(2025, 3, 9, 15)) == 0.0


def test_empty_world(app):
    with app.test_request_context():
        from tests.support import factories
        admin = factories.admin()
        report = reports.build_report(db.session.get(User, admin.id), ReportFilter(), now=NOW)
        assert all(figures(stage) == (0, 0, 0) for stage in report.funnel)
        assert report.breakdowns["chain"] == [] and report.responses == []
