"""The organiser's review of registrations goes through the participant side's decision functions."""
import pytest

from events.enums import EventStatus, RegistrationStatus
from events.models import Registration
from tests.conftest import sign_in
from tests.support import factories
from tests.support.database import database
from tests.support.events import make_event, make_session


@pytest.fixture
def pending(app, client):
    with database(app) as session:
        organiser = factories.organiser("330100")
        event = make_event(organiser, status=EventStatus.OPEN)
        the_session = make_session(organiser, event, capacity=1)
        registrations = []
        for _ in range(2):
            user = factories.sme()
            registration = Registration(session_id=the_session.id, enterprise_id=user.enterprise_id,
                                        status=RegistrationStatus.PENDING.value, consent_text="同意")
            session.add(registration)
            registrations.append(registration)
        session.commit()
    sign_in(client, organiser.email)
    return {"session": the_session, "registrations": registrations}


def _status(app, registration_id: int) -> str:
    with database(app) as session:
        return session.get(Registration, registration_id).status


def test_approve_reject_and_waitlist(app, client, pending):
    first, second = pending["registrations"]
    response = client.post(f"/organiser/registrations/{first.id}/decision", data={"decision": "approve"},
                           follow_redirects=True)
    assert "已通过" in response.get_data(as_text=True)
    assert _status(app, first.id) == RegistrationStatus.APPROVED
    # The session holds one SME: a second approval is refused with the participant side's reason.
    response = client.post(f"/organiser/registrations/{second.id}/decision", data={"decision": "approve"},
                           follow_redirects=True)
    assert "已满" in response.get_data(as_text=True)
    assert _status(app, second.id) == RegistrationStatus.PENDING
    response = client.post(f"/organiser/registrations/{second.id}/decision", data={"decision": "waitlist"})
    assert response.status_code == 302
    assert _status(app, second.id) == RegistrationStatus.WAITLISTED
    response = client.post(f"/organiser/registrations/{first.id}/decision", data={"decision": "reject", "reason": ""},
                           follow_redirects=True)
    assert "请填写不通过的理由" in response.get_data(as_text=True)
    assert _status(app, first.id) == RegistrationStatus.APPROVED
    client.post(f"/organiser/registrations/{first.id}/decision", data={"decision": "reject", "reason": "不属于本产业链"})
    assert _status(app, first.id) == RegistrationStatus.REJECTED
    assert _status(app, second.id) == RegistrationStatus.APPROVED  # the waitlist moved up


def test_the_review_page_lists_both_sides(app, client, pending):
    html = client.get(f"/organiser/sessions/{pending['session'].id}/registrations").get_data(as_text=True)
    assert html.count('name="decision" value="approve"') == 2
    assert "还没有机构报名" in html
