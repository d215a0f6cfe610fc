"""Concurrent bookings across overlapping sessions, over real HTTP (threads, one cookie jar each): an SME or a
staff member ends with one meeting at a time, the others get a clean refusal. On PostgreSQL the requests
really run at once and only the availability module's party locks keep them apart."""
import threading

import pytest
from sqlalchemy import select

from events.enums import MeetingStatus
from events.models import Meeting
from tests.conftest import DEMO_PASSWORD
from tests.served_http import http_client, request
from tests.support import factories
from tests.support.database import database
from tests.support.participation import make_event, make_session, registered_bank, registered_sme, utc

SESSIONS = 4


def _signed_in(base: str, email: str):
    opener = http_client()
    assert request(opener, f"{base}/account/sign-in", {"email": email, "password": DEMO_PASSWORD})[0] == 302
    return opener


def _race(base: str, attempts: list[tuple[object, int, dict]]) -> list[tuple[int, str]]:
    barrier = threading.Barrier(len(attempts))
    results: list = [None] * len(attempts)

    def book(index: int) -> None:
        opener, session_id, form = attempts[index]
        barrier.wait(timeout=60)
        results[index] = request(opener, f"{base}/events/sessions/{session_id}/book", form)

    threads = [threading.Thread(target=book, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def _overlapping_sessions():
    event = make_event()
    return [make_session(event, title=f"信贷对接 {room}", starts_at=utc(2030, 3, 12, 9), slots=4, published=True)
            for room in ("3A", "3B", "3C", "3D")[:SESSIONS]]


@pytest.mark.slow
def test_one_sme_booking_four_overlapping_sessions_at_once_gets_one_meeting(app, served_app):
    with database(app):
        sessions = _overlapping_sessions()
        sme = factories.sme()
        banks = []
        for session in sessions:
            registered_sme(session, user=sme)
            banks.append(registered_bank(session)[0])
    attempts = [(_signed_in(served_app, sme.email), session.id,
                 {"institution": str(bank.institution_id), "slot": "1", "table": "1"})
                for session, bank in zip(sessions, banks)]
    results = _race(served_app, attempts)
    statuses = sorted(status for status, _ in results)
    assert statuses == [302] + [409] * (SESSIONS - 1), statuses
    assert all("您在 03-12 09:30–10:00 已与" in body for status, body in results if status == 409)
    with database(app) as db_session:
        live = db_session.scalars(select(Meeting).where(Meeting.enterprise_id == sme.enterprise_id,
                                                        Meeting.status != MeetingStatus.CANCELLED)).all()
        assert len(live) == 1


@pytest.mark.slow
def test_four_smes_booking_one_staff_member_in_four_sessions_at_once_give_one_meeting(app, served_app):
    with database(app):
        sessions = _overlapping_sessions()
        bank = factories.institution_user()
        smes = []
        for session in sessions:
            registered_bank(session, user=bank)  # 王经理 staffs table 1 in every session
            smes.append(registered_sme(session)[0])
    attempts = [(_signed_in(served_app, sme.email), session.id,
                 {"institution": str(bank.institution_id), "slot": "1", "table": "1"})
                for session, sme in zip(sessions, smes)]
    results = _race(served_app, attempts)
    statuses = sorted(status for status, _ in results)
    assert statuses == [302] + [409] * (SESSIONS - 1), statuses
    assert all("该桌在 03-12 09:30–10:00 已有其他会谈" in body for status, body in results if status == 409)
    with database(app) as db_session:
        live = db_session.scalars(select(Meeting).where(Meeting.institution_id == bank.institution_id,
                                                        Meeting.status != MeetingStatus.CANCELLED)).all()
        assert len(live) == 1
