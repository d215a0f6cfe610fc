"""In Debian's chromium: the demo SME signs in, posts a financing need and sees it listed."""
import pytest
from sqlalchemy import select

from chainmatch.demo import DEMO_PASSWORD
from market.models import FinancingNeed
from tests.browser_support import PHONE, browser, live_server, page, sign_in_page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def demo_accounts(live_server):
    """The demo's data and accounts, on a live app in demo mode (the only one that lets them sign in)."""
    from seeds.loader import load_all
    live_server.app.config["DEMO_MODE"] = True
    with live_server.database() as session:
        load_all(session, demo_accounts=True)


def test_demo_sme_posts_a_need_and_sees_it_listed(live_server, demo_accounts, page):
    sign_in_page(page, "sme@demo.local", DEMO_PASSWORD)
    assert page.url.endswith("/enterprise")

    page.click("text=发布融资需求")
    page.select_option("select[name=type]", "loan")
    page.fill("input[name=amount]", "380")
    page.fill("input[name=term_months]", "24")
    page.fill("textarea[name=purpose]", "采购液冷服务器，扩充智算中心算力（浏览器测试）")
    page.check("input[name=collateral][value=ip]")
    with page.expect_navigation():
        page.click("main form button[type=submit]")

    assert page.url.endswith("/enterprise")
    listed = page.locator("text=采购液冷服务器，扩充智算中心算力（浏览器测试）")
    assert listed.count() == 1
    assert page.locator("text=380 万元").count() >= 1
    with live_server.database() as session:
        need = session.scalar(select(FinancingNeed).where(FinancingNeed.purpose.like("%浏览器测试%")))
        assert (need.type, need.amount_yuan, need.term_months, list(need.collateral)) == ("loan", 3_800_000, 24, ["ip"])


def test_a_bad_amount_is_shown_beside_the_field_and_nothing_is_stored(live_server, demo_accounts, page):
    page.set_viewport_size(PHONE)
    sign_in_page(page, "sme@demo.local", DEMO_PASSWORD)
    page.goto("/needs/new")
    page.fill("input[name=amount]", "-5")
    page.fill("textarea[name=purpose]", "不应保存的需求")
    page.click("main form button[type=submit]")
    error = page.locator("#field-amount ul.errors")
    assert "金额必须大于 0" in error.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    with live_server.database() as session:
        assert session.scalar(select(FinancingNeed).where(FinancingNeed.purpose == "不应保存的需求")) is None
