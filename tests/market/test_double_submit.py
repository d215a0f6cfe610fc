"""A create form posted twice makes one row: the same token sequentially (the second post is sent where the first
went) and at once from two threads (each with its own client; on PostgreSQL two real transactions), never a 500.
Also: a product name taken at the same moment is a field error; a missing or forged token is refused; the
partial index keeps one open direct request per pair; the scheduler's purge forgets old tokens.

Before this change, `POST /needs/new` twice made two needs on both databases, and two products of one name at
once gave a 302 and an IntegrityError on PostgreSQL.
"""
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from core import submissions
from core.clock import utcnow
from core.extensions import db
from core.submissions import SubmissionToken
from events.enums import RequestStatus
from events.models import MeetingRequest, Registration
from market.models import FinancingNeed, Product
from notifications.models import Notification
from tests.conftest import sign_in
from tests.market.test_pages import need_data, product_data
from tests.support import factories
from tests.support.database import count, database
from tests.support.pages import assert_field_error
from tests.support.participation import make_event, make_session, registered_bank

DONE = "该表单已提交过，未重复创建"


@pytest.fixture(autouse=True)
def tokens_required(app, monkeypatch):
    """As in production: a create post without a token is refused."""
    monkeypatch.setitem(app.config, "SUBMISSION_TOKENS_REQUIRED", True)


def token_of(response) -> str:
    html = response.get_data(as_text=True)
    match = re.search(r'name="submission_token"[^>]*value="([^"]+)"', html)
    assert match, "no submission token on the page"
    return match.group(1)


def signed_in(app, email: str):
    client = app.test_client()
    sign_in(client, email)
    return client


def post_twice_at_once(clients, path: str, data_of) -> list:
    """Each client posts `data_of(i)` to `path` in its own thread, all released together; returns the responses."""
    barrier = threading.Barrier(len(clients))
    responses: list = [None] * len(clients)
    errors: list = []

    def post(i, client):
        try:
            barrier.wait(timeout=30)
            responses[i] = client.post(path, data=data_of(i))
        except Exception as error:  # noqa: BLE001 — a server error surfaces here (TESTING propagates it)
            errors.append(error)

    threads = [threading.Thread(target=post, args=(i, c)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return responses


def rows(app, model, *conditions) -> int:
    with database(app) as session:
        return session.scalar(select(func.count()).select_from(model).where(*conditions))


# ---- needs ------------------------------------------------------------------------------------

@pytest.fixture
def sme(app):
    with database(app):
        return factories.sme()


def test_a_need_posted_twice_with_one_token_is_created_once_and_the_second_post_goes_where_the_first_did(app, sme):
    client = signed_in(app, sme.email)
    data = need_data(submission_token=token_of(client.get("/needs/new")))
    first = client.post("/needs/new", data=data)
    second = client.post("/needs/new", data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"] == "/enterprise"
    assert count(app, FinancingNeed) == 1
    assert DONE in client.get("/enterprise").get_data(as_text=True)
    # A new rendering of the form is a new token: a second need on purpose is still possible.
    again = client.post("/needs/new", data=need_data(submission_token=token_of(client.get("/needs/new"))))
    assert again.status_code == 302 and count(app, FinancingNeed) == 2


def test_a_need_posted_twice_at_once_is_created_once(app, sme):
    clients = [signed_in(app, sme.email) for _ in range(2)]
    data = need_data(submission_token=token_of(clients[0].get("/needs/new")))
    responses = post_twice_at_once(clients, "/needs/new", lambda i: data)
    assert [r.status_code for r in responses] == [302, 302]
    assert {r.headers["Location"] for r in responses} == {"/enterprise"}
    assert count(app, FinancingNeed) == 1
    assert count(app, SubmissionToken) == 1


def test_a_post_without_a_token_or_with_a_forged_one_creates_nothing_and_says_why(app, sme):
    client = signed_in(app, sme.email)
    missing = client.post("/needs/new", data=need_data())
    assert missing.status_code == 200 and "表单缺少提交凭证" in missing.get_data(as_text=True)
    token = token_of(client.get("/needs/new"))
    issued, nonce, signature = token.split(".")
    forged = client.post("/needs/new", data=need_data(submission_token=f"{issued}.{nonce}.{'0' * len(signature)}"))
    assert forged.status_code == 200 and "提交凭证无效" in forged.get_data(as_text=True)
    stale = f"{int(issued) - (submissions.TOKEN_HOURS + 1) * 3600}.{nonce}.{signature}"
    assert "提交凭证无效" in client.post("/needs/new", data=need_data(submission_token=stale)).get_data(as_text=True)
    assert count(app, FinancingNeed) == 0
    # The refusal page carries a fresh token that works.
    assert client.post("/needs/new", data=need_data(submission_token=token_of(forged))).status_code == 302
    assert count(app, FinancingNeed) == 1


def test_a_token_is_bound_to_its_user_and_its_form(app, sme):
    with database(app):
        other = factories.sme()
    token = token_of(signed_in(app, sme.email).get("/needs/new"))
    refused = signed_in(app, other.email).post("/needs/new", data=need_data(submission_token=token))
    assert "提交凭证无效" in refused.get_data(as_text=True)
    with database(app):
        bank = factories.institution_user()
    product_token = token_of(signed_in(app, bank.email).get("/products/new"))
    assert "提交凭证无效" in signed_in(app, sme.email).post(
        "/needs/new", data=need_data(submission_token=product_token)).get_data(as_text=True)
    assert count(app, FinancingNeed) == 0


# ---- products -----------------------------------------------------------------------------------

@pytest.fixture
def bank(app):
    with database(app):
        return factories.institution_user(region_codes=["330000"])


def test_a_product_posted_twice_with_one_token_is_created_once(app, bank):
    clients = [signed_in(app, bank.email) for _ in range(2)]
    data = product_data(submission_token=token_of(clients[0].get("/products/new")))
    assert clients[0].post("/products/new", data=data).headers["Location"] == "/institution"
    assert clients[0].post("/products/new", data=data).headers["Location"] == "/institution"
    assert count(app, Product) == 1
    data = product_data(name="科创贷", submission_token=token_of(clients[0].get("/products/new")))
    responses = post_twice_at_once(clients, "/products/new", lambda i: data)
    assert [r.status_code for r in responses] == [302, 302]
    assert count(app, Product) == 2


def test_two_products_of_one_name_at_once_give_one_product_and_a_field_error_on_the_name(app, bank):
    clients = [signed_in(app, bank.email) for _ in range(2)]
    tokens = [token_of(c.get("/products/new")) for c in clients]  # two tabs: two tokens
    responses = post_twice_at_once(clients, "/products/new", lambda i: product_data(submission_token=tokens[i]))
    assert sorted(r.status_code for r in responses) == [200, 302]
    refused = next(r for r in responses if r.status_code == 200)
    assert_field_error(refused, "name", "本机构已有同名产品")
    assert count(app, Product) == 1


def test_a_create_the_service_refuses_leaves_its_token_unused_so_the_corrected_form_goes_through(app, bank):
    with database(app):
        factories.product(bank, name="算力贷")
    client = signed_in(app, bank.email)
    token = token_of(client.get("/products/new"))
    refused = client.post("/products/new", data=product_data(name="算力贷", submission_token=token))
    assert_field_error(refused, "name", "本机构已有同名产品")  # refused by the service, after the claim
    corrected = client.post("/products/new", data=product_data(name="科创贷", submission_token=token))
    assert corrected.status_code == 302 and count(app, Product) == 2


def test_renaming_a_product_to_a_taken_name_is_a_field_error(app, bank):
    with database(app):
        factories.product(bank, name="算力贷")
        other = factories.product(bank, name="科创贷")
    client = signed_in(app, bank.email)
    response = client.post(f"/products/{other.id}/edit", data=product_data(name="算力贷"))
    assert_field_error(response, "name", "本机构已有同名产品")


# ---- meeting requests, with and without an event ------------------------------------------------

def _request_target(app, with_event: bool):
    with database(app):
        sme = factories.sme()
        need = factories.need(sme)
        if with_event:
            event = make_event()
            session = make_session(event)
            bank, product, _ = registered_bank(session)
            query = f"institution={bank.institution_id}&event={event.id}"
        else:
            bank = factories.institution_user()
            product = factories.product(bank)
            query = f"institution={bank.institution_id}"
    data = {"need_id": str(need.id), "product_id": str(product.id), "message": "你好", "consent": "y"}
    return sme, f"/events/requests/new?{query}", data


@pytest.mark.parametrize("with_event", [True, False], ids=["event", "direct"])
def test_a_meeting_request_posted_twice_with_one_token_is_sent_once(app, with_event):
    sme, path, data = _request_target(app, with_event)
    client = signed_in(app, sme.email)
    data["submission_token"] = token_of(client.get(path))
    first, second = client.post(path, data=data), client.post(path, data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"] == "/events/requests"
    assert count(app, MeetingRequest) == 1
    assert rows(app, Notification, Notification.kind == "request_received") == 1


@pytest.mark.parametrize("with_event", [True, False], ids=["event", "direct"])
def test_a_meeting_request_posted_twice_at_once_is_sent_once(app, with_event):
    sme, path, data = _request_target(app, with_event)
    clients = [signed_in(app, sme.email) for _ in range(2)]
    data["submission_token"] = token_of(clients[0].get(path))
    responses = post_twice_at_once(clients, path, lambda i: data)
    assert [r.status_code for r in responses] == [302, 302]
    assert count(app, MeetingRequest) == 1
    assert rows(app, Notification, Notification.kind == "request_received") == 1


def test_two_direct_requests_of_one_pair_from_two_tabs_at_once_give_one_request(app):
    """Different tokens: the partial unique index (event_id IS NULL) decides, on PostgreSQL too."""
    sme, path, data = _request_target(app, with_event=False)
    clients = [signed_in(app, sme.email) for _ in range(2)]
    tokens = [token_of(c.get(path)) for c in clients]
    responses = post_twice_at_once(clients, path, lambda i: {**data, "submission_token": tokens[i]})
    assert [r.status_code for r in responses] == [302, 302]
    assert count(app, MeetingRequest) == 1
    assert rows(app, Notification, Notification.kind == "request_received") == 1


def test_the_database_refuses_a_second_open_direct_request_of_one_pair(app):
    with database(app) as session:
        sme = factories.sme()
        bank = factories.institution_user()

        def direct(status):
            return MeetingRequest(event_id=None, enterprise_id=sme.enterprise_id, institution_id=bank.institution_id,
                                  direction="from_enterprise", status=status, respond_by=utcnow(),
                                  created_at=utcnow())

        session.add(direct(RequestStatus.REQUESTED.value))
        session.commit()
        session.add(direct(RequestStatus.ACCEPTED.value))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
        session.add(direct(RequestStatus.WITHDRAWN.value))  # closed requests do not count
        session.commit()
    assert count(app, MeetingRequest) == 2


# ---- registrations -----------------------------------------------------------------------------------

def test_a_registration_posted_twice_with_one_token_and_at_once_gives_one_registration(app):
    with database(app):
        event = make_event()
        session = make_session(event)
        sme = factories.sme()
        need = factories.need(sme)
        bank = factories.institution_user()
        product = factories.product(bank)
    path = f"/events/sessions/{session.id}/register"
    client = signed_in(app, sme.email)
    data = {"needs": [str(need.id)], "consent": "y", "submission_token": token_of(client.get(path))}
    first, second = client.post(path, data=data), client.post(path, data=data)
    assert first.status_code == second.status_code == 302
    assert second.headers["Location"] == first.headers["Location"] == "/events/registrations"
    assert count(app, Registration) == 1

    clients = [signed_in(app, bank.email) for _ in range(2)]
    token = token_of(clients[0].get(path))
    responses = post_twice_at_once(clients, path, lambda i: {
        "products": [str(product.id)], "tables": "1", "staff-0-name": "王经理", "staff-0-table_number": "1",
        "submission_token": token})
    assert [r.status_code for r in responses] == [302, 302]
    assert rows(app, Registration, Registration.institution_id == bank.institution_id) == 1


# ---- the table stays bounded ---------------------------------------------------------------------------

def test_the_scheduler_sweep_purges_tokens_older_than_any_form_that_could_carry_them(app, sme):
    from chainmatch.scheduler import run_due_work
    client = signed_in(app, sme.email)
    for _ in range(2):
        assert client.post("/needs/new", data=need_data(submission_token=token_of(client.get("/needs/new")))) \
            .status_code == 302
    with database(app) as session:
        old = session.scalars(select(SubmissionToken).order_by(SubmissionToken.id)).first()
        old.created_at = utcnow() - timedelta(hours=submissions.KEEP_HOURS, minutes=1)
        session.commit()
        kept = session.scalars(select(SubmissionToken.id).order_by(SubmissionToken.id)).all()[1]
    assert submissions.KEEP_HOURS * 3600 > submissions.TOKEN_HOURS * 3600
    results = run_due_work(app)
    assert results["purge_submission_tokens"] == 1
    with database(app) as session:
        assert session.scalars(select(SubmissionToken.id)).all() == [kept]
    with app.app_context():
        db.session.remove()
