"""Services refuse with domain errors, answered once by the web layer; the scheduler acts as the system actor;
one ownership check."""
import pytest
from sqlalchemy import select

from core import errors
from core.access import require_owner
from core.actors import OPERATOR, SYSTEM, is_system
from core.extensions import db
from events import jobs
from events.enums import EventStatus
from events.models import EventStatusChange
from events.services import planning, scope
from market import services as market
from notifications import services as outbox
from tests.conftest import sign_in
from tests.support import factories
from tests.support.database import database
from tests.support.events import actor, make_event, make_session, utc

# ---- one mapping, in chainmatch/web.py --------------------------------------------------------------

@pytest.mark.parametrize("refusal, status, text", [
    (errors.NotFound(), 404, "页面不存在。"),
    (errors.Forbidden(), 403, "您没有权限访问该页面。"),
    (errors.DomainError("该活动当前不接受约见。"), 400, "该活动当前不接受约见。"),
    (errors.FieldError("consent", "请勾选同意向该机构提供企业信息。"), 400, "请勾选同意向该机构提供企业信息。"),
])
def test_a_refusal_no_view_caught_is_answered_by_its_page(app, refusal, status, text):
    with app.test_request_context("/"):
        response = app.make_response(app.handle_user_exception(refusal))
    assert response.status_code == status
    assert text in response.get_data(as_text=True)


def test_a_service_not_found_is_the_same_404_page_as_an_unknown_address(app):
    with database(app):
        owner, other = factories.sme(), factories.sme()
        need_id = factories.need(owner).id
    client = app.test_client()
    sign_in(client, other.email)
    refused = client.get(f"/needs/{need_id}/edit")  # market.services.own_need raises NotFound
    unknown = client.get("/no-such-page")
    assert refused.status_code == unknown.status_code == 404
    assert "页面不存在。" in refused.get_data(as_text=True)


def test_services_refuse_with_domain_errors_not_http_ones(db_session):
    institution, sme = factories.institution_user(), factories.sme()
    with pytest.raises(errors.Forbidden):  # an institution has no enterprise to post a need for
        market.create_need(actor(institution), None)
    with pytest.raises(errors.NotFound):  # another SME's need: its id is not confirmed
        market.own_need(actor(sme), factories.need(factories.sme()).id)


# ---- the system actor --------------------------------------------------------------------------------

def test_the_system_actor_is_no_user():
    assert is_system(SYSTEM) and is_system(OPERATOR)
    assert (SYSTEM.id, SYSTEM.role, SYSTEM.is_authenticated, str(SYSTEM)) == (None, None, False, "scheduler")
    with pytest.raises(TypeError):
        is_system(None)


def test_the_scheduler_job_acts_as_the_system_actor(db_session):
    organiser = factories.organiser()
    event = make_event(organiser, registration_opens_at=utc(2027, 2, 1, 9), registration_closes_at=utc(2027, 3, 1, 18))
    make_session(organiser, event)
    planning.mark_ready(actor(organiser), event)
    assert jobs.open_registrations(utc(2027, 2, 1, 9)) == 1
    db.session.refresh(event)
    assert event.status == EventStatus.OPEN
    assert db.session.scalar(select(EventStatusChange.actor_user_id)) is None  # the system is no user


def test_nobody_is_refused_where_the_scheduler_is_allowed(db_session):
    organiser = factories.organiser()
    event = make_event(organiser)
    assert scope.event_for(SYSTEM, event.id) is event
    with pytest.raises(TypeError):
        scope.event_for(None, event.id)
    with pytest.raises(TypeError):
        outbox.requeue_failed(None, utc(2027, 1, 1))
    assert outbox.requeue_failed(OPERATOR, utc(2027, 1, 1)) == 0


def test_a_user_is_not_the_system(db_session):
    sme, event = factories.sme(), make_event(factories.organiser())
    assert not is_system(actor(sme))
    with pytest.raises(errors.Forbidden):
        scope.event_for(actor(sme), event.id)
    with pytest.raises(outbox.NotAllowed):
        outbox.requeue_failed(actor(sme), utc(2027, 1, 1))


# ---- one ownership check ------------------------------------------------------------------------------

@pytest.mark.parametrize("owner_id, actor_owner_id", [(7, 8), (None, 8), (7, None), (None, None)])
def test_require_owner_refuses_as_not_found(owner_id, actor_owner_id):
    with pytest.raises(errors.NotFound):
        require_owner(owner_id, actor_owner_id)


def test_require_owner_lets_the_owner_through():
    assert require_owner(7, 7) is None
