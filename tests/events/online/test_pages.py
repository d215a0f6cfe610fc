"""The online pages through the test client: zones, the "预约对接" actions, streams, the hall, the lead report."""
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from core.clock import utcnow
from events.enums import EventStatus
from events.models import OnlineVisit
from tests.conftest import sign_in
from tests.support import factories
from tests.support.database import database
from tests.support.online import stream
from tests.support.participation import make_event, make_session, registered_bank

WAN = 10_000


def _visits(app, kind: str) -> int:
    with database(app) as session:
        return session.scalar(select(func.count(OnlineVisit.id)).where(OnlineVisit.kind == kind))


def _query(location: str) -> dict:
    parts = urlsplit(location)
    return {"path": parts.path, **{key: values[0] for key, values in parse_qs(parts.query).items()}}


@pytest.fixture
def world(app):
    with database(app):
        event = make_event(status=EventStatus.RUNNING, title="2026年人工智能产业链 · 杭州")
        matching = make_session(event)
        bank, loan, _ = registered_bank(matching, user=factories.institution_user(name="杭城测试银行"))
        exclusive = factories.product(bank, type="loan", name="科创专属贷", is_exclusive=True,
                                      amount_min_yuan=100 * WAN, amount_max_yuan=1000 * WAN)
        live = stream(event, bank, title="科创贷公益直播")
        sme = factories.sme()
        need = factories.need(sme, type="loan", amount_yuan=500 * WAN)
    return {"event": event, "bank": bank, "loan": loan, "exclusive": exclusive, "stream": live, "sme": sme,
            "need": need}


def test_a_zone_shows_the_showcase_exclusive_products_first_and_its_streams(app, client, world):
    response = client.get(f"/zones/{world['bank'].institution_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "杭城测试银行" in html and "0571-55500001" in html and "科创贷公益直播" in html
    assert html.index("科创专属贷") < html.index(world["loan"].name)
    assert "预约对接 / 提交需求" in html
    assert _visits(app, "zone_view") == 1


def test_the_institutions_own_look_at_its_zone_is_not_counted(app, client, world):
    sign_in(client, world["bank"].email)
    html = client.get(f"/zones/{world['bank'].institution_id}").get_data(as_text=True)
    assert "查看线索报告" in html
    assert _visits(app, "zone_view") == 0


def test_a_pending_institution_has_no_zone(app, client):
    with database(app):
        pending = factories.institution_user(status="pending")
    assert client.get(f"/zones/{pending.institution_id}").status_code == 404
    assert client.get(f"/zones/{pending.institution_id}/request").status_code == 404


def test_a_visitor_is_sent_to_sign_up_with_the_way_back_kept(client, world):
    iid, pid = world["bank"].institution_id, world["exclusive"].id
    response = client.get(f"/zones/{iid}/request?product={pid}")
    assert response.status_code == 302
    target = _query(response.headers["Location"])
    assert target["path"] == "/account/sign-up/enterprise"
    assert _query(target["next"]) == {"path": f"/zones/{iid}/request", "product": str(pid)}


def test_a_signed_in_sme_goes_straight_to_the_request_with_its_matching_need(client, world):
    sign_in(client, world["sme"].email)
    iid, pid = world["bank"].institution_id, world["exclusive"].id
    response = client.get(f"/zones/{iid}/request?product={pid}")
    assert _query(response.headers["Location"]) == {
        "path": "/events/requests/new", "institution": str(iid), "event": str(world["event"].id),
        "product": str(pid), "need": str(world["need"].id), "lead_source": "zone"}
    general = _query(client.get(f"/zones/{iid}/request").headers["Location"])
    assert general["need"] == str(world["need"].id) and "product" not in general


def test_another_institutions_product_is_refused_and_institutions_cannot_request(app, client, world):
    with database(app):
        other = factories.institution_user()
        foreign = factories.product(other)
    sign_in(client, world["sme"].email)
    assert client.get(f"/zones/{world['bank'].institution_id}/request?product={foreign.id}").status_code == 404
    institution_client = app.test_client()
    sign_in(institution_client, other.email)
    response = institution_client.get(f"/zones/{world['bank'].institution_id}/request")
    assert response.headers["Location"] == f"/zones/{world['bank'].institution_id}"


def test_a_stream_not_on_the_allowlist_is_a_link_and_watching_counts_a_click(app, client, world):
    sign_in(client, world["sme"].email)
    live = world["stream"]
    html = client.get(f"/streams/{live.id}").get_data(as_text=True)
    assert "<iframe" not in html and "观看直播" in html and "预约对接 / 提交需求" in html
    assert "0 家（报名或点击观看的企业）" in html
    response = client.get(f"/streams/{live.id}/watch")
    assert response.headers["Location"] == "https://live.example.com/room/1"
    assert (_visits(app, "stream_view"), _visits(app, "stream_click")) == (1, 1)
    assert "1 家（报名或点击观看的企业）" in client.get(f"/streams/{live.id}").get_data(as_text=True)


def test_an_allowlisted_player_is_embedded_on_our_page_after_the_click(app, client, world):
    with database(app):
        embeddable = stream(world["event"], world["bank"], title="可嵌入的直播",
                            stream_url="https://player.bilibili.com/player.html?bvid=BV1xx")
        arbitrary = stream(world["event"], world["bank"], title="任意链接", stream_url="https://evil.example/player")
    response = client.get(f"/streams/{embeddable.id}/watch")
    assert response.headers["Location"] == f"/streams/{embeddable.id}?play=1#player"
    html = client.get(f"/streams/{embeddable.id}?play=1").get_data(as_text=True)
    assert '<iframe src="https://player.bilibili.com/player.html?bvid=BV1xx"' in html
    assert "<iframe" not in client.get(f"/streams/{arbitrary.id}?play=1").get_data(as_text=True)


def test_after_the_end_the_replay_is_offered(app, client, world):
    with database(app):
        over = stream(world["event"], world["bank"], title="已结束的直播", starts_at=utcnow() - timedelta(hours=3),
                      replay_url="https://live.example.com/replay/9")
        no_replay = stream(world["event"], world["bank"], title="无回放", starts_at=utcnow() - timedelta(hours=3))
    html = client.get(f"/streams/{over.id}").get_data(as_text=True)
    assert "观看回放" in html and "直播已结束" in html
    assert client.get(f"/streams/{over.id}/watch").headers["Location"] == "https://live.example.com/replay/9"
    assert "回放整理中" in client.get(f"/streams/{no_replay.id}").get_data(as_text=True)
    assert client.get(f"/streams/{no_replay.id}/watch").status_code == 404


def test_requests_beside_a_stream_carry_the_stream_as_lead(client, world):
    sign_in(client, world["sme"].email)
    live = world["stream"]
    target = _query(client.get(f"/streams/{live.id}/request").headers["Location"])
    assert (target["lead_source"], target["lead_session"], target["institution"]) == \
        ("stream", str(live.id), str(world["bank"].institution_id))


def test_a_hostless_talk_has_no_request_action(app, client, world):
    with database(app):
        talk = stream(world["event"], None, kind="knowledge_talk", title="无主办机构的宣讲")
    assert "预约对接" not in client.get(f"/streams/{talk.id}").get_data(as_text=True)
    assert client.get(f"/streams/{talk.id}/request").status_code == 404


def test_the_hall_gathers_zones_exclusive_products_and_the_schedule(app, client, world):
    assert client.get("/hall").headers["Location"] == f"/hall/{world['event'].id}"  # the next event to come
    html = client.get(f"/hall/{world['event'].id}").get_data(as_text=True)
    assert "杭城测试银行" in html and "科创专属贷" in html and "科创贷公益直播" in html
    filtered = client.get(f"/hall/{world['event'].id}?type=equity").get_data(as_text=True)
    assert "杭城测试银行" not in filtered and "暂无符合条件的机构专区" in filtered
    assert client.get(f"/hall/{world['event'].id}?region=999999").status_code == 200  # a bad filter is ignored


def test_hall_redirects_to_the_current_event_keeping_the_filters(app, client, world):
    with database(app) as session:
        from events.models import Event
        event = session.get(Event, world["event"].id)
        event.starts_on = event.starts_on - timedelta(days=25)
    response = client.get("/hall?type=loan")
    assert response.headers["Location"] == f"/hall/{world['event'].id}?type=loan"


def test_the_lead_report_pages(app, client, world):
    sign_in(client, world["bank"].email)
    html = client.get("/leads").get_data(as_text=True)
    assert "杭城测试银行" in html and "科创贷公益直播" in html
    with database(app):
        organiser = factories.organiser("330100")
    organiser_client = app.test_client()
    sign_in(organiser_client, organiser.email)
    html = organiser_client.get(f"/leads?event={world['event'].id}").get_data(as_text=True)
    assert "杭城测试银行" in html and f'zone-{world["bank"].institution_id}' in html


# ---- who may open what ------------------------------------------------------------------------------

PUBLIC = ("/hall", "/hall/{event}", "/zones/{institution}", "/streams/{stream}", "/streams/{stream}/watch")


@pytest.mark.parametrize("role, path, expected", [
    *[(role, path, 200 if "watch" not in path and path != "/hall" else 302)
      for role in ("anonymous", "sme", "institution", "organiser") for path in PUBLIC],
    ("anonymous", "/leads", "sign-in"),
    ("sme", "/leads", 403),
    ("institution", "/leads", 200),
    ("organiser", "/leads", 200),
    ("admin", "/leads", 200),
    ("anonymous", "/zones/{institution}/request", "sign-up"),
    ("sme", "/zones/{institution}/request", "request"),
    ("institution", "/zones/{institution}/request", "zone"),
    ("organiser", "/streams/{stream}/request", "stream"),
])
def test_permissions(app, world, role, path, expected):
    client = app.test_client()
    if role != "anonymous":
        with database(app):
            user = {"sme": world["sme"], "institution": world["bank"], "organiser": None, "admin": None}[role]
            if role == "organiser":
                user = factories.organiser("330100")
            elif role == "admin":
                user = factories.admin()
        sign_in(client, user.email)
    url = path.format(event=world["event"].id, institution=world["bank"].institution_id, stream=world["stream"].id)
    response = client.get(url)
    location = response.headers.get("Location", "")
    if expected == "sign-in":
        assert response.status_code == 302 and location.startswith("/account/sign-in")
    elif expected == "sign-up":
        assert response.status_code == 302 and location.startswith("/account/sign-up/enterprise")
    elif expected == "request":
        assert response.status_code == 302 and location.startswith("/events/requests/new")
    elif expected in ("zone", "stream"):
        assert response.status_code == 302 and location.startswith(f"/{expected}s/")
    else:
        assert response.status_code == expected, url


def test_without_any_public_event_the_hall_says_so(client):
    response = client.get("/hall")
    assert response.status_code == 200 and "本月活动尚未发布" in response.get_data(as_text=True)
