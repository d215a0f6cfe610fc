"""Who may see and act on an event: the host region's organisers (and those above them), administrators."""
import pytest
from sqlalchemy import select

from events.enums import EventStatus
from events.models import Meeting, Registration, YearPlanEntry
from events.services import planning, scheduling
from tests.conftest import sign_in
from tests.support import factories
from tests.support.database import database
from tests.support.events import actor, matching_scenario


@pytest.fixture
def hangzhou(app):
    with database(app) as session:
        scenario = matching_scenario(smes=1, banks=1)
        scheduling.run_matching(actor(scenario["organiser"]), scenario["session"])
        session.commit()
        meeting = session.scalar(select(Meeting))
        registration = session.scalar(select(Registration))
        entry = planning.create_plan_entry(actor(scenario["organiser"]), planning.PlanEntryFacts(
            year=2027, month=3, chain_code="ai", host_region_code="330100"))
        session.commit()
        scenario.update(meeting=meeting, registration=registration, entry=entry)
        return scenario


def _pages(s) -> list[tuple[str, str]]:
    event, session = s["event"].id, s["session"].id
    return [
        ("get", f"/organiser/events/{event}"), ("get", f"/organiser/events/{event}/edit"),
        ("post", f"/organiser/events/{event}/status"), ("get", f"/organiser/events/{event}/sessions/new"),
        ("post", f"/organiser/events/{event}/ready"), ("post", f"/organiser/events/{event}/unready"),
        ("get", f"/organiser/sessions/{session}/edit"), ("get", f"/organiser/sessions/{session}/registrations"),
        ("get", f"/organiser/sessions/{session}/matching"), ("post", f"/organiser/sessions/{session}/matching/run"),
        ("post", f"/organiser/sessions/{session}/publish"), ("post", f"/organiser/sessions/{session}/meetings"),
        ("post", f"/organiser/meetings/{s['meeting'].id}/move"), ("post", f"/organiser/meetings/{s['meeting'].id}/cancel"),
        ("post", f"/organiser/registrations/{s['registration'].id}/decision"),
        ("get", f"/organiser/plan/{s['entry'].id}/edit"), ("get", f"/organiser/events/new?plan={s['entry'].id}"),
    ]


def test_an_organiser_of_another_region_gets_404_everywhere(app, client, hangzhou):
    with database(app):
        ningbo = factories.organiser("330200")
    sign_in(client, ningbo.email)
    for method, path in _pages(hangzhou):
        response = getattr(client, method)(path, data={"to_status": "open", "reason": "x", "decision": "approve"})
        assert response.status_code == 404, (method, path, response.status_code)
    assert hangzhou["event"].title not in client.get("/organiser/events").get_data(as_text=True)
    assert client.get("/organiser/plan?year=2027").get_data(as_text=True).count("plan-") == 0
    with database(app) as session:
        assert session.get(Meeting, hangzhou["meeting"].id).status == "proposed"
        event = session.get(type(hangzhou["event"]), hangzhou["event"].id)
        assert event.status == EventStatus.MATCHED


@pytest.mark.parametrize("who", ["province", "district_parent", "admin"])
def test_offices_covering_the_host_region_and_admins_see_it(app, client, hangzhou, who):
    with database(app):
        user = {"province": lambda: factories.organiser("330000"),
                "district_parent": lambda: factories.organiser("330100"),
                "admin": factories.admin}[who]()
    sign_in(client, user.email)
    assert hangzhou["event"].title in client.get("/organiser/events").get_data(as_text=True)
    for method, path in _pages(hangzhou):
        if method == "get":
            assert client.get(path).status_code in (200, 302), path


def test_a_district_office_does_not_see_its_citys_event(app, client, hangzhou):
    with database(app):
        xiaoshan = factories.organiser("330109")
    sign_in(client, xiaoshan.email)
    assert client.get(f"/organiser/events/{hangzhou['event'].id}").status_code == 404


@pytest.mark.parametrize("role", ["sme", "institution"])
def test_participants_are_not_organisers(app, client, hangzhou, role):
    user = hangzhou["smes"][0] if role == "sme" else hangzhou["banks"][0]
    sign_in(client, user.email)
    assert client.get("/organiser/events").status_code == 403
    assert client.get(f"/organiser/events/{hangzhou['event'].id}").status_code == 403
    assert client.post(f"/organiser/sessions/{hangzhou['session'].id}/publish").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, hangzhou):
    response = client.get(f"/organiser/events/{hangzhou['event'].id}")
    assert response.status_code == 302 and "sign-in" in response.headers["Location"]


def test_plan_entries_belong_to_an_office_within_reach(app, client):
    with database(app):
        admin = factories.admin()
        ningbo_office = factories.office("330200")
    sign_in(client, admin.email)
    response = client.post("/organiser/plan/new", data={"year": "2027", "month": "5", "chain": "ai",
                                                        "host_region": "330100", "office": str(ningbo_office.id)})
    assert "主办地区不在牵头主办单位的辖区内" in response.get_data(as_text=True)
    with database(app) as session:
        assert session.scalar(select(YearPlanEntry)) is None
