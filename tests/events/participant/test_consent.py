"""Consent: anonymised summaries until the SME agrees, per institution, revocable; every detail view logged."""
import pytest
from sqlalchemy import func, select

from accounts.audit import AuditEvent
from core.extensions import db
from events.models import Consent, EventSession, Meeting
from events.services import consent
from market.models import Enterprise, Institution
from tests.support import factories
from tests.support.participation import (
    actor,
    make_event,
    make_meeting,
    make_session,
    registered_bank,
    registered_sme,
    utc,
)


@pytest.mark.parametrize(("yuan", "band"), [
    (500_000, "100万以下"), (1_000_000, "100–500万"), (4_999_999, "100–500万"), (5_000_000, "500–1000万"),
    (20_000_000, "1000–5000万"), (60_000_000, "5000万–1亿"), (300_000_000, "1亿以上"),
])
def test_amount_bands(db_session, yuan, band):
    assert consent.amount_band(yuan) == band


def test_summary_shows_chain_city_type_and_band_only(db_session):
    user = factories.sme(region_code="330106")
    factories.need(user, type="loan", amount_yuan=3_000_000)
    enterprise = db.session.get(Enterprise, user.enterprise_id)
    summary = consent.anonymised_summary(enterprise)
    assert (summary.city, summary.needs) == ("杭州市", [("信贷", "100–500万")])
    assert summary.chain and summary.reference == f"#{enterprise.id:05d}"
    assert enterprise.name not in repr(summary) and enterprise.credit_code not in repr(summary)


def test_details_only_with_consent_and_every_view_is_logged(db_session):
    user = factories.sme()
    bank, other_bank = factories.institution_user(), factories.institution_user()
    enterprise = db.session.get(Enterprise, user.enterprise_id)
    assert consent.enterprise_view_for(actor(bank), enterprise, "/x") is False
    consent.grant_consent(enterprise.id, bank.institution_id, "同意", "request", user.id)
    assert consent.enterprise_view_for(actor(bank), enterprise, "/events/enterprises/1") is True
    assert consent.enterprise_view_for(actor(bank), enterprise, "/events/enterprises/1") is True
    assert consent.enterprise_view_for(actor(other_bank), enterprise, "/x") is False  # that institution alone
    logs = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "details_viewed")).all()
    assert [(log.institution_id, log.actor_user_id, log.enterprise_id) for log in logs] == \
        [(bank.institution_id, bank.id, enterprise.id)] * 2
    assert [log.institution_id for log in consent.detail_views_of(actor(user))] == [bank.institution_id] * 2


def test_revocation_hides_the_details_again_and_a_new_request_grants_anew(db_session):
    user = factories.sme()
    bank = factories.institution_user()
    granted = consent.grant_consent(user.enterprise_id, bank.institution_id, "同意", "request")
    assert consent.grant_consent(user.enterprise_id, bank.institution_id, "同意", "request").id == granted.id
    consent.revoke_consent(actor(user), granted)
    assert not consent.has_active_consent(user.enterprise_id, bank.institution_id)
    again = consent.grant_consent(user.enterprise_id, bank.institution_id, "再次同意", "acceptance")
    assert again.id != granted.id
    assert db.session.scalar(select(func.count(Consent.id))) == 2


def test_only_the_sme_revokes_its_own_consent(db_session):
    from core.errors import NotFound
    user, stranger = factories.sme(), factories.sme()
    bank = factories.institution_user()
    granted = consent.grant_consent(user.enterprise_id, bank.institution_id, "同意", "request")
    with pytest.raises(NotFound):
        consent.revoke_consent(actor(stranger), granted)


def test_registration_consent_reaches_only_institutions_with_a_scheduled_meeting(db_session):
    session = make_session(make_event(), published=True, starts_at=utc(2030, 3, 12, 9))
    sme_user, need, _ = registered_sme(session, consent_text="报名时同意的文字")
    met_bank, _, _ = registered_bank(session)
    other_bank, _, _ = registered_bank(session)
    make_meeting(session, sme_user, met_bank, need)
    assert consent.share_details_for_session(db.session.get(EventSession, session.id)) == 1
    row = db.session.scalar(select(Consent))
    assert (row.institution_id, row.context, row.text) == (met_bank.institution_id, "registration", "报名时同意的文字")
    assert not consent.has_active_consent(sme_user.enterprise_id, other_bank.institution_id)


def test_a_revocation_after_registering_is_not_undone_by_publication(db_session):
    session = make_session(make_event(), published=True, starts_at=utc(2030, 3, 12, 9))
    sme_user, need, _ = registered_sme(session)
    bank_user, _, _ = registered_bank(session)
    meeting = make_meeting(session, sme_user, bank_user, need)
    granted = consent.share_registration_details(meeting)
    consent.revoke_consent(actor(sme_user), granted)
    assert consent.share_registration_details(db.session.get(Meeting, meeting.id)) is None
    assert not consent.has_active_consent(sme_user.enterprise_id, bank_user.institution_id)


def test_consents_page_list_active_first(db_session):
    user = factories.sme()
    first, second = factories.institution_user(), factories.institution_user()
    old = consent.grant_consent(user.enterprise_id, first.institution_id, "同意", "request")
    consent.grant_consent(user.enterprise_id, second.institution_id, "同意", "request")
    consent.revoke_consent(actor(user), old)
    rows = consent.consents_of(actor(user))
    assert [institution.id for _, institution in rows] == [second.institution_id, first.institution_id]
    assert isinstance(rows[0][1], Institution)
