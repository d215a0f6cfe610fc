"""`chainmatch demo`'s event content: idempotent, and every page a newcomer opens has something on it."""
import pytest
from sqlalchemy import func, select

from core.extensions import db
from events.enums import SessionKind
from events.models import Event, EventSession, Meeting, MeetingRequest, Outcome, Registration
from market.models import Institution

DEMO_PASSWORD = "demo-password"




def _load_everything() -> dict:
    from events.demo import load_demo
    from seeds.loader import load_all
    load_all(db.session, demo_accounts=True)
    loaded = load_demo(db.session)
    db.session.commit()
    return loaded


def _row_counts() -> dict:
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


@pytest.fixture
def demo(app, monkeypatch):
    monkeypatch.setitem(app.config, "DEMO_MODE", True)  # the demo accounts sign in in the demo only
    with app.app_context():
        loaded = _load_everything()
        event = db.session.scalar(select(Event).where(Event.status.in_(("published", "running"))))
        sessions = {SessionKind(s.kind).value: s.id for s in event.sessions}
        return {"loaded": loaded, "event_id": event.id, "sessions": sessions}


def test_loading_twice_adds_nothing(app, demo):
    assert demo["loaded"]["demo events"]["created"] == 1
    with app.app_context():
        before = _row_counts()
        again = _load_everything()
        assert again["demo events"] == {"created": 0, "present": 1}
        assert _row_counts() == before


def test_the_month_has_content_in_every_state(app, demo):
    with app.app_context():
        event = db.session.get(Event, demo["event_id"])
        assert "人工智能" in event.title and event.host_region_code == "330100"
        kinds = {s.kind for s in event.sessions}
        assert {"credit_matching", "equity_matching", "policy_matching", "livestream", "knowledge_talk"} <= kinds
        online = [s for s in event.sessions if s.kind in ("livestream", "knowledge_talk")]
        assert all(s.mode == "online" and s.stream_url for s in online)
        sme_registrations = db.session.scalar(select(func.count(Registration.id)).where(
            Registration.enterprise_id.is_not(None), Registration.session_id.in_([s.id for s in event.sessions])))
        institution_registrations = db.session.scalar(select(func.count(Registration.id)).where(
            Registration.institution_id.is_not(None)))
        assert 35 <= sme_registrations <= 60 and 6 <= institution_registrations <= 10
        statuses = set(db.session.scalars(select(MeetingRequest.status)))
        assert {"requested", "accepted", "declined", "expired", "withdrawn"} <= statuses
        assert db.session.scalar(select(func.count(Outcome.id))) > 0
        credit = db.session.get(EventSession, demo["sessions"]["credit_matching"])
        assert all(s.published_at is not None for s in event.sessions if SessionKind(s.kind).has_meetings)
        assert db.session.scalar(select(func.count(Meeting.id)).where(Meeting.session_id == credit.id)) > 10
        bank = db.session.scalar(select(Institution).where(Institution.name == "杭城银行股份有限公司"))
        assert db.session.scalar(select(func.count(Meeting.id)).where(Meeting.institution_id == bank.id)) > 0


def _client_for(app, email: str | None):
    client = app.test_client()
    if email:
        response = client.post("/account/sign-in", data={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 302, email
    return client


def _page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def test_every_page_a_newcomer_opens_has_content(app, demo):
    event_id, credit = demo["event_id"], demo["sessions"]["credit_matching"]
    with app.app_context():
        title = db.session.get(Event, event_id).title
    anonymous = _client_for(app, None)
    assert "人工智能" in _page(anonymous, "/")
    assert "杭城银行" in _page(anonymous, "/catalogue")
    assert title in _page(anonymous, f"/events/{event_id}")
    assert title in _page(anonymous, "/events/")

    sme = _client_for(app, "sme@demo.local")
    agenda = _page(sme, "/events/agenda")
    assert "信贷融资对接会" in agenda or "股权融资对接会" in agenda
    assert "BEGIN:VEVENT" in sme.get("/events/agenda.ics").get_data(as_text=True)
    assert "约见" in _page(sme, "/events/requests")

    bank = _client_for(app, "bank@demo.local")
    assert "信贷融资对接会" in _page(bank, "/events/agenda")
    assert "约见" in _page(bank, "/events/requests")

    organiser = _client_for(app, "organiser@demo.local")
    assert "人工智能产业链信贷融资对接会" in _page(organiser, f"/organiser/events/{event_id}")
    assert "杭城银行" in _page(organiser, f"/organiser/sessions/{credit}/matching")
    assert "已通过" in _page(organiser, f"/organiser/sessions/{credit}/registrations")
    assert "人工智能" in _page(organiser, "/organiser/plan")
    dashboard = _page(organiser, "/reports/")
    assert 'id="report-data"' in dashboard and "杭城银行股份有限公司" in dashboard
    outcomes = organiser.get(f"/reports/export/outcomes.xlsx?event={event_id}")
    assert outcomes.status_code == 200 and outcomes.data[:2] == b"PK"

    admin = _client_for(app, "admin@demo.local")
    assert title in _page(admin, "/reports/")


def test_no_demo_party_has_two_live_meetings_at_once_and_the_smes_calendar_agrees(app, demo):
    """Every meeting stores its session-grid interval; no enterprise or institution table overlaps itself;
    the demo SME's .ics has no two non-cancelled events at the same time."""
    from icalendar import Calendar
    with app.app_context():
        meetings = db.session.scalars(select(Meeting).where(Meeting.slot.is_not(None))).all()
        assert meetings
        for meeting in meetings:
            assert (meeting.starts_at, meeting.ends_at) == (meeting.session.slot_starts_at(meeting.slot),
                                                            meeting.session.slot_ends_at(meeting.slot))
        live = [m for m in meetings if m.status != "cancelled"]
        for key in (lambda m: ("e", m.enterprise_id), lambda m: ("t", m.session_id, m.institution_id, m.table_number)):
            by_party: dict = {}
            for meeting in live:
                by_party.setdefault(key(meeting), []).append(meeting)
            for party, rows in by_party.items():
                rows.sort(key=lambda m: m.starts_at)
                assert all(a.ends_at <= b.starts_at for a, b in zip(rows, rows[1:])), party
    calendar = Calendar.from_ical(_client_for(app, "sme@demo.local").get("/events/agenda.ics").get_data())
    entries = sorted((e.decoded("dtstart"), e.decoded("dtend")) for e in calendar.walk("VEVENT")
                     if str(e.get("status")) != "CANCELLED")
    assert entries
    assert all(end <= start for (_, end), (start, _) in zip(entries, entries[1:]))


def test_the_demos_outcomes_use_each_types_steps_and_refuse_absurd_figures(app, demo):
    from core.errors import FieldError
    from events.demo import _party_for
    from events.services import outcomes
    with app.test_request_context():
        rows = db.session.scalars(select(Outcome)).all()
        assert {"loan", "guarantee"} <= {row.financing_type for row in rows}
        assert all(row.funded_amount_yuan is None for row in rows if row.financing_type == "guarantee")
        assert all((row.funded_amount_yuan or 0) <= (row.agreed_amount_yuan or 0) for row in rows)
        assert {"confirmed", "disputed"} <= {row.verdict for row in rows if row.verdict}
        assert any(row.side == "enterprise" and row.agreed_amount_yuan for row in rows)  # an SME-only 授信
        meeting = next(row.meeting for row in rows if row.side == "institution" and row.financing_type == "loan"
                       and row.meeting.need is not None)
        bank = _party_for(db.session, institution_id=meeting.institution_id)
        before = (outcomes.outcome_of(meeting, outcomes.Side.INSTITUTION).funded_amount_yuan)
        with pytest.raises(FieldError) as refused:  # 10 亿 disbursed against a 100 万 credit line
            outcomes.record_outcome(bank, meeting, outcomes.OutcomeReport(
                True, 1_000_000, 1_000_000, 1_000_000_000, confirm_above_need=True))
        assert refused.value.field == "funded"
        db.session.rollback()
        assert outcomes.outcome_of(db.session.get(Meeting, meeting.id),
                                   outcomes.Side.INSTITUTION).funded_amount_yuan == before
