"""The engine's vocabularies are copies of the app's enums (matchmaking imports nothing of ours): they must not drift."""
import pytest

from events.enums import RequestStatus, Side
from events.services.scheduling import ENGINE_REQUEST_STATUS
from market.enums import Collateral, FinancingType, InstitutionKind, Stage
from matchmaking import model


@pytest.mark.parametrize("copy, enum_cls", [
    (model.FINANCING_TYPES, FinancingType),
    (model.STAGES, Stage),
    (model.COLLATERAL_KINDS, Collateral),
    (model.INSTITUTION_KINDS, InstitutionKind),
    (model.REQUEST_SIDES, Side),
])
def test_engine_vocabulary_is_the_enum_values(copy, enum_cls):
    assert copy == tuple(member.value for member in enum_cls)


def test_engine_request_statuses_are_those_the_scheduler_passes():
    """The engine knows the request statuses that matter to matching; the scheduler passes exactly those."""
    assert set(model.REQUEST_STATUSES) == set(ENGINE_REQUEST_STATUS.values())
    assert set(model.REQUEST_STATUSES) <= {member.value for member in RequestStatus}
    assert all(key.value == value for key, value in ENGINE_REQUEST_STATUS.items())
