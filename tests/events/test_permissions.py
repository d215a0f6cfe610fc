"""Who gets into which page: every route of the organiser's desk, the participants' pages and the report,
for each of eight roles. The routes are read from `app.url_map`, so a new route without a row here fails.

One world per role (the POSTs of allowed roles may change it): a Hangzhou event with a published credit
session, the SME "sme" and the institution "institution" registered, a meeting between them, a request from
the SME to the institution and a consent; "other sme" and "other institution" have nothing to do with them;
"organiser elsewhere" works for Ningbo.
"""
from datetime import date, datetime

import pytest
from sqlalchemy import select

from core.extensions import db
from events.models import Consent, Event, EventSession, MeetingRequest, Registration, YearPlanEntry
from market.models import Chain, FinancingNeed, Product
from tests.conftest import DEMO_PASSWORD
from tests.support import factories

ROLES = ("anonymous", "sme", "other sme", "institution", "other institution", "organiser elsewhere", "organiser",
         "admin")
BLUEPRINTS = ("organiser", "events", "reports")

OK, REDIRECT, LOGIN, FORBIDDEN, NOT_FOUND = "200", "redirect", "sign-in", "403", "404"
IN = "in"  # reached the view: 200, a redirect other than to sign-in, or a refusal of the (empty) form


def row(anonymous, sme, other_sme, institution, other_institution, elsewhere, organiser, admin) -> dict:
    return dict(zip(ROLES, (anonymous, sme, other_sme, institution, other_institution, elsewhere, organiser, admin)))


def organisers_only(elsewhere, organiser, admin) -> dict:
    return row(LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, elsewhere, organiser, admin)


def parties_only(sme, other_sme, institution, other_institution) -> dict:
    return row(LOGIN, sme, other_sme, institution, other_institution, FORBIDDEN, FORBIDDEN, FORBIDDEN)


EVERYONE = row(OK, OK, OK, OK, OK, OK, OK, OK)
OWN_EVENT_PAGE = organisers_only(NOT_FOUND, OK, OK)
OWN_EVENT_ACTION = organisers_only(NOT_FOUND, IN, IN)
SME_ONLY = row(LOGIN, OK, OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN)

# (endpoint, method) → (path template, expected per role). Placeholders are the world's ids.
EXPECTED = {
    # ---- the organiser's desk
    ("organiser.index", "GET"): ("/organiser/", organisers_only(REDIRECT, REDIRECT, REDIRECT)),
    ("organiser.plan", "GET"): ("/organiser/plan", organisers_only(OK, OK, OK)),
    ("organiser.new_plan_entry", "GET"): ("/organiser/plan/new", organisers_only(OK, OK, OK)),
    ("organiser.new_plan_entry", "POST"): ("/organiser/plan/new", organisers_only(IN, IN, IN)),
    ("organiser.edit_plan_entry", "GET"): ("/organiser/plan/{entry}/edit", OWN_EVENT_PAGE),
    ("organiser.edit_plan_entry", "POST"): ("/organiser/plan/{entry}/edit", OWN_EVENT_ACTION),
    ("organiser.events", "GET"): ("/organiser/events", organisers_only(OK, OK, OK)),
    ("organiser.new_event", "GET"): ("/organiser/events/new", organisers_only(OK, OK, OK)),
    ("organiser.new_event", "POST"): ("/organiser/events/new", organisers_only(IN, IN, IN)),
    ("organiser.event_detail", "GET"): ("/organiser/events/{event}", OWN_EVENT_PAGE),
    ("organiser.edit_event", "GET"): ("/organiser/events/{event}/edit", OWN_EVENT_PAGE),
    ("organiser.edit_event", "POST"): ("/organiser/events/{event}/edit", OWN_EVENT_ACTION),
    ("organiser.change_status", "POST"): ("/organiser/events/{event}/status", OWN_EVENT_ACTION),
    ("organiser.mark_ready", "POST"): ("/organiser/events/{event}/ready", OWN_EVENT_ACTION),
    ("organiser.unmark_ready", "POST"): ("/organiser/events/{event}/unready", OWN_EVENT_ACTION),
    ("organiser.new_session", "GET"): ("/organiser/events/{event}/sessions/new", OWN_EVENT_PAGE),
    ("organiser.new_session", "POST"): ("/organiser/events/{event}/sessions/new", OWN_EVENT_ACTION),
    ("organiser.edit_session", "GET"): ("/organiser/sessions/{session}/edit", OWN_EVENT_PAGE),
    ("organiser.edit_session", "POST"): ("/organiser/sessions/{session}/edit", OWN_EVENT_ACTION),
    ("organiser.session_registrations", "GET"): ("/organiser/sessions/{session}/registrations", OWN_EVENT_PAGE),
    ("organiser.decide_registration", "POST"): ("/organiser/registrations/{registration}/decision",
                                                OWN_EVENT_ACTION),
    ("organiser.matching", "GET"): ("/organiser/sessions/{session}/matching", OWN_EVENT_PAGE),
    ("organiser.run_matching", "POST"): ("/organiser/sessions/{session}/matching/run", OWN_EVENT_ACTION),
    ("organiser.move_meeting", "POST"): ("/organiser/meetings/{meeting}/move", OWN_EVENT_ACTION),
    ("organiser.cancel_meeting", "POST"): ("/organiser/meetings/{meeting}/cancel", OWN_EVENT_ACTION),
    ("organiser.add_meeting", "POST"): ("/organiser/sessions/{session}/meetings", OWN_EVENT_ACTION),
    ("organiser.publish", "POST"): ("/organiser/sessions/{session}/publish", OWN_EVENT_ACTION),
    ("organiser.table_plan", "GET"): ("/organiser/sessions/{session}/table-plan", OWN_EVENT_PAGE),
    # ---- the participants' pages
    ("events.index", "GET"): ("/events/", EVERYONE),
    ("events.event_detail", "GET"): ("/events/{event}", EVERYONE),
    ("events.register", "GET"): ("/events/sessions/{session}/register", parties_only(REDIRECT, OK, REDIRECT, OK)),
    ("events.register", "POST"): ("/events/sessions/{session}/register", parties_only(IN, IN, IN, IN)),
    ("events.my_registrations", "GET"): ("/events/registrations", parties_only(OK, OK, OK, OK)),
    ("events.cancel_registration", "POST"): ("/events/registrations/{registration}/cancel",
                                             parties_only(IN, NOT_FOUND, NOT_FOUND, NOT_FOUND)),
    ("events.requests", "GET"): ("/events/requests", parties_only(OK, OK, OK, OK)),
    ("events.new_request", "GET"): ("/events/requests/new?event={event}&institution={institution}"
                                    "&enterprise={enterprise}", parties_only(OK, OK, OK, OK)),
    ("events.new_request", "POST"): ("/events/requests/new?event={event}&institution={institution}"
                                     "&enterprise={enterprise}", parties_only(IN, IN, IN, IN)),
    ("events.accept_request", "POST"): ("/events/requests/{request}/accept",
                                        parties_only(NOT_FOUND, NOT_FOUND, IN, NOT_FOUND)),
    ("events.decline_request", "POST"): ("/events/requests/{request}/decline",
                                         parties_only(NOT_FOUND, NOT_FOUND, IN, NOT_FOUND)),
    ("events.withdraw_request", "POST"): ("/events/requests/{request}/withdraw",
                                          parties_only(IN, NOT_FOUND, NOT_FOUND, NOT_FOUND)),
    ("events.agenda", "GET"): ("/events/agenda", parties_only(OK, OK, OK, OK)),
    ("events.agenda_ics", "GET"): ("/events/agenda.ics", parties_only(OK, OK, OK, OK)),
    ("events.cancel_meeting", "POST"): ("/events/meetings/{meeting}/cancel",
                                        parties_only(IN, NOT_FOUND, IN, NOT_FOUND)),
    ("events.check_in", "POST"): ("/events/meetings/{meeting}/check-in",
                                  row(LOGIN, FORBIDDEN, FORBIDDEN, IN, NOT_FOUND, NOT_FOUND, IN, IN)),
    ("events.record_outcome", "GET"): ("/events/meetings/{meeting}/outcome",
                                       parties_only(OK, NOT_FOUND, OK, NOT_FOUND)),
    ("events.record_outcome", "POST"): ("/events/meetings/{meeting}/outcome",
                                        parties_only(IN, NOT_FOUND, IN, NOT_FOUND)),
    ("events.book", "GET"): ("/events/sessions/{session}/book", SME_ONLY),
    ("events.book", "POST"): ("/events/sessions/{session}/book",
                              row(LOGIN, IN, IN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN)),
    ("events.session_enterprises", "GET"): ("/events/sessions/{session}/enterprises",
                                            parties_only(FORBIDDEN, FORBIDDEN, OK, NOT_FOUND)),
    # any institution may look an SME up once it has signed up for a session (details stay anonymised)
    ("events.enterprise_detail", "GET"): ("/events/enterprises/{enterprise}",
                                          parties_only(FORBIDDEN, FORBIDDEN, OK, OK)),
    ("events.consents", "GET"): ("/events/consents", SME_ONLY),
    ("events.revoke_consent", "POST"): ("/events/consents/{consent}/revoke",
                                        row(LOGIN, IN, NOT_FOUND, FORBIDDEN, FORBIDDEN, FORBIDDEN, FORBIDDEN,
                                            FORBIDDEN)),
    # ---- the report
    ("reports.dashboard", "GET"): ("/reports/", organisers_only(OK, OK, OK)),
    ("reports.export_registrations", "GET"): ("/reports/export/registrations.xlsx?event={event}", OWN_EVENT_PAGE),
    ("reports.export_schedule", "GET"): ("/reports/export/schedule.xlsx?event={event}", OWN_EVENT_PAGE),
    ("reports.export_outcomes", "GET"): ("/reports/export/outcomes.xlsx?event={event}", OWN_EVENT_PAGE),
    ("reports.event_summary", "GET"): ("/reports/events/{event}/summary", OWN_EVENT_PAGE),
}




def test_every_route_has_an_expectation(app):
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
              if rule.endpoint.split(".")[0] in BLUEPRINTS for method in rule.methods - {"HEAD", "OPTIONS"}}
    missing = sorted(routes - set(EXPECTED))
    stale = sorted(set(EXPECTED) - routes)
    assert not missing, f"routes without a row in the permission table: {missing}"
    assert not stale, f"rows for routes that no longer exist: {stale}"


def build_world() -> tuple[dict, dict]:
    """Returns ({placeholder: id}, {role: email})."""
    organiser = factories.organiser("330100")
    elsewhere = factories.organiser("330200")
    admin = factories.admin()
    sme, other_sme = factories.sme(), factories.sme()
    institution, other_institution = factories.institution_user(), factories.institution_user()
    need = factories.need(sme)
    product = factories.product(institution)
    factories.product(other_institution)
    ai = db.session.scalar(select(Chain).where(Chain.code == "ai"))
    entry = YearPlanEntry(organiser_office_id=organiser.organiser_office_id, year=2026, month=3, chain_id=ai.id,
                          host_region_code="330100")
    event = Event(organiser_office_id=organiser.organiser_office_id, title="2026年3月 · 人工智能产业链 · 杭州",
                  chain_id=ai.id, host_region_code="330100", starts_on=date(2026, 3, 1), ends_on=date(2026, 3, 31),
                  registration_opens_at=datetime(2026, 2, 20), registration_closes_at=datetime(2026, 3, 5),
                  status="published", plan_entry=entry)
    session = EventSession(event=event, kind="credit_matching", mode="offline", title="信贷融资对接会",
                           starts_at=datetime(2026, 3, 16, 1), ends_at=datetime(2026, 3, 16, 4), slot_minutes=20,
                           tables=4, venue="杭州国际博览中心", published_at=datetime(2026, 3, 11),
                           matched_at=datetime(2026, 3, 10))
    db.session.add_all([entry, event, session])
    db.session.flush()
    sme_registration = Registration(session_id=session.id, enterprise_id=sme.enterprise_id, status="approved",
                                    consent_text="同意")
    sme_registration.needs = [db.session.get(FinancingNeed, need.id)]
    institution_registration = Registration(session_id=session.id, institution_id=institution.institution_id,
                                            status="approved", tables=1)
    institution_registration.products = [db.session.get(Product, product.id)]
    meeting = factories.unsaved_meeting(session, 0, 1, enterprise_id=sme.enterprise_id,
                                        institution_id=institution.institution_id, need_id=need.id,
                                        product_id=product.id, status="scheduled", score=800)
    request = MeetingRequest(event_id=event.id, enterprise_id=sme.enterprise_id,
                             institution_id=institution.institution_id, need_id=need.id, direction="from_enterprise",
                             status="requested", respond_by=datetime(2099, 1, 1))
    consent = Consent(enterprise_id=sme.enterprise_id, institution_id=institution.institution_id, text="同意",
                      context="request")
    db.session.add_all([sme_registration, institution_registration, meeting, request, consent])
    db.session.commit()
    ids = {"entry": entry.id, "event": event.id, "session": session.id, "registration": sme_registration.id,
           "meeting": meeting.id, "request": request.id, "consent": consent.id, "enterprise": sme.enterprise_id,
           "institution": institution.institution_id}
    emails = {"sme": sme.email, "other sme": other_sme.email, "institution": institution.email,
              "other institution": other_institution.email, "organiser elsewhere": elsewhere.email,
              "organiser": organiser.email, "admin": admin.email}
    return ids, emails


def outcome_of(response) -> str:
    status = response.status_code
    if status in (301, 302, 303):
        return LOGIN if "/account/sign-in" in response.headers.get("Location", "") else REDIRECT
    return str(status)


def matches(expected: str, got: str) -> bool:
    if expected == IN:
        return got in (OK, REDIRECT, "400", "409", "422")
    return expected == got


def signed_in_as(app, email: str | None):
    """A test client signed in as `email` (anonymous for None)."""
    client = app.test_client()
    if email is not None:
        signed_in = client.post("/account/sign-in", data={"email": email, "password": DEMO_PASSWORD})
        assert signed_in.status_code == 302, email
    return client


def check_table(client, expected_table: dict, ids: dict, role: str) -> None:
    """Open every route of `expected_table` as `role` and fail listing each outcome that differs."""
    wrong = []
    # GETs first: the POSTs of allowed roles change the world (a cancelled registration, a withdrawn request)
    for (endpoint, method), (template, expected_by_role) in sorted(expected_table.items(),
                                                                  key=lambda item: (item[0][1] != "GET", item[0])):
        path = template.format(**ids)
        response = client.get(path) if method == "GET" else client.post(path, data={})
        got, expected = outcome_of(response), expected_by_role[role]
        if not matches(expected, got):
            wrong.append(f"{method} {path} ({endpoint}): expected {expected}, got {got}")
    assert not wrong, f"{role}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("role", ROLES)
def test_permission_table(app, role):
    with app.app_context():
        ids, emails = build_world()
    check_table(signed_in_as(app, None if role == "anonymous" else emails[role]), EXPECTED, ids, role)
