"""Database hiccups, with real failures: a locked SQLite file, terminated PostgreSQL backends, a closed port.

- A read never waits for SQLite's write lock; a write that stays locked past the busy timeout is a 503 with
  Retry-After, and nothing of it is written.
- A GET that writes and loses the race for SQLite's write lock runs once more, as a writer.
- PostgreSQL backends terminated between requests: the next GET succeeds (pool pre-ping); terminated in the
  middle of a GET: the GET is retried on a new connection; in the middle of a POST: 503, nothing written.
- A database that does not answer at all: 503 with Retry-After for GET and POST alike, never a 500.
"""
import sqlite3

import psycopg
import pytest
from sqlalchemy import event, func, select

from accounts.audit import AuditEvent, AuditKind
from accounts.models import User
from chainmatch import create_app
from core.database import read_only
from core.extensions import db
from tests.conftest import DEMO_PASSWORD, sign_in
from tests.events.test_permissions import build_world
from tests.support import factories
from tests.support.database import database


def _dialect(app) -> str:
    with app.app_context():
        return db.engine.dialect.name


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _failed_sign_ins(app, email: str) -> int:
    return _count(app, AuditEvent, AuditEvent.kind == AuditKind.SIGN_IN_FAILED.value, AuditEvent.email == email)


def _retry_after(response) -> int:
    """Seconds the 503 asks to wait (Flask-Limiter may raise it to the end of a rate-limit window, and rounds)."""
    return int(response.headers["Retry-After"])


@pytest.fixture
def sqlite_file(app):
    if _dialect(app) != "sqlite":
        pytest.skip("SQLite's write lock")
    with app.app_context():
        return db.engine.url.database


@pytest.fixture
def quick_app(app, sqlite_file):
    """A second app on the same SQLite file that waits only 200 ms for the write lock."""
    other = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite:///" + sqlite_file,
                        "WTF_CSRF_ENABLED": False, "MAIL_BACKEND": "memory", "SQLITE_BUSY_TIMEOUT_MS": 200})
    yield other
    with other.app_context():
        db.engine.dispose()


@pytest.fixture
def write_lock(sqlite_file):
    """Another process's writer holding SQLite's write lock (BEGIN IMMEDIATE on its own connection)."""
    holder = sqlite3.connect(sqlite_file, isolation_level=None, timeout=10)
    holder.execute("BEGIN IMMEDIATE")
    yield holder
    holder.execute("ROLLBACK")
    holder.close()


def test_pages_that_only_read_are_served_while_another_writer_holds_the_lock(app, quick_app):
    with database(app):
        user = factories.sme()
    client = quick_app.test_client()
    sign_in(client, user.email)
    holder = sqlite3.connect(quick_app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):], isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        for path in ("/", "/catalogue", "/enterprise", "/account/"):
            assert client.get(path).status_code == 200, path
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_write_locked_past_the_busy_timeout_is_a_503_with_retry_after_and_writes_nothing(app, quick_app,
                                                                                           write_lock):
    client = quick_app.test_client()
    response = client.post("/account/sign-in", data={"email": "nobody@example.com", "password": "wrong-password1"})
    assert response.status_code == 503
    assert _retry_after(response) > 0
    page = response.get_data(as_text=True)
    assert "服务暂时繁忙，您提交的内容没有保存" in page and "<html" in page
    assert client.get("/catalogue").status_code == 200  # reads go on meanwhile
    with read_only():  # outside requests a transaction is IMMEDIATE unless marked: this one may read meanwhile
        assert _failed_sign_ins(app, "nobody@example.com") == 0


def test_a_get_that_writes_and_loses_the_race_for_the_lock_runs_again_as_a_writer(app, sqlite_file):
    with database(app):
        ids, emails = build_world()
    client = app.test_client()
    sign_in(client, emails["organiser"])
    raced = []

    def another_writer_commits_first(connection, _cursor, statement, *_args):
        # Just before the GET's first write, another connection commits: the GET's snapshot is now stale and
        # SQLite refuses its deferred transaction the write lock at once (SQLITE_BUSY_SNAPSHOT).
        if not raced and statement.lstrip().upper().startswith("INSERT INTO AUDIT_EVENTS") \
                and connection.info.get("deferred"):
            raced.append(statement)
            other = sqlite3.connect(sqlite_file, isolation_level=None)
            other.execute("INSERT INTO audit_events (occurred_at, kind, email, client_address, user_agent, detail) "
                          "VALUES (datetime('now'), 'sign_in_failed', 'other@example.com', '', '', 'another writer')")
            other.close()

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", another_writer_commits_first)
    try:
        response = client.get(f"/reports/export/schedule.xlsx?event={ids['event']}")
    finally:
        event.remove(engine, "before_cursor_execute", another_writer_commits_first)
    assert raced, "the export did not write in a deferred transaction"
    assert response.status_code == 200
    assert _count(app, AuditEvent, AuditEvent.kind == AuditKind.EXPORT_DOWNLOADED.value) == 1
    assert _failed_sign_ins(app, "other@example.com") == 1


# ---- PostgreSQL: terminated backends --------------------------------------------------------------------------

@pytest.fixture
def pg_url(app):
    if _dialect(app) != "postgresql":
        pytest.skip("PostgreSQL backends")
    with app.app_context():
        url = db.engine.url
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _terminate_others(pg_url: str) -> int:
    """From a separate connection: end every other backend of this database (the app's pooled connections)."""
    with psycopg.connect(pg_url, autocommit=True) as admin:
        return len(admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchall())


def _terminate_mid_request(app, pg_url: str, first_word: str):
    """A listener that terminates the app's own backend just before its first statement starting with
    `first_word` (once), so that statement meets a dead connection."""
    fired = []

    def terminate(connection, _cursor, statement, *_args):
        if not fired and statement.lstrip().upper().startswith(first_word):
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
            with psycopg.connect(pg_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            fired.append(pid)
    return terminate, fired


def test_a_get_after_the_backends_were_terminated_succeeds(app, pg_url):
    with database(app):
        user = factories.sme()
    client = app.test_client()
    sign_in(client, user.email)
    assert client.get("/enterprise").status_code == 200  # the pool now holds a used connection
    assert _terminate_others(pg_url) >= 1
    assert client.get("/enterprise").status_code == 200
    assert client.get("/account/").status_code == 200


def test_a_get_whose_connection_dies_mid_request_is_retried_on_a_new_one(app, pg_url):
    with database(app):
        user = factories.sme()
    client = app.test_client()
    sign_in(client, user.email)
    terminate, fired = _terminate_mid_request(app, pg_url, "SELECT ENTERPRISES")
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", terminate)
    try:
        response = client.get("/enterprise")
    finally:
        event.remove(engine, "before_cursor_execute", terminate)
    assert fired, "no statement met the terminated backend"
    assert response.status_code == 200


def test_a_connection_that_dies_after_the_page_was_built_does_not_turn_it_into_a_500(app, pg_url):
    """The closing ROLLBACK of the request's session meets a terminated backend: the page stands."""
    with database(app):
        user = factories.sme()
    client = app.test_client()
    sign_in(client, user.email)
    fired = []

    def terminate_before_rollback(connection):
        if not fired:
            pid = connection.connection.dbapi_connection.info.backend_pid
            with psycopg.connect(pg_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            fired.append(pid)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "rollback", terminate_before_rollback)
    try:
        response = client.get("/enterprise")
    finally:
        event.remove(engine, "rollback", terminate_before_rollback)
    assert fired, "the request's session was never rolled back"
    assert response.status_code == 200
    assert client.get("/enterprise").status_code == 200  # the dead connection left the pool


def test_a_post_whose_connection_dies_mid_request_is_a_503_and_writes_nothing(app, pg_url):
    terminate, fired = _terminate_mid_request(app, pg_url, "INSERT INTO AUDIT_EVENTS")
    with app.app_context():
        engine = db.engine
    client = app.test_client()
    event.listen(engine, "before_cursor_execute", terminate)
    try:
        response = client.post("/account/sign-in", data={"email": "nobody@example.com", "password": "wrong-pass1"})
    finally:
        event.remove(engine, "before_cursor_execute", terminate)
    assert fired
    assert response.status_code == 503 and _retry_after(response) > 0
    assert "服务暂时繁忙，您提交的内容没有保存" in response.get_data(as_text=True)
    assert _failed_sign_ins(app, "nobody@example.com") == 0
    assert client.get("/catalogue").status_code == 200  # the pool recovered


# ---- a database that does not answer -------------------------------------------------------------------------

@pytest.fixture
def unreachable_app(app):
    """An app whose PostgreSQL is a closed port on this machine (connections are refused)."""
    other = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False, "MAIL_BACKEND": "memory",
                        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:9/nowhere"})
    yield other
    with other.app_context():
        db.engine.dispose()


def test_a_database_that_refuses_connections_gives_503_with_retry_after(unreachable_app):
    client = unreachable_app.test_client()
    read = client.get("/catalogue")
    assert read.status_code == 503 and _retry_after(read) > 0
    assert "服务暂时繁忙，请稍后再试" in read.get_data(as_text=True)
    write = client.post("/account/sign-in", data={"email": "someone@example.com", "password": DEMO_PASSWORD})
    assert write.status_code == 503 and _retry_after(write) > 0
    assert "没有保存" in write.get_data(as_text=True)


def test_the_503_page_is_in_english_for_english_readers(unreachable_app):
    client = unreachable_app.test_client()
    with client.session_transaction() as browser_session:
        browser_session["locale"] = "en"
    response = client.get("/catalogue")
    assert response.status_code == 503
    assert 'lang="en"' in response.get_data(as_text=True)


def test_no_user_is_left_behind_by_a_refused_sign_up(app, quick_app, write_lock):
    client = quick_app.test_client()
    response = client.post("/account/sign-up/enterprise", data={
        "email": "locked@example.com", "display_name": "王五", "password": DEMO_PASSWORD, "confirm": DEMO_PASSWORD,
        "credit_code": factories.credit_code(), "name": "杭州锁定测试科技有限公司", "region": "330106", "chain": "ai",
        "nodes": ["ai/liquid_cooled_servers"], "stage": "growth", "industry": "software_it", "employees": "80",
        "revenue": "3000", "tiers": ["innovative_sme"], "contact_name": "王五", "contact_phone": "0571-55501234"})
    assert response.status_code == 503 and "Retry-After" in response.headers
    with read_only():
        assert _count(app, User, User.email == "locked@example.com") == 0
