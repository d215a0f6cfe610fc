"""The participants' pages end to end through the test client."""
from datetime import UTC, datetime

from icalendar import Calendar
from sqlalchemy import func, select

from accounts.audit import AuditEvent
from events.enums import MeetingStatus, RequestStatus
from events.models import Consent, Meeting, MeetingRequest, Outcome, Registration, RegistrationStaff
from tests.conftest import sign_in
from tests.support import factories
from tests.support.database import database
from tests.support.pages import element_html
from tests.support.participation import make_event, make_meeting, make_session, registered_bank, registered_sme, utc


def _count(app, model, **where) -> int:
    with database(app) as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.scalar(query)


def _event_with_session(app, **session_options):
    with database(app):
        event = make_event()
        session = make_session(event, **session_options)
    return event, session


def test_event_page_lists_sessions_what_they_serve_and_a_register_button(app, client):
    event, session = _event_with_session(app, capacity=30)
    with database(app):
        user = factories.sme()
    sign_in(client, user.email)
    html = client.get(f"/events/{event.id}").get_data(as_text=True)
    card = element_html(html, f"session-{session.id}")
    assert "信贷融资对接会" in card and "信贷" in card and "已通过 0 / 30 家" in card
    assert f"/events/sessions/{session.id}/register" in card
    assert client.get("/events/").status_code == 200


def test_draft_events_are_not_shown(app, client):
    with database(app):
        from events.enums import EventStatus
        event = make_event(status=EventStatus.DRAFT)
    assert client.get(f"/events/{event.id}").status_code == 404


def test_sme_registers_and_a_double_submission_leaves_one_registration(app, client):
    event, session = _event_with_session(app)
    with database(app):
        user = factories.sme()
        need = factories.need(user)
    sign_in(client, user.email)
    page = client.get(f"/events/sessions/{session.id}/register").get_data(as_text=True)
    assert "信息共享说明" in page and "本场可对接" in page
    data = {"needs": [str(need.id)], "consent": "y"}
    first = client.post(f"/events/sessions/{session.id}/register", data=data)
    second = client.post(f"/events/sessions/{session.id}/register", data=data)
    assert first.status_code == second.status_code == 302
    assert _count(app, Registration) == 1
    listing = client.get("/events/registrations").get_data(as_text=True)
    assert "待审核" in listing and "信贷融资对接会" in listing


def test_registration_refusals_are_shown_beside_the_field(app, client):
    event, session = _event_with_session(app, types=("equity",), kind="equity_matching")
    with database(app):
        user = factories.sme()
        need = factories.need(user, type="loan")
    sign_in(client, user.email)
    response = client.post(f"/events/sessions/{session.id}/register", data={"needs": [str(need.id)], "consent": "y"})
    assert response.status_code == 200
    field = element_html(response.get_data(as_text=True), "field-needs")
    assert "本场服务的融资类型为：股权融资" in field
    response = client.post(f"/events/sessions/{session.id}/register", data={"needs": [str(need.id)]})
    assert "请阅读并勾选同意信息共享说明" in element_html(response.get_data(as_text=True), "field-consent")
    assert _count(app, Registration) == 0


def test_closed_registration_says_so(app, client):
    with database(app):
        session = make_session(make_event(opens_in_days=-5, closes_in_days=-1))
        user = factories.sme()
        need = factories.need(user)
    sign_in(client, user.email)
    response = client.post(f"/events/sessions/{session.id}/register", data={"needs": [str(need.id)], "consent": "y"})
    assert response.status_code == 200 and "报名已于" in response.get_data(as_text=True)


def test_institution_registers_with_tables_staff_and_unavailable_slots(app, client):
    event, session = _event_with_session(app, slots=4)
    with database(app):
        bank = factories.institution_user()
        product = factories.product(bank)
    sign_in(client, bank.email)
    page = client.get(f"/events/sessions/{session.id}/register").get_data(as_text=True)
    assert "09:30–10:00" in page and "出席人员" in page
    data = {"products": [str(product.id)], "tables": "2", "staff-0-name": "王经理", "staff-0-title": "客户经理",
            "staff-0-phone": "13800000000", "staff-0-table_number": "1", "staff-1-name": "李经理",
            "staff-1-table_number": "2", "unavailable_slots": ["1", "3"]}
    assert client.post(f"/events/sessions/{session.id}/register", data=data).status_code == 302
    assert client.post(f"/events/sessions/{session.id}/register", data=data).status_code == 302
    with database(app) as db_session:
        row = db_session.scalar(select(Registration))
        assert (row.tables, row.unavailable_slots, row.status) == (2, [1, 3], "pending")
    assert _count(app, RegistrationStaff) == 2
    bad = dict(data, **{"staff-0-table_number": "5", "staff-1-name": ""})
    with database(app) as db_session:
        db_session.query(Registration).delete()
        db_session.commit()
    response = client.post(f"/events/sessions/{session.id}/register", data=bad)
    assert "桌号须在 1 到 2 之间" in element_html(response.get_data(as_text=True), "field-staff")


def test_requests_round_trip_through_the_pages(app, client):
    with database(app):
        event = make_event()
        session = make_session(event, published=True, starts_at=utc(2030, 3, 12, 9))
        sme_user, need, _ = registered_sme(session)
        bank_user, product, _ = registered_bank(session)
    sign_in(client, sme_user.email)
    form = client.get(f"/events/requests/new?institution={bank_user.institution_id}&event={event.id}")
    assert "信息共享说明" in form.get_data(as_text=True)
    refused = client.post(f"/events/requests/new?institution={bank_user.institution_id}&event={event.id}",
                          data={"need_id": str(need.id), "product_id": str(product.id), "message": "你好"})
    assert "请勾选同意" in refused.get_data(as_text=True)
    sent = client.post(f"/events/requests/new?institution={bank_user.institution_id}&event={event.id}",
                       data={"need_id": str(need.id), "product_id": str(product.id), "message": "你好", "consent": "y"})
    assert sent.status_code == 302
    outbox = client.get("/events/requests").get_data(as_text=True)
    assert "答复期限" in outbox and "待回复" in outbox
    bank_client = app.test_client()
    sign_in(bank_client, bank_user.email)
    with database(app) as db_session:
        request_id = db_session.scalar(select(MeetingRequest.id))
    inbox = bank_client.get("/events/requests").get_data(as_text=True)
    assert "测试企业" in inbox  # the SME's request shared its name with this bank
    assert bank_client.post(f"/events/requests/{request_id}/accept", data={"note": "欢迎"}).status_code == 302
    with database(app) as db_session:
        assert db_session.get(MeetingRequest, request_id).status == RequestStatus.ACCEPTED
        meeting = db_session.scalar(select(Meeting))
        assert (meeting.slot, meeting.status) == (0, MeetingStatus.SCHEDULED)


def test_agenda_shows_shanghai_time_and_table_and_downloads_an_ics(app, client):
    with database(app):
        session = make_session(make_event(), published=True, starts_at=utc(2030, 3, 12, 9))
        sme_user, need, _ = registered_sme(session)
        bank_user, _, _ = registered_bank(session)
        meeting = make_meeting(session, sme_user, bank_user, need, slot=0)
    sign_in(client, sme_user.email)
    card = element_html(client.get("/events/agenda").get_data(as_text=True), f"meeting-{meeting.id}")
    assert "09:00–09:30" in card and "第 01 桌" in card and "已排期" in card
    ics = client.get("/events/agenda.ics")
    assert ics.status_code == 200 and ics.mimetype == "text/calendar"
    assert "attachment" in ics.headers["Content-Disposition"]
    event = Calendar.from_ical(ics.data).walk("VEVENT")[0]
    assert event.decoded("DTSTART").astimezone(UTC).hour == 1


def test_cancel_with_reason_from_the_agenda(app, client):
    with database(app):
        session = make_session(make_event(), published=True, starts_at=utc(2030, 3, 12, 9))
        sme_user, need, _ = registered_sme(session)
        bank_user, _, _ = registered_bank(session)
        meeting = make_meeting(session, sme_user, bank_user, need)
    sign_in(client, bank_user.email)
    client.post(f"/events/meetings/{meeting.id}/cancel", data={"reason": ""})
    assert _count(app, Meeting, status="cancelled") == 0
    assert client.post(f"/events/meetings/{meeting.id}/cancel", data={"reason": "客户经理出差"}).status_code == 302
    assert _count(app, Meeting, status="cancelled") == 1


def test_outcome_form_saves_and_edits(app, client):
    with database(app):
        session = make_session(make_event(), published=True, starts_at=utc(2024, 3, 12, 9))
        sme_user, need, _ = registered_sme(session)
        bank_user, _, _ = registered_bank(session)
        meeting = make_meeting(session, sme_user, bank_user, need)
    sign_in(client, bank_user.email)
    assert client.get(f"/events/meetings/{meeting.id}/outcome").status_code == 200
    data = {"held": "yes", "intent": "500", "agreed": "300", "funded": "", "note": "已授信"}
    assert client.post(f"/events/meetings/{meeting.id}/outcome", data=data).status_code == 302
    assert client.post(f"/events/meetings/{meeting.id}/outcome", data=dict(data, funded="100")).status_code == 302
    with database(app) as db_session:
        row = db_session.scalar(select(Outcome))
        amounts = (row.intent_amount_yuan, row.agreed_amount_yuan, row.funded_amount_yuan)
        assert amounts == (5_000_000, 3_000_000, 1_000_000)
    edit_page = client.get(f"/events/meetings/{meeting.id}/outcome").get_data(as_text=True)
    assert 'name="funded" type="text" value="100"' in edit_page or 'value="100"' in element_html(edit_page,
                                                                                                 "field-funded")
    refused = client.post(f"/events/meetings/{meeting.id}/outcome", data=dict(data, held="no"))
    assert "未会谈" in element_html(refused.get_data(as_text=True), "field-intent")
    assert _count(app, Outcome) == 1


def test_booking_page_lists_free_cells_and_books(app, client):
    with database(app):
        session = make_session(make_event(), published=True, starts_at=utc(2030, 3, 12, 9), slots=2)
        sme_user, need, _ = registered_sme(session)
        bank_user, _, _ = registered_bank(session)
    sign_in(client, sme_user.email)
    page = client.get(f"/events/sessions/{session.id}/book").get_data(as_text=True)
    assert "预约 09:00–09:30 第 01 桌" in page and "预约 09:30–10:00 第 01 桌" in page
    data = {"institution": str(bank_user.institution_id), "slot": "1", "table": "1"}
    assert client.post(f"/events/sessions/{session.id}/book", data=data).status_code == 302
    assert _count(app, Meeting, source="booking") == 1


def test_institution_sees_a_summary_until_consent_and_each_detail_view_is_logged(app, client):
    with database(app):
        session = make_session(make_event())
        sme_user, _, _ = registered_sme(session)
        bank_user, _, _ = registered_bank(session)
        stranger_bank = factories.institution_user()
        enterprise_name = sme_user.enterprise.name
    sign_in(client, bank_user.email)
    listing = client.get(f"/events/sessions/{session.id}/enterprises").get_data(as_text=True)
    assert enterprise_name not in listing and "未授权" in listing and "100–500万" not in listing
    assert "500–1000万" in listing and "杭州市" in listing
    detail = client.get(f"/events/enterprises/{sme_user.enterprise_id}").get_data(as_text=True)
    assert enterprise_name not in detail and "该企业尚未授权" in detail
    assert _count(app, AuditEvent, kind="details_viewed") == 0
    with database(app) as db_session:
        db_session.add(Consent(enterprise_id=sme_user.enterprise_id, institution_id=bank_user.institution_id,
                               text="同意", context="request"))
        db_session.commit()
    detail = client.get(f"/events/enterprises/{sme_user.enterprise_id}").get_data(as_text=True)
    assert enterprise_name in detail and "0571-55500000" in detail
    assert _count(app, AuditEvent, kind="details_viewed") == 1
    listing = client.get(f"/events/sessions/{session.id}/enterprises").get_data(as_text=True)
    assert enterprise_name in listing
    assert _count(app, AuditEvent, kind="details_viewed") == 2  # the list page shows the name: a view too
    other = app.test_client()
    sign_in(other, stranger_bank.email)
    assert other.get(f"/events/sessions/{session.id}/enterprises").status_code == 404


def test_sme_revokes_consent_on_its_page(app, client):
    with database(app) as db_session:
        sme_user = factories.sme()
        bank_user = factories.institution_user()
        db_session.add(Consent(enterprise_id=sme_user.enterprise_id, institution_id=bank_user.institution_id,
                               text="我同意提供信息", context="request"))
        db_session.commit()
        consent_id = db_session.scalar(select(Consent.id))
    sign_in(client, sme_user.email)
    page = client.get("/events/consents").get_data(as_text=True)
    assert "我同意提供信息" in page and "撤回授权" in page
    assert client.post(f"/events/consents/{consent_id}/revoke").status_code == 302
    with database(app) as db_session:
        assert db_session.get(Consent, consent_id).revoked_at is not None


def test_roles_and_strangers(app, client):
    with database(app):
        session = make_session(make_event())
        sme_user, _, _ = registered_sme(session)
        bank_user, _, _ = registered_bank(session)
        meeting = make_meeting(session, sme_user, bank_user)
        stranger = factories.sme()
    assert client.get("/events/agenda").status_code == 302  # to sign-in
    sign_in(client, stranger.email)
    assert client.get(f"/events/meetings/{meeting.id}/outcome").status_code == 404
    assert client.post(f"/events/meetings/{meeting.id}/cancel", data={"reason": "x"}).status_code == 404
    assert client.get(f"/events/enterprises/{sme_user.enterprise_id}").status_code == 403
    assert client.get(f"/events/sessions/{session.id}/enterprises").status_code == 403
    for path in ("/events/registrations", "/events/requests", "/events/agenda", "/events/consents"):
        assert client.get(path).status_code == 200, path


def test_a_deadline_in_a_year_without_the_official_calendar_says_it_is_an_estimate(app, client):
    with database(app) as db_session:
        sme_user = factories.sme()
        bank_user = factories.institution_user()
        db_session.add(MeetingRequest(enterprise_id=sme_user.enterprise_id, institution_id=bank_user.institution_id,
                                      direction="from_institution", respond_by=datetime(2027, 1, 4, 15, 59, 59)))
        db_session.commit()
    sign_in(client, sme_user.email)
    page = client.get("/events/requests").get_data(as_text=True)
    assert "2027-01-04 23:59" in page and "2027 年官方放假安排未收录，按周一至周五估算" in page
