"""Outcomes per side, and the need's status following the furthest step reached."""
import pytest
from sqlalchemy import func, select

from chainmatch.extensions import db
from events.enums import MeetingStatus
from events.models import Meeting, Outcome
from events.services import outcomes
from market.enums import NeedStatus
from market.models import FinancingNeed
from market.services import FieldError
from tests import factories
from tests.events.participant.helpers import (actor, fresh, make_event, make_meeting, make_session, registered_bank,
                                              registered_sme, utc)


def _past_meeting():
    session = make_session(make_event(), published=True, starts_at=utc(2024, 3, 12, 9))
    sme_user, need, _ = registered_sme(session)
    bank_user, _, _ = registered_bank(session)
    meeting = make_meeting(session, sme_user, bank_user, need)
    return meeting, sme_user, bank_user, need


def test_each_side_records_once_and_editing_updates(db_session):
    meeting, sme_user, bank_user, need = _past_meeting()
    outcomes.record_outcome(actor(sme_user), meeting, True, 3_000_000, None, None, "谈得不错")
    outcomes.record_outcome(actor(bank_user), meeting, True, 3_000_000, 2_000_000, None, "")
    outcomes.record_outcome(actor(sme_user), meeting, True, 4_000_000, None, None, "改一下")
    db.session.commit()
    rows = db.session.scalars(select(Outcome).order_by(Outcome.side)).all()
    assert [(r.side, r.intent_amount_yuan, r.credit_granted_yuan) for r in rows] == [
        ("enterprise", 4_000_000, None), ("institution", 3_000_000, 2_000_000)]
    assert fresh(Meeting, meeting).status == MeetingStatus.HELD
    assert fresh(FinancingNeed, need).status == NeedStatus.CREDIT_GRANTED


@pytest.mark.parametrize(("amounts", "status"), [
    ((None, None, None), NeedStatus.MET), ((1, None, None), NeedStatus.INTENT),
    ((None, 1, None), NeedStatus.CREDIT_GRANTED), ((5, 5, 5), NeedStatus.DISBURSED), ((0, 0, 0), NeedStatus.MET),
])
def test_need_status_follows_the_furthest_step(db_session, amounts, status):
    meeting, _, bank_user, need = _past_meeting()
    outcomes.record_outcome(actor(bank_user), meeting, True, *amounts)
    assert fresh(FinancingNeed, need).status == status


def test_no_show_marks_the_meeting_and_refuses_amounts(db_session):
    meeting, sme_user, bank_user, need = _past_meeting()
    with pytest.raises(FieldError) as refused:
        outcomes.record_outcome(actor(sme_user), meeting, False, 100, None, None)
    assert refused.value.field == "intent_amount"
    db.session.rollback()
    outcomes.record_outcome(actor(sme_user), db.session.get(Meeting, meeting.id), False, None, None, None, "对方未到")
    assert fresh(Meeting, meeting).status == MeetingStatus.NO_SHOW
    outcomes.record_outcome(actor(bank_user), db.session.get(Meeting, meeting.id), True, None, None, None)
    assert fresh(Meeting, meeting).status == MeetingStatus.HELD  # one side says it was held


def test_negative_amounts_are_refused_and_disbursed_above_credit_warns(db_session):
    meeting, sme_user, _, _ = _past_meeting()
    with pytest.raises(FieldError) as refused:
        outcomes.record_outcome(actor(sme_user), meeting, True, None, -1, None)
    assert refused.value.field == "credit_granted"
    db.session.rollback()
    saved = outcomes.record_outcome(actor(sme_user), db.session.get(Meeting, meeting.id), True, None, 100, 200)
    assert saved.warnings and "大于授信" in saved.warnings[0]
    assert saved.outcome.disbursed_yuan == 200


def test_a_withdrawn_need_never_moves(db_session):
    meeting, _, bank_user, need = _past_meeting()
    row = db.session.get(FinancingNeed, need.id)
    row.status = NeedStatus.WITHDRAWN.value
    db.session.commit()
    outcomes.record_outcome(actor(bank_user), db.session.get(Meeting, meeting.id), True, 1, 1, 1)
    assert fresh(FinancingNeed, need).status == NeedStatus.WITHDRAWN


def test_outsiders_cannot_record_and_future_or_cancelled_meetings_refuse(db_session):
    from werkzeug.exceptions import NotFound
    meeting, sme_user, bank_user, _ = _past_meeting()
    with pytest.raises(NotFound):
        outcomes.record_outcome(actor(factories.sme()), meeting, True, None, None, None)
    future_session = make_session(make_event(), published=True, starts_at=utc(2030, 3, 12, 9))
    future = make_meeting(future_session, sme_user, bank_user)
    with pytest.raises(FieldError, match="开始后"):
        outcomes.record_outcome(actor(sme_user), future, True, None, None, None)
    meeting.status = MeetingStatus.CANCELLED.value
    with pytest.raises(FieldError, match="已取消"):
        outcomes.record_outcome(actor(sme_user), meeting, True, None, None, None)


def test_need_status_counts_across_all_its_meetings(db_session):
    meeting, sme_user, bank_user, need = _past_meeting()
    other_bank, _, _ = registered_bank(db.session.get(Meeting, meeting.id).session)
    second = make_meeting(db.session.get(Meeting, meeting.id).session, sme_user, other_bank, need, slot=1)
    outcomes.record_outcome(actor(other_bank), second, True, None, None, 1_000_000)
    outcomes.record_outcome(actor(bank_user), db.session.get(Meeting, meeting.id), True, 10, None, None)
    assert fresh(FinancingNeed, need).status == NeedStatus.DISBURSED
    assert db.session.scalar(select(func.count(Outcome.id))) == 2
