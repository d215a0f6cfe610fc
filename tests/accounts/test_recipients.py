"""The users of a party: enabled users of the enterprise, the institution or the office, in their role."""
from accounts import recipients
from accounts.models import User
from core.extensions import db
from tests.conftest import DEMO_PASSWORD
from tests.support import factories


def _colleague(of: User, *, enabled: bool = True, role: str | None = None) -> User:
    user = User(email=f"colleague{db.session.query(User).count()}@example.com", display_name="同事",
                role=role or of.role, enterprise_id=of.enterprise_id, institution_id=of.institution_id,
                organiser_office_id=of.organiser_office_id, is_enabled=enabled)
    user.set_password(DEMO_PASSWORD)
    db.session.add(user)
    db.session.flush()
    return user


def test_an_enterprises_users_are_its_enabled_sme_users(db_session):
    sme = factories.sme()
    colleague = _colleague(sme)
    _colleague(sme, enabled=False)
    factories.sme()  # another enterprise
    assert recipients.enterprise_users(sme.enterprise_id) == [sme, colleague]
    assert recipients.party_users(enterprise_id=sme.enterprise_id) == [sme, colleague]


def test_an_institutions_users_are_its_enabled_users(db_session):
    bank = factories.institution_user()
    _colleague(bank, enabled=False)
    factories.institution_user()
    assert recipients.institution_users(bank.institution_id) == [bank]
    assert recipients.party_users(institution_id=bank.institution_id) == [bank]


def test_an_offices_organisers_and_the_admins(db_session):
    organiser, other_office = factories.organiser("330100"), factories.organiser("330100")
    colleague = _colleague(organiser)
    _colleague(organiser, enabled=False)
    admin = factories.admin()
    assert recipients.office_organisers(organiser.organiser_office_id) == [organiser, colleague]
    assert recipients.office_organisers(other_office.organiser_office_id) == [other_office]
    assert recipients.admins() == [admin]


def test_many_parties_at_once_follow_the_same_rule(db_session):
    sme, other_sme, bank = factories.sme(), factories.sme(), factories.institution_user()
    colleague = _colleague(sme)
    _colleague(other_sme, enabled=False)
    users = recipients.PartyUsers([sme.enterprise_id, other_sme.enterprise_id], [bank.institution_id])
    for enterprise_id in (sme.enterprise_id, other_sme.enterprise_id):
        assert users.of(enterprise_id=enterprise_id) == recipients.enterprise_users(enterprise_id)
    assert users.of(enterprise_id=sme.enterprise_id) == [sme, colleague]
    assert users.of(institution_id=bank.institution_id) == [bank]
    assert users.of(institution_id=bank.institution_id + 999) == []
