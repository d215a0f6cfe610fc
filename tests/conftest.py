"""Fixtures: one app and schema per run, reference data loaded once, each test rolled back (or its rows deleted).

The suite runs on SQLite by default and on PostgreSQL when DATABASE_URL points at one.
"""
import os
import re

import pytest
from argon2 import PasswordHasher
from flask import current_app
from flask_sqlalchemy.session import Session as FlaskSession
from hypothesis import settings
from sqlalchemy import event, text
from sqlalchemy.orm import sessionmaker

import accounts.models as account_models
from chainmatch import create_app
from core.extensions import db, limiter

# Hypothesis' per-example deadline is a timed assertion, which the suite does not make: the machine is shared
# and noisy, and speed is measured by the benchmark commands instead.
settings.register_profile("chainmatch", deadline=None)
settings.load_profile("chainmatch")

pytest_plugins = ["tests.outside_files_plugin"]  # the summary names the tests that need files outside the repository
REFERENCE_TABLES = {"chains", "chain_nodes", "regions"}
DEMO_PASSWORD = "a-long-test-password"


def _database_url(tmp_path_factory) -> str:
    url = os.environ.get("DATABASE_URL")
    if url:
        return url
    return "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite")


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = _database_url(tmp_path_factory)
    instance = tmp_path_factory.mktemp("instance")
    os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url if not url.startswith("postgresql://") else
        "postgresql+psycopg://" + url[len("postgresql://"):],
        "WTF_CSRF_ENABLED": False,
        # Like CSRF: tests that post forms directly need not fetch a token; one that is sent is still checked
        # (tests/market/test_double_submit.py switches the requirement back on).
        "SUBMISSION_TOKENS_REQUIRED": False,
        "SERVER_NAME": None,
        "MAIL_BACKEND": "memory",
        "INSTANCE_FOR_TESTS": str(instance),
    })
    with app.app_context():
        _reset_schema()
        from seeds.loader import load_reference
        load_reference(db.session)
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _reset_schema() -> None:
    metadata = db.metadata
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        else:
            metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    metadata.create_all(db.engine)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Every test starts with no request counted against the rate limits (memory storage), limits on.

    The limiter is one object shared by every app a test run makes; an app made with RATELIMIT_ENABLED
    off (the fuzz test's) switches it off for all of them until this puts it back."""
    limiter.enabled = True
    yield
    if limiter.initialized:  # a test of pure code made no app, so there is nothing to reset
        limiter.reset()
    limiter.enabled = True


# Modules whose tests need real commits that other connections see: real HTTP servers, threads, other
# processes, a second app or engine on the suite's database, the writer turns and the database faults. Their
# tests carry the `committing` marker (so does any test marked by hand, or using a fixture of COMMITTING_FIXTURES)
# and every table but the reference ones is emptied after them; every other test runs in one transaction that
# is rolled back at its end.
COMMITTING_MODULES = {
    "tests/accounts/test_concurrent_signup.py", "tests/accounts/test_csrf.py", "tests/accounts/test_sessions.py",
    "tests/accounts/test_throttling.py",
    "tests/events/organiser/test_venue_tables.py", "tests/events/participant/test_booking_concurrency.py",
    "tests/events/participant/test_clock_concurrency.py", "tests/events/test_lock_order.py",
    "tests/market/test_double_submit.py", "tests/matchmaking/test_match_cli.py",
    "tests/notifications/test_outages.py",
    "tests/scheduler/test_replicas.py", "tests/scheduler/test_restarts.py",
    "tests/security/test_bounds.py", "tests/security/test_fuzz.py", "tests/security/test_headers.py",
    "tests/seeds/test_seed_processes.py",
    "tests/test_database_faults.py", "tests/test_sqlite_writer_turns.py",
}
COMMITTING_DIRECTORIES = ("tests/migrations/",)
COMMITTING_FIXTURES = {"served_app", "live_server"}


def pytest_configure(config):
    config.addinivalue_line("markers", "committing: commits for real (other connections must see the rows); "
                                       "the tables are emptied afterwards instead of rolling the test back")


def pytest_collection_modifyitems(config, items):
    root = config.rootpath
    for item in items:
        path = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        if (path in COMMITTING_MODULES or path.startswith(COMMITTING_DIRECTORIES)
                or COMMITTING_FIXTURES.intersection(getattr(item, "fixturenames", ()))
                or item.get_closest_marker("browser") is not None):
            item.add_marker(pytest.mark.committing)


class _JoinedSession(FlaskSession):
    """Flask-SQLAlchemy's session, bound to the test's connection: its get_bind picks the app's engine
    otherwise, whatever `bind` says."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind if bind is not None else self.bind


@event.listens_for(_JoinedSession, "after_begin")
def _fresh_write_flag(_session, transaction, connection):
    """A session's transaction (its savepoint here) has written nothing yet, as after the app's BEGIN: what
    core.database.release_read_transaction asks (the SAVEPOINT statement itself counts as a write)."""
    if transaction.parent is None:
        connection.info["wrote"] = False


@pytest.fixture(autouse=True)
def _isolated_database(request):
    """After each test that touched the app, its rows are gone: rolled back, or deleted for `committing` tests.

    Rolled back: the app's sessions (every app context's, the test's and each request's) share one connection
    whose outer transaction begins before the test (BEGIN IMMEDIATE on SQLite, taking the writer's turn) and is
    rolled back after it; their commits and rollbacks release and roll back savepoints
    (join_transaction_mode="create_savepoint")."""
    if "app" not in request.fixturenames:
        yield
        return
    app = request.getfixturevalue("app")
    if request.node.get_closest_marker("committing") is not None:
        yield
        _clean_tables(app)
        return
    with app.app_context():
        db.session.remove()
        engine = db.engine
    connection = engine.connect()
    outer = connection.begin()
    registry = db.session.registry
    create_session = registry.createfunc
    options = {key: value for key, value in db.session.session_factory.kw.items() if key != "bind"}
    joined = sessionmaker(class_=_JoinedSession, bind=connection, join_transaction_mode="create_savepoint",
                          **options)

    def session_for_context():
        if current_app._get_current_object() is app:
            return joined()
        return create_session()  # another app (the seed tests' own): its own engine

    registry.createfunc = session_for_context
    try:
        yield
    finally:
        registry.createfunc = create_session
        with app.app_context():
            db.session.remove()  # this context's; the others were removed when theirs ended
        if outer.is_active:
            outer.rollback()
        connection.close()


def _clean_tables(app) -> None:
    """Empty every non-reference table."""
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables) if t.name not in REFERENCE_TABLES]
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                names = ", ".join(f'"{t.name}"' for t in tables)
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    connection.execute(table.delete())


@pytest.fixture(autouse=True)
def _push_request_context():
    """Overrides pytest-flask's fixture of this name: no request context is held across a test.

    Flask reuses an already pushed app context for the test client's requests, so `g` (where
    Flask-Login caches the signed-in user) and the database session would be shared by every
    request and every client of a test: client B would act as client A, and on SQLite a read left
    open holds the BEGIN IMMEDIATE lock the next request waits for. Tests open short contexts instead.
    """
    yield


@pytest.fixture
def client(app):
    """A test client that keeps no context between requests (pytest-flask's leaves the last one pushed)."""
    return app.test_client()


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Cheap Argon2 parameters in tests; hashes carry their parameters, so checks still work."""
    original = account_models._hasher
    account_models._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    yield
    account_models._hasher = original


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session
        db.session.rollback()


@pytest.fixture
def db_session(app):
    """A request context and its database session for calling services directly; rolled back at the end."""
    with app.test_request_context():
        yield db.session
        db.session.rollback()


def sign_in(client, email: str, password: str = DEMO_PASSWORD):
    response = client.post("/account/sign-in", data={"email": email, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return response


def extract_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or \
        re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def mailed_link(app, email: str, kind: str = "account_verify_email") -> str:
    """The site path of the newest mail of `kind` queued for `email` (the link the user would open)."""
    from sqlalchemy import func, select

    from accounts.models import User
    from notifications.models import Notification
    with app.app_context():
        link = db.session.scalar(select(Notification.link).join(User, User.id == Notification.user_id)
                                 .where(func.lower(User.email) == email.lower(), Notification.kind == kind)
                                 .order_by(Notification.id.desc()).limit(1))
    assert link, f"no {kind} mail queued for {email}"
    return link


def finish_sign_up(client, app, email: str):
    """Open the verification mail's link and press its button, as the new user does; returns the response."""
    from urllib.parse import parse_qs, urlsplit
    link = mailed_link(app, email)
    page = client.get(link)
    assert page.status_code == 200, page.status_code
    data = {"next": parse_qs(urlsplit(link).query).get("next", [""])[0]}
    if 'name="csrf_token"' in page.get_data(as_text=True):
        data["csrf_token"] = extract_csrf(page.get_data(as_text=True))
    return client.post(urlsplit(link).path, data=data)


@pytest.fixture
def served_app(app):
    """The suite's app over real HTTP (werkzeug's threaded server in a thread); its base URL. Clients:
    tests/served_http.py."""
    from tests.served_http import serve
    with serve(app) as url:
        yield url
