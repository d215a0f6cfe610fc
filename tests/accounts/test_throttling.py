"""Throttling with Flask-Limiter: failed sign-ins per address tried and per client, sign-ups, reset requests,
meeting requests; 429 with Retry-After and a page in the user's language; Redis shares the counts."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from accounts.audit import AuditEvent
from tests.conftest import DEMO_PASSWORD, sign_in
from tests.market.test_pages import sme_sign_up_data
from tests.support import factories
from tests.support.database import database

ROOT = Path(__file__).resolve().parents[2]


def text(response) -> str:
    return response.get_data(as_text=True)


def wrong(client, email: str):
    return client.post("/account/sign-in", data={"email": email, "password": "not-the-password"})


@pytest.fixture
def sme(app):
    with database(app):
        return factories.sme()


def test_thirty_wrong_passwords_in_a_row_are_throttled_and_then_even_the_right_one(app, sme):
    client = app.test_client()
    codes = [wrong(client, sme.email).status_code for _ in range(30)]
    assert codes[:10] == [200] * 10 and set(codes[10:]) == {429}
    right = client.post("/account/sign-in", data={"email": sme.email, "password": DEMO_PASSWORD})
    assert right.status_code == 429
    assert int(right.headers["Retry-After"]) > 0
    assert "操作过于频繁" in text(right) and "分钟后再试" in text(right)
    with database(app) as session:
        kinds = session.scalars(select(AuditEvent.kind).where(AuditEvent.email == sme.email)).all()
    assert kinds.count("sign_in_failed") == 10 and "sign_in_throttled" in kinds


def test_the_429_page_speaks_english_to_english_users(app, sme):
    client = app.test_client()
    client.post("/language/en", data={"next": "/"})
    for _ in range(10):
        wrong(client, sme.email)
    response = wrong(client, sme.email)
    assert response.status_code == 429 and "Too many attempts" in text(response)


def test_a_password_spray_over_many_accounts_is_slowed(app):
    with database(app):
        emails = [factories.sme().email for _ in range(3)]
    client = app.test_client()
    codes = [client.post("/account/sign-in", data={"email": f"user{n}@example.com", "password": "demo-password"})
             .status_code for n in range(30)]
    assert codes == [200] * 30
    assert client.post("/account/sign-in", data={"email": emails[0], "password": "demo-password"}).status_code == 429


def test_successful_sign_ins_are_not_counted(app, sme):
    client = app.test_client()
    for _ in range(15):
        sign_in(client, sme.email)


def test_the_account_limit_counts_the_address_tried_not_the_client(app, sme):
    for _ in range(10):
        wrong(app.test_client(), sme.email)
    response = app.test_client().post("/account/sign-in", data={"email": sme.email.upper(), "password": "x"})
    assert response.status_code == 429


def test_sign_ups_are_throttled_per_client(app, monkeypatch):
    monkeypatch.setitem(app.config, "SIGN_UPS_PER_CLIENT", "3 per hour")
    client = app.test_client()
    codes = [client.post("/account/sign-up/enterprise", data=sme_sign_up_data(email=f"s{n}@example.com"))
             .status_code for n in range(4)]
    assert codes == [200, 200, 200, 429]


def test_reset_requests_are_throttled_per_address(app, sme):
    codes = [app.test_client().post("/account/password/forgot", data={"email": sme.email}).status_code
             for _ in range(6)]
    assert codes == [302] * 5 + [429]


def test_meeting_requests_are_throttled_per_user(app, monkeypatch):
    monkeypatch.setitem(app.config, "MEETING_REQUESTS_PER_USER", "2 per hour")
    with database(app):
        sme = factories.sme()
        need = factories.need(sme)
        banks = [factories.institution_user() for _ in range(3)]
    client = app.test_client()
    sign_in(client, sme.email)
    codes = [client.post(f"/events/requests/new?institution={bank.institution_id}",
                         data={"need_id": str(need.id), "product_id": "0", "message": "想了解贷款",
                               "consent": "y", "lead_source": "direct"}).status_code for bank in banks]
    assert codes == [302, 302, 429]


def _redis_reachable() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


def test_redis_storage_shares_the_counts_between_workers(app, sme):
    """Two processes with an app each, on one Redis, stand for two gunicorn workers: the limit holds across them."""
    if not _redis_reachable():
        if os.environ.get("CI"):
            pytest.fail("CI must have Redis on 127.0.0.1:6379 (.ci/run starts it)")
        pytest.skip("no Redis on 127.0.0.1:6379")
    import redis
    prefix = f"chainmatch-test-{os.getpid()}"
    env = dict(os.environ, RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/0", RATELIMIT_KEY_PREFIX=prefix)
    try:
        codes = []
        for attempts in (6, 6):
            worker = subprocess.run([sys.executable, "-m", "tests.accounts.limiter_worker",
                                     app.config["SQLALCHEMY_DATABASE_URI"], sme.email, str(attempts)],
                                    env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
            assert worker.returncode == 0, worker.stderr[-2000:]
            codes.append(json.loads(worker.stdout.strip().splitlines()[-1]))
        assert codes == [[200] * 6, [200] * 4 + [429] * 2]
    finally:
        connection = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        for key in connection.scan_iter(f"{prefix}*"):
            connection.delete(key)
