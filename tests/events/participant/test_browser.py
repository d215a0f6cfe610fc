"""In chromium: an SME registers for the month's event and sees its agenda (and its calendar file)."""
import re

import pytest
from icalendar import Calendar
from sqlalchemy import select

from events.enums import MeetingStatus, RegistrationStatus
from events.models import Registration
from tests.browser_support import PHONE, browser, live_server, page, sign_in_page  # noqa: F401 (fixtures)
from tests.support import factories
from tests.support.participation import make_event, make_meeting, make_session, registered_bank

pytestmark = pytest.mark.browser


def test_sme_registers_for_the_months_event_and_sees_its_agenda(live_server, page):
    with live_server.database() as db_session:
        event = make_event(title="2026年人工智能产业链 · 杭州 融资对接月")
        session = make_session(event, title="信贷融资对接会", capacity=50)
        sme_user = factories.sme()
        need = factories.need(sme_user, type="loan", amount_yuan=5_000_000, purpose="购置液冷服务器")
        bank_user, _, _ = registered_bank(session)
        bank_name = db_session.get(type(bank_user), bank_user.id).institution.name

    sign_in_page(page, sme_user.email)
    page.goto("/events/")
    page.click(f"text={event.title}")
    card = page.locator(f"#session-{session.id}")
    assert "信贷融资对接会" in card.inner_text()
    with page.expect_navigation():
        card.get_by_role("link", name="报名本场").click()
    page.check(f"#need-{need.id}")
    page.check("input[name=consent]")
    with page.expect_navigation():
        page.get_by_role("button", name="提交报名").click()
    assert "报名已提交，等待主办方审核" in page.inner_text("main")
    assert "待审核" in page.inner_text("main")

    # The organiser approves and publishes the schedule (set up directly: that is the organiser's side).
    with live_server.database() as db_session:
        registration = db_session.scalar(select(Registration).where(
            Registration.enterprise_id == sme_user.enterprise_id))
        assert [n.id for n in registration.needs] == [need.id]
        registration.status = RegistrationStatus.APPROVED.value
        meeting = make_meeting(db_session.get(type(session), session.id), sme_user, bank_user, need, slot=0,
                               status=MeetingStatus.SCHEDULED)

    page.get_by_role("link", name="我的日程").click()
    item = page.locator(f"#meeting-{meeting.id}")
    text = item.inner_text()
    assert "09:00–09:30" in text and "第 01 桌" in text and bank_name in text and "已排期" in text
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile("下载日历文件")).click()
    calendar = Calendar.from_ical(open(download_info.value.path(), "rb").read())
    (entry,) = calendar.walk("VEVENT")
    assert str(entry["UID"]) == f"meeting-{meeting.id}@chainmatch"
    assert entry.decoded("DTSTART").hour == 9 and str(entry.decoded("DTSTART").tzinfo) == "Asia/Shanghai"

    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
