"""The month from end to end, through the HTTP routes only (accounts and their needs/products are set up with
tests.support.factories): an organiser creates March's event with a 信贷融资对接 session; 20 SMEs and 5 institutions
register; matching runs; the organiser moves one meeting and publishes; an SME downloads an .ics that icalendar
parses with the right times; outcomes are recorded; the dashboard's numbers equal counts computed here.

The clock is moved with time-machine (registration in early March, matching on the 10th, the session on the
16th, outcomes in the afternoon).
"""
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from icalendar import Calendar
from sqlalchemy import select

from core.clock import SHANGHAI
from core.extensions import db
from events.models import EventSession, Meeting, Registration
from tests.conftest import DEMO_PASSWORD
from tests.support import factories

WAN = 10_000


def shanghai(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def signed_in(app, email: str):
    """Signed in with "记住我": the month spans weeks, past the idle timeout and lifetime of a plain session."""
    client = app.test_client()
    response = client.post("/account/sign-in", data={"email": email, "password": DEMO_PASSWORD, "remember": "y"})
    assert response.status_code == 302, email
    return client


def ok(response, expected: int = 302):
    assert response.status_code == expected, response.get_data(as_text=True)[:3000]
    return response


def flashes_no_error(client, response):
    """Follow a redirect and fail on an error message."""
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "flash-error" not in page, re.findall(r'flash-error[^>]*>(.*?)<', page)
    return page


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    enterprise_id: int | None = None
    institution_id: int | None = None


def _person(user) -> Person:
    return Person(user.id, user.email, user.enterprise_id, user.institution_id)


@pytest.fixture
def people(app):
    """An organiser of Hangzhou, 20 SMEs with one loan need each, 5 banks with one loan product each."""
    with app.app_context():
        organiser = factories.organiser("330100")
        smes, needs = [], {}
        districts = ["330106", "330108", "330110", "330102", "330105"]
        for number in range(20):
            user = factories.sme(region_code=districts[number % 5])
            need = factories.need(user, type="loan", amount_yuan=(100 + 50 * number) * WAN, collateral=["credit"])
            smes.append(_person(user))
            needs[user.id] = (need.id, need.amount_yuan)
        banks, products = [], {}
        for _number in range(5):
            user = factories.institution_user(region_codes=["330000"])
            product = factories.product(user, type="loan", amount_min_yuan=50 * WAN, amount_max_yuan=5_000 * WAN,
                                        chain_codes=["ai"])
            banks.append(_person(user))
            products[user.id] = product.id
        return {"organiser": _person(organiser), "smes": smes, "needs": needs, "banks": banks, "products": products}


def test_the_month_from_end_to_end(app, people):
    organiser_email = people["organiser"].email
    smes, banks = people["smes"], people["banks"]

    # ---- 2 March: the organiser creates the event and its session, and opens registration ----
    with time_machine.travel(shanghai(2026, 3, 2, 10), tick=False):
        organiser = signed_in(app, organiser_email)
        response = ok(organiser.post("/organiser/events/new", data={
            "title": "2026年3月 · 人工智能产业链 · 杭州", "chain": "ai", "host_region": "330100",
            "starts_on": "2026-03-01", "ends_on": "2026-03-31",
            "registration_opens_at": "2026-03-01T09:00", "registration_closes_at": "2026-03-09T17:00",
            "matching_at": "2026-03-10T09:00", "publication_at": "2026-03-11T09:00"}))
        event_id = int(re.search(r"/organiser/events/(\d+)", response.headers["Location"]).group(1))
        ok(organiser.post(f"/organiser/events/{event_id}/sessions/new", data={
            "kind": "credit_matching", "mode": "offline", "title": "信贷融资对接会",
            "starts_at": "2026-03-16T09:00", "ends_at": "2026-03-16T13:00", "slot_minutes": "20", "tables": "10",
            "venue": "杭州国际博览中心", "financing_types": ["loan"]}))
        flashes_no_error(organiser, ok(organiser.post(f"/organiser/events/{event_id}/status",
                                                      data={"to_status": "open"})))
        with app.app_context():
            session_id = db.session.scalar(select(EventSession.id).where(EventSession.event_id == event_id))

    # ---- 3 March: 20 SMEs and 5 institutions register; the organiser approves them all ----
    with time_machine.travel(shanghai(2026, 3, 3, 10), tick=False):
        for user in smes:
            client = signed_in(app, user.email)
            need_id, _amount = people["needs"][user.id]
            flashes_no_error(client, ok(client.post(f"/events/sessions/{session_id}/register",
                                                    data={"needs": [str(need_id)], "consent": "y"})))
        for number, user in enumerate(banks):
            client = signed_in(app, user.email)
            flashes_no_error(client, ok(client.post(f"/events/sessions/{session_id}/register", data={
                "products": [str(people["products"][user.id])], "tables": "2",
                "staff-0-name": f"客户经理{number}", "staff-0-table_number": "1",
                "staff-1-name": f"产品经理{number}", "staff-1-table_number": "2"})))
        with app.app_context():
            registration_ids = list(db.session.scalars(select(Registration.id).where(
                Registration.session_id == session_id).order_by(Registration.id)))
        assert len(registration_ids) == 25
        for registration_id in registration_ids:
            ok(organiser.post(f"/organiser/registrations/{registration_id}/decision", data={"decision": "approve"}))

    # ---- 10 March: registration closed, matching runs, one meeting moved, the schedule published ----
    with time_machine.travel(shanghai(2026, 3, 10, 9, 30), tick=False):
        flashes_no_error(organiser, ok(organiser.post(f"/organiser/events/{event_id}/status",
                                                      data={"to_status": "closed"})))
        flashes_no_error(organiser, ok(organiser.post(f"/organiser/sessions/{session_id}/matching/run")))
        with app.app_context():
            meetings = db.session.scalars(select(Meeting).where(Meeting.session_id == session_id)
                                          .order_by(Meeting.id)).all()
            assert meetings and all(m.status == "proposed" for m in meetings)
            cells = [(m.id, m.enterprise_id, m.institution_id, m.slot, m.table_number) for m in meetings]
            slot_count = db.session.get(EventSession, session_id).slot_count
        moved_id, moved_enterprise, moved_institution, old_slot, old_table = cells[0]
        busy_tables = {(i, s, t) for _m, _e, i, s, t in cells}
        busy_enterprise = {s for _m, e, _i, s, _t in cells if e == moved_enterprise}
        new_slot, new_table = next((s, t) for s in range(slot_count) for t in (1, 2)
                                   if (moved_institution, s, t) not in busy_tables and s not in busy_enterprise)
        assert matching_page_lists(organiser, session_id, moved_id)
        flashes_no_error(organiser, ok(organiser.post(f"/organiser/meetings/{moved_id}/move", data={
            f"m{moved_id}-slot": str(new_slot), f"m{moved_id}-table_number": str(new_table)})))
        flashes_no_error(organiser, ok(organiser.post(f"/organiser/sessions/{session_id}/publish")))
        with app.app_context():
            moved = db.session.get(Meeting, moved_id)
            assert (moved.slot, moved.table_number, moved.status) == (new_slot, new_table, "scheduled")
            moved_owner = next(u for u in smes if u.enterprise_id == moved_enterprise)

    # ---- the SME whose meeting moved downloads its calendar: the times are the schedule's ----
    with time_machine.travel(shanghai(2026, 3, 11, 8), tick=False):
        client = signed_in(app, moved_owner.email)
        ics = ok(client.get("/events/agenda.ics"), 200)
        assert ics.mimetype == "text/calendar"
        calendar = Calendar.from_ical(ics.data)
        starts = {str(c["uid"]): (c.decoded("dtstart"), c.decoded("dtend")) for c in calendar.walk("VEVENT")}
        with app.app_context():
            own = db.session.scalars(select(Meeting).where(Meeting.enterprise_id == moved_enterprise,
                                                           Meeting.status == "scheduled")).all()
        assert len(starts) == len(own) >= 1
        session_start = shanghai(2026, 3, 16, 9)
        for meeting in own:
            start, end = starts[f"meeting-{meeting.id}@chainmatch"]
            assert start == session_start + timedelta(minutes=20 * meeting.slot)
            assert end - start == timedelta(minutes=20)
        moved_start, _ = starts[f"meeting-{moved_id}@chainmatch"]
        assert moved_start == session_start + timedelta(minutes=20 * new_slot)
        assert moved_start.astimezone(UTC) == datetime(2026, 3, 16, 1, tzinfo=UTC) + timedelta(minutes=20 * new_slot)

    # ---- 16 March, afternoon: check-ins and outcomes, recorded by both sides ----
    with time_machine.travel(shanghai(2026, 3, 16, 14), tick=False):
        with app.app_context():
            scheduled = [(m.id, m.enterprise_id, m.institution_id, m.need_id) for m in db.session.scalars(
                select(Meeting).where(Meeting.session_id == session_id, Meeting.status == "scheduled")
                .order_by(Meeting.id))]
        users_by_enterprise = {u.enterprise_id: u for u in smes}
        users_by_institution = {u.institution_id: u for u in banks}
        expected = Expected(people["needs"], smes)
        checked_in = scheduled[0][0]
        flashes_no_error(organiser, ok(organiser.post(f"/events/meetings/{checked_in}/check-in")))
        expected.met(scheduled[0])
        for index, meeting in enumerate(scheduled[1:13], start=1):
            meeting_id, enterprise_id, institution_id, _need = meeting
            bank = signed_in(app, users_by_institution[institution_id].email)
            if index % 6 == 5:  # a no-show, says the bank
                post_outcome(bank, meeting_id, held="no")
                continue
            intent = 100 * index
            credit = 60 * index if index % 2 else None
            disbursed = 20 * index if index % 4 == 1 else None
            post_outcome(bank, meeting_id, "yes", intent, credit, disbursed)
            expected.met(meeting)
            expected.outcome(meeting, intent, credit, disbursed)
            if index % 3 == 0:  # the SME records too; the institution's figures win
                sme = signed_in(app, users_by_enterprise[enterprise_id].email)
                post_outcome(sme, meeting_id, "yes", intent + 9, None, None)
        sme_only = scheduled[13]
        sme = signed_in(app, users_by_enterprise[sme_only[1]].email)
        post_outcome(sme, sme_only[0], "yes", 100, 80, None)
        expected.met(sme_only)
        expected.outcome(sme_only, 100, None, None)  # an SME-only 授信 is shown as unconfirmed, never counted

        # ---- the dashboard's numbers equal the ones counted here ----
        with app.app_context():
            matched_enterprises = {e for _m, e, _i, _n in scheduled}
        expected.matched = {e: people["needs"][users_by_enterprise[e].id] for e in matched_enterprises}
        page = ok(organiser.get(f"/reports/?event={event_id}"), 200).get_data(as_text=True)
        assert funnel_on(page) == expected.funnel()
        assert funnel_on(ok(organiser.get("/reports/?year=2026&month=3&region=330100"), 200)
                         .get_data(as_text=True)) == expected.funnel()
        other = factories_organiser_elsewhere(app)
        assert funnel_on(ok(other.get("/reports/"), 200).get_data(as_text=True))["registered"] == (0, 0, 0)
        assert other.get(f"/reports/?event={event_id}").status_code == 404


class Expected:
    """The funnel as this test counts it, from what it posted."""

    def __init__(self, needs: dict, smes: list):
        self.need_of_enterprise = {user.enterprise_id: needs[user.id] for user in smes}
        self.registered = dict(self.need_of_enterprise)
        self.matched: dict = {}
        self.held: dict = {}
        self.amounts = {"intent": {}, "credit": {}, "disbursed": {}}

    def met(self, meeting):
        self.held[meeting[1]] = self.need_of_enterprise[meeting[1]]

    def outcome(self, meeting, intent, credit, disbursed):
        for stage, value in (("intent", intent), ("credit", credit), ("disbursed", disbursed)):
            if value:
                self.amounts[stage][meeting[0]] = (meeting[1], meeting[3], value * WAN)

    @staticmethod
    def _needs(by_enterprise: dict) -> tuple:
        return len(by_enterprise), len({need for need, _ in by_enterprise.values()}), \
            sum(amount for _, amount in by_enterprise.values())

    def funnel(self) -> dict:
        figures = {"registered": self._needs(self.registered), "matched": self._needs(self.matched),
                   "met": self._needs(self.held)}
        for stage, rows in self.amounts.items():
            figures[stage] = (len({e for e, _n, _v in rows.values()}), len({n for _e, n, _v in rows.values()}),
                              sum(v for _e, _n, v in rows.values()))
        return figures


def post_outcome(client, meeting_id: int, held: str, intent=None, credit=None, disbursed=None):
    data = {"held": held, "note": "端到端测试", "confirm_above_need": "y"}  # some figures exceed the need
    for name, value in (("intent", intent), ("agreed", credit), ("funded", disbursed)):
        if value is not None:
            data[name] = str(value)
    flashes_no_error(client, ok(client.post(f"/events/meetings/{meeting_id}/outcome", data=data)))


def funnel_on(page: str) -> dict:
    figures = {}
    for stage in ("registered", "matched", "met", "intent", "credit", "disbursed"):
        row = re.search(rf'<tr id="stage-{stage}".*?</tr>', page, re.S).group(0)
        values = [int(value) for value in re.findall(r'data-value="(\d+)"', row)]
        # SMEs, needs, then the needs' amount (registered … met) or the confirmed + unconfirmed figures
        figures[stage] = (values[0], values[1], values[2] if len(values) == 3 else values[3] + values[4])
    return figures


def matching_page_lists(client, session_id: int, meeting_id: int) -> bool:
    page = ok(client.get(f"/organiser/sessions/{session_id}/matching"), 200).get_data(as_text=True)
    return f"meeting-{meeting_id}" in page


def factories_organiser_elsewhere(app):
    with app.app_context():
        email = factories.organiser("330200").email
    return signed_in(app, email)
