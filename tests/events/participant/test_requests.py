"""Meeting requests: deadlines in working days, answers, fixed meetings, expiry."""
from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from core.errors import FieldError, NotFound
from core.extensions import db
from events.enums import LeadSource, MeetingSource, MeetingStatus, RequestStatus
from events.models import Consent, Meeting, MeetingRequest
from events.services import requests as req
from events.workdays import add_working_days
from market.models import Enterprise, Institution
from notifications.models import Notification
from tests.support import factories
from tests.support.participation import (
    actor,
    fresh,
    make_event,
    make_meeting,
    make_session,
    registered_bank,
    registered_sme,
    utc,
)


def _count(model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def test_sme_request_carries_the_products_promise_and_shares_details_with_that_institution(db_session):
    event = make_event()
    sme_user = factories.sme()
    need = factories.need(sme_user)
    bank = factories.institution_user()
    product = factories.product(bank, response_working_days=3)
    other_bank = factories.institution_user()
    with time_machine.travel(utc(2024, 9, 27, 10), tick=False):  # Fri before 国庆 2024
        request = req.request_meeting(actor(sme_user), event, db.session.get(Institution, bank.institution_id),
                                      need.id, product.id, "想了解科技贷", consent_text="我同意提供信息", consented=True)
    db.session.commit()
    # 3 working days after Fri 9/27: Sun 9/29 (make-up), Mon 9/30, Tue 10/8.
    assert request.respond_by == utc(2024, 10, 8, 23, 59) + timedelta(seconds=59)
    assert request.direction == "from_enterprise" and request.status == RequestStatus.REQUESTED
    consent = db.session.scalar(select(Consent))
    assert (consent.institution_id, consent.context, consent.text) == (bank.institution_id, "request", "我同意提供信息")
    assert _count(Consent, institution_id=other_bank.institution_id) == 0
    assert _count(Notification, kind="request_received") == 1


def test_without_a_product_the_institutions_smallest_promise_counts(db_session):
    sme_user = factories.sme()
    bank = factories.institution_user()
    factories.product(bank, response_working_days=7)
    factories.product(bank, response_working_days=2)
    with time_machine.travel(utc(2025, 1, 24, 10), tick=False):  # Fri before 春节 2025
        request = req.request_meeting(actor(sme_user), make_event(), db.session.get(Institution, bank.institution_id),
                                      consent_text="同意", consented=True)
    # 2 working days after Fri 1/24: Sun 1/26 (make-up), Mon 1/27.
    expected = utc(2025, 1, 27, 23, 59) + timedelta(seconds=59)
    assert request.respond_by == add_working_days(utc(2025, 1, 24, 10), 2) == expected


def test_default_promise_is_five_working_days(db_session):
    factories.sme()
    bank = factories.institution_user()
    assert req.response_working_days(bank.institution_id) == 5


def test_sme_must_consent_to_request(db_session):
    sme_user = factories.sme()
    bank = factories.institution_user()
    with pytest.raises(FieldError) as refused:
        req.request_meeting(actor(sme_user), make_event(), db.session.get(Institution, bank.institution_id))
    assert refused.value.field == "consent"
    assert _count(MeetingRequest) == 0


def test_a_second_request_for_the_same_pair_returns_the_open_one(db_session):
    event = make_event()
    sme_user = factories.sme()
    bank = factories.institution_user()
    institution = db.session.get(Institution, bank.institution_id)
    first = req.request_meeting(actor(sme_user), event, institution, consent_text="同意", consented=True)
    second = req.request_meeting(actor(sme_user), event, institution, consent_text="同意", consented=True)
    db.session.commit()
    assert first.id == second.id and _count(MeetingRequest) == 1


def test_lead_fields_are_kept(db_session):
    event = make_event()
    stream = make_session(event, kind="livestream", types=(), title="科技金融直播")
    sme_user = factories.sme()
    bank = factories.institution_user()
    request = req.request_meeting(actor(sme_user), event, db.session.get(Institution, bank.institution_id),
                                  lead_source=LeadSource.STREAM.value, lead_session_id=stream.id, consent_text="同意",
                                  consented=True)
    assert (request.lead_source, request.lead_session_id) == ("stream", stream.id)


def test_others_needs_and_products_are_not_found(db_session):
    sme_user, other = factories.sme(), factories.sme()
    their_need = factories.need(other)
    bank, other_bank = factories.institution_user(), factories.institution_user()
    other_product = factories.product(other_bank)
    institution = db.session.get(Institution, bank.institution_id)
    with pytest.raises(NotFound):
        req.request_meeting(actor(sme_user), None, institution, their_need.id, consent_text="同意", consented=True)
    with pytest.raises(NotFound):
        req.request_meeting(actor(sme_user), None, institution, None, other_product.id, consent_text="同意",
                            consented=True)


def test_accepting_places_a_fixed_meeting_in_the_first_common_free_slot(db_session):
    event = make_event()
    session = make_session(event, published=True, slots=4)
    sme_user, need, _ = registered_sme(session)
    bank_user, product, _ = registered_bank(session, unavailable=[0])
    other_sme, _, _ = registered_sme(session)
    make_meeting(session, other_sme, bank_user, slot=1)  # the bank's slot 1 is taken
    request = req.request_meeting(actor(bank_user), event, db.session.get(Enterprise, sme_user.enterprise_id),
                                  need.id, product.id, "欢迎来洽谈")
    db.session.commit()
    meeting = req.accept_request(actor(sme_user), db.session.get(MeetingRequest, request.id), "好的",
                                 consent_text="我同意", consented=True)
    db.session.commit()
    assert (meeting.slot, meeting.table_number) == (2, 1)
    assert meeting.source == MeetingSource.REQUEST and meeting.request_id == request.id
    assert meeting.status == MeetingStatus.SCHEDULED
    assert fresh(MeetingRequest, request).status == RequestStatus.ACCEPTED
    assert db.session.scalar(select(Consent.context)) == "acceptance"
    assert _count(Notification, kind="request_accepted") == 1


def test_accepted_with_no_free_slot_stays_accepted_without_a_meeting(db_session):
    event = make_event()
    session = make_session(event, slots=1)
    sme_user, need, _ = registered_sme(session)
    bank_user, product, _ = registered_bank(session)
    other_sme, _, _ = registered_sme(session)
    make_meeting(session, other_sme, bank_user, slot=0, status=MeetingStatus.PROPOSED)
    request = req.request_meeting(actor(sme_user), event, db.session.get(Institution, bank_user.institution_id),
                                  need.id, consent_text="同意", consented=True)
    assert req.accept_request(actor(bank_user), request) is None
    db.session.commit()
    assert fresh(MeetingRequest, request).status == RequestStatus.ACCEPTED
    assert _count(Meeting, enterprise_id=sme_user.enterprise_id) == 0
    assert [r.id for r in db.session.scalars(req.accepted_unplaced_query())] == [request.id]


def test_an_sme_shares_its_details_only_with_its_tick(db_session):
    """Asking and accepting both need the SME's consent checkbox, passed to the service; the words alone are not."""
    event = make_event()
    sme_user = factories.sme()
    bank = factories.institution_user()
    with pytest.raises(FieldError) as refused:
        req.request_meeting(actor(sme_user), event, db.session.get(Institution, bank.institution_id),
                            consent_text="同意")
    assert refused.value.field == "consent" and _count(MeetingRequest) == 0
    request = req.request_meeting(actor(bank), event, db.session.get(Enterprise, sme_user.enterprise_id))
    with pytest.raises(FieldError) as refused:
        req.accept_request(actor(sme_user), request, consent_text="同意")
    assert refused.value.field == "consent" and _count(Consent) == 0
    req.accept_request(actor(sme_user), request, consent_text="同意", consented=True)
    assert fresh(MeetingRequest, request).status == RequestStatus.ACCEPTED and _count(Consent) == 1


def test_only_the_other_side_answers_and_only_once(db_session):
    event = make_event()
    sme_user = factories.sme()
    bank = factories.institution_user()
    request = req.request_meeting(actor(sme_user), event, db.session.get(Institution, bank.institution_id),
                                  consent_text="同意", consented=True)
    with pytest.raises(NotFound):
        req.accept_request(actor(sme_user), request, consent_text="同意", consented=True)
    req.decline_request(actor(bank), request, "本月额度已满")
    with pytest.raises(FieldError, match="已婉拒"):
        req.accept_request(actor(bank), request)
    assert _count(Notification, kind="request_declined") == 1


def test_sme_accepting_must_consent(db_session):
    sme_user = factories.sme()
    bank = factories.institution_user()
    request = req.request_meeting(actor(bank), None, db.session.get(Enterprise, sme_user.enterprise_id))
    with pytest.raises(FieldError) as refused:
        req.accept_request(actor(sme_user), request)
    assert refused.value.field == "consent"


def test_withdraw_by_the_requester(db_session):
    sme_user = factories.sme()
    bank = factories.institution_user()
    request = req.request_meeting(actor(sme_user), None, db.session.get(Institution, bank.institution_id),
                                  consent_text="同意", consented=True)
    with pytest.raises(NotFound):
        req.withdraw_request(actor(bank), request)
    req.withdraw_request(actor(sme_user), request)
    assert request.status == RequestStatus.WITHDRAWN


def test_an_answer_after_the_deadline_is_refused_and_the_job_expires_it_once(db_session):
    sme_user = factories.sme()
    bank = factories.institution_user()
    with time_machine.travel(utc(2024, 2, 9, 10), tick=False):
        request = req.request_meeting(actor(sme_user), None, db.session.get(Institution, bank.institution_id),
                                      consent_text="同意", consented=True)
    db.session.commit()
    late = utc(2024, 2, 19, 0, 1)  # default 5 working days run to Thu 2/22; take 1 day instead:
    request.respond_by = add_working_days(utc(2024, 2, 9, 10), 1)  # Sun 2/18 23:59:59
    db.session.commit()
    with pytest.raises(FieldError, match="期限"):
        req.accept_request(actor(bank), request, now=late)
    db.session.rollback()
    assert req.expire_overdue_requests(utc(2024, 2, 18, 23, 0)) == 0
    assert req.expire_overdue_requests(late) == 1
    assert req.expire_overdue_requests(late) == 0
    db.session.commit()
    assert fresh(MeetingRequest, request).status == RequestStatus.EXPIRED
    assert _count(Notification, kind="request_expired") == 2  # one to each side


