"""In chromium: the organiser opens the printable table plan from the schedule page; printed at A4 it gives one
page per time slot and one table card (桌签) per venue table, with the venue labels, and no inline styles."""
import re

import pytest
from sqlalchemy import func, select

from events.models import EventSession, VenueTable
from events.services import scheduling
from tests.browser_support import browser, live_server, page, sign_in_page  # noqa: F401 (fixtures)
from tests.support.events import actor, matching_scenario

pytestmark = pytest.mark.browser


def test_the_table_plan_prints_a_page_per_slot_and_a_card_per_table(live_server, page, tmp_path):
    with live_server.database() as session:
        scenario = matching_scenario(smes=4, banks=3, tables=1, table_area="洽谈区 A")
        the_session = session.get(EventSession, scenario["session"].id)
        scheduling.run_matching(actor(scenario["organiser"]), the_session)
        tables = session.scalar(select(func.count(VenueTable.id)))
        slots = the_session.slot_count
    session_id = scenario["session"].id
    sign_in_page(page, scenario["organiser"].email)
    page.goto(f"/organiser/sessions/{session_id}/matching")
    assert page.locator("table.schedule th", has_text="洽谈区 A 第 01 桌").count() == 1  # the grid's heading
    with page.expect_navigation():
        page.click("#table-plan-link")
    assert page.url.endswith(f"/organiser/sessions/{session_id}/table-plan")
    assert page.locator(".plan-page").count() == slots == 4
    assert page.locator(".table-card").count() == tables == 3
    assert page.locator(".table-card .card-label").all_inner_texts() == [
        "洽谈区 A 第 01 桌", "洽谈区 A 第 02 桌", "洽谈区 A 第 03 桌"]
    first_slot = page.locator("#slot-page-0 tbody tr")
    assert first_slot.count() == 3 and "洽谈区 A 第 01 桌" in first_slot.first.inner_text()
    assert page.locator("[style]").count() == 0 and page.locator("style").count() == 0

    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible() and not page.locator(".screen-only").is_visible()
    breaks = page.evaluate("""() => [...document.querySelectorAll('.plan-page, .table-card')]
        .map(e => getComputedStyle(e).breakAfter)""")
    assert breaks == ["page"] * (slots + tables - 1) + ["auto"]
    name_size = page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('.card-name')).fontSize)")
    assert name_size >= 60  # 48pt: the institution's name large on the card
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.screenshot(path=str(tmp_path / "table-plan-print.png"), full_page=True)
    pdf = page.pdf(format="A4")
    (tmp_path / "table-plan.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == slots + tables  # A4 pages: 4 slot pages + 3 cards
