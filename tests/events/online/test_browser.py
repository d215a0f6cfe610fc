"""In chromium: from a zone through sign-up to the meeting request; a request beside a stream counted as the
stream's lead on the institution's report; the hall and a zone on a 375 px phone."""
import pytest
from sqlalchemy import select

from accounts.models import User
from events.enums import EventStatus
from events.models import MeetingRequest
from notifications.models import Notification
from tests.browser_support import PHONE, browser, live_server, page, sign_in_page  # noqa: F401 (fixtures)
from tests.support import factories
from tests.support.online import stream
from tests.support.participation import make_event, make_session, registered_bank

pytestmark = pytest.mark.browser
WAN = 10_000
NO_OVERFLOW = "document.documentElement.scrollWidth <= window.innerWidth"


@pytest.fixture(scope="module")
def world(live_server):
    with live_server.database():
        event = make_event(status=EventStatus.RUNNING, title="2026年人工智能产业链 · 杭州 融资对接月")
        matching = make_session(event, title="信贷融资对接会")
        bank, _, _ = registered_bank(matching, user=factories.institution_user(name="杭城浏览器测试银行"))
        exclusive = factories.product(bank, type="loan", name="科创专属贷", is_exclusive=True,
                                      amount_min_yuan=100 * WAN, amount_max_yuan=1000 * WAN)
        live = stream(event, bank, title="科创贷公益直播", speakers="杭城浏览器测试银行 王经理")
    return {"event": event, "bank": bank, "exclusive": exclusive, "stream": live}


def test_a_visitor_goes_from_a_zone_through_sign_up_to_the_request_with_the_product_chosen(page, live_server, world):
    page.goto(f"/zones/{world['bank'].institution_id}")
    product = page.locator(f"#product-{world['exclusive'].id}")
    with page.expect_navigation():
        product.get_by_role("link", name="预约对接").click()
    assert page.url.split("?")[0].endswith("/account/sign-up/enterprise")

    page.fill("input[name=email]", "visitor-zone@example.com")
    page.fill("input[name=display_name]", "访客企业用户")
    page.fill("input[name=password]", "a-long-test-password")
    page.fill("input[name=confirm]", "a-long-test-password")
    page.fill("input[name=credit_code]", factories.credit_code())
    page.fill("input[name=name]", "浏览器访客科技有限公司")
    page.select_option("select[name=region]", "330106")
    page.select_option("select[name=chain]", "ai")
    page.select_option("select[name=stage]", "growth")
    page.select_option("select[name=industry]", "software_it")
    page.fill("input[name=employees]", "50")
    page.fill("input[name=revenue]", "2000")
    with page.expect_navigation():
        page.get_by_role("button", name="注册").click()
    assert "请查收邮件" in page.inner_text("main h1")

    # the visitor opens the verification mail and presses its button: back on the way to the request
    with live_server.database() as session:
        link = session.scalar(select(Notification.link).join(User, User.id == Notification.user_id).where(
            User.email == "visitor-zone@example.com", Notification.kind == "account_verify_email"))
    page.goto(link)
    with page.expect_navigation():
        page.get_by_role("button", name="验证并登录").click()

    assert "/events/requests/new" in page.url, page.inner_text("main")[:500]
    assert "杭城浏览器测试银行" in page.inner_text("main h1")
    assert page.input_value("select[name=product_id]") == str(world["exclusive"].id)
    assert page.input_value("input[name=lead_source]") == "zone"


def test_an_sme_requests_from_beside_a_stream_and_the_institution_sees_the_lead(page, live_server, world):
    with live_server.database():
        sme = factories.sme()
        need = factories.need(sme, type="loan", amount_yuan=500 * WAN)
    sign_in_page(page, sme.email)
    page.goto(f"/streams/{world['stream'].id}")
    assert "科创贷公益直播" in page.inner_text("main h1")
    with page.expect_navigation():
        page.locator("#lead-box").get_by_role("link", name="预约对接 / 提交需求").click()
    assert page.input_value("select[name=need_id]") == str(need.id)  # the matching need, pre-selected
    page.fill("textarea[name=message]", "看了直播，想了解科创贷。")
    page.check("input[name=consent]")
    with page.expect_navigation():
        page.get_by_role("button", name="发送约见请求").click()
    assert "约见请求已发送" in page.inner_text("main")
    with live_server.database() as session:
        request = session.scalar(select(MeetingRequest).where(MeetingRequest.enterprise_id == sme.enterprise_id))
        assert (request.lead_source, request.lead_session_id) == ("stream", world["stream"].id)
        assert request.institution_id == world["bank"].institution_id

    page.context.clear_cookies()
    sign_in_page(page, world["bank"].email)
    page.goto("/leads")
    row = page.locator(f"#stream-{world['stream'].id}")
    assert "科创贷公益直播" in row.inner_text()
    assert row.locator("td.requests").inner_text().strip() == "1"


def test_the_hall_and_a_zone_fit_a_375px_phone(page, world):
    page.set_viewport_size(PHONE)
    for path in (f"/hall/{world['event'].id}", f"/zones/{world['bank'].institution_id}",
                 f"/streams/{world['stream'].id}"):
        page.goto(path)
        assert page.evaluate(NO_OVERFLOW), path
        small = page.evaluate("""() => Array.from(document.querySelectorAll('main a.button, main button'))
            .filter(e => e.getBoundingClientRect().height > 0 && e.getBoundingClientRect().height < 44)
            .map(e => e.textContent.trim())""")
        assert small == [], (path, small)
