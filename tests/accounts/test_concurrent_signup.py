"""200 sign-ups, 30 at a time, while signed-in and anonymous visitors read pages, over real HTTP: no error,
and every address gets exactly one account.

The app under test is the suite's `app` (on SQLite a file database in WAL mode), served by werkzeug's threaded
server in a background thread. Password hashing keeps the suite's low (but real, nonzero) Argon2 cost from
tests/conftest.py. Rate limits are switched off for this test only (one client address signs up 200 times);
the `_fresh_rate_limits` fixture switches them back on.
"""
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

import accounts.models as account_models
from accounts.models import User
from core.extensions import db, limiter
from market.models import Enterprise
from tests.conftest import DEMO_PASSWORD
from tests.served_http import http_client, request
from tests.support import factories
from tests.support.database import database

SIGN_UPS = 200
WORKERS = 30
READERS = 4


def _sign_up_data(index: int) -> dict:
    return {
        "email": f"founder{index}@example.com", "display_name": "王五", "password": DEMO_PASSWORD,
        "confirm": DEMO_PASSWORD, "credit_code": factories.credit_code(900_000 + index),
        "name": f"杭州并发测试{index}科技有限公司", "region": "330106", "chain": "ai",
        "nodes": ["ai/liquid_cooled_servers"], "stage": "growth", "industry": "software_it", "employees": "80",
        "revenue": "3000", "total_assets": "", "tiers": ["innovative_sme"], "description": "",
        "contact_name": "王五", "contact_phone": "0571-55501234",
    }


@pytest.mark.slow
def test_two_hundred_concurrent_sign_ups_with_readers_give_no_error_and_one_account_each(app, served_app):
    limiter.enabled = False
    with database(app):
        reader = factories.sme()
    signed_in = http_client()
    assert request(signed_in, f"{served_app}/account/sign-in",
                   {"email": reader.email, "password": DEMO_PASSWORD})[0] == 302

    done = threading.Event()
    read_results: list[tuple[str, int]] = []

    def read(opener, paths: list[str]) -> None:
        while not done.is_set():
            for path in paths:
                read_results.append((path, request(opener, served_app + path)[0]))

    readers = [threading.Thread(target=read, args=(signed_in, ["/enterprise", "/account/"])),
               *(threading.Thread(target=read, args=(http_client(), ["/", "/account/sign-up/enterprise",
                                                                      "/catalogue"]))
                 for _ in range(READERS - 1))]
    for thread in readers:
        thread.start()
    try:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            sign_ups = list(pool.map(
                lambda i: request(http_client(), f"{served_app}/account/sign-up/enterprise", _sign_up_data(i)),
                range(SIGN_UPS)))
    finally:
        done.set()
        for thread in readers:
            thread.join(timeout=120)

    failed = [(status, body[:300]) for status, body in sign_ups if status != 200 or "请查收邮件" not in body]
    assert not failed, f"{len(failed)} sign-ups failed, e.g. {failed[:3]}"
    read_errors = [(path, status) for path, status in read_results if status != 200]
    assert read_results and not read_errors, f"{len(read_errors)} of {len(read_results)} reads failed: {read_errors[:5]}"
    with database(app) as session:
        emails = session.scalars(select(User.email).where(User.email.like("founder%@example.com"))).all()
        assert sorted(emails) == sorted(f"founder{i}@example.com" for i in range(SIGN_UPS))
        assert session.scalar(select(func.count()).select_from(Enterprise)
                              .where(Enterprise.name.like("杭州并发测试%"))) == SIGN_UPS


@pytest.mark.slow
def test_a_double_clicked_sign_up_gives_the_same_page_twice_and_one_account(app, served_app):
    data = _sign_up_data(7)
    barrier = threading.Barrier(2)

    def submit(_):
        barrier.wait(timeout=30)
        return request(http_client(), f"{served_app}/account/sign-up/enterprise", data)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(submit, range(2)))
    # Both answers are pages (no error): the first click's "check your mail"; the second either the same
    # (it came after the first was committed and found the address taken) or the form again with the field
    # error that the enterprise is already registered (its savepoint hit the credit code first).
    assert [status for status, _ in results] == [200, 200]
    outcomes = sorted("mail" if "请查收邮件" in body else "taken" if "该统一社会信用代码已注册" in body else body[:500]
                      for _, body in results)
    assert outcomes in (["mail", "mail"], ["mail", "taken"]), outcomes
    with database(app) as session:
        assert session.scalar(select(func.count()).select_from(User).where(User.email == data["email"])) == 1


class _HasherWatchingTransactions(PasswordHasher):
    """The suite's cheap Argon2, noting whether the request's database session had a transaction open
    whenever it hashed or verified."""

    def __init__(self):
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.in_transaction: list[bool] = []

    def _note(self):
        self.in_transaction.append(db.session().in_transaction())

    def hash(self, password, *args, **kwargs):
        self._note()
        return super().hash(password, *args, **kwargs)

    def verify(self, hash, password):
        self._note()
        return super().verify(hash, password)


@pytest.fixture
def watching_hasher():
    original = account_models._hasher
    account_models._hasher = watcher = _HasherWatchingTransactions()
    yield watcher
    account_models._hasher = original


def test_passwords_are_hashed_and_checked_with_no_transaction_open(app, client, watching_hasher):
    data = _sign_up_data(8)
    assert "请查收邮件" in client.post("/account/sign-up/enterprise", data=data).get_data(as_text=True)
    assert client.post("/account/sign-in", data={"email": "unknown@example.com", "password": DEMO_PASSWORD}
                       ).status_code == 200  # the same Argon2 cost for an unknown address
    with database(app):
        user = factories.sme()
    assert client.post("/account/sign-in", data={"email": user.email, "password": DEMO_PASSWORD}).status_code == 302
    new_password = "another-long-pass-phrase-9"
    assert client.post("/account/password", data={"current_password": DEMO_PASSWORD, "password": new_password,
                                                  "confirm": new_password}).status_code == 302
    from tests.conftest import mailed_link
    client.post("/account/sign-out")
    client.post("/account/password/forgot", data={"email": user.email})
    reset = mailed_link(app, user.email, kind="account_password_reset")
    assert client.post(reset, data={"password": "a-third-pass-phrase-77", "confirm": "a-third-pass-phrase-77"}
                       ).status_code == 302
    # sign-up ×2 (the test's and the factory's), unknown address, sign-in, change (verify, hash), reset
    assert len(watching_hasher.in_transaction) >= 7
    assert True not in watching_hasher.in_transaction
