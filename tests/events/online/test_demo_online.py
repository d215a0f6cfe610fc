"""The demo's online half: a month of streams and talks, a zone with a programme for every seeded institution."""
import pytest
from sqlalchemy import func, select

from core.clock import shanghai_today
from core.extensions import db
from events.models import EventSession, MeetingRequest, OnlineVisit
from events.services import online
from market.models import Institution

DEMO_PASSWORD = "demo-password"


def _load_everything() -> dict:
    from events.demo import load_demo as load_event
    from events.demo_online import load_demo
    from seeds.loader import load_all
    load_all(db.session, demo_accounts=True)
    load_event(db.session)
    loaded = load_demo(db.session)
    db.session.commit()
    return loaded


@pytest.fixture
def demo(app, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_MODE", True)  # the demo accounts sign in in the demo only
    with app.app_context():
        loaded = _load_everything()
        event = online.current_event()
        return {"loaded": loaded, "event_id": event.id}


def test_every_seeded_institution_hosts_a_stream_or_talk_of_the_month(app, demo):
    with app.app_context():
        event = online.public_event(demo["event_id"])
        broadcasts = [s for s in event.sessions if s.kind in online.BROADCAST_KINDS]
        institutions = db.session.scalars(select(Institution.id)).all()
        assert len(institutions) == 20
        assert {s.host_institution_id for s in broadcasts} >= set(institutions)
        assert {s.kind for s in broadcasts} == {"livestream", "knowledge_talk"}
        days = {shanghai_today(s.starts_at) for s in broadcasts}
        assert len(days) >= 5 and all(event.starts_on <= day <= event.ends_on for day in days)
        assert all(s.stream_url and s.speakers for s in broadcasts)
        assert sum(bool(s.attachments) for s in broadcasts) >= len(institutions) - 1  # events.demo's own has none
        over = [s for s in broadcasts if online.stream_state(s).phase == "ended"]
        assert any(s.replay_url for s in over)
        assert set(online.participating_institution_ids(event)) == set(institutions)


def test_the_month_brings_traffic_and_leads(app, demo):
    with app.app_context():
        assert db.session.scalar(select(func.count(OnlineVisit.id)).where(OnlineVisit.kind == "zone_view")) > 100
        leads = db.session.scalars(select(MeetingRequest).where(MeetingRequest.lead_source.in_(("zone", "stream"))))
        by_source = {}
        for request in leads:
            by_source.setdefault((request.lead_source, request.status), 0)
            by_source[(request.lead_source, request.status)] += 1
        assert {source for source, _ in by_source} == {"zone", "stream"}
        assert {status for _, status in by_source} >= {"requested", "accepted"}


def test_loading_twice_adds_nothing(app, demo):
    assert demo["loaded"]["demo online sessions"]["created"] >= 19
    with app.app_context():
        before = {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}
        again = _load_everything()
        assert again["demo online sessions"]["created"] == 0 and "demo online visits" not in again
        after = {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}
        assert after == before


def test_the_demo_hall_and_every_zone_render(app, demo):
    client = app.test_client()
    html = client.get(f"/hall/{demo['event_id']}").get_data(as_text=True)
    with app.app_context():
        institutions = db.session.scalars(select(Institution)).all()
        assert all(institution.name in html for institution in institutions)
        ids = [institution.id for institution in institutions]
        streams = db.session.scalars(select(EventSession.id).where(
            EventSession.kind.in_(online.BROADCAST_KINDS))).all()
    assert all(client.get(f"/zones/{iid}").status_code == 200 for iid in ids)
    assert all(client.get(f"/streams/{sid}").status_code == 200 for sid in streams)
    signed_in = app.test_client()
    response = signed_in.post("/account/sign-in", data={"email": "organiser@demo.local", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert signed_in.get("/leads").status_code == 200
