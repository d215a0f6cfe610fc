"""The expiry job across the Spring Festival and National Day, with their make-up working days.

The institution promises an answer within N working days (the product's promise). The deadline is the
end of the N-th official working day after the request day; the job expires the request once that
has passed, and tells both sides — once.
"""
from collections import Counter

import pytest
import time_machine
from sqlalchemy import select

from chainmatch.scheduler import deliver_outbox, run_due_work
from events.models import MeetingRequest
from events.services import requests
from market.models import Institution
from notifications import delivery
from tests.scheduler import scenario as s
from tests.scheduler.scenario import local
from tests.support import factories
from tests.support.database import database

CASES = {
    # Friday before the 2026 Spring Festival; Sat 14 Feb is a make-up working day, 15–23 Feb are off.
    "spring-festival-2026": (local(2026, 2, 13, 10), 3, local(2026, 2, 25, 23, 59), local(2026, 2, 26, 0, 0, 30)),
    # The last day before National Day 2025; 1–8 Oct are off, Sat 11 Oct is a make-up working day.
    "national-day-2025": (local(2025, 9, 30, 16), 3, local(2025, 10, 11, 23, 59), local(2025, 10, 12, 0, 0, 30)),
    # Asked on a Saturday; Sunday 28 Sep 2025 is a make-up working day.
    "make-up-sunday-2025": (local(2025, 9, 27, 11), 1, local(2025, 9, 28, 23, 59), local(2025, 9, 29, 0, 0, 30)),
}


@pytest.fixture(autouse=True)
def _empty_memory_outbox():
    delivery.SENT_IN_MEMORY.clear()
    yield
    delivery.SENT_IN_MEMORY.clear()


def request_status(app, request_id: int) -> str:
    with database(app) as session:
        return session.get(MeetingRequest, request_id).status


@pytest.mark.parametrize("asked_at, promised_days, last_moment, first_moment_after", CASES.values(), ids=CASES)
def test_an_unanswered_request_expires_after_the_promised_working_days(app, asked_at, promised_days, last_moment,
                                                                        first_moment_after):
    with database(app) as session:
        sme = factories.sme("asker@example.com")
        bank = factories.institution_user("bank@example.com")
        product = factories.product(bank, response_working_days=promised_days)

    with time_machine.travel(s.aware(asked_at), tick=False) as traveller:
        with database(app) as session:
            request = requests.request_meeting(s.user(sme.id), None, session.get(Institution, bank.institution_id),
                                               product_id=product.id, message="想了解科创贷。",
                                               consent_text="同意向该机构提供企业信息。", consented=True)
            session.commit()
            request_id, respond_by = request.id, request.respond_by
        assert respond_by == last_moment.replace(second=59)

        traveller.move_to(s.aware(last_moment))
        run_due_work(app)
        assert request_status(app, request_id) == "requested"

        traveller.move_to(s.aware(first_moment_after))
        run_due_work(app)
        deliver_outbox(app)
        assert request_status(app, request_id) == "expired"
        run_due_work(app)  # again: nothing changes twice
        deliver_outbox(app)

    assert sorted(s.messages(app, "request_expired")) == sorted(
        [(sme.id, "meeting_request", request_id), (bank.id, "meeting_request", request_id)])
    sent = Counter((email["X-Chainmatch-Kind"], email["To"].addresses[0].addr_spec) for email in delivery.SENT_IN_MEMORY)
    assert sent[("request_expired", "asker@example.com")] == 1
    assert sent[("request_expired", "bank@example.com")] == 1
    with database(app) as session:
        assert session.scalars(select(MeetingRequest.status)).all() == ["expired"]


def test_an_answer_before_the_deadline_is_not_expired(app):
    asked_at, days, last_moment, after = CASES["spring-festival-2026"]
    with database(app) as session:
        sme = factories.sme("asker@example.com")
        bank = factories.institution_user("bank@example.com")
        product = factories.product(bank, response_working_days=days)
    with time_machine.travel(s.aware(asked_at), tick=False) as traveller:
        with database(app) as session:
            request_id = requests.request_meeting(s.user(sme.id), None, session.get(Institution, bank.institution_id),
                                                  product_id=product.id, consent_text="同意。", consented=True).id
            session.commit()
        traveller.move_to(s.aware(local(2026, 2, 24, 10)))  # the first working day after the festival
        with database(app) as session:
            requests.decline_request(s.user(bank.id), session.get(MeetingRequest, request_id), "额度已满")
            session.commit()
        traveller.move_to(s.aware(after))
        run_due_work(app)
    assert request_status(app, request_id) == "declined"
    assert s.messages(app, "request_expired") == []
