"""Registration: SMEs with needs, institutions with products/tables/staff/slots; refusals; waitlist; decisions."""
import pytest
from sqlalchemy import func, select

from core.errors import FieldError, NotFound
from core.extensions import db
from events.enums import EventStatus, MeetingStatus, RegistrationStatus
from events.models import Meeting, Registration, RegistrationStaff
from events.services import registration as reg
from market.models import FinancingNeed
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
)


def _count(model, **where) -> int:
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db.session.scalar(query)


def test_sme_registers_with_the_needs_the_session_serves(db_session):
    session = make_session(make_event())
    user = factories.sme()
    loan = factories.need(user, type="loan")
    equity = factories.need(user, type="equity")
    done = reg.register_enterprise(actor(user), session, [loan.id, equity.id], "我同意", consented=True)
    db.session.commit()
    assert done.status == RegistrationStatus.PENDING
    assert [n.id for n in done.needs] == [loan.id]
    assert done.consent_text == "我同意"


def test_needs_the_session_does_not_serve_are_refused_naming_the_types(db_session):
    event = make_event()
    session = make_session(event, types=("loan",))
    make_session(event, types=("equity",), kind="equity_matching", title="股权融资路演")
    user = factories.sme()
    equity = factories.need(user, type="equity")
    with pytest.raises(FieldError) as refused:
        reg.register_enterprise(actor(user), session, [equity.id], "我同意", consented=True)
    assert refused.value.field == "needs"
    assert "信贷" in str(refused.value.message) and "股权融资路演" in str(refused.value.message)
    assert _count(Registration) == 0


def test_registration_after_closing_is_refused_with_the_reason(db_session):
    session = make_session(make_event(opens_in_days=-10, closes_in_days=-1))
    user = factories.sme()
    need = factories.need(user)
    with pytest.raises(FieldError) as refused:
        reg.register_enterprise(actor(user), session, [need.id], "我同意", consented=True)
    assert "截止" in str(refused.value.message)


def test_registration_needs_an_open_event(db_session):
    session = make_session(make_event(status=EventStatus.CLOSED))
    user = factories.sme()
    need = factories.need(user)
    with pytest.raises(FieldError, match="不接受报名"):
        reg.register_enterprise(actor(user), session, [need.id], "我同意", consented=True)


def test_another_smes_need_is_not_found(db_session):
    session = make_session(make_event())
    someone, other = factories.sme(), factories.sme()
    need = factories.need(other)
    with pytest.raises(NotFound):
        reg.register_enterprise(actor(someone), session, [need.id], "我同意", consented=True)


def test_consent_is_required(db_session):
    session = make_session(make_event())
    user = factories.sme()
    need = factories.need(user)
    with pytest.raises(FieldError) as refused:
        reg.register_enterprise(actor(user), session, [need.id], "  ", consented=True)
    assert refused.value.field == "consent"


def test_the_smes_tick_is_required_whatever_the_words(db_session):
    """The consent checkbox is the service's argument: the words alone are no consent."""
    session = make_session(make_event())
    user = factories.sme()
    need = factories.need(user)
    with pytest.raises(FieldError) as refused:
        reg.register_enterprise(actor(user), session, [need.id], "我同意")
    assert refused.value.field == "consent" and _count(Registration) == 0


def test_registering_twice_returns_the_first(db_session):
    session = make_session(make_event())
    user = factories.sme()
    need = factories.need(user)
    first = reg.register_enterprise(actor(user), session, [need.id], "我同意", consented=True)
    db.session.commit()
    second = reg.register_enterprise(actor(user), session, [need.id], "我同意", consented=True)
    db.session.commit()
    assert first.id == second.id and _count(Registration) == 1


def test_full_session_puts_smes_on_the_waitlist_with_the_reason(db_session):
    session = make_session(make_event(), capacity=1)
    registered_sme(session)
    user = factories.sme()
    need = factories.need(user)
    done = reg.register_enterprise(actor(user), session, [need.id], "我同意", consented=True)
    assert done.status == RegistrationStatus.WAITLISTED
    assert done.waitlist_cause == reg.WAITLIST_FULL
    assert "名额已满" in reg.waitlist_explanation(done)


def test_cancelling_an_approved_sme_promotes_the_oldest_waitlisted_and_tells_it(db_session):
    session = make_session(make_event(), capacity=1)
    first_user, _, first = registered_sme(session)
    _, _, older = registered_sme(session, status=RegistrationStatus.WAITLISTED)
    _, _, newer = registered_sme(session, status=RegistrationStatus.WAITLISTED)
    reg.cancel_registration(actor(first_user), db.session.get(Registration, first.id))
    db.session.commit()
    assert fresh(Registration, older).status == RegistrationStatus.APPROVED
    assert fresh(Registration, newer).status == RegistrationStatus.WAITLISTED
    assert _count(Notification, kind="registration_promoted") == 1


def test_rejecting_an_approved_sme_frees_its_place(db_session):
    session = make_session(make_event(), capacity=1)
    organiser = factories.organiser("330100")
    _, _, approved = registered_sme(session)
    _, _, waiting = registered_sme(session, status=RegistrationStatus.WAITLISTED)
    reg.reject_registration(actor(organiser), db.session.get(Registration, approved.id), "材料不全")
    db.session.commit()
    assert fresh(Registration, approved).decision_reason == "材料不全"
    assert fresh(Registration, waiting).status == RegistrationStatus.APPROVED


def test_reject_needs_a_reason(db_session):
    session = make_session(make_event())
    organiser = factories.organiser("330100")
    _, _, pending = registered_sme(session, status=RegistrationStatus.PENDING)
    with pytest.raises(FieldError) as refused:
        reg.reject_registration(actor(organiser), db.session.get(Registration, pending.id), " ")
    assert refused.value.field == "reason"


def test_approve_refuses_beyond_capacity_and_waitlist_moves_up_only_into_free_places(db_session):
    session = make_session(make_event(), capacity=1)
    organiser = factories.organiser("330100")
    registered_sme(session)
    _, _, pending = registered_sme(session, status=RegistrationStatus.PENDING)
    with pytest.raises(FieldError, match="已满"):
        reg.approve_registration(actor(organiser), db.session.get(Registration, pending.id))
    db.session.rollback()
    reg.waitlist_registration(actor(organiser), db.session.get(Registration, pending.id), "")
    db.session.commit()
    assert fresh(Registration, pending).status == RegistrationStatus.WAITLISTED
    assert reg.promote_waitlist(db.session.get(type(session), session.id)) == []


def test_an_organiser_of_another_region_cannot_decide(db_session):
    from core.errors import NotFound as Missing
    session = make_session(make_event())
    elsewhere = factories.organiser("320100")
    _, _, pending = registered_sme(session, status=RegistrationStatus.PENDING)
    with pytest.raises(Missing):
        reg.approve_registration(actor(elsewhere), db.session.get(Registration, pending.id))


def test_decision_on_a_changed_registration_is_refused(db_session):
    session = make_session(make_event())
    organiser = factories.organiser("330100")
    _, _, approved = registered_sme(session)
    with pytest.raises(FieldError, match="已通过"):
        reg.approve_registration(actor(organiser), db.session.get(Registration, approved.id))


def test_institution_registers_with_products_tables_staff_and_unavailable_slots(db_session):
    session = make_session(make_event(), slots=4)
    bank = factories.institution_user()
    loan = factories.product(bank, type="loan")
    staff = [reg.StaffMember("王经理", "客户经理", "13800000000", 1), reg.StaffMember("", "", "", None),
             reg.StaffMember("李经理", "", "", 2)]
    done = reg.register_institution(actor(bank), session, [loan.id], 2, staff, [1, 3])
    db.session.commit()
    assert done.tables == 2 and done.unavailable_slots == [1, 3]
    assert [p.id for p in done.products] == [loan.id]
    assert _count(RegistrationStaff) == 2


@pytest.mark.parametrize(("tables", "staff", "slots", "field"), [
    (0, [("王", 1)], [], "tables"),
    (2, [], [], "staff"),
    (2, [("王", 3)], [], "staff"),
    (2, [("王", 1)], [9], "unavailable_slots"),
    (2, [("王", 1)], [0, 1, 2, 3], "unavailable_slots"),
])
def test_institution_registration_refusals_name_the_field(db_session, tables, staff, slots, field):
    session = make_session(make_event(), slots=4)
    bank = factories.institution_user()
    loan = factories.product(bank, type="loan")
    members = [reg.StaffMember(name, table_number=table) for name, table in staff]
    with pytest.raises(FieldError) as refused:
        reg.register_institution(actor(bank), session, [loan.id], tables, members, slots)
    assert refused.value.field == field
    assert _count(Registration) == 0


def test_products_the_session_does_not_serve_are_refused(db_session):
    session = make_session(make_event(), types=("loan",))
    bank = factories.institution_user()
    insurance = factories.product(bank, type="insurance")
    with pytest.raises(FieldError) as refused:
        reg.register_institution(actor(bank), session, [insurance.id], 1, [reg.StaffMember("王", table_number=1)], [])
    assert refused.value.field == "products" and "信贷" in str(refused.value.message)


def test_unapproved_institution_cannot_register(db_session):
    session = make_session(make_event())
    bank = factories.institution_user(status="pending")
    loan = factories.product(bank)
    with pytest.raises(FieldError, match="审核"):
        reg.register_institution(actor(bank), session, [loan.id], 1, [reg.StaffMember("王", table_number=1)], [])


def test_cancelling_a_registration_cancels_the_partys_meetings(db_session):
    session = make_session(make_event(), published=True)
    sme_user, need, sme_reg = registered_sme(session)
    bank_user, _, _ = registered_bank(session)
    meeting = make_meeting(session, sme_user, bank_user, need)
    reg.cancel_registration(actor(sme_user), db.session.get(Registration, sme_reg.id), "临时有事")
    db.session.commit()
    assert fresh(Meeting, meeting).status == MeetingStatus.CANCELLED
    assert _count(Notification, kind="meeting_cancelled") == 1


def test_re_registering_after_cancelling_reopens_the_same_row(db_session):
    session = make_session(make_event())
    user = factories.sme()
    need = factories.need(user)
    first = reg.register_enterprise(actor(user), session, [need.id], "我同意", consented=True)
    reg.cancel_registration(actor(user), first)
    db.session.commit()
    again = reg.register_enterprise(actor(user), session, [need.id], "我同意", consented=True)
    db.session.commit()
    assert again.id == first.id and again.status == RegistrationStatus.PENDING
    assert [n.id for n in again.needs] == [need.id]
    assert _count(Registration) == 1
    assert db.session.get(FinancingNeed, need.id) is not None
