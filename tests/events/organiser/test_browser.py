"""In chromium: an organiser runs the matcher for a session, sees the proposals and publishes the schedule."""
import pytest
from sqlalchemy import func, select

from events.enums import EventStatus, MeetingStatus
from events.models import EventSession, Meeting
from events.services import scheduling
from notifications.models import Notification
from tests.browser_support import PHONE, browser, live_server, page, sign_in_page  # noqa: F401 (fixtures)
from tests.support.events import actor, matching_scenario

pytestmark = pytest.mark.browser


def test_organiser_runs_matching_and_publishes(live_server, page):
    with live_server.database():
        scenario = matching_scenario(smes=3, banks=2)
    session_id = scenario["session"].id
    sign_in_page(page, scenario["organiser"].email)

    page.goto(f"/organiser/events/{scenario['event'].id}")
    page.click(f"#session-{session_id} >> text=匹配与日程")
    page.wait_for_url(f"**/organiser/sessions/{session_id}/matching")
    assert page.locator("[data-meeting]").count() == 0

    with page.expect_navigation():
        page.click("#run-matching")
    assert "匹配完成：拟安排 6 场会谈" in page.locator(".flash-success").inner_text()
    assert page.locator("[data-meeting]").count() == 6
    first = page.locator("[data-meeting]").first
    first.locator("summary", has_text="推荐理由").click()
    assert first.locator("ul.reasons li").count() > 0

    page.once("dialog", lambda dialog: dialog.accept())
    with page.expect_navigation():
        page.click("#publish")
    assert "日程已发布" in page.locator(".flash-success").inner_text()
    assert page.locator(".meeting.is-scheduled").count() == 6
    assert page.locator("#publish").count() == 0  # nothing left to publish

    with live_server.database() as session:
        statuses = set(session.scalars(select(Meeting.status).where(Meeting.session_id == session_id)))
        assert statuses == {MeetingStatus.SCHEDULED}
        assert session.scalar(select(func.count(Notification.id))) == 5  # 3 SMEs + 2 banks, one each
    page.goto(f"/organiser/events/{scenario['event'].id}")
    assert EventStatus.PUBLISHED.label in page.locator(".status-steps .current").inner_text()


def test_a_clash_is_explained_beside_the_field(live_server, page):
    with live_server.database() as session:
        scenario = matching_scenario(smes=1, banks=2)
        scheduling.run_matching(actor(scenario["organiser"]), session.get(EventSession, scenario["session"].id))
    with live_server.database() as session:
        first, second = session.scalars(select(Meeting).where(Meeting.session_id == scenario["session"].id)
                                        .order_by(Meeting.slot)).all()
        other = second.institution.name
    sign_in_page(page, scenario["organiser"].email)
    page.set_viewport_size(PHONE)
    page.goto(f"/organiser/sessions/{scenario['session'].id}/matching")
    card = page.locator(f"#meeting-{first.id}")
    card.locator("summary", has_text="调整或取消").click()
    card.locator(f"select[name='m{first.id}-slot']").select_option(str(second.slot))
    with page.expect_navigation():
        card.locator("button", has_text="调整到此时段").click()
    error = page.locator(f"#field-m{first.id}-slot .errors")
    assert f"已与 {other} 会谈" in error.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
