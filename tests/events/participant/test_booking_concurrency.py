"""Twenty SMEs book the same slot at one table at once, over real HTTP: exactly one wins, nineteen are told
the slot was just taken, no server error. Runs on whichever database the suite runs on (SQLite or PostgreSQL).

The app under test is the suite's `app` (its database), served by werkzeug in a background thread; each SME
signs in with its own cookie jar, then all twenty POST the booking form together behind a barrier.
"""
import threading

import pytest
from sqlalchemy import func, select

from events.enums import MeetingStatus
from events.models import Meeting
from tests.conftest import DEMO_PASSWORD
from tests.served_http import http_client, request
from tests.support.database import database
from tests.support.participation import make_event, make_session, registered_bank, registered_sme, utc

BOOKERS = 20
TAKEN = "该时段刚刚被预约，请选择其他时段"


def _post(client, url: str, data: dict) -> tuple[int, str]:
    return request(client, url, data, timeout=60)


@pytest.mark.slow
def test_twenty_concurrent_bookings_of_one_slot_give_one_booking_and_nineteen_clean_refusals(app, served_app):
    with database(app):
        session = make_session(make_event(), published=True, starts_at=utc(2030, 3, 12, 9), slots=4)
        bank_user, _, _ = registered_bank(session, tables=1)
        smes = [registered_sme(session)[0] for _ in range(BOOKERS)]
    clients = []
    for user in smes:
        opener = http_client()
        status, _ = _post(opener, f"{served_app}/account/sign-in", {"email": user.email, "password": DEMO_PASSWORD})
        assert status == 302
        clients.append(opener)

    barrier = threading.Barrier(BOOKERS)
    results: list[tuple[int, str]] = [None] * BOOKERS  # type: ignore[list-item]
    form = {"institution": str(bank_user.institution_id), "slot": "2", "table": "1"}

    def book(index: int) -> None:
        barrier.wait(timeout=60)
        results[index] = _post(clients[index], f"{served_app}/events/sessions/{session.id}/book", form)

    threads = [threading.Thread(target=book, args=(i,)) for i in range(BOOKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    statuses = sorted(status for status, _ in results)
    assert statuses.count(302) == 1, statuses
    assert statuses.count(409) == BOOKERS - 1, statuses
    assert not [status for status in statuses if status >= 500]
    assert all(TAKEN in body for status, body in results if status == 409)
    with database(app) as db_session:
        booked = db_session.scalars(select(Meeting).where(Meeting.session_id == session.id,
                                                         Meeting.status != MeetingStatus.CANCELLED)).all()
        assert [(m.slot, m.table_number, m.source) for m in booked] == [(2, 1, "booking")]
        assert db_session.scalar(select(func.count(Meeting.id))) == 1


def test_the_same_registration_posted_at_once_from_five_tabs_leaves_one_row(app, served_app):
    from events.models import Registration
    from tests.support import factories
    with database(app):
        session = make_session(make_event())
        user = factories.sme()
        need = factories.need(user)
    opener = http_client()
    assert _post(opener, f"{served_app}/account/sign-in", {"email": user.email, "password": DEMO_PASSWORD})[0] == 302
    tabs = 5
    barrier = threading.Barrier(tabs)
    statuses: list[int] = []

    def submit() -> None:
        barrier.wait(timeout=60)
        statuses.append(_post(opener, f"{served_app}/events/sessions/{session.id}/register",
                              {"needs": [str(need.id)], "consent": "y"})[0])

    threads = [threading.Thread(target=submit) for _ in range(tabs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [302] * tabs
    with database(app) as db_session:
        assert db_session.scalar(select(func.count(Registration.id))) == 1
