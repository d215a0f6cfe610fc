"""The online services: which need goes with a product, embedding, stream states, viewers, who takes part, the hall."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from core.clock import shanghai_today, utcnow
from core.extensions import db
from events.enums import EventStatus, RegistrationStatus
from events.models import Event, OnlineVisit, Registration
from events.services import online, online_hall
from market.models import Institution
from tests.support import factories
from tests.support.online import stream, visit
from tests.support.participation import make_event, make_session, registered_bank

WAN = 10_000


# ---- the need pre-selected for a product ----------------------------------------------------------------

def test_the_need_of_the_products_type_that_fits_its_range_is_chosen(db_session):
    sme = factories.sme()
    bank = factories.institution_user()
    product = factories.product(bank, type="loan", amount_min_yuan=100 * WAN, amount_max_yuan=1000 * WAN)
    factories.need(sme, type="equity", amount_yuan=500 * WAN)
    too_big = factories.need(sme, type="loan", amount_yuan=3000 * WAN)
    fitting = factories.need(sme, type="loan", amount_yuan=800 * WAN)
    factories.need(sme, type="loan", amount_yuan=50 * WAN)
    assert online.matching_need(sme.enterprise_id, product).id == fitting.id
    assert too_big.id != fitting.id


def test_without_a_fitting_need_the_closest_amount_is_chosen(db_session):
    sme = factories.sme()
    bank = factories.institution_user()
    product = factories.product(bank, type="loan", amount_min_yuan=100 * WAN, amount_max_yuan=1000 * WAN)
    factories.need(sme, type="loan", amount_yuan=3000 * WAN)   # 2000 万 above
    closest = factories.need(sme, type="loan", amount_yuan=60 * WAN)  # 40 万 below
    assert online.matching_need(sme.enterprise_id, product).id == closest.id


def test_withdrawn_needs_other_types_and_other_smes_are_never_chosen(db_session):
    from market import services as market
    sme, other = factories.sme(), factories.sme()
    bank = factories.institution_user()
    product = factories.product(bank, type="guarantee", amount_min_yuan=100 * WAN, amount_max_yuan=1000 * WAN)
    withdrawn = factories.need(sme, type="guarantee", amount_yuan=500 * WAN)
    market.withdraw_need(db.session.get(type(sme), sme.id), db.session.get(type(withdrawn), withdrawn.id), "不需要了")
    db.session.commit()
    factories.need(sme, type="loan", amount_yuan=500 * WAN)
    factories.need(other, type="guarantee", amount_yuan=500 * WAN)
    assert online.matching_need(sme.enterprise_id, product) is None


def test_an_open_need_comes_before_one_already_in_progress(db_session):
    sme = factories.sme()
    bank = factories.institution_user()
    product = factories.product(bank, type="loan", amount_min_yuan=100 * WAN, amount_max_yuan=1000 * WAN)
    open_need = factories.need(sme, type="loan", amount_yuan=300 * WAN)
    in_progress = factories.need(sme, type="loan", amount_yuan=400 * WAN)
    db.session.get(type(in_progress), in_progress.id).status = "matched"
    db.session.commit()
    assert online.matching_need(sme.enterprise_id, product).id == open_need.id


def test_the_zones_general_action_picks_the_need_fitting_one_of_its_products(db_session):
    sme = factories.sme()
    bank = factories.institution_user()
    factories.product(bank, type="equity", amount_min_yuan=1000 * WAN, amount_max_yuan=5000 * WAN)
    factories.product(bank, type="loan", amount_min_yuan=100 * WAN, amount_max_yuan=500 * WAN)
    factories.need(sme, type="equity", amount_yuan=100 * WAN)  # below the equity range
    loan = factories.need(sme, type="loan", amount_yuan=200 * WAN)  # fits the loan
    institution = db.session.get(Institution, bank.institution_id)
    assert online.need_for_zone(sme.enterprise_id, online.zone_products(institution)).id == loan.id


# ---- embedding -----------------------------------------------------------------------------------

@pytest.mark.parametrize("url, embeddable", [
    ("https://player.bilibili.com/player.html?bvid=BV1", True),
    ("https://PLAYER.bilibili.com/player.html", True),
    ("https://player.bilibili.com:443/x", True),
    ("http://player.bilibili.com/player.html", False),        # not https
    ("https://evil.player.bilibili.com/x", False),            # no subdomain wildcards
    ("https://player.bilibili.com.evil.example/x", False),
    ("https://user@player.bilibili.com/x", False),
    ("https://player.bilibili.com:8443/x", False),
    ("javascript:alert(1)", False),
    ("https://live.example.com/room/1", False),
    ("", False),
])
def test_only_https_urls_on_the_allowlisted_hosts_are_embedded(app, url, embeddable):
    with app.app_context():
        assert online.is_embeddable(url) is embeddable


def test_the_allowlist_comes_from_the_config_as_a_list_or_a_string(app):
    with app.app_context():
        saved = app.config.get("STREAM_EMBED_HOSTS")
        try:
            app.config["STREAM_EMBED_HOSTS"] = "live.example.com, player.example.org"
            assert online.is_embeddable("https://live.example.com/room/1")
            assert not online.is_embeddable("https://player.bilibili.com/x")
            app.config["STREAM_EMBED_HOSTS"] = []
            assert not online.is_embeddable("https://live.example.com/room/1")
        finally:
            if saved is None:
                app.config.pop("STREAM_EMBED_HOSTS", None)
            else:
                app.config["STREAM_EMBED_HOSTS"] = saved


def test_before_the_end_the_stream_after_it_the_replay_and_only_web_links(db_session):
    event = make_event()
    session = stream(event, starts_at=utcnow() + timedelta(hours=2), replay_url="https://live.example.com/replay/1",
                     attachments=[{"title": "课件", "url": "https://files.example.com/a.pdf"},
                                  {"title": "坏链接", "url": "javascript:alert(1)"}, {"title": "无链接"}])
    before = online.stream_state(session)
    assert (before.phase, before.watch_url, before.embed) == ("upcoming", "https://live.example.com/room/1", False)
    assert before.attachments == [{"title": "课件", "url": "https://files.example.com/a.pdf"}]
    assert online.stream_state(session, now=session.starts_at + timedelta(minutes=5)).phase == "live"
    after = online.stream_state(session, now=session.ends_at)
    assert (after.phase, after.watch_url, after.is_replay) == ("ended", "https://live.example.com/replay/1", True)
    session.replay_url = ""
    assert online.stream_state(session, now=session.ends_at).watch_url == ""


# ---- viewers and participants ----------------------------------------------------------------------

def test_viewers_are_distinct_smes_that_registered_or_clicked_through(db_session):
    event = make_event()
    session = stream(event)
    registered, clicker, both, cancelled = factories.sme(), factories.sme(), factories.sme(), factories.sme()
    for user, status in ((registered, RegistrationStatus.APPROVED), (both, RegistrationStatus.PENDING),
                         (cancelled, RegistrationStatus.CANCELLED)):
        db.session.add(Registration(session_id=session.id, enterprise_id=user.enterprise_id, status=status.value))
    db.session.commit()
    for user in (clicker, clicker, both, None):  # a second click and an anonymous click add nobody
        visit("stream_click", session_id=session.id, user=user)
    visit("stream_view", session_id=session.id, user=factories.sme())  # only looking at the page does not count
    other = stream(event, title="另一场")
    assert online.viewer_counts([session.id, other.id]) == {session.id: 3, other.id: 0}


def test_institutions_take_part_by_registering_or_hosting(db_session):
    event = make_event()
    matching = make_session(event)
    registered, _, _ = registered_bank(matching)
    host = factories.institution_user()
    stream(event, host)
    cancelled, _, _ = registered_bank(matching, status=RegistrationStatus.CANCELLED)
    pending_institution = factories.institution_user(status="pending")
    stream(event, pending_institution, title="待审核机构的直播")
    factories.institution_user()  # not involved
    assert online.participating_institution_ids(event) == sorted([registered.institution_id, host.institution_id])
    assert [e.id for e in online.events_of_institution(host.institution_id)] == [event.id]


def test_the_current_event_is_the_public_one_running_today(db_session):
    assert online.current_event() is None
    running = make_event(status=EventStatus.RUNNING, title="本月活动")
    draft = make_event(status=EventStatus.DRAFT, title="草稿活动")
    today = shanghai_today()
    for event in (running, draft):
        row = db.session.get(Event, event.id)
        row.starts_on, row.ends_on = today - timedelta(days=3), today + timedelta(days=3)
    later = make_event(title="下月活动")
    db.session.commit()
    assert online.current_event().id == running.id
    assert [e.id for e in online.current_events()] == [running.id]
    db.session.get(Event, running.id).status = EventStatus.DRAFT.value
    db.session.commit()
    assert online.current_event().id == later.id  # none running: the next one to come


def test_recording_visits_skips_the_institutions_own_users(db_session):
    bank = factories.institution_user()
    sme = factories.sme()
    institution = db.session.get(Institution, bank.institution_id)
    from accounts.models import User
    assert online.record_zone_view(db.session.get(User, bank.id), institution) is None
    row = online.record_zone_view(db.session.get(User, sme.id), institution)
    assert (row.kind, row.enterprise_id, row.user_id) == ("zone_view", sme.enterprise_id, sme.id)
    anonymous = online.record_zone_view(None, institution)
    assert anonymous.user_id is None and anonymous.enterprise_id is None
    assert len(db.session.scalars(select(OnlineVisit)).all()) == 2


# ---- the hall ------------------------------------------------------------------------------------------

def test_the_hall_filters_zones_products_and_streams_by_type_and_region(db_session):
    event = make_event(status=EventStatus.RUNNING)
    matching = make_session(event)
    hangzhou_bank, _, _ = registered_bank(matching, user=factories.institution_user(region_codes=["330100"]))
    factories.product(hangzhou_bank, type="loan", is_exclusive=True, name="杭州专属贷")
    ningbo_insurer = factories.institution_user(kind="insurer", region_codes=["330200"])
    factories.product(ningbo_insurer, type="insurance", is_exclusive=True, name="宁波专属保", chain_codes=["ai"])
    factories.product(ningbo_insurer, type="insurance", is_exclusive=True, name="医药专属保", chain_codes=["pharma"])
    loan_stream = stream(event, hangzhou_bank, title="贷款直播")
    insurance_talk = stream(event, ningbo_insurer, kind="knowledge_talk", title="保险宣讲")
    general_talk = stream(event, None, kind="knowledge_talk", title="综合宣讲")

    everything = online_hall.hall(event)
    assert {card.institution.id for card in everything.zones} == {hangzhou_bank.institution_id,
                                                                  ningbo_insurer.institution_id}
    assert {p.name for p in everything.exclusive_products} == {"杭州专属贷", "宁波专属保"}  # not another chain's
    assert {s.id for s in everything.schedule} == {loan_stream.id, insurance_talk.id, general_talk.id}

    loans = online_hall.hall(event, financing_type="loan")
    assert [card.institution.id for card in loans.zones] == [hangzhou_bank.institution_id]
    assert {s.id for s in loans.schedule} == {loan_stream.id, general_talk.id}
    assert {p.name for p in loans.exclusive_products} == {"杭州专属贷"}

    ningbo = online_hall.hall(event, region_code="330203")  # a district of Ningbo
    assert [card.institution.id for card in ningbo.zones] == [ningbo_insurer.institution_id]
    assert {s.id for s in ningbo.schedule} == {insurance_talk.id, general_talk.id}
    assert {p.name for p in ningbo.exclusive_products} == {"宁波专属保"}


def test_the_hall_shows_the_valid_policies_of_the_events_chain(db_session):
    pytest.importorskip("policies.models")
    from policies.models import Policy
    event = make_event()

    def policy(key, chains, valid_until=None, enterprise_deadline=None):
        db.session.add(Policy(key=key, source_key="s", title_zh=key, title_en=key, issuer_zh="杭州市", issuer_en="HZ",
                              source_title_zh="s", source_title_en="s", clause_zh="第一条", clause_en="1",
                              clause_text="…", responsible_unit_zh="u", responsible_unit_en="u", chains=chains,
                              regions=[], materials=[], definition={}, valid_until=valid_until,
                              enterprise_deadline=enterprise_deadline))
    policy("ai_only", ["ai"])
    policy("any_chain", [])
    policy("pharma_only", ["pharma"])
    policy("expired", ["ai"], valid_until=date(2024, 12, 31))
    policy("applications_closed", ["ai"], enterprise_deadline=date(2024, 5, 30))
    policy("applications_open", [], enterprise_deadline=shanghai_today() + timedelta(days=30))
    db.session.commit()
    assert [p.key for p in online_hall.chain_policies(event)] == ["ai_only", "any_chain", "applications_open"]


def test_a_draft_event_and_a_pending_institution_are_not_public(db_session):
    from core.errors import NotFound
    draft = make_event(status=EventStatus.DRAFT)
    pending = factories.institution_user(status="pending")
    with pytest.raises(NotFound):
        online.public_event(draft.id)
    with pytest.raises(NotFound):
        online.public_institution(pending.institution_id)
    hidden = stream(draft)
    with pytest.raises(NotFound):
        online.public_stream(hidden.id)
    with pytest.raises(NotFound):
        online.public_stream(make_session(make_event()).id)  # a matching session is not a stream
