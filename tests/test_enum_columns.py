"""Enum columns (`core.enums.enum_column`): members in and out, unknown values refused, roles as members."""
import pytest
from sqlalchemy import text
from sqlalchemy.exc import StatementError

from core.access import role_required
from core.roles import Role
from market.enums import FinancingType, NeedStatus
from market.models import FinancingNeed
from tests.support import factories


def _need(**values) -> FinancingNeed:
    user = factories.sme()
    return FinancingNeed(enterprise_id=user.enterprise_id, amount_yuan=1_000_000, **values)


def test_a_value_string_is_stored_as_its_member_and_loaded_as_one(db_session):
    need = _need(type="loan", status="open")
    assert need.type is FinancingType.LOAN and need.status is NeedStatus.OPEN  # before any flush
    db_session.add(need)
    db_session.flush()
    stored = db_session.execute(text("SELECT status FROM financing_needs WHERE id = :id"), {"id": need.id}).scalar()
    assert stored == "open"
    db_session.expire(need)
    assert need.status is NeedStatus.OPEN and need.status.label


def test_an_unknown_value_is_refused_before_the_database(db_session):
    need = _need(type=FinancingType.LOAN, status="opened")
    db_session.add(need)
    with pytest.raises(StatementError, match="opened"):
        db_session.flush()


def test_role_required_takes_roles_not_strings():
    with pytest.raises(TypeError):
        role_required("admin")
    with pytest.raises(TypeError):
        role_required()
    assert callable(role_required(Role.ADMIN, Role.ORGANISER))
