"""In chromium, under the real Content-Security-Policy: the main pages of every role raise no CSP violation,
the report charts still draw, a stream player still embeds, and confirm dialogs still ask (apostrophes too)."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from accounts.models import User
from core.clock import utcnow
from events.enums import EventStatus, SessionKind
from events.models import Event, EventSession, Meeting
from events.services import scheduling
from market.models import Product
from policies.models import Policy
from tests.browser_support import browser, live_server, page, sign_in_page  # noqa: F401 (fixtures)
from tests.conftest import DEMO_PASSWORD
from tests.support.events import actor, matching_scenario

pytestmark = pytest.mark.browser

PLAYER_URL = "https://player.bilibili.com/player.html?bvid=BV1csp"
# Runs before any page script, outside the page's CSP (Playwright injects it): records every violation.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (event) {
  window.__cspViolations.push(event.effectiveDirective + ' blocked ' + (event.blockedURI || 'inline') +
                              (event.sample ? ' (' + event.sample + ')' : ''));
});
"""


@pytest.fixture(scope="module")
def demo(live_server):
    """The demo's month (events, online half, policies) with its users moved off @demo.local addresses."""
    with live_server.database() as session:
        from events import demo as events_demo
        from events import demo_online
        from policies import demo as policies_demo
        from seeds.loader import load_all
        load_all(session, demo_accounts=True)
        for module in (events_demo, demo_online, policies_demo):
            module.load_demo(session)
        session.flush()
        users = {}
        for user in session.scalars(select(User).where(User.email.like("%@demo.local"))):
            user.email = user.email.replace("@demo.local", "@csp-walk.example")
            user.set_password(DEMO_PASSWORD)
            users[user.email.split("@")[0]] = user.email
        event = session.scalar(select(Event).where(Event.status.in_(("published", "running"))))
        by_kind = {}
        for item in event.sessions:
            by_kind.setdefault(item.kind, item)
        stream = by_kind[SessionKind.LIVESTREAM.value]
        now = utcnow()  # on the air now, with an allow-listed provider's player
        session.execute(update(EventSession).where(EventSession.id == stream.id).values(
            stream_url=PLAYER_URL, online_url=PLAYER_URL, starts_at=now - timedelta(minutes=10),
            ends_at=now + timedelta(hours=1)))
        bank = session.scalar(select(User).where(User.email == users["bank"]))
        return {
            "users": users, "event": event.id, "credit": by_kind[SessionKind.CREDIT_MATCHING.value].id,
            "stream": stream.id, "talk": by_kind[SessionKind.KNOWLEDGE_TALK.value].id,
            "product": session.scalar(select(Product.id).order_by(Product.id)),
            "institution": bank.institution_id,
            "policy": session.scalar(select(Policy.key).order_by(Policy.sort_order, Policy.id)),
            "enterprise": session.scalar(select(Meeting.enterprise_id).where(
                Meeting.institution_id == bank.institution_id)),
        }


def _walk(page, paths) -> dict:
    """Opens each path; returns {path: [violations]} for the paths that had any, and checks each page loaded."""
    page.context.add_init_script(RECORD_VIOLATIONS)
    page.route("https://player.bilibili.com/**", lambda route: route.fulfill(
        status=200, content_type="text/html", body="<!doctype html><title>player</title><p>player</p>"))
    found = {}
    for path in paths:
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        assert "Content-Security-Policy" in response.headers or "content-security-policy" in response.headers
        page.wait_for_load_state("load")
        violations = page.evaluate("window.__cspViolations")
        if violations:
            found[path] = violations
    return found


def test_public_pages_raise_no_violation(page, demo):
    paths = ["/", "/catalogue", f"/catalogue/{demo['product']}", "/account/sign-in", "/account/sign-up",
             "/account/sign-up/enterprise", "/account/sign-up/institution", "/hall", f"/hall/{demo['event']}",
             f"/zones/{demo['institution']}", f"/streams/{demo['talk']}", f"/streams/{demo['stream']}",
             f"/streams/{demo['stream']}?play=1", "/events/", f"/events/{demo['event']}", "/policies/",
             f"/policies/clause/{demo['policy']}"]
    assert _walk(page, paths) == {}


def test_the_embedded_player_loads_sandboxed(page, demo):
    assert _walk(page, [f"/streams/{demo['stream']}?play=1"]) == {}
    frame = page.locator(".player-frame iframe")
    assert frame.get_attribute("src") == PLAYER_URL
    tokens = set(frame.get_attribute("sandbox").split())
    assert "allow-scripts" in tokens and not tokens & {"allow-top-navigation", "allow-popups-to-escape-sandbox"}
    assert frame.get_attribute("referrerpolicy") == "strict-origin-when-cross-origin"
    player = page.frame_locator(".player-frame iframe").locator("p")
    assert player.inner_text() == "player"  # frame-src lets the allow-listed provider in


def test_sme_pages_raise_no_violation(page, demo):
    sign_in_page(page, demo["users"]["sme"])
    paths = ["/enterprise", "/enterprise/edit", "/needs/new", "/events/registrations", "/events/requests",
             "/events/agenda", "/events/consents", "/policies/mine", "/policies/mine/facts", "/messages/",
             f"/streams/{demo['stream']}"]
    assert _walk(page, paths) == {}


def test_institution_pages_raise_no_violation(page, demo):
    sign_in_page(page, demo["users"]["bank"])
    paths = ["/institution", "/institution/edit", "/products/new", f"/zones/{demo['institution']}", "/leads",
             "/events/registrations", "/events/requests", "/events/agenda", f"/events/enterprises/{demo['enterprise']}",
             f"/events/sessions/{demo['credit']}/enterprises"]
    assert _walk(page, paths) == {}


def test_organiser_pages_raise_no_violation(page, demo):
    sign_in_page(page, demo["users"]["organiser"])
    paths = ["/organiser/events", f"/organiser/events/{demo['event']}", "/organiser/plan", "/organiser/events/new",
             f"/organiser/sessions/{demo['credit']}/registrations", f"/organiser/sessions/{demo['credit']}/matching",
             "/institutions/review", "/policies/events", f"/policies/events/{demo['event']}", "/policies/new",
             f"/policies/clause/{demo['policy']}/edit", "/leads"]
    assert _walk(page, paths) == {}


def test_report_charts_draw_and_show_tooltips_under_the_policy(page, demo):
    sign_in_page(page, demo["users"]["organiser"])
    assert _walk(page, ["/reports/"]) == {}
    charts = page.locator(".chart:not([hidden])")
    assert charts.count() >= 3
    for index in range(charts.count()):
        chart = charts.nth(index)
        svg = chart.locator("svg")
        svg.wait_for()
        chart.scroll_into_view_if_needed()
        before = len(svg.text_content())
        box = chart.bounding_box()
        for x, y in ((0.3, 0.1), (0.45, 0.5), (0.3, 0.6)):  # a funnel's widest band; a bar chart's grid
            page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y, steps=4)
            page.wait_for_timeout(250)
            if len(svg.text_content()) > before:
                break
        # the tooltip ("报名：34 …") is drawn as text inside the chart's SVG, not as HTML beside it
        assert len(svg.text_content()) > before, chart.get_attribute("id")
    assert page.evaluate("window.__cspViolations") == []


def test_admin_pages_raise_no_violation(page, demo):
    sign_in_page(page, demo["users"]["admin"])
    assert _walk(page, ["/organiser/events", "/reports/", "/institutions/review", "/policies/"]) == {}


@pytest.fixture
def proposed_schedule(live_server):
    with live_server.database() as session:
        scenario = matching_scenario(smes=2, banks=1, status=EventStatus.CLOSED)
        scheduling.run_matching(actor(scenario["organiser"]), session.get(EventSession, scenario["session"].id))
    return scenario


def _scheduled(live_server, session_id) -> int:
    with live_server.database() as session:
        return len(session.scalars(select(Meeting).where(Meeting.session_id == session_id,
                                                         Meeting.status == "scheduled")).all())


def test_publishing_asks_first_and_a_no_keeps_the_schedule(page, live_server, proposed_schedule):
    session_id = proposed_schedule["session"].id
    sign_in_page(page, proposed_schedule["organiser"].email)
    assert _walk(page, [f"/organiser/sessions/{session_id}/matching"]) == {}
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.click("#publish")
    page.wait_for_timeout(300)
    assert asked == ["发布后将通知所有参会企业和机构，确定发布吗？"]
    assert page.url.endswith(f"/organiser/sessions/{session_id}/matching")
    assert _scheduled(live_server, session_id) == 0


def test_a_confirm_text_with_apostrophes_and_quotes_is_shown_whole_and_works(page, live_server, proposed_schedule):
    """The text lives in a data-confirm attribute, read by static/js/confirm.js: quotes cannot break it."""
    text = "It's final — the \"schedule\" goes out; l'agenda est publié. 确定？"
    session_id = proposed_schedule["session"].id
    sign_in_page(page, proposed_schedule["organiser"].email)
    page.goto(f"/organiser/sessions/{session_id}/matching")
    page.locator("form:has(#publish)").evaluate("(form, text) => form.setAttribute('data-confirm', text)", text)
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    with page.expect_navigation():
        page.click("#publish")
    assert asked == [text]
    assert "日程已发布" in page.locator(".flash-success").inner_text()
    assert _scheduled(live_server, session_id) == 2


def test_the_chain_nodes_follow_the_chosen_chain(page, demo):
    """static/js/chain-nodes.js (was an inline script): only the chosen chain's links are offered."""
    sign_in_page(page, demo["users"]["sme"])
    assert _walk(page, ["/enterprise/edit"]) == {}
    visible = "Array.from(document.querySelectorAll('#nodes li')).filter(li => !li.hidden)" \
              ".map(li => li.querySelector('input').value)"
    assert page.locator("#chain").input_value() == "ai"
    assert {value.split("/")[0] for value in page.evaluate(visible)} == {"ai"}
    checked = page.locator("#nodes input:checked").count()
    assert checked > 0
    page.select_option("#chain", "integrated_circuits")
    shown = page.evaluate(visible)
    assert shown and {value.split("/")[0] for value in shown} == {"integrated_circuits"}
    assert page.locator("#nodes input:checked").count() == 0  # links of the old chain are cleared
    assert page.evaluate("window.__cspViolations") == []


def test_the_region_summary_follows_the_selection(page, demo):
    """static/js/region-summary.js (was an inline script): "已选地区" names what the long select holds."""
    sign_in_page(page, demo["users"]["bank"])
    assert _walk(page, ["/products/new"]) == {}
    summary = page.locator("#region_codes-chosen")
    page.select_option("#region_codes", ["330100", "330106"])
    assert summary.inner_text() == "杭州市、西湖区"
    page.select_option("#region_codes", [])
    assert summary.inner_text() == "无（即全国）"
    assert page.evaluate("window.__cspViolations") == []
