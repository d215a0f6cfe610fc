"""The audit log: what is recorded, who reads which rows (admin all, organiser its region, SME the views of its
own details), filters and pages."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from accounts import audit
from accounts import services as accounts
from accounts.audit import AuditEvent, AuditKind
from accounts.models import User
from core.clock import utc_of_shanghai, utcnow
from market.models import Institution
from tests.conftest import sign_in
from tests.events.test_permissions import build_world
from tests.support import factories
from tests.support.database import database


def text(response) -> str:
    return response.get_data(as_text=True)


def events(app, **where) -> list[AuditEvent]:
    with database(app) as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEvent, name) == value)
        return list(session.scalars(query))


def test_a_failed_sign_in_keeps_the_address_tried_and_the_client(app):
    client = app.test_client()
    client.post("/account/sign-in", data={"email": "Someone@Example.com", "password": "guess"},
                environ_base={"REMOTE_ADDR": "203.0.113.9"}, headers={"User-Agent": "curl/8.0"})
    [failed] = events(app, kind="sign_in_failed")
    assert (failed.email, failed.client_address, failed.user_agent, failed.detail) == \
        ("someone@example.com", "203.0.113.9", "curl/8.0", "unknown address")


def test_sign_in_and_sign_out_are_recorded(app):
    with database(app):
        user = factories.sme()
    client = app.test_client()
    sign_in(client, user.email)
    client.post("/account/sign-out")
    assert [e.kind for e in events(app, subject_user_id=user.id)] == ["sign_up", "sign_in", "sign_out"]


def test_status_changes_and_institution_reviews_are_recorded(app):
    with database(app) as session:
        admin = factories.admin()
        sme = factories.sme()
        pending = factories.institution_user(status="pending", region_codes=["330106"])
        accounts.set_enabled(session.get(User, admin.id), session.get(User, sme.id), False)
        session.commit()
    client = app.test_client()
    sign_in(client, admin.email)
    client.post(f"/institutions/{pending.institution_id}/review", data={"decision": "reject", "note": "材料不全"})
    [disabled] = events(app, kind="status_changed")
    assert (disabled.actor_user_id, disabled.subject_user_id, disabled.detail) == (admin.id, sme.id, "disabled")
    [review] = events(app, kind="institution_reviewed")
    assert (review.institution_id, review.region_code, review.detail) == \
        (pending.institution_id, "330106", "rejected: 材料不全")


def test_exports_are_recorded(app):
    with database(app):
        ids, emails = build_world()
    client = app.test_client()
    sign_in(client, emails["organiser"])
    assert client.get(f"/reports/export/schedule.xlsx?event={ids['event']}").status_code == 200
    [export] = events(app, kind="export_downloaded")
    assert export.detail == f"/reports/export/schedule.xlsx?event={ids['event']}" and export.region_code == "330100"


def test_institution_list_pages_record_a_view_per_consented_sme(app):
    with database(app):
        ids, emails = build_world()  # the SME consented to "institution" and has a meeting and a request with it
    client = app.test_client()
    sign_in(client, emails["institution"])
    for path in ("/events/agenda", "/events/requests", "/events/agenda.ics",
                 f"/events/sessions/{ids['session']}/enterprises", f"/events/enterprises/{ids['enterprise']}",
                 f"/events/meetings/{ids['meeting']}/outcome"):
        assert client.get(path).status_code == 200, path
    views = events(app, kind="details_viewed")
    assert {(view.enterprise_id, view.detail) for view in views} == {
        (ids["enterprise"], path) for path in ("/events/agenda", "/events/requests", "/events/agenda.ics",
                                               f"/events/sessions/{ids['session']}/enterprises",
                                               f"/events/enterprises/{ids['enterprise']}",
                                               f"/events/meetings/{ids['meeting']}/outcome")}
    # another institution, without consent, is shown nothing and so logs nothing
    other = app.test_client()
    sign_in(other, emails["other institution"])
    other.get(f"/events/enterprises/{ids['enterprise']}")
    assert len(events(app, kind="details_viewed")) == len(views)


@pytest.fixture
def regions_world(app):
    """Sign-ins in Hangzhou and in Ningbo, a detail view of the Hangzhou SME, and the readers."""
    with database(app):
        hangzhou_sme = factories.sme(region_code="330106")
        ningbo_sme = factories.sme(region_code="330200")
        bank = factories.institution_user()
        readers = {"admin": factories.admin(), "hangzhou": factories.organiser("330100"),
                   "ningbo": factories.organiser("330200"), "sme": hangzhou_sme, "other sme": ningbo_sme,
                   "institution": bank}
        hangzhou_enterprise = hangzhou_sme.enterprise_id
    for user in (hangzhou_sme, ningbo_sme):
        sign_in(app.test_client(), user.email)
    with database(app) as session:
        viewer = session.get(User, bank.id)
        audit.record_detail_views(viewer, [session.get(User, hangzhou_sme.id).enterprise], "/events/enterprises/1")
        session.commit()
    return readers, hangzhou_sme, ningbo_sme, hangzhou_enterprise


def test_who_reads_which_rows(app, regions_world):
    readers, hangzhou_sme, ningbo_sme, hangzhou_enterprise = regions_world

    def seen_by(role):
        with database(app) as session:
            found, _more = audit.events_for(session.get(User, readers[role].id), audit.AuditFilter())
            return {(event.kind, event.subject_user_id or event.enterprise_id) for event in found}

    everything = seen_by("admin")
    assert ("sign_in", hangzhou_sme.id) in everything and ("sign_in", ningbo_sme.id) in everything
    assert seen_by("hangzhou") >= {("sign_in", hangzhou_sme.id), ("details_viewed", hangzhou_enterprise)}
    assert ("sign_in", ningbo_sme.id) not in seen_by("hangzhou")
    assert ("sign_in", hangzhou_sme.id) not in seen_by("ningbo") and ("sign_in", ningbo_sme.id) in seen_by("ningbo")
    assert seen_by("sme") == {("details_viewed", hangzhou_enterprise)}
    assert seen_by("other sme") == set()
    assert seen_by("institution") == set()


def test_the_log_pages(app, regions_world):
    readers, hangzhou_sme, ningbo_sme, _ = regions_world
    organiser = app.test_client()
    sign_in(organiser, readers["hangzhou"].email)
    html = text(organiser.get("/account/audit"))
    assert hangzhou_sme.email in html and ningbo_sme.email not in html
    sme = app.test_client()
    sign_in(sme, hangzhou_sme.email)
    html = text(sme.get("/account/audit"))
    assert "/events/enterprises/1" in html and "登录" not in html.split("<tbody>")[1]
    institution = app.test_client()
    sign_in(institution, readers["institution"].email)
    assert institution.get("/account/audit").status_code == 403


def test_filters_and_pages(app):
    with database(app) as session:
        admin = factories.admin()
        day = (utcnow() + timedelta(hours=8)).date() - timedelta(days=3)  # a Beijing day three days ago
        start = utc_of_shanghai(day) + timedelta(hours=2)             # 02:00 that day in Beijing
        session.add_all([AuditEvent(kind=AuditKind.SIGN_IN_FAILED.value, occurred_at=start + timedelta(minutes=n),
                                    email=f"tried{n}@example.com", client_address="198.51.100.1", user_agent="",
                                    detail="unknown address") for n in range(60)])
        session.commit()
    client = app.test_client()
    sign_in(client, admin.email)
    first = text(client.get("/account/audit?kind=sign_in_failed"))
    assert first.count("@example.com</td>") == 50 and "tried59@example.com" in first and "page=2" in first
    second = text(client.get("/account/audit?kind=sign_in_failed&page=2"))
    assert "tried0@example.com" in second and "tried59@example.com" not in second and "page=3" not in second
    narrowed = text(client.get("/account/audit?email=tried4"))
    assert narrowed.count("@example.com</td>") == 11  # tried4 and tried40–49
    that_day = text(client.get(f"/account/audit?since={day}&until={day}&kind=sign_in_failed"))
    assert that_day.count("@example.com</td>") == 50 and "page=2" in that_day
    assert "tried" not in text(client.get(f"/account/audit?until={day - timedelta(days=1)}"))
    assert "tried" not in text(client.get(f"/account/audit?since={day + timedelta(days=1)}&kind=sign_in_failed"))
    bad = client.get("/account/audit?since=2026-02-30&page=abc")
    assert bad.status_code == 200


def test_rows_are_written_with_the_action_not_without_it(app):
    """A refused sign-up writes no SIGN_UP row; a successful one writes exactly one."""
    from tests.market.test_pages import sme_sign_up_data
    client = app.test_client()
    client.post("/account/sign-up/enterprise", data=sme_sign_up_data(credit_code="123"))
    assert events(app, kind="sign_up") == []
    client.post("/account/sign-up/enterprise", data=sme_sign_up_data())
    with database(app) as session:
        assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.kind == "sign_up")) == 1
        assert session.scalar(select(func.count(Institution.id))) == 0
