"""Bad input is refused beside the field, nothing half-saved; times typed in Beijing time are stored in UTC."""
from datetime import datetime

import pytest
from sqlalchemy import func, select

from events.enums import EventStatus
from events.models import Event, EventSession, YearPlanEntry
from tests.conftest import sign_in
from tests.support import factories
from tests.support.database import database
from tests.support.events import make_event, make_session
from tests.support.pages import assert_field_error

GOOD_EVENT = {
    "title": "2027年3月 · 人工智能产业链 · 杭州", "chain": "ai", "host_region": "330100",
    "starts_on": "2027-03-10", "ends_on": "2027-03-11",
    "registration_opens_at": "2027-02-01T09:00", "registration_closes_at": "2027-03-01T18:00",
    "matching_at": "2027-03-02T09:00", "publication_at": "2027-03-03T09:00",
}
GOOD_SESSION = {
    "kind": "credit_matching", "mode": "offline", "title": "信贷融资对接会", "starts_at": "2027-03-10T09:00",
    "ends_at": "2027-03-10T11:00", "venue": "杭州国际博览中心", "slot_minutes": "30", "tables": "10",
    "financing_types": ["loan"],
}


def _count(app, model) -> int:
    with database(app) as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def organiser(app, client):
    with database(app):
        user = factories.organiser("330100")
    sign_in(client, user.email)
    return user


@pytest.fixture
def event(app, organiser):
    with database(app):
        return make_event(organiser)


def test_plan_entry_then_event_with_prefilled_title_and_utc_times(app, client, organiser):
    response = client.post("/organiser/plan/new", data={"year": "2027", "month": "3", "chain": "ai",
                                                        "host_region": "330100", "note": "杭州站"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with database(app) as session:
        entry = session.scalar(select(YearPlanEntry))
    page = client.get(f"/organiser/events/new?plan={entry.id}").get_data(as_text=True)
    assert 'value="2027年3月 · 人工智能产业链 · 杭州"' in page
    response = client.post(f"/organiser/events/new?plan={entry.id}", data=GOOD_EVENT)
    assert response.status_code == 302, response.get_data(as_text=True)
    with database(app) as session:
        stored = session.scalar(select(Event))
        assert stored.plan_entry_id == entry.id
        assert stored.status == EventStatus.DRAFT
        assert stored.registration_opens_at == datetime(2027, 2, 1, 1, 0)  # 09:00 Beijing = 01:00 UTC
        assert stored.matching_at == datetime(2027, 3, 2, 1, 0)
    # One event per plan month: the second attempt lands on the existing event.
    again = client.get(f"/organiser/events/new?plan={entry.id}")
    assert again.status_code == 302 and f"/organiser/events/{stored.id}" in again.headers["Location"]


def test_the_same_month_twice_is_refused_beside_month(app, client, organiser):
    data = {"year": "2027", "month": "3", "chain": "ai", "host_region": "330100"}
    assert client.post("/organiser/plan/new", data=data).status_code == 302
    assert_field_error(client.post("/organiser/plan/new", data=data), "month", "该单位在这个月份已有计划")
    assert _count(app, YearPlanEntry) == 1


def test_a_host_region_outside_the_office_is_refused(app, client, organiser):
    response = client.post("/organiser/plan/new", data={"year": "2027", "month": "4", "chain": "ai",
                                                        "host_region": "330200"})
    assert_field_error(response, "host_region", "请从列表中选择")
    assert _count(app, YearPlanEntry) == 0


@pytest.mark.parametrize("changes, field, message", [
    ({"ends_on": "2027-03-09"}, "ends_on", "结束日期不能早于开始日期"),
    ({"registration_closes_at": "2027-02-01T09:00"}, "registration_closes_at", "报名截止时间须晚于报名开始时间"),
    ({"matching_at": "2027-03-01T17:59"}, "matching_at", "匹配时间不能早于报名截止时间"),
    ({"publication_at": "2027-03-02T08:00"}, "publication_at", "发布时间不能早于匹配时间"),
    ({"registration_opens_at": "2027-02-30T09:00"}, "registration_opens_at", "请按“年-月-日 时:分”填写"),
    ({"publication_at": "", "publication_approved": "y"}, "publication_approved", "需要先填写发布时间"),
])
def test_event_times_out_of_order_are_refused_beside_the_field(app, client, organiser, changes, field, message):
    response = client.post("/organiser/events/new", data={**GOOD_EVENT, **changes})
    assert_field_error(response, field, message)
    assert _count(app, Event) == 0


def test_every_problem_is_shown_at_once(app, client, organiser):
    response = client.post("/organiser/events/new", data={**GOOD_EVENT, "ends_on": "2027-03-01",
                                                          "matching_at": "2027-02-01T00:00"})
    assert_field_error(response, "ends_on", "结束日期不能早于开始日期")
    assert_field_error(response, "matching_at", "匹配时间不能早于报名截止时间")


@pytest.mark.parametrize("changes, field, message", [
    ({"starts_at": "2027-03-12T09:00", "ends_at": "2027-03-12T11:00"}, "starts_at", "场次须在活动日期"),
    ({"ends_at": "2027-03-12T00:30"}, "ends_at", "场次须在活动日期"),
    ({"ends_at": "2027-03-10T08:00"}, "ends_at", "结束时间须晚于开始时间"),
    ({"slot_minutes": "25"}, "slot_minutes", "会谈时长须能整除场次时长（120 分钟）"),
    ({"slot_minutes": ""}, "slot_minutes", "对接类场次须填写每场会谈时长"),
    ({"tables": "0"}, "tables", "对接类场次至少需要 1 张洽谈桌"),
    ({"venue": ""}, "venue", "须填写举办地点"),
    ({"mode": "online"}, "online_url", "须填写线上会议室链接"),
    ({"mode": "hybrid", "venue": ""}, "venue", "须填写举办地点"),
    ({"mode": "hybrid", "online_url": "ftp://x"}, "online_url", "http://"),
])
def test_bad_sessions_are_refused_beside_the_field(app, client, event, changes, field, message):
    response = client.post(f"/organiser/events/{event.id}/sessions/new", data={**GOOD_SESSION, **changes})
    assert_field_error(response, field, message)
    assert _count(app, EventSession) == 0


def test_a_session_late_in_the_evening_of_the_last_day_is_inside(app, client, event):
    """22:00–23:30 Beijing on 11 March is 14:00–15:30 UTC the same day, but the rule is in Beijing dates."""
    data = {**GOOD_SESSION, "starts_at": "2027-03-11T22:00", "ends_at": "2027-03-11T23:30"}
    assert client.post(f"/organiser/events/{event.id}/sessions/new", data=data).status_code == 302
    data = {**GOOD_SESSION, "starts_at": "2027-03-10T07:00", "ends_at": "2027-03-10T08:00"}
    assert client.post(f"/organiser/events/{event.id}/sessions/new", data=data).status_code == 302
    assert _count(app, EventSession) == 2


def test_a_talk_needs_no_slots_or_tables(app, client, event):
    data = {"kind": "knowledge_talk", "mode": "online", "title": "金融知识宣讲", "starts_at": "2027-03-10T14:00",
            "ends_at": "2027-03-10T15:10", "online_url": "https://live.example.com/room/1", "slot_minutes": "25"}
    assert client.post(f"/organiser/events/{event.id}/sessions/new", data=data).status_code == 302
    with database(app) as session:
        stored = session.scalar(select(EventSession))
        assert stored.slot_minutes is None and stored.tables == 0


def test_an_event_cannot_shrink_around_its_sessions(app, client, organiser, event):
    with database(app):
        make_session(organiser, event, starts_at=datetime(2027, 3, 11, 1), ends_at=datetime(2027, 3, 11, 3))
    response = client.post(f"/organiser/events/{event.id}/edit", data={**GOOD_EVENT, "ends_on": "2027-03-10"})
    assert_field_error(response, "starts_on", "不在新的活动日期之内")
    with database(app) as session:
        assert str(session.get(Event, event.id).ends_on) == "2027-03-11"


def test_pages_render(app, client, organiser, event):
    with database(app):
        session = make_session(organiser, event)
    for path in ("/organiser/plan", "/organiser/plan/new", "/organiser/events", f"/organiser/events/{event.id}",
                 f"/organiser/events/{event.id}/edit", f"/organiser/events/{event.id}/sessions/new",
                 f"/organiser/sessions/{session.id}/edit", f"/organiser/sessions/{session.id}/registrations",
                 f"/organiser/sessions/{session.id}/matching"):
        response = client.get(path)
        assert response.status_code == 200, path
    edit = client.get(f"/organiser/sessions/{session.id}/edit").get_data(as_text=True)
    assert 'value="2027-03-10T09:00"' in edit  # shown back in Beijing time
